//! One check per step of what its method returns. When a step under `#[step]` declares a return
//! type that is not plainly the trait's, the generated method returns the trait's type and passes
//! the value of the body through the function of its step here, whose bound is a trait of that
//! step alone: a wrong type is one error at the user's return type, saying what the step
//! returns and how to build it (not rustc's comparison of two signatures the user never wrote).
//!
//! Written out step by step: a diagnostic attribute takes its message as a plain literal.

use crate::error::Result;
use crate::step::{GradStep, PredStep, States, SummaryRow, TestStep, TrainStep};

/// A type `init_step` may return: elegy's `Result` of its output.
#[diagnostic::on_unimplemented(
    message = "`init_step` returns `Result<States>`: the states it made",
    label = "expected `Result<States>`"
)]
pub trait InitStepReturns {
    /// The value as the trait's method returns it.
    fn into_output(self) -> Result<States>;
}

impl InitStepReturns for Result<States> {
    fn into_output(self) -> Result<States> {
        self
    }
}

/// The value of a `init_step` body, checked to be what the step returns.
pub fn init_step<T: InitStepReturns>(value: T) -> Result<States> {
    value.into_output()
}

/// A type `pred_step` may return: elegy's `Result` of its output.
#[diagnostic::on_unimplemented(
    message = "`pred_step` returns `Result<PredStep>`; build it with `PredStep::new(y_pred, states)`",
    label = "expected `Result<PredStep>`"
)]
pub trait PredStepReturns {
    /// The value as the trait's method returns it.
    fn into_output(self) -> Result<PredStep>;
}

impl PredStepReturns for Result<PredStep> {
    fn into_output(self) -> Result<PredStep> {
        self
    }
}

/// The value of a `pred_step` body, checked to be what the step returns.
pub fn pred_step<T: PredStepReturns>(value: T) -> Result<PredStep> {
    value.into_output()
}

/// A type `test_step` may return: elegy's `Result` of its output.
#[diagnostic::on_unimplemented(
    message = "`test_step` returns `Result<TestStep>`; build it as `TestStep {{ loss, logs, states }}`",
    label = "expected `Result<TestStep>`"
)]
pub trait TestStepReturns {
    /// The value as the trait's method returns it.
    fn into_output(self) -> Result<TestStep>;
}

impl TestStepReturns for Result<TestStep> {
    fn into_output(self) -> Result<TestStep> {
        self
    }
}

/// The value of a `test_step` body, checked to be what the step returns.
pub fn test_step<T: TestStepReturns>(value: T) -> Result<TestStep> {
    value.into_output()
}

/// A type `grad_step` may return: elegy's `Result` of its output.
#[diagnostic::on_unimplemented(
    message = "`grad_step` returns `Result<GradStep>`; build it as `GradStep {{ loss, logs, states, grads }}`",
    label = "expected `Result<GradStep>`"
)]
pub trait GradStepReturns {
    /// The value as the trait's method returns it.
    fn into_output(self) -> Result<GradStep>;
}

impl GradStepReturns for Result<GradStep> {
    fn into_output(self) -> Result<GradStep> {
        self
    }
}

/// The value of a `grad_step` body, checked to be what the step returns.
pub fn grad_step<T: GradStepReturns>(value: T) -> Result<GradStep> {
    value.into_output()
}

/// A type `train_step` may return: elegy's `Result` of its output.
#[diagnostic::on_unimplemented(
    message = "`train_step` returns `Result<TrainStep>`; build it as `TrainStep {{ logs, states }}`",
    label = "expected `Result<TrainStep>`"
)]
pub trait TrainStepReturns {
    /// The value as the trait's method returns it.
    fn into_output(self) -> Result<TrainStep>;
}

impl TrainStepReturns for Result<TrainStep> {
    fn into_output(self) -> Result<TrainStep> {
        self
    }
}

/// The value of a `train_step` body, checked to be what the step returns.
pub fn train_step<T: TrainStepReturns>(value: T) -> Result<TrainStep> {
    value.into_output()
}

/// A type `summary_step` may return: elegy's `Result` of its output.
#[diagnostic::on_unimplemented(
    message = "`summary_step` returns `Result<Vec<SummaryRow>>`: one `SummaryRow` per row",
    label = "expected `Result<Vec<SummaryRow>>`"
)]
pub trait SummaryStepReturns {
    /// The value as the trait's method returns it.
    fn into_output(self) -> Result<Vec<SummaryRow>>;
}

impl SummaryStepReturns for Result<Vec<SummaryRow>> {
    fn into_output(self) -> Result<Vec<SummaryRow>> {
        self
    }
}

/// The value of a `summary_step` body, checked to be what the step returns.
pub fn summary_step<T: SummaryStepReturns>(value: T) -> Result<Vec<SummaryRow>> {
    value.into_output()
}
