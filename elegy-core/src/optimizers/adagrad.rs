//! Adagrad (Duchi, Hazan & Singer, 2011), as Keras.

use super::{
    Common, GradientTransform, Schedule, chain, non_negative, scale_by_adagrad,
    scale_by_learning_rate,
};
use crate::error::Result;

/// Adagrad as Keras: `acc = acc + g^2` from `initial_accumulator_value`,
/// `p -= lr * g / sqrt(acc + epsilon)`.
///
/// `weight_decay` is an L2 penalty added to the gradient before the accumulator, as PyTorch's
/// (Keras 3 instead shrinks the parameters apart from the gradient). Clipping
/// applies to the raw gradient, by value first, then by global norm.
///
/// State: `"step"`, `"learning_rate"` and `"{i}/accumulator/{param}"`, where `i` counts the
/// clipping and weight decay links that are set (`"0/accumulator/w"` with none).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Adagrad {
    /// Step size, constant or scheduled.
    pub learning_rate: Schedule,
    /// The accumulators' starting value; non-negative.
    pub initial_accumulator_value: f32,
    /// Added to the accumulator under the square root, for stability.
    pub epsilon: f32,
    /// L2 penalty coefficient added to the gradient; 0 for none.
    pub weight_decay: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl Adagrad {
    /// Adagrad with a constant step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> Adagrad {
        Adagrad {
            learning_rate: Schedule::Constant(learning_rate),
            ..Adagrad::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        let op = "Adagrad";
        non_negative(
            op,
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
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
        links.push(scale_by_adagrad(
            self.initial_accumulator_value,
            self.epsilon,
        ));
        links.push(scale_by_learning_rate());
        chain(links)
    }
}

impl Default for Adagrad {
    /// Keras' defaults: lr 0.001, initial accumulator 0.1, epsilon 1e-7.
    fn default() -> Adagrad {
        Adagrad {
            learning_rate: Schedule::Constant(1e-3),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            weight_decay: 0.0,
            clip_value: None,
            clip_global_norm: None,
        }
    }
}

chained_optimizer!(Adagrad);
