//! [`GradientTransform`]: one link of an optimizer (clip, scale, decay, momentum), and [`chain`]
//! to compose them.

use std::fmt;

use ndarray::{ArrayD, Zip};

use super::{STATE, decay_rate, flush_subnormal, non_negative, positive, take_state};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// What a [`GradientTransform`] sees besides the updates and its own state.
#[derive(Clone, Copy, Debug)]
pub struct UpdateContext<'a> {
    /// The parameters before this update (weight decay reads them).
    pub params: &'a TensorMap,
    /// The number of updates applied before this one: 0 on the first.
    pub step: u64,
    /// The learning rate of this update, the schedule's value scaled by the base rate.
    pub learning_rate: f32,
}

/// One link of an optimizer: turns the incoming updates (the gradients, for the first link) into
/// outgoing updates, keeping its own state. A chain of links ends with updates that are *added*
/// to the parameters, so a descent chain scales by the negated learning rate somewhere
/// ([`scale_by_learning_rate`]).
///
/// State entries are named after the parameter they follow (`"m/linear/kernel"`), so that the
/// names are stable and a [`chain`] can file them under each link's position.
pub trait GradientTransform: Send + Sync + fmt::Debug {
    /// The state before the first update of `params`; empty for a stateless link.
    fn init(&self, params: &TensorMap) -> Result<TensorMap>;

    /// The outgoing updates and the new state. Takes the updates and state by value so that
    /// their storage is modified in place when nothing else shares it.
    fn update(
        &self,
        updates: TensorMap,
        state: TensorMap,
        ctx: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)>;
}

/// Applies `f` to each update in place (the arrays are reused when nothing else shares them).
pub(super) fn map_updates(
    updates: TensorMap,
    mut f: impl FnMut(&str, &mut ArrayD<f32>) -> Result<()>,
) -> Result<TensorMap> {
    updates
        .into_iter()
        .map(|(name, u)| {
            let mut u = u.into_array();
            f(&name, &mut u)?;
            Ok((name, Tensor::new(u)))
        })
        .collect()
}

/// Checks that `state` holds only the link's own entries, `"{prefix}/{update}"`: anything else
/// is state from another optimizer, or for parameters that are gone, and would be carried along
/// silently.
pub(super) fn only_own_state(
    op: &'static str,
    state: &TensorMap,
    prefixes: &[&str],
    updates: &TensorMap,
) -> Result<()> {
    // Every own entry was taken out and put back, so equal counts leave no room for others.
    if state.len() == prefixes.len() * updates.len() {
        return Ok(());
    }
    let own = |name: &str| {
        prefixes.iter().any(|prefix| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|param| updates.contains(param))
        })
    };
    let stray = state.names().find(|name| !own(name)).unwrap_or_default();
    Err(Error::invalid(
        op,
        format!(
            "optimizer state `{stray}` is not this link's; the state was made by another \
             optimizer, or for other parameters"
        ),
    ))
}

/// Zeros (or `value`) shaped like each parameter, named `"{prefix}/{name}"`.
pub(super) fn filled_like(params: &TensorMap, prefix: &str, value: f32) -> TensorMap {
    params
        .iter()
        .map(|(name, p)| (format!("{prefix}/{name}"), Tensor::full(p.shape(), value)))
        .collect()
}

/// The links applied one after the other; each link's state under `"{position}/"`.
#[derive(Debug)]
struct Chain {
    links: Vec<Box<dyn GradientTransform>>,
}

/// The links applied in order, as one transform. Link `i`'s state entries are kept under
/// `"{i}/"` (`"0/m/w"`), so the whole state is one flat map with deterministic names; chains
/// nest (`"1/0/m/w"`).
pub fn chain(links: Vec<Box<dyn GradientTransform>>) -> Box<dyn GradientTransform> {
    Box::new(Chain { links })
}

impl GradientTransform for Chain {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        let mut state = TensorMap::new();
        for (i, link) in self.links.iter().enumerate() {
            for (name, t) in link.init(params)? {
                state.insert(format!("{i}/{name}"), t);
            }
        }
        Ok(state)
    }

    fn update(
        &self,
        mut updates: TensorMap,
        state: TensorMap,
        ctx: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        let mut parts = vec![TensorMap::new(); self.links.len()];
        for (name, t) in state {
            let part = name
                .split_once('/')
                .and_then(|(i, rest)| Some((parts.get_mut(i.parse::<usize>().ok()?)?, rest)));
            let Some((part, rest)) = part else {
                return Err(Error::invalid(
                    "chain",
                    format!(
                        "optimizer state `{name}` belongs to none of the {} links; the state \
                         was made by another optimizer",
                        self.links.len()
                    ),
                ));
            };
            part.insert(rest, t);
        }
        let mut new_state = TensorMap::new();
        for (i, (link, part)) in self.links.iter().zip(parts).enumerate() {
            let (next, part) = link.update(updates, part, ctx).map_err(|e| match e {
                // The full name, as the caller's state spells it.
                Error::NotFound { what, name, hint } if what == STATE => Error::NotFound {
                    what,
                    name: format!("{i}/{name}"),
                    hint,
                },
                e => e,
            })?;
            updates = next;
            for (name, t) in part {
                new_state.insert(format!("{i}/{name}"), t);
            }
        }
        Ok((updates, new_state))
    }
}

