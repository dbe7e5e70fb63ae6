//! Reading and changing the learning rate from a callback. Optimizers keep it in their state as
//! the scalar `learning_rate` and read it at every update, so replacing that tensor is all it
//! takes (and it is saved and restored with the rest of the state).

use crate::callbacks::CallbackContext;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use crate::optimizers::LEARNING_RATE;

impl CallbackContext<'_> {
    /// The base learning rate the optimizer keeps in its state: the rate of the next update when
    /// the rate is constant; with a schedule, the rate the schedule is scaled against (its
    /// initial or peak value), whatever the step. `None` without one.
    pub fn learning_rate(&self) -> Option<f32> {
        self.states
            .optimizer_states
            .get(LEARNING_RATE)
            .and_then(|t| t.to_vec().first().copied())
    }

    /// Sets the base learning rate of the next updates (with a schedule, this scales the whole
    /// schedule: half the base rate halves every later step's rate). An error when `lr` is negative or not
    /// finite, or when the optimizer state has no `learning_rate` (no optimizer, or one that
    /// does not read it from its state).
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::invalid(
                "set_learning_rate",
                format!("learning rate {lr} must be finite and not negative"),
            ));
        }
        let state = &mut self.states.optimizer_states;
        let shape = state
            .get(LEARNING_RATE)
            .map(|t| t.shape().to_vec())
            .ok_or_else(|| no_learning_rate("set_learning_rate", state.names()))?;
        state.insert(LEARNING_RATE, Tensor::full(&shape, lr));
        Ok(())
    }

    /// The learning rate, or an error saying why there is none.
    pub(crate) fn require_learning_rate(&self, op: &'static str) -> Result<f32> {
        self.learning_rate()
            .ok_or_else(|| no_learning_rate(op, self.states.optimizer_states.names()))
    }
}

fn no_learning_rate<'a>(op: &'static str, names: impl Iterator<Item = &'a str>) -> Error {
    Error::NotFound {
        what: "optimizer state",
        name: LEARNING_RATE.into(),
        hint: format!(
            " ({op}); the optimizer state holds {:?}: give the runner an optimizer that keeps \
             its learning rate in its state (the built-in ones do)",
            names.collect::<Vec<_>>()
        ),
    }
}
