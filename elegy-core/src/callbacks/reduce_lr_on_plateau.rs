//! [`ReduceLrOnPlateau`]: lower the learning rate when a monitored log stalls.

use super::Mode;
use super::monitor::Monitor;
use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::{Error, Result};

const OP: &str = "ReduceLrOnPlateau";

/// Multiplies the learning rate by `factor` once the monitored log has not improved (by more
/// than `min_delta`) for `patience` epochs, never going below `min_lr`; after a reduction,
/// `cooldown` epochs pass before counting resumes. Keras' `ReduceLROnPlateau`.
///
/// The learning rate is the optimizer state's base `learning_rate` (see
/// [`CallbackContext::set_learning_rate`]; with a schedule, reducing it scales the schedule, and
/// `min_lr` bounds the base rate, not the scheduled one); an optimizer without one is an error
/// when training begins. Monitoring a missing log is an error as for [`super::EarlyStopping`].
///
/// ```
/// use elegy_core::callbacks::ReduceLrOnPlateau;
/// let reduce = ReduceLrOnPlateau::new("val_loss").factor(0.5).patience(2).min_lr(1e-5);
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    monitor: Monitor,
    factor: f32,
    patience: usize,
    cooldown: usize,
    min_lr: f32,
    verbose: bool,
    wait: usize,
    cooldown_left: usize,
    best: Option<f32>,
}

impl ReduceLrOnPlateau {
    /// Watches `monitor` with Keras' defaults: factor 0.1, patience 10, `min_delta` 1e-4, no
    /// cooldown, `min_lr` 0, mode [`Mode::Auto`].
    pub fn new(monitor: impl Into<String>) -> ReduceLrOnPlateau {
        let mut monitor = Monitor::new(monitor);
        monitor.min_delta = 1e-4;
        ReduceLrOnPlateau {
            monitor,
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            verbose: false,
            wait: 0,
            cooldown_left: 0,
            best: None,
        }
    }

    /// What the learning rate is multiplied by, in (0, 1).
    pub fn factor(mut self, factor: f32) -> ReduceLrOnPlateau {
        self.factor = factor;
        self
    }

    /// Epochs without improvement before a reduction.
    pub fn patience(mut self, patience: usize) -> ReduceLrOnPlateau {
        self.patience = patience;
        self
    }

    /// Whether the log should go down or up.
    pub fn mode(mut self, mode: Mode) -> ReduceLrOnPlateau {
        self.monitor.mode = mode;
        self
    }

    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f32) -> ReduceLrOnPlateau {
        self.monitor.min_delta = min_delta;
        self
    }

    /// Epochs after a reduction during which no epoch counts as stalled.
    pub fn cooldown(mut self, cooldown: usize) -> ReduceLrOnPlateau {
        self.cooldown = cooldown;
        self
    }

    /// The learning rate is never reduced below this.
    pub fn min_lr(mut self, min_lr: f32) -> ReduceLrOnPlateau {
        self.min_lr = min_lr;
        self
    }

    /// Print each reduction.
    pub fn verbose(mut self, verbose: bool) -> ReduceLrOnPlateau {
        self.verbose = verbose;
        self
    }
}

impl Default for ReduceLrOnPlateau {
    /// Watches `val_loss`, as Keras does.
    fn default() -> ReduceLrOnPlateau {
        ReduceLrOnPlateau::new("val_loss")
    }
}

impl Callback for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::invalid(
                OP,
                format!(
                    "factor {} must be in (0, 1): it multiplies the learning rate",
                    self.factor
                ),
            ));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Err(Error::invalid(
                OP,
                format!("min_lr {} must be finite and not negative", self.min_lr),
            ));
        }
        self.monitor.begin(OP)?;
        ctx.require_learning_rate(OP)?;
        self.wait = 0;
        self.cooldown_left = 0;
        self.best = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        let Some(current) = self.monitor.value(OP, logs)? else {
            return Ok(());
        };
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.wait = 0;
        }
        if self.monitor.improves(current, self.best) {
            self.best = Some(current);
            self.wait = 0;
            return Ok(());
        }
        if self.cooldown_left > 0 {
            return Ok(());
        }
        self.wait += 1;
        if self.wait >= self.patience {
            let lr = ctx.require_learning_rate(OP)?;
            if lr > self.min_lr {
                let new_lr = (lr * self.factor).max(self.min_lr);
                ctx.set_learning_rate(new_lr)?;
                if self.verbose {
                    println!(
                        "Epoch {}: ReduceLrOnPlateau reducing learning rate to {new_lr}.",
                        epoch + 1
                    );
                }
                self.cooldown_left = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        self.monitor.end(OP)
    }
}
