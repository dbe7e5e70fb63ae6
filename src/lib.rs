//! # elegy
//!
//! Train deep-learning models in Rust the way Python's Elegy and Keras do: write a model by
//! overriding the step methods you care about, ask for only the inputs you need by parameter name,
//! and let the framework supply the rest of the steps and the `fit` / `evaluate` / `predict` loops.
//!
//! This crate is the facade: it re-exports [`elegy_core`] (tensors, autodiff, and everything built
//! on them) and the [`step`](macro@step) attribute macro of `elegy_macros`.
//!
//! ```
//! use elegy::prelude::*;
//! use elegy::losses::SparseCategoricalCrossentropy;
//! use elegy::metrics::SparseCategoricalAccuracy;
//! use elegy::optimizers::Adam;
//! use elegy::{FitOptions, PredStep, Runner, datasets};
//!
//! struct LinearClassifier;
//!
//! impl Model for LinearClassifier {
//!     #[step]
//!     fn pred_step(&self, x: &Tensor, states: States, initializing: bool) -> Result<PredStep> {
//!         let params = if initializing {
//!             let (key, _) = states.rng.split();
//!             TensorMap::new()
//!                 .with("w", Initializer::GlorotUniform.init(&[x.shape()[1], 3], key)?)
//!                 .with("b", Tensor::zeros(&[3]))
//!         } else {
//!             states.net_params.clone()
//!         };
//!         let y_pred = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
//!         Ok(PredStep::new(y_pred, states.with_net_params(params)))
//!     }
//! }
//!
//! let iris = datasets::iris()?;
//! let mut runner = Runner::new(LinearClassifier)
//!     .loss(SparseCategoricalCrossentropy::from_logits())
//!     .metric(SparseCategoricalAccuracy)
//!     .optimizer(Adam::new(5e-2))
//!     .seed(0)
//!     .build()?;
//! let history = runner.fit(iris.x, iris.y, FitOptions { epochs: 30, verbose: 0, ..Default::default() })?;
//! assert!(history.last("sparse_categorical_accuracy").unwrap() > 0.8);
//! # Ok::<(), elegy::Error>(())
//! ```
//!
//! Gradients of any computation over tensors:
//!
//! ```
//! use elegy::prelude::*;
//! let params = TensorMap::new().with("w", Tensor::from(vec![3.0f32]));
//! let (loss, grads) = value_and_grad(&params, |p| Ok(p.require("w")?.square().sum_all()))?;
//! assert_eq!(loss.item()?, 9.0);
//! assert_eq!(grads.require("w")?.to_vec(), vec![6.0]);
//! # Ok::<(), elegy::Error>(())
//! ```

pub use elegy_core::*;
pub use elegy_macros::step;

/// The names most programs need: `use elegy::prelude::*;` covers an ordinary program, from a
/// model of its own (`Model`, `#[step]`, the step outputs) or a module (`Sequential` and the
/// common layers) to `Runner::fit` with the common losses, metrics and optimizers.
pub mod prelude {
    pub use elegy_core::callbacks::{Callback, CallbackContext, EarlyStopping, ModelCheckpoint};
    pub use elegy_core::losses::{
        BinaryCrossentropy, CategoricalCrossentropy, MeanAbsoluteError, MeanSquaredError,
        SparseCategoricalCrossentropy,
    };
    pub use elegy_core::metrics::{
        Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    };
    pub use elegy_core::module::layers::{
        AvgPool2D, BatchNorm, Conv2D, Dropout, Embedding, Flatten, GlobalAveragePooling, LayerNorm,
        Linear, MaxPool2D, Mlp, Relu, Sigmoid, Softmax, Tanh,
    };
    pub use elegy_core::module::{Module, Sequential};
    pub use elegy_core::optimizers::{Adam, AdamW, Schedule, Sgd};
    pub use elegy_core::{
        Activation, Batch, Conv2dOptions, Data, Defaults, Error, EvaluateOptions, FanMode,
        FitOptions, GradStep, History, Initializer, Logs, Model, NoTargets, Padding, Pool2dOptions,
        PredStep, PredictOptions, Result, RngKey, Runner, States, SummaryRow, Tensor, TensorMap,
        TestStep, TrainStep, datasets, grad, value_and_grad,
    };
    pub use elegy_macros::step;
}

/// The README's code, compiled and run as a test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
