//! Nadam (Dozat, 2016): Adam with Nesterov momentum, as Keras 3 computes it, momentum schedule
//! included.

use ndarray::Zip;

use super::transform::{filled_like, map_updates, only_own_state};
use super::{
    Common, GradientTransform, Schedule, UpdateContext, chain, decay_rate, flush_subnormal,
    positive, scale_by_learning_rate, take_state,
};
use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// Nadam as Keras 3: Adam whose first moment looks one step ahead, with Dozat's momentum
/// schedule `mu_t = beta_1 * (1 - 0.5 * 0.96^t)`.
///
/// At step `t` (1 on the first update), with `P_t = mu_1 * ... * mu_t`:
/// `m = m + (g - m) (1 - beta_1)`, `v = v + (g^2 - v) (1 - beta_2)`,
/// `m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)`,
/// `v_hat = v / (1 - beta_2^t)`, and `p -= lr * m_hat / (sqrt(v_hat) + epsilon)`.
///
/// Matched against Keras 3.15's `keras.optimizers.Nadam` (JAX backend) and its defaults: lr
/// 0.001, `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7 (optax's `nadam` is another rule: no
/// momentum schedule, `epsilon` 1e-8). `P_t` is not kept in the state as Keras keeps it: it is
/// recomputed from the step count in `f64` (the factors `1 - 0.5 * 0.96^s` are exactly 1 in
/// `f64` from `s` = 1000 on, so that takes at most a thousand products).
///
/// `weight_decay` is decoupled, as Keras 3's: each update also subtracts
/// `lr * weight_decay * p`. Clipping applies to the raw gradient, by value first, then by global
/// norm. `epsilon` must be positive: where a gradient has always been 0, `m_hat` and `v_hat` are
/// both 0.
///
/// State: `"step"`, `"learning_rate"`, `"{i}/m/{param}"` and `"{i}/v/{param}"`, where `i` counts
/// the clipping links that are set (`"0/m/w"` with none).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Nadam {
    /// Step size, constant or scheduled.
    pub learning_rate: Schedule,
    /// Decay of the first moment and scale of the momentum schedule, in `[0, 1)`.
    pub beta_1: f32,
    /// Decay of the second moment, in `[0, 1)`.
    pub beta_2: f32,
    /// Added to the denominator; positive.
    pub epsilon: f32,
    /// Decoupled weight decay coefficient: each step shrinks `p` by `lr * weight_decay * p`.
    pub weight_decay: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl Nadam {
    /// Nadam with a constant step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> Nadam {
        Nadam {
            learning_rate: Schedule::Constant(learning_rate),
            ..Nadam::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        let op = "Nadam";
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
        links.push(scale_by_nadam(self.beta_1, self.beta_2, self.epsilon));
        // After the moments, before the rate: decoupled, and scaled by the rate as in Keras.
        links.extend(common.decay());
        links.push(scale_by_learning_rate());
        chain(links)
    }
}

impl Default for Nadam {
    /// Keras' defaults: lr 0.001, betas 0.9 and 0.999, epsilon 1e-7, no weight decay.
    fn default() -> Nadam {
        Nadam {
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

chained_optimizer!(Nadam);

/// Nadam's scaling, as [`Nadam`] describes it: the update `m_hat / (sqrt(v_hat) + epsilon)`.
/// State `"m/{param}"`, `"v/{param}"`.
pub fn scale_by_nadam(beta_1: f32, beta_2: f32, epsilon: f32) -> Box<dyn GradientTransform> {
    Box::new(ScaleByNadam {
        beta_1,
        beta_2,
        epsilon,
    })
}

#[derive(Debug)]
struct ScaleByNadam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

/// From this step on `0.5 * 0.96^s` is below 1e-18, under half the `f64` spacing below 1
/// (2^-54): the factor `1 - 0.5 * 0.96^s` is exactly 1.
const SCHEDULE_SETTLED: u64 = 1000;

impl ScaleByNadam {
    const OP: &'static str = "scale_by_nadam";

    fn validate(&self) -> Result<()> {
        decay_rate(Self::OP, "beta_1", self.beta_1)?;
        decay_rate(Self::OP, "beta_2", self.beta_2)?;
        positive(Self::OP, "epsilon", self.epsilon)
    }

    /// The momentum schedule `mu_t = beta_1 * (1 - 0.5 * 0.96^t)`.
    fn mu(&self, t: u64) -> f64 {
        self.beta_1 as f64 * (1.0 - 0.5 * 0.96f64.powf(t as f64))
    }

    /// `mu_1 * ... * mu_t`.
    fn mu_product(&self, t: u64) -> f64 {
        let scheduled: f64 = (1..=t.min(SCHEDULE_SETTLED))
            .map(|s| 1.0 - 0.5 * 0.96f64.powf(s as f64))
            .product();
        scheduled * (self.beta_1 as f64).powf(t as f64)
    }
}

impl GradientTransform for ScaleByNadam {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        self.validate()?;
        let mut state = filled_like(params, "m", 0.0);
        for (name, t) in filled_like(params, "v", 0.0) {
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
        let t = ctx.step + 1;
        let (mu, mu_next) = (self.mu(t), self.mu(t + 1));
        let product = self.mu_product(t);
        // The factors of m and of g in m_hat, and the inverse bias correction of v.
        let on_m = (mu_next / (1.0 - product * mu_next)) as f32;
        let on_g = ((1.0 - mu) / (1.0 - product)) as f32;
        let c2 = (1.0 / (1.0 - (b2 as f64).powf(t as f64))) as f32;
        let updates = map_updates(updates, |name, u| {
            let (mk, vk) = (format!("m/{name}"), format!("v/{name}"));
            let mut m = take_state(Self::OP, &mut state, &mk, u.shape())?;
            let mut v = take_state(Self::OP, &mut state, &vk, u.shape())?;
            Zip::from(u).and(&mut m).and(&mut v).for_each(|u, m, v| {
                let g = *u;
                *m = flush_subnormal(*m + (g - *m) * (1.0 - b1));
                *v = flush_subnormal(*v + (g * g - *v) * (1.0 - b2));
                let m_hat = on_m * *m + on_g * g;
                *u = m_hat / ((*v * c2).sqrt() + eps);
            });
            state.insert(mk, Tensor::new(m));
            state.insert(vk, Tensor::new(v));
            Ok(())
        })?;
        only_own_state(Self::OP, &state, &["m", "v"], &updates)?;
        Ok((updates, state))
    }
}
