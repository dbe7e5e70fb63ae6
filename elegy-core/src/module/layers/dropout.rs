//! [`Dropout`]: inverted dropout while training.

use super::layer_at;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::Tensor;

/// Inverted dropout: while training, each element is zeroed with probability `rate` and the
/// rest are scaled by `1 / (1 - rate)` (see [`Tensor::dropout`]); otherwise, and while
/// initializing, the identity.
///
/// The mask comes from the context's key for this layer's path ([`ModuleContext::next_key`]):
/// the same step key gives the same mask, and two dropout layers draw different ones.
///
/// ```
/// use elegy_core::module::layers::Dropout;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let layer = Dropout::new(0.5);
/// let x = Tensor::ones(&[4, 100]);
/// let empty = TensorMap::new();
/// let mut training = ModuleContext::new(&empty, &empty, false, true, RngKey::new(0));
/// let y = training.call(&layer, &x)?;
/// assert!(y.to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
/// let mut inference = ModuleContext::new(&empty, &empty, false, false, RngKey::new(0));
/// assert_eq!(inference.call(&layer, &x)?.to_vec(), x.to_vec());
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The fraction of elements dropped, in `[0, 1)`.
    pub rate: f32,
}

impl Dropout {
    /// Drops a fraction `rate` (in `[0, 1)`) of the elements while training.
    pub fn new(rate: f32) -> Dropout {
        Dropout { rate }
    }
}

impl Module for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        // Checked whether or not dropout is active, so that a bad rate shows at the first call.
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(
                "Dropout",
                format!(
                    "{} has rate {}, outside [0, 1); it is the fraction of elements dropped, \
                     and at least some must be kept",
                    layer_at(ctx),
                    self.rate
                ),
            ));
        }
        if !ctx.training() || ctx.initializing() || self.rate == 0.0 {
            return Ok(x.clone());
        }
        x.dropout(self.rate, ctx.next_key())
    }
}
