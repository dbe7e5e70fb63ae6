//! The inputs each step can ask for. `#[step]` unpacks these into the parameters a user's step
//! method names; a method without `#[step]` receives the context whole.
//!
//! Every context carries the runner's [`Components`] (loss, metrics, optimizer, module) beside
//! the [`States`]: the states are the model's data, the components its runner's configuration,
//! which the default steps read. A context built by hand outside a runner can lend
//! [`Components::none()`].

use crate::data::Data;
use crate::step::{Components, States};
use crate::tensor::Tensor;

/// The inputs of `init_step`: a first batch, to create parameters from its shapes.
#[derive(Clone, Debug)]
pub struct InitContext<'a> {
    /// The inputs.
    pub x: &'a Data,
    /// The targets, when given.
    pub y_true: Option<&'a Data>,
    /// A weight per sample, when given.
    pub sample_weight: Option<&'a Tensor>,
    /// A weight per class, when given (shape `[num_classes]`).
    pub class_weight: Option<&'a Tensor>,
    /// The states so far (a key, no parameters yet).
    pub states: States,
    /// The runner's loss, metrics, optimizer and module.
    pub components: &'a Components,
    /// Whether the states are made to train on (`fit`, `fit_dataset`, `train_on_batch`), so that
    /// the default `init_step` runs `train_step` to make them even without targets; `false` for
    /// `init`, `evaluate`, `test_on_batch` and the other calls that initialize.
    pub training: bool,
}

/// The inputs of `pred_step`.
#[derive(Clone, Debug)]
pub struct PredContext<'a> {
    /// The inputs.
    pub x: &'a Data,
    /// The current states.
    pub states: States,
    /// The runner's loss, metrics, optimizer and module.
    pub components: &'a Components,
    /// Whether this call creates the parameters (during `init`).
    pub initializing: bool,
    /// Whether this is training (dropout on, batch statistics updated).
    pub training: bool,
}

/// The inputs of `test_step`, `grad_step` and `train_step`.
#[derive(Clone, Debug)]
pub struct StepContext<'a> {
    /// The inputs.
    pub x: &'a Data,
    /// The targets, when given.
    pub y_true: Option<&'a Data>,
    /// A weight per sample, when given.
    pub sample_weight: Option<&'a Tensor>,
    /// A weight per class, when given (shape `[num_classes]`).
    pub class_weight: Option<&'a Tensor>,
    /// The current states.
    pub states: States,
    /// The runner's loss, metrics, optimizer and module.
    pub components: &'a Components,
    /// Whether this call creates the parameters (during `init`).
    pub initializing: bool,
    /// Whether this is training (dropout on, batch statistics updated).
    pub training: bool,
}

/// The inputs of `summary_step`.
#[derive(Clone, Debug)]
pub struct SummaryContext<'a> {
    /// A sample batch of inputs.
    pub x: &'a Data,
    /// The current states.
    pub states: States,
    /// The runner's loss, metrics, optimizer and module.
    pub components: &'a Components,
}

impl<'a> StepContext<'a> {
    /// The `pred_step` context for the same batch.
    pub fn pred(&self, states: States) -> PredContext<'a> {
        PredContext {
            x: self.x,
            states,
            components: self.components,
            initializing: self.initializing,
            training: self.training,
        }
    }

    /// This context with other states.
    pub fn with_states(self, states: States) -> StepContext<'a> {
        StepContext { states, ..self }
    }
}
