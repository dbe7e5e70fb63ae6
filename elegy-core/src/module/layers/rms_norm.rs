//! [`RmsNorm`]: root-mean-square normalization, as Keras 3's `RMSNormalization`.

use super::{check_min_rank, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// Root-mean-square normalization (Zhang & Sennrich, 2019), as Keras 3's `RMSNormalization`:
/// each position is divided by the root mean square of its last axis, then scaled by a learned
/// `scale` (ones at the start), with no centering and no shift:
/// `x / sqrt(mean(x^2) + epsilon) * scale`.
///
/// ```
/// use elegy_core::module::layers::RmsNorm;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let x = Tensor::from_vec(vec![3.0, 4.0], &[1, 2])?;
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// let y = ctx.call(&RmsNorm::default().epsilon(0.0), &x)?.to_vec();
/// // The root mean square of [3, 4] is sqrt(12.5).
/// assert!((y[0] - 3.0 / 12.5f32.sqrt()).abs() < 1e-6);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsNorm {
    /// Added to the mean square before its root; not negative.
    pub epsilon: f32,
}

impl Default for RmsNorm {
    /// Keras 3's default: epsilon 1e-6.
    fn default() -> RmsNorm {
        RmsNorm { epsilon: 1e-6 }
    }
}

impl RmsNorm {
    /// With `epsilon` added to the mean square.
    pub fn epsilon(mut self, epsilon: f32) -> RmsNorm {
        self.epsilon = epsilon;
        self
    }
}

impl Module for RmsNorm {
    fn kind(&self) -> &'static str {
        "RmsNorm"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("RmsNorm", ctx, x, 1, "[.., features]")?;
        if self.epsilon.is_nan() || self.epsilon < 0.0 {
            return Err(Error::invalid(
                "RmsNorm",
                format!(
                    "{} has epsilon {}; it must not be negative",
                    layer_at(ctx),
                    self.epsilon
                ),
            ));
        }
        let features = x.shape()[x.ndim() - 1];
        let scale = ctx.param("scale", &[features], Initializer::Ones)?;
        let inv_rms = x
            .square()
            .mean(&[-1], true)?
            .add_scalar(self.epsilon)
            .sqrt()
            .recip();
        x.mul(&inv_rms)?.mul(&scale)
    }
}
