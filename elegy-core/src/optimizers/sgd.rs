//! Stochastic gradient descent, with optional momentum and Nesterov momentum.

use ndarray::Zip;

use super::{Optimizer, check_grads, step_count, take_array, zeros_like_prefixed};
use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// `v = momentum * v - lr * g; p += v` (or, with Nesterov, `p += momentum * v - lr * g`), as Keras.
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Step size.
    pub learning_rate: f32,
    /// Momentum coefficient; 0 for plain SGD.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Sgd {
    /// Plain SGD with step size `learning_rate`.
    pub fn new(learning_rate: f32) -> Sgd {
        Sgd {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
        }
    }
}

impl Default for Sgd {
    fn default() -> Sgd {
        Sgd::new(0.01)
    }
}

impl Optimizer for Sgd {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        let mut state = TensorMap::new().with("step", Tensor::scalar(0.0));
        if self.momentum != 0.0 {
            for (k, v) in zeros_like_prefixed(params, "velocity") {
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
        check_grads("Sgd::update", &params, grads)?;
        let (lr, momentum) = (self.learning_rate, self.momentum);
        let step = step_count(&state)?;
        let mut new_params = TensorMap::new();
        for (name, p) in params {
            let g = grads.require(&name)?.view();
            let mut p = p.into_array();
            if momentum == 0.0 {
                Zip::from(&mut p).and(&g).for_each(|p, &g| *p -= lr * g);
            } else {
                let key = format!("velocity/{name}");
                let mut v = take_array(&mut state, &key)?;
                Zip::from(&mut p).and(&mut v).and(&g).for_each(|p, v, &g| {
                    *v = momentum * *v - lr * g;
                    *p += if self.nesterov {
                        momentum * *v - lr * g
                    } else {
                        *v
                    };
                });
                state.insert(key, Tensor::new(v));
            }
            new_params.insert(name, Tensor::new(p));
        }
        state.insert("step", Tensor::scalar((step + 1) as f32));
        Ok((new_params, state))
    }

    fn learning_rate(&self, _: &TensorMap) -> Option<f32> {
        Some(self.learning_rate)
    }
}
