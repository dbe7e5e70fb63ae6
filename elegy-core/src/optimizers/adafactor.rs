//! Adafactor (Shazeer & Stern, 2018): a second moment kept as row and column means, and a step
//! relative to each parameter's scale, as Keras 3 computes it.

use ndarray::{ArrayD, IxDyn};

use super::transform::map_updates;
use super::{
    Common, GradientTransform, Schedule, UpdateContext, chain, flush_subnormal, non_negative,
    positive, take_state,
};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// Adafactor as Keras 3. At step `t` (1 on the first update), for a parameter `p` with gradient
/// `g`:
///
/// - `rho = min(lr, 1 / sqrt(t))` and `alpha = max(epsilon_2, rms(p)) * rho`, where
///   `rms(x) = sqrt(mean(x^2))` over the whole tensor: steps are relative to the parameter's
///   size;
/// - `beta = 1 - t^beta_2_decay` (0 on the first update) and `s = g^2 + epsilon_1`;
/// - a parameter of 2 or more axes keeps only row and column means of `s` over its last two
///   axes: `r = beta r + (1 - beta) mean(s, axis -1)`, `c = beta c + (1 - beta) mean(s, axis -2)`,
///   and `v = r / mean(r) * c` (outer product, `mean(r)` over the rows); a vector or a scalar
///   keeps `v = beta v + (1 - beta) s` itself;
/// - `u = g / sqrt(v)`, clipped to `u / max(1, rms(u) / clip_threshold)`, and `p -= alpha * u`.
///
/// Matched against Keras 3.15's `keras.optimizers.Adafactor` (JAX backend) and its defaults: lr
/// 0.001, `beta_2_decay` -0.8, `epsilon_1` 1e-30, `epsilon_2` 1e-3, `clip_threshold` 1. Keras'
/// `relative_step` is not an option: its update takes `min(lr, 1 / sqrt(t))` whatever that flag
/// says. No first moment (Keras has none), and no `weight_decay`: Keras shrinks `p` before
/// measuring `rms(p)`, which a decay link after this one could not reproduce. optax's
/// `adafactor` is another rule (it factors only axes of 128 or more, and has momentum options).
///
/// The learning rate enters through `rho` rather than as a plain factor, so this optimizer's
/// chain ends with [`scale_by_adafactor`], which reads the rate itself. Clipping by value or
/// global norm applies to the raw gradient first.
///
/// State: `"step"`, `"learning_rate"`, and for each parameter either `"{i}/r/{param}"` (its
/// shape without the last axis) and `"{i}/c/{param}"` (without the second to last) or, for
/// fewer than 2 axes, `"{i}/v/{param}"`; `i` counts the clipping links that are set.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Adafactor {
    /// The largest step size, constant or scheduled (`rho` above).
    pub learning_rate: Schedule,
    /// How fast the second moment's decay approaches 1 (`beta = 1 - t^beta_2_decay`); negative.
    pub beta_2_decay: f32,
    /// Added to the squared gradient; positive, so that `v` is never 0.
    pub epsilon_1: f32,
    /// The smallest parameter scale a step is relative to; not negative.
    pub epsilon_2: f32,
    /// The largest RMS of a parameter's normalized update before it is scaled down; positive.
    pub clip_threshold: f32,
    /// Clips each gradient element to `[-clip_value, clip_value]`.
    pub clip_value: Option<f32>,
    /// Scales the gradients so that their global L2 norm is at most this.
    pub clip_global_norm: Option<f32>,
}

impl Adafactor {
    /// Adafactor with a constant step size `learning_rate` and Keras' other defaults.
    pub fn new(learning_rate: f32) -> Adafactor {
        Adafactor {
            learning_rate: Schedule::Constant(learning_rate),
            ..Adafactor::default()
        }
    }

    /// Checks the hyperparameters: an error names the one out of range.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        self.link().validate()?;
        self.common().validate("Adafactor")
    }

    fn common(&self) -> Common {
        Common {
            clip_value: self.clip_value,
            clip_global_norm: self.clip_global_norm,
            weight_decay: 0.0,
        }
    }

    fn link(&self) -> ScaleByAdafactor {
        ScaleByAdafactor {
            beta_2_decay: self.beta_2_decay,
            epsilon_1: self.epsilon_1,
            epsilon_2: self.epsilon_2,
            clip_threshold: self.clip_threshold,
        }
    }

    fn transform(&self) -> Box<dyn GradientTransform> {
        let mut links = self.common().clipping();
        links.push(Box::new(self.link()));
        chain(links)
    }
}

