//! Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of an
//! interpolated momentum, as Keras 3 computes it.

use ndarray::Zip;

use super::transform::{filled_like, map_updates, only_own_state};
use super::{
    Common, GradientTransform, Schedule, UpdateContext, chain, decay_rate, flush_subnormal,
    scale_by_learning_rate, take_state,
};
use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// Lion as Keras 3: `p -= lr * sign(beta_1 m + (1 - beta_1) g)`, then
/// `m = beta_2 m + (1 - beta_2) g`. `sign(0)` is 0, as in Keras and optax: an element whose
/// interpolated momentum is exactly 0 does not move.
///
/// Every element moves by exactly `lr` (or not at all), so Lion wants a learning rate 3 to 10
/// times smaller than Adam's. Matched against Keras 3.15's `keras.optimizers.Lion` (JAX backend)
/// and its defaults: lr 0.001, `beta_1` 0.9, `beta_2` 0.99, no weight decay (optax's `lion`
/// has the same rule and betas, with a weight decay of 1e-3 by default).
///
/// `weight_decay` is decoupled, as Keras 3's: each update also subtracts
/// `lr * weight_decay * p`. Clipping applies to the raw gradient, by value first, then by global
/// norm (it changes the momentum, and the sign only through it).
///
/// State: `"step"`, `"learning_rate"` and `"{i}/m/{param}"`, where `i` counts the clipping links
/// that are set (`"0/m/w"` with none).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lion {
    /// Step size, constant or scheduled.
    pub learning_rate: Schedule,
    /// The weight of the momentum against the gradient in the update's sign, in `[0, 1)`.
    pub beta_1: f32,
    /// Decay of the momentum, in `[0, 1)`.
    pub beta_2: f32,
    /// Decoupled weight decay coefficient: each step shrinks `p` by `lr * weight_decay * p`.
    pub weight_decay: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl Lion {
    /// Lion with a constant step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> Lion {
        Lion {
            learning_rate: Schedule::Constant(learning_rate),
            ..Lion::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        let op = "Lion";
        decay_rate(op, "beta_1", self.beta_1)?;
        decay_rate(op, "beta_2", self.beta_2)?;
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
        links.push(scale_by_lion(self.beta_1, self.beta_2));
        // After the sign, before the rate: decoupled, and scaled by the rate as in Keras.
        links.extend(common.decay());
        links.push(scale_by_learning_rate());
        chain(links)
    }
}

impl Default for Lion {
    /// Keras' defaults: lr 0.001, betas 0.9 and 0.99, no weight decay.
    fn default() -> Lion {
        Lion {
            learning_rate: Schedule::Constant(1e-3),
            beta_1: 0.9,
            beta_2: 0.99,
            weight_decay: 0.0,
            clip_value: None,
            clip_global_norm: None,
        }
    }
}

chained_optimizer!(Lion);

/// Lion's scaling, as [`Lion`] describes it: the update `sign(beta_1 m + (1 - beta_1) g)`, each
/// element -1, 0 or 1 (NaN stays NaN). State `"m/{param}"`.
pub fn scale_by_lion(beta_1: f32, beta_2: f32) -> Box<dyn GradientTransform> {
    Box::new(ScaleByLion { beta_1, beta_2 })
}

#[derive(Debug)]
struct ScaleByLion {
    beta_1: f32,
    beta_2: f32,
}

impl ScaleByLion {
    const OP: &'static str = "scale_by_lion";

    fn validate(&self) -> Result<()> {
        decay_rate(Self::OP, "beta_1", self.beta_1)?;
        decay_rate(Self::OP, "beta_2", self.beta_2)
    }
}

/// -1, 0 or 1 by the sign of `x` (`f32::signum` gives 1 for 0); NaN for NaN.
fn sign(x: f32) -> f32 {
    if x == 0.0 { 0.0 } else { x.signum() }
}

impl GradientTransform for ScaleByLion {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        self.validate()?;
        Ok(filled_like(params, "m", 0.0))
    }

    fn update(
        &self,
        updates: TensorMap,
        mut state: TensorMap,
        _: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        self.validate()?;
        let (b1, b2) = (self.beta_1, self.beta_2);
        let updates = map_updates(updates, |name, u| {
            let key = format!("m/{name}");
            let mut m = take_state(Self::OP, &mut state, &key, u.shape())?;
            Zip::from(u).and(&mut m).for_each(|u, m| {
                let g = *u;
                *u = sign(*m * b1 + g * (1.0 - b1));
                *m = flush_subnormal(*m * b2 + g * (1.0 - b2));
            });
            state.insert(key, Tensor::new(m));
            Ok(())
        })?;
        only_own_state(Self::OP, &state, &["m"], &updates)?;
        Ok((updates, state))
    }
}