/// Scales all updates together so that their global L2 norm (over every tensor) is at most
/// `max_norm`, as Keras' `global_clipnorm`. Stateless.
pub fn clip_by_global_norm(max_norm: f32) -> Box<dyn GradientTransform> {
    Box::new(ClipByGlobalNorm { max_norm })
}

#[derive(Debug)]
struct ClipByGlobalNorm {
    max_norm: f32,
}

impl GradientTransform for ClipByGlobalNorm {
    fn init(&self, _: &TensorMap) -> Result<TensorMap> {
        positive("clip_by_global_norm", "max_norm", self.max_norm)?;
        Ok(TensorMap::new())
    }

    fn update(
        &self,
        updates: TensorMap,
        state: TensorMap,
        _: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        positive("clip_by_global_norm", "max_norm", self.max_norm)?;
        only_own_state("clip_by_global_norm", &state, &[], &updates)?;
        let squares: f64 = updates
            .iter()
            .flat_map(|(_, u)| u.array().iter())
            .map(|&x| x as f64 * x as f64)
            .sum();
        let norm = squares.sqrt();
        if norm <= self.max_norm as f64 || norm.is_nan() {
            // Under the bound: the updates pass through untouched (and uncopied).
            return Ok((updates, state));
        }
        let scale = (self.max_norm as f64 / norm) as f32;
        let updates = map_updates(updates, |_, u| {
            u.mapv_inplace(|x| x * scale);
            Ok(())
        })?;
        Ok((updates, state))
    }
}

/// Clips each update element to `[-limit, limit]`, as Keras' `clipvalue`. Stateless.
pub fn clip_by_value(limit: f32) -> Box<dyn GradientTransform> {
    Box::new(ClipByValue { limit })
}

#[derive(Debug)]
struct ClipByValue {
    limit: f32,
}

impl GradientTransform for ClipByValue {
    fn init(&self, _: &TensorMap) -> Result<TensorMap> {
        positive("clip_by_value", "limit", self.limit)?;
        Ok(TensorMap::new())
    }

    fn update(
        &self,
        updates: TensorMap,
        state: TensorMap,
        _: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        positive("clip_by_value", "limit", self.limit)?;
        let limit = self.limit;
        let updates = map_updates(updates, |_, u| {
            u.mapv_inplace(|x| x.clamp(-limit, limit));
            Ok(())
        })?;
        only_own_state("clip_by_value", &state, &[], &updates)?;
        Ok((updates, state))
    }
}

/// Adam's scaling (Kingma & Ba, 2015, Algorithm 1): `m = b1 m + (1 - b1) g`,
/// `v = b2 v + (1 - b2) g^2`, update `m_hat / (sqrt(v_hat) + epsilon)` with the bias-corrected
/// moments at step `t = ctx.step + 1`. State `"m/{param}"`, `"v/{param}"`; a moment that falls
/// below `f32::MIN_POSITIVE` (subnormal) is kept as 0: that spares the many times slower
/// subnormal arithmetic, and changes an update by less than `1.2e-37 / epsilon`.
pub fn scale_by_adam(beta_1: f32, beta_2: f32, epsilon: f32) -> Box<dyn GradientTransform> {
    Box::new(ScaleByAdam {
        beta_1,
        beta_2,
        epsilon,
    })
}

#[derive(Debug)]
struct ScaleByAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl ScaleByAdam {
    const OP: &'static str = "scale_by_adam";

    fn validate(&self) -> Result<()> {
        decay_rate(Self::OP, "beta_1", self.beta_1)?;
        decay_rate(Self::OP, "beta_2", self.beta_2)?;
        non_negative(Self::OP, "epsilon", self.epsilon)
    }
}

