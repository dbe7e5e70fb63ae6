//! [`Model`]: the trait a user's model implements by overriding the steps it cares about, and
//! the [`defaults`] its steps fall back on.

pub mod defaults;

use crate::error::Result;
use crate::step::{
    GradStep, InitContext, PredContext, PredStep, States, StepContext, SummaryContext, SummaryRow,
    TestStep, TrainStep,
};

/// A model: a type whose step methods the loops call. Every step has a default body (see
/// [`defaults`]), so a model overrides only what it needs:
///
/// - `fit` calls `train_step`, which by default calls `grad_step`, which differentiates the loss
///   of `test_step`, which calls `pred_step`;
/// - `evaluate` calls `test_step`; `predict` calls `pred_step`;
/// - `init` calls `init_step`, which runs `train_step` once with `initializing = true` (no update).
///
/// Write an override with the facade's `#[step]` to ask for only the inputs it needs, by name
/// (see the crate `elegy`); without it, a step receives its whole context:
///
/// ```
/// use elegy_core::step::PredContext;
/// use elegy_core::{Initializer, Model, PredStep, Result, Runner, Tensor, TensorMap};
///
/// /// y = x w, with w created from the first batch's width.
/// struct Linear;
///
/// impl Model for Linear {
///     fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
///         let x = ctx.x.as_tensor("x")?;
///         let params = if ctx.initializing {
///             let w = Initializer::Zeros.init(&[x.shape()[1], 1], ctx.states.rng)?;
///             TensorMap::new().with("w", w)
///         } else {
///             ctx.states.net_params.clone()
///         };
///         let y = x.matmul(params.require("w")?)?;
///         Ok(PredStep::new(y, ctx.states.with_net_params(params)))
///     }
/// }
///
/// let mut runner = Runner::new(Linear).build()?;
/// runner.init(Tensor::ones(&[2, 3]), None, 2)?;
/// let y = runner.predict_on_batch(Tensor::ones(&[2, 3]))?;
/// assert_eq!(y.as_tensor("y")?.to_vec(), vec![0.0, 0.0]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
///
/// The default bodies stay callable on their own, e.g. `defaults::train_step(self, ctx)` from an
/// override of `train_step`, as `super().train_step(...)` would be in Python.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Model`",
    label = "a step method of a type that is not a `Model`",
    note = "`#[step]` goes on a step method inside `impl Model for {Self}`; a method of a plain \
            `impl {Self}` block is never called by the loops"
)]
pub trait Model {
    /// Creates the states (parameters, metric and optimizer state) from a first batch.
    fn init_step(&self, ctx: InitContext<'_>) -> Result<States> {
        defaults::init_step(self, ctx)
    }

    /// Predictions for a batch: `y_pred` and the states after the step.
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        defaults::pred_step(self, ctx)
    }

    /// Loss, logs and states for a batch with targets.
    fn test_step(&self, ctx: StepContext<'_>) -> Result<TestStep> {
        defaults::test_step(self, ctx)
    }

    /// `test_step` plus the gradients of its loss with respect to `states.net_params`.
    fn grad_step(&self, ctx: StepContext<'_>) -> Result<GradStep> {
        defaults::grad_step(self, ctx)
    }

    /// One optimization step on a batch: logs and the updated states.
    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        defaults::train_step(self, ctx)
    }

    /// Rows describing the model, for `summary()`.
    fn summary_step(&self, ctx: SummaryContext<'_>) -> Result<Vec<SummaryRow>> {
        defaults::summary_step(self, ctx)
    }
}

/// A model that overrides no step: everything comes from its runner's module, loss, metrics and
/// optimizer (the high-level API). See [`crate::Runner::for_module`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Defaults;

impl Model for Defaults {}

/// Compiles only where `M` is a [`Model`]: `#[step]` calls it in every step it generates, so
/// that a step written in a plain `impl YourType` block, which the loops would never call, is a
/// compile error at its name instead of a default step at run time.
#[doc(hidden)]
#[inline(always)]
pub fn is_a_model<M: Model + ?Sized>() {}
