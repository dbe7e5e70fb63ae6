//! Non-sequential networks without a `Module` of your own: [`Residual`] (`x + f(x)`) and
//! [`Branches`] (several modules on one input, merged as Keras' `Add`, `Concatenate`, `Multiply`
//! and `Average` layers merge).

use super::layer_at;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::Tensor;

/// `x + inner(x)`: a residual connection around `inner`, whose output must have `x`'s shape.
///
/// A pre-norm transformer block is two of them:
///
/// ```
/// use elegy_core::module::layers::{Gelu, LayerNorm, Linear, MultiHeadAttention, Residual};
/// use elegy_core::module::{ModuleContext, Sequential};
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let width = 32;
/// let block = Sequential::new()
///     .layer(Residual::new(
///         Sequential::new().layer(LayerNorm::default()).layer(MultiHeadAttention::new(4, 8).causal()),
///     ))
///     .layer(Residual::new(
///         Sequential::new()
///             .layer(LayerNorm::default())
///             .layer(Linear::new(4 * width))
///             .layer(Gelu)
///             .layer(Linear::new(width)),
///     ));
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// let y = ctx.call(&block, &Tensor::ones(&[2, 10, width]))?;
/// assert_eq!(y.shape(), &[2, 10, width]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub struct Residual {
    inner: Box<dyn Module>,
}

impl Residual {
    /// `x + inner(x)`.
    pub fn new(inner: impl Module + 'static) -> Residual {
        Residual {
            inner: Box::new(inner),
        }
    }
}

impl Module for Residual {
    fn kind(&self) -> &'static str {
        "Residual"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        let y = ctx.call(self.inner.as_ref(), x)?;
        if y.shape() != x.shape() {
            return Err(Error::shape(
                "Residual",
                format!(
                    "{} adds its input {:?} to its branch's output {:?}; the branch must keep \
                     the input's shape (project the input with a Branches of two if it cannot)",
                    layer_at(ctx),
                    x.shape(),
                    y.shape()
                ),
            ));
        }
        x.add(&y)
    }
}

/// How [`Branches`] merges its branches' outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Their sum (Keras' `Add`); shapes must be equal.
    Add,
    /// Their element-wise product (Keras' `Multiply`); shapes must be equal.
    Multiply,
    /// Their mean (Keras' `Average`); shapes must be equal.
    Average,
    /// Joined along an axis (Keras' `Concatenate`, whose default axis is -1).
    Concatenate(isize),
}

/// Several modules applied to one input, their outputs merged: a ResNet shortcut with a
/// projection (`Branches::new(Merge::Add).branch(convs).branch(Conv2D 1x1)`), an Inception-like
/// split, a gated unit (`Merge::Multiply`). A branch that should pass its input through as it is
/// is [`Identity`].
///
/// ```
/// use elegy_core::module::layers::{Branches, Identity, Linear, Merge};
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let both = Branches::new(Merge::Concatenate(-1)).branch(Identity).branch(Linear::new(3));
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// assert_eq!(ctx.call(&both, &Tensor::ones(&[2, 4]))?.shape(), &[2, 7]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub struct Branches {
    merge: Merge,
    branches: Vec<Box<dyn Module>>,
}

impl Branches {
    /// No branches yet, merged by `merge`.
    pub fn new(merge: Merge) -> Branches {
        Branches {
            merge,
            branches: Vec::new(),
        }
    }

    /// With one more branch.
    pub fn branch(mut self, module: impl Module + 'static) -> Branches {
        self.branches.push(Box::new(module));
        self
    }
}

impl Module for Branches {
    fn kind(&self) -> &'static str {
        "Branches"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        if self.branches.is_empty() {
            return Err(Error::invalid(
                "Branches",
                format!(
                    "{} has no branches; add them with .branch(module)",
                    layer_at(ctx)
                ),
            ));
        }
        let outputs = self
            .branches
            .iter()
            .map(|b| ctx.call(b.as_ref(), x))
            .collect::<Result<Vec<_>>>()?;
        if let Merge::Concatenate(axis) = self.merge {
            return Tensor::concat(&outputs, axis);
        }
        let first = &outputs[0];
        if let Some(other) = outputs.iter().find(|o| o.shape() != first.shape()) {
            return Err(Error::shape(
                "Branches",
                format!(
                    "{} merges outputs of shapes {:?} and {:?} by {:?}; that needs one shape \
                     (Concatenate joins different ones)",
                    layer_at(ctx),
                    first.shape(),
                    other.shape(),
                    self.merge
                ),
            ));
        }
        let mut merged = first.clone();
        for other in &outputs[1..] {
            merged = match self.merge {
                Merge::Multiply => merged.mul(other)?,
                _ => merged.add(other)?,
            };
        }
        Ok(match self.merge {
            Merge::Average => merged.div_scalar(outputs.len() as f32),
            _ => merged,
        })
    }
}

/// Its input, unchanged: the pass-through branch of a [`Branches`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl Module for Identity {
    fn kind(&self) -> &'static str {
        "Identity"
    }

    fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
        Ok(x.clone())
    }
}
