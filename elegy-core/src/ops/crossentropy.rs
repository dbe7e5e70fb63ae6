//! Softmax cross-entropy of logits against class labels as one op: the forward pass takes each
//! row's softmax once, and the backward pass is `softmax - one_hot` scaled by the incoming
//! gradient, instead of the chain log-softmax, one-hot product, sum and negation (each with its
//! own temporaries and backward pass).

use ndarray::{ArrayD, IxDyn};

use super::softmax::stable_shift;
use super::vector_math::exp_in_place;
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

struct SparseSoftmaxCrossEntropyRule {
    /// Each row's softmax, row-major `[rows, classes]` (the input's shape).
    probabilities: ArrayD<f32>,
    labels: Vec<usize>,
}

impl Backward for SparseSoftmaxCrossEntropyRule {
    fn name(&self) -> &'static str {
        "sparse_softmax_cross_entropy"
    }
    fn backward(&self, grad: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        // d(-ln softmax(z)[label]) / dz = softmax(z) - one_hot(label), per row.
        let mut out = self.probabilities.clone();
        let classes = out.shape()[out.ndim() - 1];
        let rows = out.as_slice_mut().expect("a new row-major array");
        for ((row, &label), &g) in rows
            .chunks_exact_mut(classes)
            .zip(&self.labels)
            .zip(grad.iter())
        {
            row[label] -= 1.0;
            row.iter_mut().for_each(|v| *v *= g);
        }
        Ok(vec![Some(out)])
    }
}

impl Tensor {
    /// `-ln(softmax(self)[label])` for each row along the last axis: the cross-entropy of logits
    /// `[.., classes]` against one class index per row (`labels.len()` = number of rows), as one
    /// op whose gradient is `softmax - one_hot`. The result has the input's shape without its last
    /// axis.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let logits = Tensor::from_vec(vec![0.0, 0.0, 2.0, 0.0], &[2, 2])?;
    /// let losses = logits.sparse_softmax_cross_entropy(&[1, 0])?.to_vec();
    /// assert!((losses[0] - 2f32.ln()).abs() < 1e-6);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn sparse_softmax_cross_entropy(&self, labels: &[usize]) -> Result<Tensor> {
        const OP: &str = "sparse_softmax_cross_entropy";
        let shape = self.shape();
        let Some((&classes, row_shape)) = shape.split_last() else {
            return Err(Error::shape(
                OP,
                "logits of shape [] have no class axis; pass [.., classes]".to_string(),
            ));
        };
        if classes == 0 {
            return Err(Error::shape(
                OP,
                format!("logits of shape {shape:?} have no classes; the last axis must hold them"),
            ));
        }
        let rows: usize = row_shape.iter().product();
        if labels.len() != rows {
            return Err(Error::shape(
                OP,
                format!(
                    "{} labels for logits of shape {shape:?} ({rows} rows); give one label per row",
                    labels.len()
                ),
            ));
        }
        if let Some((i, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            return Err(Error::sample(
                OP,
                format!("label {label}"),
                i,
                row_shape,
                format!("is not below the {classes} classes the predictions have"),
            ));
        }
        let mut probabilities = self.view().as_standard_layout().into_owned();
        let losses = softmax_rows(
            probabilities.as_slice_mut().expect("standard layout"),
            classes,
            labels,
        );
        let value = ArrayD::from_shape_vec(IxDyn(row_shape), losses).expect("one loss per row");
        Ok(Tensor::from_op(value, &[self], |_| {
            SparseSoftmaxCrossEntropyRule {
                probabilities,
                labels: labels.to_vec(),
            }
        }))
    }
}

/// Replaces each row of `values` (`classes` wide) by its softmax, returning each row's
/// `-ln(softmax(row)[label])` computed from the logits (shifted by the row's maximum, so that
/// large ones neither overflow nor lose the loss).
fn softmax_rows(values: &mut [f32], classes: usize, labels: &[usize]) -> Vec<f32> {
    let mut losses = Vec::with_capacity(labels.len());
    for (row, &label) in values.chunks_exact_mut(classes).zip(labels) {
        let shift = stable_shift(row.iter());
        row.iter_mut().for_each(|v| *v -= shift);
        losses.push(-row[label]);
    }
    // One pass over all rows: vector code needs more than a row of a few classes.
    exp_in_place(values);
    for (row, loss) in values.chunks_exact_mut(classes).zip(&mut losses) {
        let sum: f32 = row.iter().sum();
        let scale = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= scale);
        *loss += sum.ln();
    }
    losses
}
