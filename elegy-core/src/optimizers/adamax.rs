//! Adamax (Kingma & Ba, 2015, section 7.1): Adam with the infinity norm in place of the second
//! moment, as Keras 3 computes it.

use ndarray::Zip;

use super::transform::{filled_like, map_updates, only_own_state};
use super::{
    Common, GradientTransform, Schedule, UpdateContext, chain, decay_rate, flush_subnormal,
    positive, scale_by_learning_rate, take_state,
};
use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// Adamax as Keras 3: at step `t` (1 on the first update), `m = m + (g - m) (1 - beta_1)`,
/// `u = max(beta_2 u, |g|)` and `p -= lr * m / ((1 - beta_1^t) (u + epsilon))`.
///
/// Matched against Keras 3.15's `keras.optimizers.Adamax` (JAX backend) and its defaults: lr
/// 0.001, `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7 (optax's `adamax` is the same rule with
/// `epsilon` 1e-8).
///
/// `weight_decay` is decoupled, as Keras 3's: each update also subtracts
/// `lr * weight_decay * p`. Clipping applies to the raw gradient, by value first, then by global
/// norm. `epsilon` must be positive: where a gradient has always been 0, `m` and `u` are both 0.
///
/// State: `"step"`, `"learning_rate"`, `"{i}/m/{param}"` and `"{i}/u/{param}"` (the running
/// infinity norm), where `i` counts the clipping links that are set (`"0/m/w"` with none).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Adamax {
    /// Step size, constant or scheduled.
    pub learning_rate: Schedule,
    /// Decay of the first moment, in `[0, 1)`.
    pub beta_1: f32,
    /// Decay of the infinity norm, in `[0, 1)`.
    pub beta_2: f32,
    /// Added to the infinity norm in the denominator; positive.
    pub epsilon: f32,
    /// Decoupled weight decay coefficient: each step shrinks `p` by `lr * weight_decay * p`.
    pub weight_decay: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl Adamax {
    /// Adamax with a constant step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> Adamax {
        Adamax {
            learning_rate: Schedule::Constant(learning_rate),
            ..Adamax::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        let op = "Adamax";
        decay_rate(op, "beta_1", self.beta_1)?;
        decay_rate(op, "beta_2", self.beta_2)?;
        positive(op, "epsilon", self.epsilon)?;
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
        links.push(scale_by_adamax(self.beta_1, self.beta_2, self.epsilon));
        // After the scaling, before the rate: decoupled, and scaled by the rate as in Keras.
        links.extend(common.decay());
        links.push(scale_by_learning_rate());
        chain(links)
    }
}

impl Default for Adamax {
    /// Keras' defaults: lr 0.001, betas 0.9 and 0.999, epsilon 1e-7, no weight decay.
    fn default() -> Adamax {
        Adamax {
            learning_rate: Schedule::Constant(1e-3),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: 0.0,
            clip_value: None,
            clip_global_norm: None,
        }
    }
}

chained_optimizer!(Adamax);

/// Adamax's scaling, as [`Adamax`] describes it: the update
/// `m / ((1 - beta_1^t) (u + epsilon))`. State `"m/{param}"`, `"u/{param}"`.
pub fn scale_by_adamax(beta_1: f32, beta_2: f32, epsilon: f32) -> Box<dyn GradientTransform> {
    Box::new(ScaleByAdamax {
        beta_1,
        beta_2,
        epsilon,
    })
}

#[derive(Debug)]
struct ScaleByAdamax {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl ScaleByAdamax {
    const OP: &'static str = "scale_by_adamax";

    fn validate(&self) -> Result<()> {
        decay_rate(Self::OP, "beta_1", self.beta_1)?;
        decay_rate(Self::OP, "beta_2", self.beta_2)?;
        positive(Self::OP, "epsilon", self.epsilon)
    }
}

impl GradientTransform for ScaleByAdamax {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        self.validate()?;
        let mut state = filled_like(params, "m", 0.0);
        for (name, t) in filled_like(params, "u", 0.0) {
            state.insert(name, t);
        }
        Ok(state)
    }

    fn update(
        &self,
        updates: TensorMap,
        mut state: TensorMap,
        ctx: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        self.validate()?;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let t = ctx.step as f64 + 1.0;
        let correction = (1.0 - (b1 as f64).powf(t)) as f32;
        let updates = map_updates(updates, |name, u| {
            let (mk, uk) = (format!("m/{name}"), format!("u/{name}"));
            let mut m = take_state(Self::OP, &mut state, &mk, u.shape())?;
            let mut norm = take_state(Self::OP, &mut state, &uk, u.shape())?;
            Zip::from(u)
                .and(&mut m)
                .and(&mut norm)
                .for_each(|u, m, norm| {
                    let g = *u;
                    *m = flush_subnormal(*m + (g - *m) * (1.0 - b1));
                    *norm = flush_subnormal((b2 * *norm).max(g.abs()));
                    *u = *m / (correction * (*norm + eps));
                });
            state.insert(mk, Tensor::new(m));
            state.insert(uk, Tensor::new(norm));
            Ok(())
        })?;
        only_own_state(Self::OP, &state, &["m", "u"], &updates)?;
        Ok((updates, state))
    }
}
