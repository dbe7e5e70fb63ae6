//! [`Flatten`]: the batch axis kept, the others merged.

use super::check_min_rank;
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::tensor::Tensor;

/// Keeps axis 0 (the batch) and merges the others in row-major order:
/// `[n, a, b, ..] -> [n, a * b * ..]` (see [`Tensor::flatten`]). The input of a dense layer
/// after convolutions.
///
/// ```
/// use elegy_core::module::layers::Flatten;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, false, false, RngKey::new(0));
/// let y = ctx.call(&Flatten, &Tensor::zeros(&[32, 7, 7, 16]))?;
/// assert_eq!(y.shape(), &[32, 784]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl Module for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("Flatten", ctx, x, 1, "[batch, ..]")?;
        x.flatten()
    }
}
