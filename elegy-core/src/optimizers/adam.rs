//! Adam (Kingma & Ba, 2015, Algorithm 1).

use ndarray::Zip;

use super::{Optimizer, check_grads, step_count, take_array, zeros_like_prefixed};
use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// Adam: `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
/// `p -= lr * m_hat / (sqrt(v_hat) + epsilon)` with bias-corrected `m_hat`, `v_hat`.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Step size.
    pub learning_rate: f32,
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Added to the denominator for stability.
    pub epsilon: f32,
}

impl Adam {
    /// Adam with step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> Adam {
        Adam {
            learning_rate,
            ..Adam::default()
        }
    }
}

impl Default for Adam {
    /// Keras' defaults: lr 0.001, betas 0.9 and 0.999, epsilon 1e-7.
    fn default() -> Adam {
        Adam {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl Optimizer for Adam {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        let mut state = TensorMap::new().with("step", Tensor::scalar(0.0));
        for prefix in ["m", "v"] {
            for (k, v) in zeros_like_prefixed(params, prefix) {
                state.insert(k, v);
            }
        }
        Ok(state)
    }

    fn update(
        &self,
        params: TensorMap,
        grads: &TensorMap,
        mut state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)> {
        check_grads("Adam::update", &params, grads)?;
        let t = step_count(&state)? + 1;
        let (b1, b2, eps, lr) = (self.beta_1, self.beta_2, self.epsilon, self.learning_rate);
        // Bias corrections in f64: b^t underflows gracefully and stays accurate for large t.
        let c1 = (1.0 - (b1 as f64).powi(t as i32)) as f32;
        let c2 = (1.0 - (b2 as f64).powi(t as i32)) as f32;
        let mut new_params = TensorMap::new();
        for (name, p) in params {
            let g = grads.require(&name)?.view();
            let (mk, vk) = (format!("m/{name}"), format!("v/{name}"));
            let mut m = take_array(&mut state, &mk)?;
            let mut v = take_array(&mut state, &vk)?;
            let mut p = p.into_array();
            Zip::from(&mut p)
                .and(&mut m)
                .and(&mut v)
                .and(&g)
                .for_each(|p, m, v, &g| {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
            state.insert(mk, Tensor::new(m));
            state.insert(vk, Tensor::new(v));
            new_params.insert(name, Tensor::new(p));
        }
        state.insert("step", Tensor::scalar(t as f32));
        Ok((new_params, state))
    }

    fn learning_rate(&self, _: &TensorMap) -> Option<f32> {
        Some(self.learning_rate)
    }
}
