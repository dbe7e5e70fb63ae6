//! [`TerminateOnNaN`]: stop as soon as the loss stops being a number.

use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::{Error, Result};

/// Stops training after a batch whose loss is NaN or infinite, as Keras' `TerminateOnNaN`. The
/// check is on the epoch's running `loss`, which a single bad batch makes non-finite.
///
/// By default the stop is graceful: `fit` returns `Ok` with the epochs so far, the end hooks
/// still run, and a message names the epoch and batch. With
/// [`raise_error(true)`](TerminateOnNaN::raise_error) (Keras' `raise_error=True`), `fit`
/// returns [`Error::NonFiniteLoss`] naming them instead, at once: no other hook runs after it
/// (no `on_epoch_end`, no `on_train_end`), so a checkpoint callback does not save the broken
/// states as its last.
///
/// ```
/// use elegy_core::callbacks::TerminateOnNaN;
/// let strict = TerminateOnNaN::new().raise_error(true);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    raise_error: bool,
    stopped_at: Option<(usize, usize, f32)>,
}

impl TerminateOnNaN {
    /// Watches the `loss` log, stopping gracefully.
    pub fn new() -> TerminateOnNaN {
        TerminateOnNaN::default()
    }

    /// Whether a non-finite loss makes `fit` fail with [`Error::NonFiniteLoss`] rather than
    /// stop gracefully.
    pub fn raise_error(mut self, raise_error: bool) -> TerminateOnNaN {
        self.raise_error = raise_error;
        self
    }
}

impl Callback for TerminateOnNaN {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.stopped_at = None;
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        if let Some(&loss) = logs.get("loss")
            && !loss.is_finite()
        {
            let epoch = ctx.epoch;
            if self.raise_error {
                return Err(Error::NonFiniteLoss { epoch, batch, loss });
            }
            self.stopped_at = Some((epoch, batch, loss));
            ctx.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        // Printed here rather than in the batch hook so it does not cut through a progress bar.
        if let Some((epoch, batch, loss)) = self.stopped_at {
            println!(
                "Epoch {}, batch {}: invalid loss ({loss}), training terminated",
                epoch + 1,
                batch + 1
            );
        }
        Ok(())
    }
}
