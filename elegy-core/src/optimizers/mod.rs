//! Optimizers: how gradients become parameter updates. State (moments, the step count, the
//! learning rate) lives in `States::optimizer_states`, so it is saved and restored with the model.
//!
//! Every optimizer here is a [`chain`] of small [`GradientTransform`]s, in the manner of optax:
//! clipping, a scaling (Adam's moments, RMSProp's mean square, Adagrad's accumulator, Nadam's,
//! Adamax's, Lion's and Adafactor's rules), weight decay, the learning rate, momentum. [`Transformed`] turns any chain into an [`Optimizer`], so
//! a new optimizer is a new list of links:
//!
//! ```
//! use elegy_core::optimizers::{
//!     Optimizer, Schedule, Transformed, chain, clip_by_global_norm, scale_by_adam,
//!     scale_by_learning_rate,
//! };
//! use elegy_core::{Tensor, TensorMap};
//! let adam_clipped = Transformed::new(
//!     chain(vec![
//!         clip_by_global_norm(1.0),
//!         scale_by_adam(0.9, 0.999, 1e-7),
//!         scale_by_learning_rate(),
//!     ]),
//!     Schedule::Constant(1e-3),
//! );
//! let params = TensorMap::new().with("w", Tensor::from(vec![1.0, 2.0]));
//! let state = adam_clipped.init(&params)?;
//! let names: Vec<&str> = state.names().collect();
//! assert_eq!(names, ["1/m/w", "1/v/w", "learning_rate", "step"]);
//! # Ok::<(), elegy_core::Error>(())
//! ```
//!
//! # Wrappers
//!
//! An optimizer wrapped in [`MultiSteps`] accumulates gradients over `k` steps and updates once
//! along their mean (gradient accumulation); one wrapped in [`Ema`] keeps a moving average of
//! the parameters, to evaluate or predict with ([`swap_ema_weights`],
//! [`SwapEmaWeights`](crate::callbacks::SwapEmaWeights)). They nest either way round. A wrapper keeps the wrapped optimizer's state
//! entries as they are (so [`STEP`] counts real updates and [`LEARNING_RATE`] stays where
//! callbacks look for it) and adds its own under a prefix of its own.
//!
//! # State
//!
//! The state is one flat [`TensorMap`] with stable names: [`STEP`] (`"step"`, the number of
//! updates applied, exact as two numbers: see [`step_tensor`]), [`LEARNING_RATE`] (`"learning_rate"`, the base rate) and each link's own
//! entries under its position in the chain (`"0/..."`, `"1/..."`), named after the parameter
//! they follow (`"1/m/linear/kernel"`). Only the links an optimizer's options switch on are in
//! its chain, so the names depend on those options (they are listed on each optimizer).
//!
//! # Learning rate and schedules
//!
//! At init the base rate `"learning_rate"` is set to the schedule's [`Schedule::base_rate`] (for a
//! constant rate, the rate itself). Each update then uses
//! `schedule.at(step) * learning_rate / schedule.base_rate()` ([`Schedule::scaled_at`]):
//!
//! - with a constant rate, exactly the state's `"learning_rate"`;
//! - with a decaying schedule, the schedule's own values until someone changes the base rate,
//!   which then scales the whole schedule: halving it halves every later rate and the schedule
//!   keeps its shape.
//!
//! Callbacks such as ReduceLROnPlateau change training through that scalar, with
//! [`Optimizer::set_base_learning_rate`]. [`Optimizer::learning_rate`] is the rate the next
//! update will use; `fit` logs the rate of each epoch's last step as `learning_rate`.