impl GradientTransform for ScaleByAdam {
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
        // Inverse bias corrections (a product is cheaper than a quotient in the loop), in f64:
        // b^t stays accurate for large t and underflows gracefully.
        let t = ctx.step as f64 + 1.0;
        let c1 = (1.0 / (1.0 - (b1 as f64).powf(t))) as f32;
        let c2 = (1.0 / (1.0 - (b2 as f64).powf(t))) as f32;
        let updates = map_updates(updates, |name, u| {
            let (mk, vk) = (format!("m/{name}"), format!("v/{name}"));
            let mut m = take_state(Self::OP, &mut state, &mk, u.shape())?;
            let mut v = take_state(Self::OP, &mut state, &vk, u.shape())?;
            Zip::from(u).and(&mut m).and(&mut v).for_each(|u, m, v| {
                let g = *u;
                *m = flush_subnormal(b1 * *m + (1.0 - b1) * g);
                *v = flush_subnormal(b2 * *v + (1.0 - b2) * g * g);
                *u = (*m * c1) / ((*v * c2).sqrt() + eps);
            });
            state.insert(mk, Tensor::new(m));
            state.insert(vk, Tensor::new(v));
            Ok(())
        })?;
        only_own_state(Self::OP, &state, &["m", "v"], &updates)?;
        Ok((updates, state))
    }
}

/// RMSProp's scaling, as Keras: `ms = decay ms + (1 - decay) g^2`, update
/// `g / sqrt(ms + epsilon)`; when `centered`, also `mg = decay mg + (1 - decay) g` and the
/// update is `g / sqrt(ms - mg^2 + epsilon)`. State `"mean_square/{param}"` and, centered,
/// `"mean_grad/{param}"`.
pub fn scale_by_rms(decay: f32, epsilon: f32, centered: bool) -> Box<dyn GradientTransform> {
    Box::new(ScaleByRms {
        decay,
        epsilon,
        centered,
    })
}

#[derive(Debug)]
struct ScaleByRms {
    decay: f32,
    epsilon: f32,
    centered: bool,
}

impl ScaleByRms {
    const OP: &'static str = "scale_by_rms";

    fn validate(&self) -> Result<()> {
        decay_rate(Self::OP, "decay", self.decay)?;
        non_negative(Self::OP, "epsilon", self.epsilon)
    }
}

impl GradientTransform for ScaleByRms {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        self.validate()?;
        let mut state = filled_like(params, "mean_square", 0.0);
        if self.centered {
            for (name, t) in filled_like(params, "mean_grad", 0.0) {
                state.insert(name, t);
            }
        }
        Ok(state)
    }

    fn update(
        &self,
        updates: TensorMap,
        mut state: TensorMap,
        _: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        self.validate()?;
        let (rho, eps) = (self.decay, self.epsilon);
        let updates = map_updates(updates, |name, u| {
            let sk = format!("mean_square/{name}");
            let mut ms = take_state(Self::OP, &mut state, &sk, u.shape())?;
            if self.centered {
                let gk = format!("mean_grad/{name}");
                let mut mg = take_state(Self::OP, &mut state, &gk, u.shape())?;
                Zip::from(&mut *u)
                    .and(&mut ms)
                    .and(&mut mg)
                    .for_each(|u, ms, mg| {
                        let g = *u;
                        *ms = rho * *ms + (1.0 - rho) * g * g;
                        *mg = rho * *mg + (1.0 - rho) * g;
                        *u = g / (*ms - *mg * *mg + eps).sqrt();
                    });
                state.insert(gk, Tensor::new(mg));
            } else {
                Zip::from(&mut *u).and(&mut ms).for_each(|u, ms| {
                    let g = *u;
                    *ms = rho * *ms + (1.0 - rho) * g * g;
                    *u = g / (*ms + eps).sqrt();
                });
            }
            state.insert(sk, Tensor::new(ms));
            Ok(())
        })?;
        let own: &[&str] = if self.centered {
            &["mean_square", "mean_grad"]
        } else {
            &["mean_square"]
        };
        only_own_state(Self::OP, &state, own, &updates)?;
        Ok((updates, state))
    }
}

/// Adagrad's scaling, as Keras: `acc = acc + g^2` from `initial_accumulator`, update
/// `g / sqrt(acc + epsilon)`. State `"accumulator/{param}"`.
pub fn scale_by_adagrad(initial_accumulator: f32, epsilon: f32) -> Box<dyn GradientTransform> {
    Box::new(ScaleByAdagrad {
        initial_accumulator,
        epsilon,
    })
}

#[derive(Debug)]
struct ScaleByAdagrad {
    initial_accumulator: f32,
    epsilon: f32,
}

impl ScaleByAdagrad {
    const OP: &'static str = "scale_by_adagrad";

    fn validate(&self) -> Result<()> {
        non_negative(Self::OP, "initial_accumulator", self.initial_accumulator)?;
        non_negative(Self::OP, "epsilon", self.epsilon)
    }
}

