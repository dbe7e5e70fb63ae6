//! Normalization layers: [`BatchNorm`] and [`LayerNorm`].

use super::{check_min_rank, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// Batch normalization, as Keras' `BatchNormalization`: each feature (the last axis) is
/// normalized over every other axis, then scaled by `gamma` and shifted by `beta`:
/// `(x - mean) / sqrt(var + epsilon) * gamma + beta`.
///
/// - Training: `mean` and `var` are the batch's (the population variance), and the gradient
///   flows through them. Each training call also updates the moving statistics in the network
///   state: `moving = momentum * moving + (1 - momentum) * batch`. Initialization uses the batch
///   statistics but leaves the moving ones at their start (zeros and ones).
/// - Inference: `mean` and `var` are the moving statistics, and the state is left alone.
///
/// Parameters: `gamma` `[features]` (ones; when `scale`) and `beta` `[features]` (zeros; when
/// `center`). State: `moving_mean` (zeros) and `moving_variance` (ones), both `[features]`.
///
/// ```
/// use elegy_core::module::layers::BatchNorm;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2])?;
/// let empty = TensorMap::new();
/// let mut init = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
/// init.call(&BatchNorm::default(), &x)?;
/// let (params, states, _) = init.finish();
///
/// let mut train = ModuleContext::new(&params, &states, false, true, RngKey::new(0));
/// train.call(&BatchNorm::default(), &x)?;
/// let (_, states, _) = train.finish();
/// // Batch means [2, 4]: 0.99 * 0 + 0.01 * [2, 4].
/// let moving_mean = states.require("batch_norm/moving_mean")?.to_vec();
/// assert!((moving_mean[0] - 0.02).abs() < 1e-6 && (moving_mean[1] - 0.04).abs() < 1e-6);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm {
    /// How much of the moving statistics each training step keeps, in `[0, 1]`.
    pub momentum: f32,
    /// Added to the variance before its square root, for stability; not negative.
    pub epsilon: f32,
    /// Whether to shift by a learned `beta`.
    pub center: bool,
    /// Whether to scale by a learned `gamma`.
    pub scale: bool,
    /// How `gamma` starts.
    pub gamma_init: Initializer,
    /// How `beta` starts.
    pub beta_init: Initializer,
}

impl Default for BatchNorm {
    /// Keras' defaults: momentum 0.99, epsilon 1e-3, `gamma` and `beta` learned.
    fn default() -> BatchNorm {
        BatchNorm {
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma_init: Initializer::Ones,
            beta_init: Initializer::Zeros,
        }
    }
}

impl BatchNorm {
    /// Keras' defaults (see [`BatchNorm::default`]).
    pub fn new() -> BatchNorm {
        BatchNorm::default()
    }

    /// With `momentum` for the moving statistics.
    pub fn momentum(mut self, momentum: f32) -> BatchNorm {
        self.momentum = momentum;
        self
    }

    /// With `epsilon` added to the variance.
    pub fn epsilon(mut self, epsilon: f32) -> BatchNorm {
        self.epsilon = epsilon;
        self
    }

    /// With or without the learned shift `beta`.
    pub fn center(mut self, center: bool) -> BatchNorm {
        self.center = center;
        self
    }

    /// With or without the learned scale `gamma`.
    pub fn scale(mut self, scale: bool) -> BatchNorm {
        self.scale = scale;
        self
    }

    /// With `gamma` starting from `init`.
    pub fn gamma_init(mut self, init: Initializer) -> BatchNorm {
        self.gamma_init = init;
        self
    }

    /// With `beta` starting from `init`.
    pub fn beta_init(mut self, init: Initializer) -> BatchNorm {
        self.beta_init = init;
        self
    }
}

impl Module for BatchNorm {
    fn kind(&self) -> &'static str {
        "BatchNorm"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("BatchNorm", ctx, x, 2, "[batch, .., features]")?;
        check_epsilon("BatchNorm", ctx, self.epsilon)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                "BatchNorm",
                format!(
                    "{} has momentum {}, outside [0, 1]; it is the share of the moving \
                     statistics each step keeps (Keras uses 0.99)",
                    layer_at(ctx),
                    self.momentum
                ),
            ));
        }
        let features = x.shape()[x.ndim() - 1];
        let moving_mean = ctx.state("moving_mean", &[features], Initializer::Zeros)?;
        let moving_var = ctx.state("moving_variance", &[features], Initializer::Ones)?;
        let (mean, var) = if ctx.training() {
            let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
            let mean = x.mean(&axes, false)?;
            let var = x.var(&axes, false)?;
            if !ctx.initializing() {
                let m = self.momentum;
                let update = |moving: &Tensor, batch: &Tensor| {
                    moving
                        .mul_scalar(m)
                        .add(&batch.detach().mul_scalar(1.0 - m))
                };
                ctx.set_state("moving_mean", &update(&moving_mean, &mean)?);
                ctx.set_state("moving_variance", &update(&moving_var, &var)?);
            }
            (mean, var)
        } else {
            (moving_mean, moving_var)
        };
        normalize(&self.into(), x, &mean, &var, ctx, features)
    }
}

