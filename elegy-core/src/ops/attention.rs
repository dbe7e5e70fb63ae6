//! Scaled dot-product attention, composed from differentiable ops (matmul, masked softmax), so
//! its gradients are theirs.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// `softmax(query key^T / sqrt(d), masked) value`, batched over any leading axes.
    ///
    /// Shapes: `query [.., q, d]`, `key [.., k, d]`, `value [.., k, dv]`, giving `[.., q, dv]`.
    /// `mask` (1 to attend, 0 not to; shape `[.., q, k]` or one that broadcasts to the scores)
    /// and `causal` (query `i` attends to keys `j <= i`, as Keras' `use_causal_mask`) combine.
    /// A query with every key masked gets an output of zeros, not NaN (see
    /// [`Tensor::masked_softmax`]).
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// // One query attending to two keys with equal scores: the mean of the values.
    /// let q = Tensor::zeros(&[1, 2]);
    /// let k = Tensor::zeros(&[2, 2]);
    /// let v = Tensor::from_vec(vec![1.0, 3.0], &[2, 1])?;
    /// let out = Tensor::scaled_dot_product_attention(&q, &k, &v, None, false)?;
    /// assert_eq!(out.to_vec(), vec![2.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn scaled_dot_product_attention(
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        mask: Option<&Tensor>,
        causal: bool,
    ) -> Result<Tensor> {
        Tensor::attention_weights(query, key, value, mask, causal)?.matmul(value)
    }

    /// The weights of [`Tensor::scaled_dot_product_attention`], `[.., q, k]`, each query's
    /// summing to 1 over the keys it may attend to (0 where it may attend to none), before they
    /// multiply `value` (checked against `query` and `key` here): a layer that drops some of
    /// them out, or returns them, takes them from here.
    pub fn attention_weights(
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        mask: Option<&Tensor>,
        causal: bool,
    ) -> Result<Tensor> {
        let op = "scaled_dot_product_attention";
        let (q, k, v) = (query.shape(), key.shape(), value.shape());
        if q.len() < 2 || k.len() < 2 || v.len() < 2 {
            return Err(Error::shape(
                op,
                format!(
                    "query {q:?}, key {k:?} and value {v:?} need at least 2 axes each: \
                     [.., positions, features]"
                ),
            ));
        }
        let (d, dk) = (q[q.len() - 1], k[k.len() - 1]);
        let (keys, values) = (k[k.len() - 2], v[v.len() - 2]);
        if d != dk || keys != values {
            return Err(Error::shape(
                op,
                format!(
                    "query {q:?}, key {k:?} and value {v:?}: query and key need the same \
                     features (last axis), key and value the same positions (second to last)"
                ),
            ));
        }
        let queries = q[q.len() - 2];
        let scores = query
            .matmul(&key.transpose()?)?
            .mul_scalar(1.0 / (d.max(1) as f32).sqrt());
        let causal_mask = causal.then(|| lower_triangle(queries, keys));
        let combined = match (mask, causal_mask) {
            (None, None) => None,
            (Some(m), None) => Some(m.detach()),
            (None, Some(c)) => Some(c),
            (Some(m), Some(c)) => Some(m.detach().mul(&c)?),
        };
        match combined {
            Some(mask) => scores.masked_softmax(-1, &mask).map_err(|e| {
                Error::shape(
                    op,
                    format!(
                        "the mask does not fit scores of shape {:?}: {e}",
                        scores.shape()
                    ),
                )
            }),
            None => scores.softmax(-1),
        }
    }
}

/// `[queries, keys]` with 1 where key `j <= i` for query `i`.
fn lower_triangle(queries: usize, keys: usize) -> Tensor {
    let values = (0..queries)
        .flat_map(|i| (0..keys).map(move |j| if j <= i { 1.0 } else { 0.0 }))
        .collect();
    Tensor::from_vec(values, &[queries, keys]).expect("queries x keys values")
}