/// Implements [`Optimizer`] for a struct with a `learning_rate: Schedule` field and inherent
/// `validate()` and `transform()` (its chain): every built-in optimizer runs the same way.
///
/// `chained_optimizer!(Ty, one_pass)` also takes an inherent `one_pass(&self) ->
/// Option<fused::AdamRule>`: when it gives a rule and the state fits it, updates skip the chain.
macro_rules! chained_optimizer {
    ($ty:ident) => {
        chained_optimizer!($ty, |_: &$ty| None);
    };
    ($ty:ident, one_pass) => {
        chained_optimizer!($ty, $ty::one_pass);
    };
    ($ty:ident, $one_pass:expr) => {
        impl $crate::optimizers::Optimizer for $ty {
            fn init(
                &self,
                params: &$crate::tensor::TensorMap,
            ) -> $crate::error::Result<$crate::tensor::TensorMap> {
                self.validate()?;
                let op = concat!(stringify!($ty), "::init");
                super::transformed::init(op, &*self.transform(), &self.learning_rate, params)
            }

            fn update(
                &self,
                params: $crate::tensor::TensorMap,
                grads: &$crate::tensor::TensorMap,
                state: $crate::tensor::TensorMap,
            ) -> $crate::error::Result<($crate::tensor::TensorMap, $crate::tensor::TensorMap)> {
                self.validate()?;
                let op = concat!(stringify!($ty), "::update");
                let one_pass: Option<super::fused::AdamRule> = ($one_pass)(self);
                if let Some(rule) = one_pass
                    && rule.fits(&params, grads, &state)
                {
                    return rule.update(op, &self.learning_rate, params, grads, state);
                }
                let transform = self.transform();
                super::transformed::update(
                    op,
                    &*transform,
                    &self.learning_rate,
                    params,
                    grads,
                    state,
                )
            }

            fn learning_rate(&self, state: &$crate::tensor::TensorMap) -> Option<f32> {
                Some(super::transformed::next_rate(&self.learning_rate, state))
            }

            fn hyperparameters(&self) -> serde_json::Value {
                serde_json::json!({ stringify!($ty): self })
            }
        }
    };
}

mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod ema;
mod fused;
mod lion;
mod multi_steps;
mod nadam;
mod rmsprop;
mod schedule;
mod sgd;
mod transform;
mod transformed;

pub use adafactor::{Adafactor, scale_by_adafactor};
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use adamax::{Adamax, scale_by_adamax};
pub use ema::{Ema, ema_weights, swap_ema_weights};
pub use lion::{Lion, scale_by_lion};
pub use multi_steps::MultiSteps;
pub use nadam::{Nadam, scale_by_nadam};
pub use rmsprop::RmsProp;
pub use schedule::Schedule;
pub use sgd::Sgd;
pub use transform::{
    GradientTransform, UpdateContext, add_decayed_weights, chain, clip_by_global_norm,
    clip_by_value, scale_by_adagrad, scale_by_adam, scale_by_learning_rate, scale_by_rms, trace,
};
pub use transformed::Transformed;

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// The name of the step count (the number of updates applied) in optimizer state.
pub const STEP: &str = "step";

/// The name of the base learning rate in optimizer state; see the
/// [module documentation](self) for how it scales a schedule.
pub const LEARNING_RATE: &str = "learning_rate";

/// An optimizer: an initial state for some parameters, and an update from gradients.
pub trait Optimizer: Send + Sync {
    /// The state before the first update of `params`.
    fn init(&self, params: &TensorMap) -> Result<TensorMap>;

    /// New parameters and state after one step along `grads`. Takes the parameters and state by
    /// value so that updates can reuse their storage when nothing else shares it.
    fn update(
        &self,
        params: TensorMap,
        grads: &TensorMap,
        state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)>;

    /// The learning rate the next update will use: what `fit` logs as `learning_rate` (read
    /// before each step; see [`Runner::fit`](crate::Runner::fit)). By default the base rate
    /// ([`Optimizer::base_learning_rate`]).
    fn learning_rate(&self, state: &TensorMap) -> Option<f32> {
        self.base_learning_rate(state)
    }