impl GradientTransform for ScaleByAdagrad {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        self.validate()?;
        Ok(filled_like(params, "accumulator", self.initial_accumulator))
    }

    fn update(
        &self,
        updates: TensorMap,
        mut state: TensorMap,
        _: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        self.validate()?;
        let eps = self.epsilon;
        let updates = map_updates(updates, |name, u| {
            let key = format!("accumulator/{name}");
            let mut acc = take_state(Self::OP, &mut state, &key, u.shape())?;
            Zip::from(u).and(&mut acc).for_each(|u, acc| {
                *acc += *u * *u;
                *u /= (*acc + eps).sqrt();
            });
            state.insert(key, Tensor::new(acc));
            Ok(())
        })?;
        only_own_state(Self::OP, &state, &["accumulator"], &updates)?;
        Ok((updates, state))
    }
}

/// Momentum over the incoming updates: `v = decay v + u`, update `v`, or with Nesterov
/// `decay v + u`. After [`scale_by_learning_rate`] this is Keras' SGD momentum
/// (`v = momentum v - lr g`). State `"momentum/{param}"`.
pub fn trace(decay: f32, nesterov: bool) -> Box<dyn GradientTransform> {
    Box::new(Trace { decay, nesterov })
}

#[derive(Debug)]
struct Trace {
    decay: f32,
    nesterov: bool,
}

impl GradientTransform for Trace {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        decay_rate("trace", "decay", self.decay)?;
        Ok(filled_like(params, "momentum", 0.0))
    }

    fn update(
        &self,
        updates: TensorMap,
        mut state: TensorMap,
        _: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        decay_rate("trace", "decay", self.decay)?;
        let (decay, nesterov) = (self.decay, self.nesterov);
        let updates = map_updates(updates, |name, u| {
            let key = format!("momentum/{name}");
            let mut v = take_state("trace", &mut state, &key, u.shape())?;
            Zip::from(u).and(&mut v).for_each(|u, v| {
                *v = decay * *v + *u;
                *u = if nesterov { decay * *v + *u } else { *v };
            });
            state.insert(key, Tensor::new(v));
            Ok(())
        })?;
        only_own_state("trace", &state, &["momentum"], &updates)?;
        Ok((updates, state))
    }
}

/// Adds `weight_decay * param` to each update. Before a scaling it is an L2 penalty on the
/// gradient; after the scaling and before the learning rate it is decoupled weight decay
/// (Loshchilov & Hutter, AdamW). Stateless.
pub fn add_decayed_weights(weight_decay: f32) -> Box<dyn GradientTransform> {
    Box::new(AddDecayedWeights { weight_decay })
}

#[derive(Debug)]
struct AddDecayedWeights {
    weight_decay: f32,
}

impl GradientTransform for AddDecayedWeights {
    fn init(&self, _: &TensorMap) -> Result<TensorMap> {
        non_negative("add_decayed_weights", "weight_decay", self.weight_decay)?;
        Ok(TensorMap::new())
    }

    fn update(
        &self,
        updates: TensorMap,
        state: TensorMap,
        ctx: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        let op = "add_decayed_weights";
        non_negative(op, "weight_decay", self.weight_decay)?;
        let wd = self.weight_decay;
        let updates = map_updates(updates, |name, u| {
            let p = ctx.params.get(name).ok_or_else(|| Error::NotFound {
                what: "parameter",
                name: name.to_string(),
                hint: "; weight decay needs the parameter of every update".into(),
            })?;
            if p.shape() != u.shape() {
                return Err(Error::shape(
                    op,
                    format!(
                        "update of `{name}` has shape {:?} but the parameter has {:?}",
                        u.shape(),
                        p.shape()
                    ),
                ));
            }
            Zip::from(u).and(p.array()).for_each(|u, &p| *u += wd * p);
            Ok(())
        })?;
        only_own_state(op, &state, &[], &updates)?;
        Ok((updates, state))
    }
}

/// Multiplies the updates by `-ctx.learning_rate`, turning a direction into a descent step.
/// The rate comes from the optimizer's schedule and base rate ([`super::Transformed`]).
/// Stateless.
pub fn scale_by_learning_rate() -> Box<dyn GradientTransform> {
    Box::new(ScaleByLearningRate)
}

#[derive(Debug)]
struct ScaleByLearningRate;

impl GradientTransform for ScaleByLearningRate {
    fn init(&self, _: &TensorMap) -> Result<TensorMap> {
        Ok(TensorMap::new())
    }

    fn update(
        &self,
        updates: TensorMap,
        state: TensorMap,
        ctx: &UpdateContext<'_>,
    ) -> Result<(TensorMap, TensorMap)> {
        let scale = -ctx.learning_rate;
        let updates = map_updates(updates, |_, u| {
            u.mapv_inplace(|x| x * scale);
            Ok(())
        })?;
        only_own_state("scale_by_learning_rate", &state, &[], &updates)?;
        Ok((updates, state))
    }
}
