//! Stochastic gradient descent, with optional momentum and Nesterov momentum.

use super::{
    Common, GradientTransform, Schedule, chain, decay_rate, scale_by_learning_rate, trace,
};
use crate::error::Result;

/// Gradient descent as Keras' SGD: `v = momentum * v - lr * g; p += v`, or with Nesterov
/// `p += momentum * v - lr * g`; plain `p -= lr * g` without momentum.
///
/// `weight_decay` is an L2 penalty added to the gradient (`g + weight_decay * p`) before the
/// rate and the momentum, as PyTorch's SGD (Keras 3 instead shrinks the parameters,
/// `p -= lr * weight_decay * p`, apart from the gradient). Clipping applies to the raw gradient, by value
/// first, then by global norm.
///
/// State: `"step"`, `"learning_rate"` and, with momentum, `"{i}/momentum/{param}"`, where `i`
/// counts the links before it: clip by value, clip by global norm and weight decay, each when
/// set, and the learning rate (so `"1/momentum/w"` with no clipping nor decay).
///
/// ```
/// use elegy_core::optimizers::{Optimizer, Sgd};
/// use elegy_core::{Tensor, TensorMap};
/// let sgd = Sgd { momentum: 0.9, ..Sgd::new(0.1) };
/// let params = TensorMap::new().with("w", Tensor::from(vec![1.0]));
/// let grads = TensorMap::new().with("w", Tensor::from(vec![2.0]));
/// let state = sgd.init(&params)?;
/// let (params, _) = sgd.update(params, &grads, state)?;
/// assert_eq!(params.require("w")?.to_vec(), vec![0.8]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sgd {
    /// Step size, constant or scheduled.
    pub learning_rate: Schedule,
    /// Momentum coefficient in `[0, 1)`; 0 for plain SGD.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty coefficient added to the gradient; 0 for none.
    pub weight_decay: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl Sgd {
    /// Plain SGD with a constant step size `learning_rate`.
    pub fn new(learning_rate: f32) -> Sgd {
        Sgd {
            learning_rate: Schedule::Constant(learning_rate),
            ..Sgd::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        decay_rate("Sgd", "momentum", self.momentum)?;
        self.common().validate("Sgd")
    }

    fn common(&self) -> Common {
        Common {
            clip_value: self.clip_value,
            clip_global_norm: self.clip_global_norm,
            weight_decay: self.weight_decay,
        }
    }

    fn transform(&self) -> Box<dyn GradientTransform> {
        let common = self.common();
        let mut links = common.clipping();
        links.extend(common.decay());
        links.push(scale_by_learning_rate());
        if self.momentum != 0.0 {
            links.push(trace(self.momentum, self.nesterov));
        }
        chain(links)
    }
}

impl Default for Sgd {
    /// Keras' defaults: lr 0.01, no momentum, no weight decay, no clipping.
    fn default() -> Sgd {
        Sgd {
            learning_rate: Schedule::Constant(0.01),
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            clip_value: None,
            clip_global_norm: None,
        }
    }
}

chained_optimizer!(Sgd);
