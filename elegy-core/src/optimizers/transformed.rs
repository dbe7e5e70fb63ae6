//! [`Transformed`]: an [`Optimizer`] from any [`GradientTransform`] and a learning-rate
//! [`Schedule`]; every optimizer of this module runs through it.

use ndarray::Zip;

use super::{
    GradientTransform, LEARNING_RATE, Optimizer, STEP, Schedule, UpdateContext, check_grads,
    non_negative, step_count, step_tensor,
};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// An optimizer made of a transform (usually a [`chain`](super::chain)) and a learning-rate
/// schedule: the transform's updates are added to the parameters. The state holds
/// [`STEP`] and [`LEARNING_RATE`] beside the transform's own entries; see the
/// [module documentation](super) for how the base rate scales the schedule.
#[derive(Debug)]
pub struct Transformed {
    /// The updates from the gradients; it should scale by the rate with
    /// [`scale_by_learning_rate`](super::scale_by_learning_rate).
    pub transform: Box<dyn GradientTransform>,
    /// The learning rate of each update.
    pub learning_rate: Schedule,
}

impl Transformed {
    /// An optimizer adding `transform`'s updates, with rates from `learning_rate`.
    pub fn new(
        transform: Box<dyn GradientTransform>,
        learning_rate: impl Into<Schedule>,
    ) -> Transformed {
        Transformed {
            transform,
            learning_rate: learning_rate.into(),
        }
    }
}

impl Optimizer for Transformed {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        init(
            "Transformed::init",
            &*self.transform,
            &self.learning_rate,
            params,
        )
    }

    fn update(
        &self,
        params: TensorMap,
        grads: &TensorMap,
        state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)> {
        let op = "Transformed::update";
        self.learning_rate.validate()?;
        update(
            op,
            &*self.transform,
            &self.learning_rate,
            params,
            grads,
            state,
        )
    }

    fn learning_rate(&self, state: &TensorMap) -> Option<f32> {
        Some(next_rate(&self.learning_rate, state))
    }

    fn hyperparameters(&self) -> serde_json::Value {
        serde_json::json!({
            "Transformed": {
                "learning_rate": self.learning_rate,
                "transform": format!("{:?}", self.transform),
            }
        })
    }
}

/// The transform's state with the step count at 0 and the schedule's base rate.
pub(crate) fn init(
    op: &'static str,
    transform: &dyn GradientTransform,
    schedule: &Schedule,
    params: &TensorMap,
) -> Result<TensorMap> {
    schedule.validate()?;
    let mut state = transform.init(params)?;
    for reserved in [STEP, LEARNING_RATE] {
        if state.contains(reserved) {
            return Err(Error::invalid(
                op,
                format!(
                    "the transform's state uses the name `{reserved}`, which the optimizer keeps \
                     for itself; put the transform in a chain"
                ),
            ));
        }
    }
    state.insert(STEP, step_tensor(0));
    state.insert(LEARNING_RATE, Tensor::scalar(schedule.base_rate()));
    Ok(state)
}

/// One update: the transform's updates at this step's rate, added to the parameters in place.
pub(crate) fn update(
    op: &'static str,
    transform: &dyn GradientTransform,
    schedule: &Schedule,
    params: TensorMap,
    grads: &TensorMap,
    mut state: TensorMap,
) -> Result<(TensorMap, TensorMap)> {
    check_grads(op, &params, grads)?;
    let step = step_count(&state)?;
    let base = state.require(LEARNING_RATE)?.item()?;
    non_negative(op, "the base learning rate in state `learning_rate`", base)?;
    state.remove(STEP);
    state.remove(LEARNING_RATE);
    // Only the parameters' gradients; the copies share storage with `grads`, so the first link
    // that changes them copies once.
    let updates: TensorMap = params
        .names()
        .map(|name| Ok((name.to_string(), grads.require(name)?.detach())))
        .collect::<Result<_>>()?;
    let ctx = UpdateContext {
        params: &params,
        step,
        learning_rate: schedule.scaled_at(step, base),
    };
    let (updates, mut state) = transform.update(updates, state, &ctx)?;
    let mut new_params = TensorMap::new();
    for (name, p) in params {
        let u = updates.get(&name).ok_or_else(|| {
            Error::invalid(op, format!("the transform gave no update for `{name}`"))
        })?;
        if u.shape() != p.shape() {
            return Err(Error::shape(
                op,
                format!(
                    "the transform's update of `{name}` has shape {:?} but the parameter has {:?}",
                    u.shape(),
                    p.shape()
                ),
            ));
        }
        let mut p = p.into_array();
        Zip::from(&mut p).and(u.array()).for_each(|p, &u| *p += u);
        new_params.insert(name, Tensor::new(p));
    }
    state.insert(STEP, step_tensor(step + 1));
    state.insert(LEARNING_RATE, Tensor::scalar(base));
    Ok((new_params, state))
}

/// The rate of the next update: the schedule at the state's step, scaled by its base rate (the
/// schedule's own values when the state has neither, before init).
pub(crate) fn next_rate(schedule: &Schedule, state: &TensorMap) -> f32 {
    let step = step_count(state).unwrap_or(0);
    let base = state
        .get(LEARNING_RATE)
        .and_then(|t| t.item().ok())
        .unwrap_or_else(|| schedule.base_rate());
    schedule.scaled_at(step, base)
}
