//! [`MultiHeadAttention`], as Keras' layer of that name.

use super::{check_size, layer_at};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// Multi-head attention, as Keras' `MultiHeadAttention`: the query, key and value are projected
/// into `num_heads` heads (`key_dim` features each for query and key, `value_dim` for the value),
/// each head attends with scaled dot products, and the heads are projected back together to
/// `output_dim` features (the query's by default).
///
/// Inputs, `[batch, positions, features]` each:
/// - one tensor: self-attention (query, key and value are the same);
/// - a tuple `(query, value)` or `(query, value, key)`;
/// - a named map with `query`, `value`, and optionally `key` and `attention_mask`
///   (`[batch, queries, keys]`, 1 to attend and 0 not to, as Keras' `attention_mask`).
///
/// `causal` lets query `i` attend to keys `j <= i` only (Keras' `use_causal_mask`); with a mask
/// too, both apply. The rule for a query with no key to attend to (masked whole): its attention
/// weights are all 0, so its output is the output projection's bias, never NaN (Keras instead
/// spreads the weights evenly over the masked keys). `dropout` drops attention weights while
/// training.
///
/// Parameters, named as Keras' (`query/kernel [features, heads, key_dim]`, `query/bias [heads,
/// key_dim]`, likewise `key/...` and `value/...` (with `value_dim`), and
/// `attention_output/kernel [heads, value_dim, output_dim]`, `attention_output/bias
/// [output_dim]`), so that Keras' weights load by name; checked against Keras 3's outputs.
///
/// ```
/// use elegy_core::module::layers::MultiHeadAttention;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// let tokens = Tensor::ones(&[2, 5, 16]); // [batch, positions, features]
/// let y = ctx.call(&MultiHeadAttention::new(4, 8).causal(), &tokens)?;
/// assert_eq!(y.shape(), &[2, 5, 16]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiHeadAttention {
    /// The number of heads.
    pub num_heads: usize,
    /// Features per head of the query and key projections.
    pub key_dim: usize,
    /// Features per head of the value projection; `key_dim` when `None`.
    pub value_dim: Option<usize>,
    /// Features of the output; the query's when `None`.
    pub output_dim: Option<usize>,
    /// The share of attention weights dropped while training, in `[0, 1)`.
    pub dropout: f32,
    /// Whether the projections add biases.
    pub use_bias: bool,
    /// Whether query `i` attends only to keys `j <= i`.
    pub causal: bool,
    /// How the kernels start.
    pub kernel_init: Initializer,
    /// How the biases start.
    pub bias_init: Initializer,
}

impl MultiHeadAttention {
    /// `num_heads` heads of `key_dim` features, with Keras' other defaults (no dropout, biases,
    /// Glorot-uniform kernels, not causal).
    pub fn new(num_heads: usize, key_dim: usize) -> MultiHeadAttention {
        MultiHeadAttention {
            num_heads,
            key_dim,
            value_dim: None,
            output_dim: None,
            dropout: 0.0,
            use_bias: true,
            causal: false,
            kernel_init: Initializer::GlorotUniform,
            bias_init: Initializer::Zeros,
        }
    }

    /// With `value_dim` features per head for the value.
    pub fn value_dim(mut self, value_dim: usize) -> MultiHeadAttention {
        self.value_dim = Some(value_dim);
        self
    }

    /// With `output_dim` features out.
    pub fn output_dim(mut self, output_dim: usize) -> MultiHeadAttention {
        self.output_dim = Some(output_dim);
        self
    }

    /// With attention weights dropped at `rate` while training.
    pub fn dropout(mut self, rate: f32) -> MultiHeadAttention {
        self.dropout = rate;
        self
    }

    /// With query `i` attending only to keys `j <= i` (a decoder's self-attention).
    pub fn causal(mut self) -> MultiHeadAttention {
        self.causal = true;
        self
    }

    /// With or without biases in the projections.
    pub fn use_bias(mut self, use_bias: bool) -> MultiHeadAttention {
        self.use_bias = use_bias;
        self
    }

    /// `x [batch, positions, features]` projected by `name`'s kernel to `[batch, heads,
    /// positions, dim]`.
    fn project(
        &self,
        ctx: &mut ModuleContext<'_>,
        name: &str,
        x: &Tensor,
        dim: usize,
    ) -> Result<Tensor> {
        let (batch, positions, features) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let heads = self.num_heads;
        let kernel = ctx.param(
            &format!("{name}/kernel"),
            &[features, heads, dim],
            self.kernel_init,
        )?;
        let bias = if self.use_bias {
            let bias = ctx.param(&format!("{name}/bias"), &[heads, dim], self.bias_init)?;
            Some(bias.reshape(&[(heads * dim) as isize])?)
        } else {
            None
        };
        let kernel = kernel.reshape(&[features as isize, (heads * dim) as isize])?;
        x.linear_activated(&kernel, bias.as_ref(), crate::Activation::Identity)?
            .reshape(&[
                batch as isize,
                positions as isize,
                heads as isize,
                dim as isize,
            ])?
            .permute(&[0, 2, 1, 3])
    }

