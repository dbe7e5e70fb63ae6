//! # elegy
//!
//! Train deep-learning models in Rust the way Python's Elegy and Keras do: write a model by
//! overriding the step methods you care about, ask for only the inputs you need by parameter name,
//! and let the framework supply the rest of the steps and the `fit` / `evaluate` / `predict` loops.
//!
//! This crate is the facade: it re-exports [`elegy_core`] (tensors, autodiff, and everything built
//! on them) and the `#[step]` macro of `elegy_macros`.
//!
//! ```
//! use elegy::prelude::*;
//! let w = Tensor::from(vec![3.0f32]);
//! let params = TensorMap::new().with("w", w);
//! let (loss, grads) = value_and_grad(&params, |p| Ok(p.require("w")?.square().sum_all()))?;
//! assert_eq!(loss.item()?, 9.0);
//! assert_eq!(grads.require("w")?.to_vec(), vec![6.0]);
//! # Ok::<(), elegy::Error>(())
//! ```

pub use elegy_core::*;
pub use elegy_macros::step;

/// The names most programs need: `use elegy::prelude::*;`.
pub mod prelude {
    pub use elegy_core::{
        Conv2dOptions, Data, Error, FanMode, Initializer, Model, Padding, Pool2dOptions, Result,
        RngKey, States, Tensor, TensorMap, grad, value_and_grad,
    };
    pub use elegy_macros::step;
}
