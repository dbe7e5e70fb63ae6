//! [`Ema`]: an exponential moving average of the parameters, kept in the optimizer state beside
//! the optimizer's own, and [`swap_ema_weights`] to evaluate or predict with it.

use ndarray::Zip;

use super::{Optimizer, STEP, step_count, take_state};
use crate::error::{Error, Result};
use crate::step::States;
use crate::tensor::{Tensor, TensorMap};

/// What the names of [`Ema`]'s state entries start with: `ema/{param}`.
const PREFIX: &str = "ema/";

/// The name of the average of parameter `param`.
fn average_name(param: &str) -> String {
    format!("{PREFIX}{param}")
}

/// Updates with `optimizer` and keeps an exponential moving average of the parameters after
/// each update, as Keras' `use_ema=True, ema_momentum=momentum` (Polyak averaging): evaluate or
/// predict with the average through [`SwapEmaWeights`](crate::callbacks::SwapEmaWeights), or
/// take it with [`ema_weights`] / [`swap_ema_weights`].
///
/// ```
/// use elegy_core::optimizers::{Ema, Optimizer, Sgd};
/// use elegy_core::{Tensor, TensorMap};
/// let optimizer = Ema::new(Sgd::new(0.5), 0.9);
/// let params = TensorMap::new().with("w", Tensor::from(vec![1.0]));
/// let grads = TensorMap::new().with("w", Tensor::from(vec![1.0]));
/// let state = optimizer.init(&params)?;
/// // First update: w = 0.5, and the average starts at it.
/// let (params, state) = optimizer.update(params, &grads, state)?;
/// assert_eq!(state.require("ema/w")?.to_vec(), [0.5]);
/// // Second: w = 0, average 0.9 * 0.5 + 0.1 * 0.
/// let (params, state) = optimizer.update(params, &grads, state)?;
/// assert_eq!(params.require("w")?.to_vec(), [0.0]);
/// assert!((state.require("ema/w")?.item()? - 0.45).abs() < 1e-7);
/// # Ok::<(), elegy_core::Error>(())
/// ```
///
/// The rule is Keras 3's (`BaseOptimizer._update_model_variables_moving_average`), after each
/// update `n` (counting from 1) of `optimizer`, on the parameters `p` it produced:
///
/// - `average = p` on the first update (Keras' bias rule: the momentum is 0 while the update
///   count before the update is 0, so the average does not start from its initial value);
/// - `average = momentum * average + (1 - momentum) * p` on every later one;
/// - with [`overwrite_frequency(f)`](Ema::overwrite_frequency), the parameters are then replaced
///   by the average when `n` is a multiple of `f` (Keras' `ema_overwrite_frequency`).
///
/// Where it differs from Keras, on purpose:
///
/// - Keras replaces the weights by the average at the end of every `fit`
///   (`finalize_variable_values`). Here `fit` leaves the trained parameters as they are, so
///   that a run resumed from a checkpoint goes on exactly as it would have; swap the average in
///   when you want it ([`swap_ema_weights`], or [`SwapEmaWeights`](crate::callbacks::SwapEmaWeights)
///   around evaluation and prediction).
/// - Under gradient accumulation Keras averages after every micro-batch; here the average moves
///   only when `optimizer`'s step count does (`Ema::new(MultiSteps::new(..), m)` averages once
///   per real update, and so does `MultiSteps::new(Ema::new(..), k)`).
///
/// Before the first update the average is the initial parameters (Keras' are zeros, which its
/// first update overwrites). State: `optimizer`'s own entries as they are, and `ema/{param}`.
/// `optimizer` must count its updates under `step` in its state, as the built-in ones do.
#[doc(alias = "use_ema")]
#[doc(alias = "ema_momentum")]
#[doc(alias = "exponential moving average")]
#[derive(Clone, Debug)]
pub struct Ema<O> {
    optimizer: O,
    momentum: f32,
    overwrite_frequency: Option<u64>,
}

impl<O: Optimizer> Ema<O> {
    /// Averages the parameters of `optimizer`'s updates with `momentum` in `[0, 1]` (Keras'
    /// default is 0.99).
    pub fn new(optimizer: O, momentum: f32) -> Ema<O> {
        Ema {
            optimizer,
            momentum,
            overwrite_frequency: None,
        }
    }

    /// Replaces the parameters by their average after every `updates` updates (by default,
    /// never during training).
    pub fn overwrite_frequency(mut self, updates: u64) -> Ema<O> {
        self.overwrite_frequency = Some(updates);
        self
    }

    /// The optimizer that makes the updates.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    fn validate(&self, op: &'static str) -> Result<()> {
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                op,
                format!("momentum must be in [0, 1], got {}", self.momentum),
            ));
        }
        if self.overwrite_frequency == Some(0) {
            return Err(Error::invalid(
                op,
                "overwrite_frequency must be at least 1 update, or None for never",
            ));
        }
        Ok(())
    }

    /// The inner optimizer's update count, which the average follows.
    fn updates_counted(op: &'static str, state: &TensorMap) -> Result<u64> {
        if !state.contains(STEP) {
            return Err(Error::invalid(
                op,
                format!(
                    "the wrapped optimizer keeps no update count `{STEP}` in its state, which \
                     Ema follows to know when an update happened; wrap a built-in optimizer \
                     (or one made with Transformed)"
                ),
            ));
        }
        step_count(state)
    }
}

