//! The core of elegy: tensors with reverse-mode autodiff over `ndarray`, the [`Model`] trait and
//! its default steps, and the [`Runner`] with `fit` / `evaluate` / `predict`.
//!
//! Most users depend on the facade crate `elegy`, which re-exports everything here. Coming
//! from NumPy or Keras? [`coming_from`] lists their names and ours.

#![warn(missing_docs)]

// With the `blas` feature ndarray calls cblas, which the system's OpenBLAS provides.
#[cfg(feature = "blas")]
#[link(name = "openblas")]
unsafe extern "C" {}

mod autodiff;
pub mod callbacks;
pub mod checkpoint;
pub mod coming_from;
pub mod data;
pub mod datasets;
pub mod distributed;
pub mod error;
mod exec;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod module;
mod ops;
pub mod optimizers;
pub mod runner;
pub mod step;
pub mod tensor;
pub mod testing;

pub use autodiff::{grad, value_and_grad};
pub use data::{Batch, Data, Dataset, IntoTargets, Loader, NoTargets};
pub use error::{Error, Result};
pub use exec::{num_threads, set_num_threads, with_num_threads};
pub use model::{Defaults, Model};
pub use ops::{Activation, Conv2dOptions, Padding, Pool2dOptions};
pub use runner::{EvaluateOptions, FitOptions, History, PredictOptions, Runner, RunnerBuilder};
pub use step::{GradStep, Logs, PredStep, States, SummaryRow, TestStep, TrainStep};
pub use tensor::{FanMode, Initializer, RngKey, Tensor, TensorMap};
