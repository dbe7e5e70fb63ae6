//! [`Schedule`]: the learning rate as a function of the step count, as Keras' schedules.

use std::f64::consts::PI;

use super::{non_negative, positive, positive_steps};
use crate::error::{Error, Result};

/// The learning rate of each update, as a function of `step`, the number of updates applied
/// before it (0 for the first), as Keras' `LearningRateSchedule`s.
///
/// An optimizer keeps a base rate in its state (`"learning_rate"`) that scales the schedule; see
/// [`Schedule::scaled_at`] and the [module documentation](crate::optimizers).
///
/// ```
/// use elegy_core::optimizers::{Adam, Schedule};
/// let schedule = Schedule::ExponentialDecay {
///     initial: 0.1,
///     decay_steps: 10,
///     decay_rate: 0.5,
///     staircase: true,
/// };
/// assert_eq!(schedule.at(25), 0.025);
/// let adam = Adam { learning_rate: schedule, ..Adam::default() };
/// # let _ = adam;
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    /// The same rate at every step.
    Constant(f32),
    /// `initial * decay_rate ^ (step / decay_steps)`; with `staircase` the exponent is floored,
    /// so the rate drops once every `decay_steps`.
    ExponentialDecay {
        /// The rate at step 0.
        initial: f32,
        /// Steps over which the rate is multiplied by `decay_rate`; positive.
        decay_steps: u64,
        /// Factor per `decay_steps`; positive.
        decay_rate: f32,
        /// Whether the rate changes in steps (floored exponent) rather than smoothly.
        staircase: bool,
    },
    /// Piecewise constant (step decay): `values[0]` while `step <= boundaries[0]`, `values[i]`
    /// while `boundaries[i-1] < step <= boundaries[i]`, and the last value after the last
    /// boundary (Keras' `PiecewiseConstantDecay`).
    Piecewise {
        /// Strictly increasing steps where the rate changes.
        boundaries: Vec<u64>,
        /// One more value than there are boundaries.
        values: Vec<f32>,
    },
    /// Linear warmup from `initial` to `warmup_target` over `warmup_steps`, then a cosine decay
    /// over `decay_steps` from the peak to `alpha * peak`, where it stays (Keras 3's
    /// `CosineDecay`). The peak is `warmup_target`, or `initial` without warmup.
    CosineDecay {
        /// The rate at step 0.
        initial: f32,
        /// Steps of the cosine decay, after the warmup; positive.
        decay_steps: u64,
        /// The final rate as a fraction of the peak, in `[0, 1]`.
        alpha: f32,
        /// Steps of the linear warmup; 0 for none.
        warmup_steps: u64,
        /// The rate the warmup reaches; `None` for no warmup (then `warmup_steps` must be 0).
        warmup_target: Option<f32>,
    },
}

impl From<f32> for Schedule {
    /// A constant rate.
    fn from(rate: f32) -> Schedule {
        Schedule::Constant(rate)
    }
}

impl Schedule {
    /// The schedule's own rate at `step`.
    pub fn at(&self, step: u64) -> f32 {
        self.value(step) as f32
    }

    /// The rate the schedule is scaled against, which an optimizer stores as its base
    /// `"learning_rate"` at init: the constant rate, the initial rate of an exponential decay, the
    /// largest value of a piecewise schedule, the peak of a cosine decay.
    pub fn base_rate(&self) -> f32 {
        match self {
            Schedule::Constant(rate) => *rate,
            Schedule::ExponentialDecay { initial, .. } => *initial,
            Schedule::Piecewise { values, .. } => values.iter().copied().fold(0.0, f32::max),
            Schedule::CosineDecay {
                initial,
                warmup_target,
                ..
            } => warmup_target.unwrap_or(*initial),
        }
    }

    /// The rate at `step` when the optimizer's base rate is `base`: `at(step) * base /
    /// base_rate()`. A constant schedule gives `base` itself, so replacing the base rate
    /// replaces the rate; a decaying schedule keeps its shape, scaled by `base / base_rate()`.
    pub fn scaled_at(&self, step: u64, base: f32) -> f32 {
        match self {
            Schedule::Constant(_) => base,
            // A zero base rate only comes from a schedule `validate` rejects: no division by it.
            _ if base == self.base_rate() || self.base_rate() == 0.0 => self.at(step),
            _ => (self.value(step) * base as f64 / self.base_rate() as f64) as f32,
        }
    }

