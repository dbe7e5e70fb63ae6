//! RMSProp (Tieleman & Hinton, 2012), as Keras: optional momentum and centering.

use super::{
    Common, GradientTransform, Schedule, chain, decay_rate, non_negative, scale_by_learning_rate,
    scale_by_rms, trace,
};
use crate::error::Result;

/// RMSProp as Keras: `ms = rho ms + (1 - rho) g^2`, `inc = lr * g / sqrt(ms + epsilon)`; when
/// `centered`, `mg = rho mg + (1 - rho) g` and `inc = lr * g / sqrt(ms - mg^2 + epsilon)`. Then
/// `p -= inc`, or with momentum `buf = momentum buf + inc; p -= buf`.
///
/// `weight_decay` is an L2 penalty added to the gradient before the mean square, as PyTorch's
/// (Keras 3 instead shrinks the parameters apart from the gradient). Clipping
/// applies to the raw gradient, by value first, then by global norm.
///
/// State: `"step"`, `"learning_rate"`, `"{i}/mean_square/{param}"`, centered
/// `"{i}/mean_grad/{param}"`, and with momentum `"{i+2}/momentum/{param}"`, where `i` counts
/// the clipping and weight decay links that are set (0 with none).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RmsProp {
    /// Step size, constant or scheduled.
    pub learning_rate: Schedule,
    /// Decay of the moving averages, in `[0, 1)`.
    pub rho: f32,
    /// Momentum coefficient in `[0, 1)`; 0 for none.
    pub momentum: f32,
    /// Added to the mean square under the square root, for stability.
    pub epsilon: f32,
    /// Divide by the variance estimate (`ms - mg^2`) rather than the mean square.
    pub centered: bool,
    /// L2 penalty coefficient added to the gradient; 0 for none.
    pub weight_decay: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl RmsProp {
    /// RMSProp with a constant step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> RmsProp {
        RmsProp {
            learning_rate: Schedule::Constant(learning_rate),
            ..RmsProp::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        let op = "RmsProp";
        decay_rate(op, "rho", self.rho)?;
        decay_rate(op, "momentum", self.momentum)?;
        non_negative(op, "epsilon", self.epsilon)?;
        self.common().validate(op)
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
        links.push(scale_by_rms(self.rho, self.epsilon, self.centered));
        // The rate before the momentum: Keras' buffer accumulates rate-scaled increments.
        links.push(scale_by_learning_rate());
        if self.momentum != 0.0 {
            links.push(trace(self.momentum, false));
        }
        chain(links)
    }
}

impl Default for RmsProp {
    /// Keras' defaults: lr 0.001, rho 0.9, no momentum, epsilon 1e-7, not centered.
    fn default() -> RmsProp {
        RmsProp {
            learning_rate: Schedule::Constant(1e-3),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            weight_decay: 0.0,
            clip_value: None,
            clip_global_norm: None,
        }
    }
}

chained_optimizer!(RmsProp);