impl Default for Adafactor {
    /// Keras' defaults: lr 0.001, `beta_2_decay` -0.8, `epsilon_1` 1e-30, `epsilon_2` 1e-3,
    /// `clip_threshold` 1.
    fn default() -> Adafactor {
        Adafactor {
            learning_rate: Schedule::Constant(1e-3),
            beta_2_decay: -0.8,
            epsilon_1: 1e-30,
            epsilon_2: 1e-3,
            clip_threshold: 1.0,
            clip_value: None,
            clip_global_norm: None,
        }
    }
}

chained_optimizer!(Adafactor);

/// Adafactor's whole step, as [`Adafactor`] describes it, learning rate included: the update is
/// `-alpha * u`, to be added to the parameters (so no
/// [`scale_by_learning_rate`](super::scale_by_learning_rate) after it). It reads the parameters
/// (for `rms(p)`) and the rate from the update's context. State `"r/{param}"` and `"c/{param}"`
/// for a parameter of 2 or more axes, `"v/{param}"` otherwise.
pub fn scale_by_adafactor(
    beta_2_decay: f32,
    epsilon_1: f32,
    epsilon_2: f32,
    clip_threshold: f32,
) -> Box<dyn GradientTransform> {
    Box::new(ScaleByAdafactor {
        beta_2_decay,
        epsilon_1,
        epsilon_2,
        clip_threshold,
    })
}

#[derive(Debug)]
struct ScaleByAdafactor {
    beta_2_decay: f32,
    epsilon_1: f32,
    epsilon_2: f32,
    clip_threshold: f32,
}

/// `sqrt(mean(x^2))`, in `f64`.
fn rms<'a>(values: impl ExactSizeIterator<Item = &'a f32>) -> f64 {
    let n = values.len().max(1) as f64;
    (values.map(|&x| x as f64 * x as f64).sum::<f64>() / n).sqrt()
}

/// The shapes of a factored parameter's row and column means: without the last axis, and
/// without the second to last.
fn factored_shapes(shape: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let last = shape.len() - 1;
    let rows = shape[..last].to_vec();
    let mut cols = shape[..last - 1].to_vec();
    cols.push(shape[last]);
    (rows, cols)
}

/// An array of `shape` from row-major `values`.
fn array(shape: &[usize], values: Vec<f32>) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(shape), values).expect("one value per element of the shape")
}

impl ScaleByAdafactor {
    const OP: &'static str = "scale_by_adafactor";

    fn validate(&self) -> Result<()> {
        let op = Self::OP;
        if !(self.beta_2_decay.is_finite() && self.beta_2_decay < 0.0) {
            return Err(Error::invalid(
                op,
                format!(
                    "beta_2_decay must be finite and negative (the second moment's decay \
                     1 - t^beta_2_decay must approach 1), got {}",
                    self.beta_2_decay
                ),
            ));
        }
        positive(op, "epsilon_1", self.epsilon_1)?;
        non_negative(op, "epsilon_2", self.epsilon_2)?;
        positive(op, "clip_threshold", self.clip_threshold)
    }

