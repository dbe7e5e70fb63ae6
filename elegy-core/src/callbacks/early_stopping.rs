//! [`EarlyStopping`]: stop when a monitored log has stopped improving.

use super::Mode;
use super::monitor::Monitor;
use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::Result;
use crate::tensor::TensorMap;

const OP: &str = "EarlyStopping";

/// Stops training once the monitored log has not improved for `patience` epochs, as Keras'
/// `EarlyStopping` does.
///
/// - An improvement is a change by more than `min_delta` in the direction of `mode`.
/// - With a `baseline`, the patience counter restarts only on epochs that beat the baseline as
///   well as the best so far, so a run that never reaches it stops as soon as it stalls.
/// - Epochs before `start_from_epoch` are ignored (a warm-up).
/// - With `restore_best_weights`, the parameters and network state of the best epoch are put
///   back at the end of training: after an early stop, and also when every epoch ran.
///
/// Monitoring a log that is not there is an error (a misspelt name never fails silently),
/// except a validation log on epochs without validation (`validation_freq > 1`); fit returns
/// an error at the end if such a log never appeared at all.
///
/// ```
/// use elegy_core::callbacks::EarlyStopping;
/// let stop = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    baseline: Option<f32>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    verbose: bool,
    wait: usize,
    best: Option<f32>,
    best_epoch: usize,
    best_weights: Option<(TensorMap, TensorMap)>,
    stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches the log `monitor` (`"val_loss"`, `"loss"`, `"val_accuracy"`, ...) with patience
    /// 0, no `min_delta`, mode [`Mode::Auto`], no baseline, no restoring, from the first epoch.
    pub fn new(monitor: impl Into<String>) -> EarlyStopping {
        EarlyStopping {
            monitor: Monitor::new(monitor),
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            verbose: false,
            wait: 0,
            best: None,
            best_epoch: 0,
            best_weights: None,
            stopped_epoch: None,
        }
    }

    /// The smallest change that counts as an improvement (its sign is ignored).
    pub fn min_delta(mut self, min_delta: f32) -> EarlyStopping {
        self.monitor.min_delta = min_delta;
        self
    }

    /// Epochs without improvement to wait before stopping.
    pub fn patience(mut self, patience: usize) -> EarlyStopping {
        self.patience = patience;
        self
    }

    /// Whether the log should go down or up.
    pub fn mode(mut self, mode: Mode) -> EarlyStopping {
        self.monitor.mode = mode;
        self
    }

    /// A value the log has to beat for the patience counter to restart.
    pub fn baseline(mut self, baseline: f32) -> EarlyStopping {
        self.baseline = Some(baseline);
        self
    }

    /// Put back the best epoch's parameters and network state at the end of training.
    pub fn restore_best_weights(mut self, restore: bool) -> EarlyStopping {
        self.restore_best_weights = restore;
        self
    }

    /// The first epoch (counting from 0) whose log is considered.
    pub fn start_from_epoch(mut self, epoch: usize) -> EarlyStopping {
        self.start_from_epoch = epoch;
        self
    }

    /// Print when training stops early and when the best weights are restored.
    pub fn verbose(mut self, verbose: bool) -> EarlyStopping {
        self.verbose = verbose;
        self
    }
}

impl Default for EarlyStopping {
    /// Watches `val_loss`, as Keras does.
    fn default() -> EarlyStopping {
        EarlyStopping::new("val_loss")
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.monitor.begin(OP)?;
        self.wait = 0;
        self.best = None;
        self.best_epoch = 0;
        self.best_weights = None;
        self.stopped_epoch = None;
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
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        let snapshot = |ctx: &CallbackContext<'_>| {
            Some((ctx.states.net_params.clone(), ctx.states.net_states.clone()))
        };
        if self.restore_best_weights && self.best_weights.is_none() {
            // Until something improves, the first weights considered are the best.
            self.best_weights = snapshot(ctx);
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if self.monitor.improves(current, self.best) {
            self.best = Some(current);
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = snapshot(ctx);
            }
            let beats_baseline = self
                .baseline
                .is_none_or(|b| self.monitor.improves(current, Some(b)));
            if beats_baseline {
                self.wait = 0;
            }
            return Ok(());
        }
        // Keras never stops at the very first epoch.
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctx.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        if let (Some(epoch), true) = (self.stopped_epoch, self.verbose) {
            println!("Epoch {}: early stopping", epoch + 1);
        }
        if let (true, Some((params, states))) =
            (self.restore_best_weights, self.best_weights.take())
        {
            if self.verbose {
                println!(
                    "Restoring model weights from the end of the best epoch: {}.",
                    self.best_epoch + 1
                );
            }
            ctx.states.net_params = params;
            ctx.states.net_states = states;
        }
        self.monitor.end(OP)
    }
}