    fn attend(
        &self,
        query: &Tensor,
        value: &Tensor,
        key: Option<&Tensor>,
        mask: Option<&Tensor>,
        ctx: &mut ModuleContext<'_>,
    ) -> Result<Tensor> {
        check_size("MultiHeadAttention", ctx, "num_heads", self.num_heads)?;
        check_size("MultiHeadAttention", ctx, "key_dim", self.key_dim)?;
        let key = key.unwrap_or(value);
        for (what, t) in [("query", query), ("value", value), ("key", key)] {
            if t.ndim() != 3 {
                return Err(Error::shape(
                    "MultiHeadAttention",
                    format!(
                        "{} takes a {what} of shape [batch, positions, features], got {:?}",
                        layer_at(ctx),
                        t.shape()
                    ),
                ));
            }
        }
        let (batch, queries) = (query.shape()[0], query.shape()[1]);
        if key.shape()[..2] != value.shape()[..2] || key.shape()[0] != batch {
            return Err(Error::shape(
                "MultiHeadAttention",
                format!(
                    "{}: query {:?}, value {:?} and key {:?} must share the batch, and key and \
                     value their positions",
                    layer_at(ctx),
                    query.shape(),
                    value.shape(),
                    key.shape()
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid(
                "MultiHeadAttention",
                format!(
                    "{} has dropout {}, outside [0, 1)",
                    layer_at(ctx),
                    self.dropout
                ),
            ));
        }
        let value_dim = self.value_dim.unwrap_or(self.key_dim);
        let output_dim = self.output_dim.unwrap_or(query.shape()[2]);
        let q = self.project(ctx, "query", query, self.key_dim)?;
        let k = self.project(ctx, "key", key, self.key_dim)?;
        let v = self.project(ctx, "value", value, value_dim)?;
        // [batch, queries, keys] -> one mask for every head.
        let mask = mask.map(|m| m.unsqueeze(1)).transpose()?;
        let mut weights = Tensor::attention_weights(&q, &k, &v, mask.as_ref(), self.causal)?;
        if ctx.training() && self.dropout > 0.0 {
            weights = weights.dropout(self.dropout, ctx.next_key())?;
        }
        let heads = self.num_heads;
        let attended = weights.matmul(&v)?.permute(&[0, 2, 1, 3])?.reshape(&[
            batch as isize,
            queries as isize,
            (heads * value_dim) as isize,
        ])?;
        let kernel = ctx.param(
            "attention_output/kernel",
            &[heads, value_dim, output_dim],
            self.kernel_init,
        )?;
        let kernel = kernel.reshape(&[(heads * value_dim) as isize, output_dim as isize])?;
        let bias = if self.use_bias {
            Some(ctx.param("attention_output/bias", &[output_dim], self.bias_init)?)
        } else {
            None
        };
        attended.linear_activated(&kernel, bias.as_ref(), crate::Activation::Identity)
    }
}

impl Module for MultiHeadAttention {
    fn kind(&self) -> &'static str {
        "MultiHeadAttention"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        self.attend(x, x, None, None, ctx)
    }

    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        let out = match x {
            Data::Tensor(x) => self.forward(x, ctx)?,
            Data::Tuple(parts) => {
                let tensors = parts
                    .iter()
                    .map(|p| p.as_tensor("a MultiHeadAttention input"))
                    .collect::<Result<Vec<_>>>()?;
                match tensors[..] {
                    [q, v] => self.attend(q, v, None, None, ctx)?,
                    [q, v, k] => self.attend(q, v, Some(k), None, ctx)?,
                    _ => return Err(inputs_error(ctx, &x.describe())),
                }
            }
            Data::Map(parts) => {
                let part = |name: &str| {
                    parts
                        .get(name)
                        .map(|p| p.as_tensor(&format!("MultiHeadAttention's `{name}`")))
                        .transpose()
                };
                let unknown = parts
                    .keys()
                    .find(|k| !["query", "value", "key", "attention_mask"].contains(&k.as_str()));
                match (part("query")?, part("value")?, unknown) {
                    (Some(q), Some(v), None) => {
                        self.attend(q, v, part("key")?, part("attention_mask")?, ctx)?
                    }
                    _ => return Err(inputs_error(ctx, &x.describe())),
                }
            }
        };
        Ok(Data::Tensor(out))
    }
}

fn inputs_error(ctx: &ModuleContext<'_>, given: &str) -> Error {
    Error::invalid(
        "MultiHeadAttention",
        format!(
            "{} was given {given}; it takes one tensor (self-attention), a tuple (query, value) \
             or (query, value, key), or a map of `query`, `value` and optionally `key` and \
             `attention_mask`",
            layer_at(ctx)
        ),
    )
}
