//! [`TerminateOnNaN`]: stop as soon as the loss stops being a number.

use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::Result;

/// Stops training after a batch whose loss is NaN or infinite, as Keras' `TerminateOnNaN`. The
/// check is on the epoch's running `loss`, which a single bad batch makes non-finite; the end
/// hooks still run, and a message names the epoch and batch.
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    stopped_at: Option<(usize, usize, f32)>,
}

impl TerminateOnNaN {
    /// Watches the `loss` log.
    pub fn new() -> TerminateOnNaN {
        TerminateOnNaN::default()
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
            self.stopped_at = Some((ctx.epoch, batch, loss));
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