    /// The optimizer's hyperparameters as JSON, recorded in checkpoints (for information: a
    /// loaded runner keeps the optimizer it was built with).
    fn hyperparameters(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// The base learning rate kept in `state` under [`LEARNING_RATE`], if there is one.
    fn base_learning_rate(&self, state: &TensorMap) -> Option<f32> {
        state.get(LEARNING_RATE)?.item().ok()
    }

    /// Replaces the base learning rate kept in `state` under [`LEARNING_RATE`]: how callbacks
    /// change the rate of later updates. An error when the rate is negative or not finite, or
    /// when the state keeps no learning rate.
    fn set_base_learning_rate(&self, state: &mut TensorMap, learning_rate: f32) -> Result<()> {
        let op = "Optimizer::set_base_learning_rate";
        non_negative(op, "the learning rate", learning_rate)?;
        if !state.contains(LEARNING_RATE) {
            return Err(Error::NotFound {
                what: STATE,
                name: LEARNING_RATE.into(),
                hint: "; this optimizer keeps no learning rate in its state, or the state was \
                       not made by its init"
                    .into(),
            });
        }
        state.insert(LEARNING_RATE, Tensor::scalar(learning_rate));
        Ok(())
    }
}

/// What a missing state entry is called in [`Error::NotFound`].
pub(crate) const STATE: &str = "optimizer state";

/// Steps per unit of the step count's high part: every integer below it is exact in an `f32`.
const STEP_UNIT: u64 = 1 << 24;

/// The step count as optimizer state keeps it under [`STEP`]: `[high, low]` with
/// `step = high * 2^24 + low`, both parts exact in `f32`, so that the count (and a schedule
/// read at it) goes on past the 2^24 steps a single `f32` counts exactly, up to 2^48.
///
/// ```
/// use elegy_core::optimizers::step_tensor;
/// assert_eq!(step_tensor(3).to_vec(), [0.0, 3.0]);
/// assert_eq!(step_tensor((1 << 24) + 5).to_vec(), [1.0, 5.0]);
/// ```
pub fn step_tensor(step: u64) -> Tensor {
    let parts = vec![(step / STEP_UNIT) as f32, (step % STEP_UNIT) as f32];
    Tensor::from_vec(parts, &[2]).expect("two values for shape [2]")
}

/// Rewrites a step count kept as one scalar (checkpoints written before the count had two
/// parts) as [`step_tensor`] does; anything else is left for [`step_count`] to judge.
pub(crate) fn upgrade_scalar_step(state: &mut TensorMap) {
    let scalar = state
        .get(STEP)
        .filter(|t| t.shape().is_empty())
        .and_then(|t| t.item().ok());
    if let Some(step) = scalar
        && step.is_finite()
        && step >= 0.0
        && step.fract() == 0.0
    {
        state.insert(STEP, step_tensor(step as u64));
    }
}

/// The number of updates counted in optimizer state under [`STEP`] (see [`step_tensor`]): a
/// custom `train_step` with optimizers of its own reads it to schedule what it does.
///
/// ```
/// use elegy_core::optimizers::{step_count, Optimizer, Sgd};
/// use elegy_core::{Tensor, TensorMap};
/// let params = TensorMap::new().with("w", Tensor::zeros(&[2]));
/// let state = Sgd::new(0.1).init(&params)?;
/// assert_eq!(step_count(&state)?, 0);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn step_count(state: &TensorMap) -> Result<u64> {
    let parts = state.require(STEP)?.to_vec();
    let exact = |v: f32| v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < STEP_UNIT as f32;
    match parts[..] {
        [high, low] if exact(high) && exact(low) => Ok(high as u64 * STEP_UNIT + low as u64),
        _ => Err(Error::invalid(
            "optimizer",
            format!(
                "the step count in state `{STEP}` is {parts:?}, not [high, low] parts of a \
                 count of updates"
            ),
        )),
    }
}

