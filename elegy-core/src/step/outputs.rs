//! What each step returns.

use crate::data::Data;
use crate::step::{Logs, States};
use crate::tensor::{Tensor, TensorMap};

/// The result of `pred_step`: predictions and the new states.
#[derive(Clone, Debug)]
pub struct PredStep {
    /// The predictions, in whatever structure the model produces.
    pub y_pred: Data,
    /// The states after the step (new parameters when initializing).
    pub states: States,
}

impl PredStep {
    /// Predictions (a tensor, or any [`Data`]) with the states after the step.
    pub fn new(y_pred: impl Into<Data>, states: States) -> PredStep {
        PredStep {
            y_pred: y_pred.into(),
            states,
        }
    }
}

/// The result of `test_step`: the scalar loss to minimize, logs, and the new states.
#[derive(Clone, Debug)]
pub struct TestStep {
    /// The total loss (a scalar), tracked when computed from tracked parameters.
    pub loss: Tensor,
    /// Named numbers for the logs.
    pub logs: Logs,
    /// The states after the step (updated metric state).
    pub states: States,
}

/// The result of `grad_step`: `test_step`'s results and the gradients of the loss with respect
/// to `states.net_params`, keyed the same way.
#[derive(Clone, Debug)]
pub struct GradStep {
    /// The total loss (a scalar, no longer tracked).
    pub loss: Tensor,
    /// Named numbers for the logs.
    pub logs: Logs,
    /// The states after the step.
    pub states: States,
    /// `d loss / d net_params`, one tensor per parameter.
    pub grads: TensorMap,
}

/// The result of `train_step`: logs and the new states (updated parameters).
#[derive(Clone, Debug)]
pub struct TrainStep {
    /// Named numbers for the logs.
    pub logs: Logs,
    /// The states after the update.
    pub states: States,
}

/// One row of a model summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SummaryRow {
    /// Path of the layer or parameter (`"sequential/linear_1"`).
    pub path: String,
    /// Kind of layer (`"Linear"`), or `"parameter"`.
    pub kind: String,
    /// Shape of the output without the batch axis (the table shows it as `None`), or, in rows of
    /// kind `"parameter"`, `"state"` or `"output"` (a model's predictions for the summary's
    /// sample batch), the tensor's whole shape.
    pub shape: Vec<usize>,
    /// Number of trainable values (a container's row counts those of the rows nested in it).
    pub trainable: usize,
    /// Number of non-trainable values.
    pub non_trainable: usize,
    /// Bytes of the values.
    pub bytes: usize,
}

impl SummaryRow {
    /// Whether this row is a tensor shown whole (a parameter, a state, or the predictions for
    /// the sample batch) rather than a layer's output without its batch axis.
    pub(crate) fn is_tensor_row(&self) -> bool {
        matches!(self.kind.as_str(), "parameter" | "state" | "output")
    }
}