/// Layer normalization, as Keras' `LayerNormalization`: each sample is normalized over its last
/// axis (mean 0, variance 1), then scaled by `gamma` and shifted by `beta`:
/// `(x - mean) / sqrt(var + epsilon) * gamma + beta`. The same in training and inference.
///
/// Parameters: `gamma` `[features]` (ones; when `scale`) and `beta` `[features]` (zeros; when
/// `center`).
///
/// ```
/// use elegy_core::module::layers::LayerNorm;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let x = Tensor::from_vec(vec![1.0, 3.0, 10.0, 30.0], &[2, 2])?;
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// let y = ctx.call(&LayerNorm::default().epsilon(0.0), &x)?;
/// assert_eq!(y.to_vec(), vec![-1.0, 1.0, -1.0, 1.0]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNorm {
    /// Added to the variance before its square root, for stability; not negative.
    pub epsilon: f32,
    /// Whether to shift by a learned `beta`.
    pub center: bool,
    /// Whether to scale by a learned `gamma`.
    pub scale: bool,
    /// How `gamma` starts.
    pub gamma_init: Initializer,
    /// How `beta` starts.
    pub beta_init: Initializer,
}

impl Default for LayerNorm {
    /// Keras' defaults: epsilon 1e-3, `gamma` and `beta` learned.
    fn default() -> LayerNorm {
        LayerNorm {
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma_init: Initializer::Ones,
            beta_init: Initializer::Zeros,
        }
    }
}

impl LayerNorm {
    /// Keras' defaults (see [`LayerNorm::default`]).
    pub fn new() -> LayerNorm {
        LayerNorm::default()
    }

    /// With `epsilon` added to the variance.
    pub fn epsilon(mut self, epsilon: f32) -> LayerNorm {
        self.epsilon = epsilon;
        self
    }

    /// With or without the learned shift `beta`.
    pub fn center(mut self, center: bool) -> LayerNorm {
        self.center = center;
        self
    }

    /// With or without the learned scale `gamma`.
    pub fn scale(mut self, scale: bool) -> LayerNorm {
        self.scale = scale;
        self
    }

    /// With `gamma` starting from `init`.
    pub fn gamma_init(mut self, init: Initializer) -> LayerNorm {
        self.gamma_init = init;
        self
    }

    /// With `beta` starting from `init`.
    pub fn beta_init(mut self, init: Initializer) -> LayerNorm {
        self.beta_init = init;
        self
    }
}

impl Module for LayerNorm {
    fn kind(&self) -> &'static str {
        "LayerNorm"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("LayerNorm", ctx, x, 1, "[.., features]")?;
        check_epsilon("LayerNorm", ctx, self.epsilon)?;
        let features = x.shape()[x.ndim() - 1];
        let mean = x.mean(&[-1], true)?;
        let var = x.var(&[-1], true)?;
        normalize(&self.into(), x, &mean, &var, ctx, features)
    }
}

/// The part of the two normalizations after the statistics.
struct Affine {
    epsilon: f32,
    center: bool,
    scale: bool,
    gamma_init: Initializer,
    beta_init: Initializer,
}

macro_rules! affine_from {
    ($($layer:ident),*) => {
        $(
            impl From<&$layer> for Affine {
                fn from(layer: &$layer) -> Affine {
                    Affine {
                        epsilon: layer.epsilon,
                        center: layer.center,
                        scale: layer.scale,
                        gamma_init: layer.gamma_init,
                        beta_init: layer.beta_init,
                    }
                }
            }
        )*
    };
}

affine_from!(BatchNorm, LayerNorm);

/// `(x - mean) / sqrt(var + epsilon) * gamma + beta`, with `mean` and `var` broadcasting against
/// `x` and `gamma`, `beta` created or read as parameters of the current module.
fn normalize(
    layer: &Affine,
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    ctx: &mut ModuleContext<'_>,
    features: usize,
) -> Result<Tensor> {
    // One reciprocal per statistic rather than a division per element.
    let inv_std = var.add_scalar(layer.epsilon).sqrt().recip();
    let mut y = x.sub(mean)?.mul(&inv_std)?;
    if layer.scale {
        y = y.mul(&ctx.param("gamma", &[features], layer.gamma_init)?)?;
    }
    if layer.center {
        y = y.add(&ctx.param("beta", &[features], layer.beta_init)?)?;
    }
    Ok(y)
}

/// `Ok` when `epsilon` is not negative (nor NaN), so that the square root stays real.
fn check_epsilon(kind: &'static str, ctx: &ModuleContext<'_>, epsilon: f32) -> Result<()> {
    if epsilon >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            kind,
            format!(
                "{} has epsilon {epsilon}; it must not be negative, and a small positive \
                 one keeps a constant feature from dividing by zero (Keras uses 1e-3)",
                layer_at(ctx)
            ),
        ))
    }
}
