//! What flows through a model's steps: [`States`], the inputs each step can ask for (its
//! context), and what each step returns.

mod args;
mod context;
pub mod defaults;
mod logs;
mod outputs;
mod states;

pub use args::StepArg;
pub use context::{InitContext, PredContext, StepContext, SummaryContext};
pub use logs::{LogEntry, Logs};
pub use outputs::{GradStep, PredStep, SummaryRow, TestStep, TrainStep};
pub use states::{Components, States};