    /// The squared-gradient average `v` of one parameter after this step, updating its state:
    /// row and column means for 2 or more axes, `v` itself otherwise.
    fn second_moment(
        &self,
        state: &mut TensorMap,
        name: &str,
        shape: &[usize],
        squares: &[f64],
        beta: f64,
    ) -> Result<Vec<f64>> {
        let op = Self::OP;
        let blend =
            |old: f32, new: f64| flush_subnormal((beta * old as f64 + (1.0 - beta) * new) as f32);
        if shape.len() < 2 {
            let key = format!("v/{name}");
            let v = take_state(op, state, &key, shape)?;
            let v: Vec<f32> = v.iter().zip(squares).map(|(&v, &s)| blend(v, s)).collect();
            let out = v.iter().map(|&v| v as f64).collect();
            state.insert(key, Tensor::new(array(shape, v)));
            return Ok(out);
        }
        let (row_shape, col_shape) = factored_shapes(shape);
        let (rk, ck) = (format!("r/{name}"), format!("c/{name}"));
        let r = take_state(op, state, &rk, &row_shape)?;
        let c = take_state(op, state, &ck, &col_shape)?;
        let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let matrices = squares.len() / (rows * cols);
        let (r_old, c_old): (Vec<f32>, Vec<f32>) =
            (r.iter().copied().collect(), c.iter().copied().collect());
        let mut r_new = Vec::with_capacity(r_old.len());
        let mut c_new = Vec::with_capacity(c_old.len());
        let mut v = Vec::with_capacity(squares.len());
        for b in 0..matrices {
            let s = &squares[b * rows * cols..(b + 1) * rows * cols];
            let r_b: Vec<f32> = (0..rows)
                .map(|i| {
                    let mean = s[i * cols..(i + 1) * cols].iter().sum::<f64>() / cols as f64;
                    blend(r_old[b * rows + i], mean)
                })
                .collect();
            let c_b: Vec<f32> = (0..cols)
                .map(|j| {
                    let mean = (0..rows).map(|i| s[i * cols + j]).sum::<f64>() / rows as f64;
                    blend(c_old[b * cols + j], mean)
                })
                .collect();
            let r_mean = r_b.iter().map(|&x| x as f64).sum::<f64>() / rows as f64;
            for &ri in &r_b {
                v.extend(c_b.iter().map(|&cj| ri as f64 / r_mean * cj as f64));
            }
            r_new.extend(r_b);
            c_new.extend(c_b);
        }
        state.insert(rk, Tensor::new(array(&row_shape, r_new)));
        state.insert(ck, Tensor::new(array(&col_shape, c_new)));
        Ok(v)
    }

    /// Whether every state entry is one this link keeps for one of `updates`.
    fn only_own_state(&self, state: &TensorMap, updates: &TensorMap) -> Result<()> {
        let own = |entry: &str| {
            let Some((kind, param)) = entry.split_once('/') else {
                return false;
            };
            updates.get(param).is_some_and(|u| match kind {
                "v" => u.ndim() < 2,
                "r" | "c" => u.ndim() >= 2,
                _ => false,
            })
        };
        match state.names().find(|entry| !own(entry)) {
            None => Ok(()),
            Some(stray) => Err(Error::invalid(
                Self::OP,
                format!(
                    "optimizer state `{stray}` is not this link's; the state was made by another \
                     optimizer, or for other parameters"
                ),
            )),
        }
    }
}

impl GradientTransform for ScaleByAdafactor {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        self.validate()?;
        let mut state = TensorMap::new();
        for (name, p) in params.iter() {
            if p.ndim() < 2 {
                state.insert(format!("v/{name}"), Tensor::zeros(p.shape()));
            } else {
                let (rows, cols) = factored_shapes(p.shape());
                state.insert(format!("r/{name}"), Tensor::zeros(&rows));
                state.insert(format!("c/{name}"), Tensor::zeros(&cols));
            }
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
        let t = ctx.step as f64 + 1.0;
        let rho = (ctx.learning_rate as f64).min(1.0 / t.sqrt());
        let beta = 1.0 - t.powf(self.beta_2_decay as f64);
        let (eps_1, eps_2) = (self.epsilon_1 as f64, self.epsilon_2 as f64);
        let clip = self.clip_threshold as f64;
        let updates = map_updates(updates, |name, u| {
            let p = ctx.params.get(name).ok_or_else(|| Error::NotFound {
                what: "parameter",
                name: name.to_string(),
                hint: "; Adafactor scales each step by its parameter's size".into(),
            })?;
            if p.shape() != u.shape() {
                return Err(Error::shape(
                    Self::OP,
                    format!(
                        "update of `{name}` has shape {:?} but the parameter has {:?}",
                        u.shape(),
                        p.shape()
                    ),
                ));
            }
            let shape = u.shape().to_vec();
            let g: Vec<f64> = u.iter().map(|&g| g as f64).collect();
            if g.is_empty() {
                // Nothing to step, and no mean to take: the state stays as it is.
                return Ok(());
            }
            let squares: Vec<f64> = g.iter().map(|g| g * g + eps_1).collect();
            let v = self.second_moment(&mut state, name, &shape, &squares, beta)?;
            let alpha = eps_2.max(rms(p.array().iter())) * rho;
            let normalized: Vec<f64> = g.iter().zip(&v).map(|(g, v)| g / v.sqrt()).collect();
            let n = normalized.len() as f64;
            let rms_u = (normalized.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
            let scale = -alpha / (rms_u / clip).max(1.0);
            let step = normalized.iter().map(|x| (x * scale) as f32).collect();
            *u = array(&shape, step);
            Ok(())
        })?;
        self.only_own_state(&state, &updates)?;
        Ok((updates, state))
    }
}
