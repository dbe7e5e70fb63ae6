//! What flows through a model's steps: [`States`], the inputs each step can ask for (its
//! context), and what each step returns.

mod args;
mod components;
mod context;
#[doc(hidden)]
pub mod input;
mod logs;
mod outputs;
#[doc(hidden)]
pub mod returns;
mod states;

pub use args::StepArg;
pub(crate) use components::loss_log_name;
pub use components::{Components, LossEntry, MetricEntry};
pub use context::{InitContext, PredContext, StepContext, SummaryContext};
pub use logs::{LogEntry, Logs};
pub use outputs::{GradStep, PredStep, SummaryRow, TestStep, TrainStep};
pub use states::States;
