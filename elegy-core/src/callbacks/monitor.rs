//! [`Mode`] and the monitored log shared by [`super::EarlyStopping`] and
//! [`super::ReduceLrOnPlateau`]: which log, which way is better, and by how much.

use crate::callbacks::LogValues;
use crate::error::{Error, Result};

/// Which way a monitored log improves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Lower is better (losses, errors).
    Min,
    /// Higher is better (accuracies).
    Max,
    /// Decided from the log's name: losses and errors go down, accuracies, AUC, precision and
    /// recall go up; any other name is an error asking for `Min` or `Max`.
    #[default]
    Auto,
}

/// A log watched for improvements.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub(crate) name: String,
    pub(crate) mode: Mode,
    pub(crate) min_delta: f32,
    /// `Min` or `Max`, once resolved at the start of training.
    direction: Mode,
    /// Whether the log was present at some epoch end of this run.
    seen: bool,
    /// Epoch ends of this run.
    epochs: usize,
}

impl Monitor {
    pub(crate) fn new(name: impl Into<String>) -> Monitor {
        Monitor {
            name: name.into(),
            mode: Mode::Auto,
            min_delta: 0.0,
            direction: Mode::Min,
            seen: false,
            epochs: 0,
        }
    }

    /// Resolves the direction and forgets the previous run; called at the start of training.
    pub(crate) fn begin(&mut self, op: &'static str) -> Result<()> {
        if !self.min_delta.is_finite() {
            return Err(Error::invalid(
                op,
                format!("min_delta {} must be a finite number", self.min_delta),
            ));
        }
        self.direction = match self.mode {
            Mode::Min | Mode::Max => self.mode,
            Mode::Auto => auto_direction(&self.name).ok_or_else(|| {
                Error::invalid(
                    op,
                    format!(
                        "cannot tell whether `{}` improves by going down or up; set the mode \
                         to Mode::Min or Mode::Max",
                        self.name
                    ),
                )
            })?,
        };
        self.seen = false;
        self.epochs = 0;
        Ok(())
    }

    /// The monitored value in an epoch's logs. `None` when it is a validation log and this
    /// epoch ran no validation (`validation_freq > 1`); any other absence is an error, so that a
    /// misspelt name fails instead of silently never firing.
    pub(crate) fn value(&mut self, op: &'static str, logs: &LogValues) -> Result<Option<f32>> {
        self.epochs += 1;
        if let Some(&v) = logs.get(&self.name) {
            self.seen = true;
            return Ok(Some(v));
        }
        let validated = logs.keys().any(|k| k.starts_with("val_"));
        if self.name.starts_with("val_") && !validated {
            return Ok(None);
        }
        Err(Error::NotFound {
            what: "monitored log",
            name: self.name.clone(),
            hint: format!(
                " ({op}); the epoch's logs are {:?}",
                logs.keys().collect::<Vec<_>>()
            ),
        })
    }

    /// At the end of training: an error when a validation log was monitored but validation
    /// never ran.
    pub(crate) fn end(&self, op: &'static str) -> Result<()> {
        if self.seen || self.epochs == 0 {
            return Ok(());
        }
        Err(Error::invalid(
            op,
            format!(
                "the monitored log `{}` never appeared: no epoch of this fit validated (pass \
                 validation_data or validation_split to fit, and run at least validation_freq \
                 epochs), or monitor a training log such as `loss`",
                self.name
            ),
        ))
    }

    /// Whether `current` beats `reference` by more than `min_delta` (anything beats no
    /// reference; NaN beats nothing).
    pub(crate) fn improves(&self, current: f32, reference: Option<f32>) -> bool {
        let delta = self.min_delta.abs();
        match (reference, self.direction) {
            _ if current.is_nan() => false,
            (None, _) => true,
            (Some(r), Mode::Max) => current - delta > r,
            (Some(r), _) => current + delta < r,
        }
    }
}

/// The direction of a log by its name (without `val_`), when the name says it.
pub(crate) fn auto_direction(name: &str) -> Option<Mode> {
    let name = name.strip_prefix("val_").unwrap_or(name);
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["loss", "error", "crossentropy", "mse", "mae", "hinge"]) {
        Some(Mode::Min)
    } else if has(&["acc", "auc", "precision", "recall", "f1", "iou"]) {
        Some(Mode::Max)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_reads_the_direction_from_the_name() {
        assert_eq!(auto_direction("val_loss"), Some(Mode::Min));
        assert_eq!(
            auto_direction("sparse_categorical_accuracy"),
            Some(Mode::Max)
        );
        assert_eq!(auto_direction("learning_rate"), None);
    }

    #[test]
    fn min_delta_is_a_margin_in_the_improving_direction() {
        let mut m = Monitor::new("loss");
        m.min_delta = 0.1;
        m.begin("test").unwrap();
        assert!(m.improves(0.85, Some(1.0)));
        assert!(!m.improves(0.95, Some(1.0)));
        m.mode = Mode::Max;
        m.begin("test").unwrap();
        assert!(m.improves(1.15, Some(1.0)));
        assert!(!m.improves(1.05, Some(1.0)));
        assert!(!m.improves(f32::NAN, None));
    }
}
