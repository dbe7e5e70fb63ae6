//! Built-in callbacks: hooks into `fit` that save, stop or log (see [`crate::runner::Callback`]).

mod model_checkpoint;
pub use model_checkpoint::{Mode, ModelCheckpoint, SaveFreq};