    /// Checks the schedule's parameters: rates finite and non-negative, positive step counts,
    /// piecewise boundaries increasing with one value more than boundaries.
    pub fn validate(&self) -> Result<()> {
        match self {
            Schedule::Constant(rate) => non_negative("Schedule::Constant", "the rate", *rate),
            Schedule::ExponentialDecay {
                initial,
                decay_steps,
                decay_rate,
                ..
            } => {
                let op = "Schedule::ExponentialDecay";
                positive(op, "initial", *initial)?;
                positive_steps(op, "decay_steps", *decay_steps)?;
                positive(op, "decay_rate", *decay_rate)
            }
            Schedule::Piecewise { boundaries, values } => {
                let op = "Schedule::Piecewise";
                if values.len() != boundaries.len() + 1 {
                    return Err(Error::invalid(
                        op,
                        format!(
                            "{} boundaries need {} values, got {}",
                            boundaries.len(),
                            boundaries.len() + 1,
                            values.len()
                        ),
                    ));
                }
                if let Some(w) = boundaries.windows(2).find(|w| w[0] >= w[1]) {
                    return Err(Error::invalid(
                        op,
                        format!(
                            "boundaries must be strictly increasing, got {} then {}",
                            w[0], w[1]
                        ),
                    ));
                }
                for &v in values {
                    non_negative(op, "a value", v)?;
                }
                if self.base_rate() == 0.0 {
                    return Err(Error::invalid(
                        op,
                        "every value is 0; use Schedule::Constant(0.0) for a zero rate",
                    ));
                }
                Ok(())
            }
            Schedule::CosineDecay {
                initial,
                decay_steps,
                alpha,
                warmup_steps,
                warmup_target,
            } => {
                let op = "Schedule::CosineDecay";
                non_negative(op, "initial", *initial)?;
                positive_steps(op, "decay_steps", *decay_steps)?;
                if !(0.0..=1.0).contains(alpha) {
                    return Err(Error::invalid(
                        op,
                        format!("alpha must be in [0, 1], got {alpha}"),
                    ));
                }
                match (warmup_target, warmup_steps) {
                    (None, 0) => positive(op, "initial (without warmup)", *initial),
                    (Some(target), 1..) => positive(op, "warmup_target", *target),
                    (None, steps) => Err(Error::invalid(
                        op,
                        format!(
                            "warmup_steps is {steps} but warmup_target is None; set the rate \
                             to warm up to, or warmup_steps to 0"
                        ),
                    )),
                    (Some(target), _) => Err(Error::invalid(
                        op,
                        format!(
                            "warmup_target is {target} but warmup_steps is 0; set the warmup's \
                             length, or warmup_target to None"
                        ),
                    )),
                }
            }
        }
    }

    /// The rate at `step`, in f64 so that long schedules stay accurate.
    fn value(&self, step: u64) -> f64 {
        let t = step as f64;
        match self {
            Schedule::Constant(rate) => *rate as f64,
            Schedule::ExponentialDecay {
                initial,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let p = t / *decay_steps as f64;
                let p = if *staircase { p.floor() } else { p };
                *initial as f64 * (*decay_rate as f64).powf(p)
            }
            Schedule::Piecewise { boundaries, values } => {
                let i = boundaries.partition_point(|&b| b < step);
                values.get(i).copied().unwrap_or(0.0) as f64
            }
            Schedule::CosineDecay {
                initial,
                decay_steps,
                alpha,
                warmup_steps,
                warmup_target,
            } => {
                let initial = *initial as f64;
                let warmup = warmup_target.map(|target| (target as f64, *warmup_steps));
                let (peak, warmup_steps) = warmup.unwrap_or((initial, 0));
                if step < warmup_steps {
                    return initial + (peak - initial) * t / warmup_steps as f64;
                }
                let done = ((step - warmup_steps) as f64).min(*decay_steps as f64);
                let cosine = 0.5 * (1.0 + (PI * done / *decay_steps as f64).cos());
                let alpha = *alpha as f64;
                peak * ((1.0 - alpha) * cosine + alpha)
            }
        }
    }
}