/// Checks that `grads` has a gradient of the right shape for every parameter.
pub(crate) fn check_grads(op: &'static str, params: &TensorMap, grads: &TensorMap) -> Result<()> {
    for (name, p) in params.iter() {
        let g = grads
            .get(name)
            .ok_or_else(|| Error::invalid(op, format!("no gradient for parameter `{name}`")))?;
        if g.shape() != p.shape() {
            return Err(Error::shape(
                op,
                format!(
                    "gradient of `{name}` has shape {:?} but the parameter has {:?}",
                    g.shape(),
                    p.shape()
                ),
            ));
        }
    }
    Ok(())
}

/// Takes the state entry `name` out of `state` as an owned array (no copy when unshared),
/// checking that it has the shape of the update it follows.
pub(crate) fn take_state(
    op: &'static str,
    state: &mut TensorMap,
    name: &str,
    shape: &[usize],
) -> Result<ndarray::ArrayD<f32>> {
    let tensor = state.remove(name).ok_or_else(|| Error::NotFound {
        what: STATE,
        name: name.to_string(),
        hint: "; the state was not made by this optimizer's init for these parameters".into(),
    })?;
    if tensor.shape() != shape {
        return Err(Error::shape(
            op,
            format!(
                "optimizer state `{name}` has shape {:?} but its parameter has {shape:?}; the \
                 state was made for other parameters",
                tensor.shape()
            ),
        ));
    }
    Ok(tensor.into_array())
}

/// `x`, or 0 when it is subnormal. A moment whose gradient stays 0 (a dead unit's weights)
/// decays geometrically through the subnormal range, where arithmetic is many times slower:
/// on the benchmark MLP that made Adam's update twice as slow after a few hundred steps.
#[inline(always)]
pub(crate) fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}

/// `Ok` when `value` is finite and `>= 0`.
pub(crate) fn non_negative(op: &'static str, what: &str, value: f32) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            format!("{what} must be finite and non-negative, got {value}"),
        ))
    }
}

/// `Ok` when `value` is finite and `> 0`.
pub(crate) fn positive(op: &'static str, what: &str, value: f32) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            format!("{what} must be finite and positive, got {value}"),
        ))
    }
}

/// `Ok` when `value` is in `[0, 1)`, as decay rates (betas, momentum, rho) must be.
pub(crate) fn decay_rate(op: &'static str, what: &str, value: f32) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            format!("{what} must be in [0, 1), got {value}"),
        ))
    }
}

/// `Ok` when `steps` is at least 1.
pub(crate) fn positive_steps(op: &'static str, what: &str, steps: u64) -> Result<()> {
    if steps > 0 {
        Ok(())
    } else {
        Err(Error::invalid(op, format!("{what} must be at least 1")))
    }
}

/// The options every optimizer shares: gradient clipping and weight decay.
pub(crate) struct Common {
    pub(crate) clip_value: Option<f32>,
    pub(crate) clip_global_norm: Option<f32>,
    pub(crate) weight_decay: f32,
}

impl Common {
    pub(crate) fn validate(&self, op: &'static str) -> Result<()> {
        if let Some(limit) = self.clip_value {
            positive(op, "clip_value", limit)?;
        }
        if let Some(max_norm) = self.clip_global_norm {
            positive(op, "clip_global_norm", max_norm)?;
        }
        non_negative(op, "weight_decay", self.weight_decay)
    }

    /// The clipping links, by value first so that the global norm bound holds at the end.
    pub(crate) fn clipping(&self) -> Vec<Box<dyn GradientTransform>> {
        let mut links = Vec::new();
        if let Some(limit) = self.clip_value {
            links.push(clip_by_value(limit));
        }
        if let Some(max_norm) = self.clip_global_norm {
            links.push(clip_by_global_norm(max_norm));
        }
        links
    }

    /// The weight decay link, when there is a decay.
    pub(crate) fn decay(&self) -> Option<Box<dyn GradientTransform>> {
        (self.weight_decay != 0.0).then(|| add_decayed_weights(self.weight_decay))
    }
}
