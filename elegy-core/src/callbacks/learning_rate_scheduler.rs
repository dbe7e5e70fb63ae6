//! [`LearningRateScheduler`]: the learning rate of each epoch from a function.

use std::fmt;

use crate::callbacks::{Callback, CallbackContext};
use crate::error::Result;

const OP: &str = "LearningRateScheduler";

/// Sets the learning rate at the start of every epoch to `schedule(epoch, lr)`, where `lr` is the
/// current one (Keras' `LearningRateScheduler`). The optimizer must keep its learning rate in its
/// state (see [`CallbackContext::set_learning_rate`]).
///
/// ```
/// use elegy_core::callbacks::LearningRateScheduler;
/// // Halve the learning rate every 10 epochs.
/// let schedule = LearningRateScheduler::new(|epoch, lr| {
///     if epoch > 0 && epoch % 10 == 0 { lr * 0.5 } else { lr }
/// });
/// ```
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f32) -> f32>,
    verbose: bool,
}

impl LearningRateScheduler {
    /// Uses `schedule(epoch, current_lr) -> new_lr`, with epochs counted from 0.
    pub fn new(schedule: impl FnMut(usize, f32) -> f32 + 'static) -> LearningRateScheduler {
        LearningRateScheduler {
            schedule: Box::new(schedule),
            verbose: false,
        }
    }

    /// Print the learning rate at the start of every epoch.
    pub fn verbose(mut self, verbose: bool) -> LearningRateScheduler {
        self.verbose = verbose;
        self
    }
}

impl fmt::Debug for LearningRateScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LearningRateScheduler")
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl Callback for LearningRateScheduler {
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        ctx.require_learning_rate(OP).map(drop)
    }

    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        let lr = ctx.require_learning_rate(OP)?;
        let new_lr = (self.schedule)(epoch, lr);
        ctx.set_learning_rate(new_lr)?;
        if self.verbose {
            println!(
                "Epoch {}: LearningRateScheduler setting learning rate to {new_lr}.",
                epoch + 1
            );
        }
        Ok(())
    }
}
