//! The core of elegy: tensors with reverse-mode autodiff over `ndarray`.
//!
//! Most users depend on the facade crate `elegy`, which re-exports everything here.

#![warn(missing_docs)]

mod autodiff;
pub mod error;
mod ops;
pub mod tensor;
pub mod testing;

pub use autodiff::{grad, value_and_grad};
pub use error::{Error, Result};
pub use ops::{Conv2dOptions, Padding, Pool2dOptions};
pub use tensor::{FanMode, Initializer, RngKey, Tensor, TensorMap};