impl<O: Optimizer> Optimizer for Ema<O> {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        let op = "Ema::init";
        self.validate(op)?;
        let mut state = self.optimizer.init(params)?;
        Self::updates_counted(op, &state)?;
        if let Some(name) = state.names().find(|n| n.starts_with(PREFIX)) {
            return Err(Error::invalid(
                op,
                format!(
                    "the inner optimizer's state has an entry `{name}`, under the prefix \
                     `{PREFIX}` Ema keeps for its own; do not wrap an Ema in another"
                ),
            ));
        }
        for (name, p) in params.iter() {
            state.insert(average_name(name), p.detach());
        }
        Ok(state)
    }

    fn update(
        &self,
        params: TensorMap,
        grads: &TensorMap,
        mut state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)> {
        let op = "Ema::update";
        self.validate(op)?;
        let before = Self::updates_counted(op, &state)?;
        let mut averages = Vec::with_capacity(params.len());
        for (name, p) in params.iter() {
            let average = take_state(op, &mut state, &average_name(name), p.shape())?;
            averages.push((name.to_string(), average));
        }
        let (mut params, mut state) = self.optimizer.update(params, grads, state)?;
        let after = Self::updates_counted(op, &state)?;
        let updated = after != before;
        let m = self.momentum;
        for (name, mut average) in averages {
            if updated {
                let p = params.require(&name)?;
                if before == 0 {
                    average.assign(p.array());
                } else {
                    Zip::from(&mut average)
                        .and(p.array())
                        .for_each(|a, &p| *a = m * *a + (1.0 - m) * p);
                }
            }
            state.insert(average_name(&name), Tensor::new(average));
        }
        if updated && self.overwrite_frequency.is_some_and(|f| after % f == 0) {
            for (name, average) in ema_weights(&state, &params)? {
                params.insert(name, average.detach());
            }
        }
        Ok((params, state))
    }

    fn learning_rate(&self, state: &TensorMap) -> Option<f32> {
        self.optimizer.learning_rate(state)
    }

    fn hyperparameters(&self) -> serde_json::Value {
        serde_json::json!({
            "Ema": {
                "momentum": self.momentum,
                "overwrite_frequency": self.overwrite_frequency,
                "optimizer": self.optimizer.hyperparameters(),
            }
        })
    }

    fn base_learning_rate(&self, state: &TensorMap) -> Option<f32> {
        self.optimizer.base_learning_rate(state)
    }

    fn set_base_learning_rate(&self, state: &mut TensorMap, learning_rate: f32) -> Result<()> {
        self.optimizer.set_base_learning_rate(state, learning_rate)
    }
}

/// The moving averages an [`Ema`] keeps in `optimizer_states`, one per parameter of `params`,
/// under the parameters' names: the weights to evaluate or export. An error names a parameter
/// without one.
pub fn ema_weights(optimizer_states: &TensorMap, params: &TensorMap) -> Result<TensorMap> {
    params
        .iter()
        .map(|(name, p)| {
            let average = optimizer_states
                .get(&average_name(name))
                .ok_or_else(|| no_average(name, optimizer_states))?;
            if average.shape() != p.shape() {
                return Err(Error::shape(
                    "ema_weights",
                    format!(
                        "the average `{}` has shape {:?} but the parameter has {:?}; the \
                         optimizer state was made for other parameters",
                        average_name(name),
                        average.shape(),
                        p.shape()
                    ),
                ));
            }
            Ok((name.to_string(), average.clone()))
        })
        .collect()
}

/// Exchanges the parameters (`net_params`) with the moving averages an [`Ema`] keeps in the
/// optimizer state: afterwards the states predict with the averages, and the trained
/// parameters wait in the averages' place; a second call swaps them back. Nothing changes when
/// a parameter has no average (the error names it) or its shape differs.
///
/// ```
/// use elegy_core::optimizers::{Ema, Optimizer, Sgd, swap_ema_weights};
/// use elegy_core::{States, Tensor, TensorMap};
/// let params = TensorMap::new().with("w", Tensor::from(vec![1.0]));
/// let optimizer_states = Ema::new(Sgd::new(0.1), 0.99).init(&params)?;
/// let mut states = States::new(0).with_net_params(params).with_optimizer_states(optimizer_states);
/// swap_ema_weights(&mut states)?; // predict with the averages ...
/// swap_ema_weights(&mut states)?; // ... and go back to training
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn swap_ema_weights(states: &mut States) -> Result<()> {
    let averages = ema_weights(&states.optimizer_states, &states.net_params)?;
    for (name, average) in averages {
        if let Some(trained) = states.net_params.insert(name.clone(), average) {
            states.optimizer_states.insert(average_name(&name), trained);
        }
    }
    Ok(())
}

fn no_average(name: &str, optimizer_states: &TensorMap) -> Error {
    let has_any = optimizer_states.names().any(|n| n.starts_with(PREFIX));
    let hint = if has_any {
        "; the optimizer state's averages were made for other parameters".to_string()
    } else {
        "; the optimizer state keeps no moving averages: give the runner an optimizer wrapped \
         in optimizers::Ema (`Ema::new(Adam::default(), 0.99)`)"
            .to_string()
    };
    Error::NotFound {
        what: "moving average",
        name: average_name(name),
        hint,
    }
}
