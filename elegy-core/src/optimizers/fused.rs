//! Adam and AdamW in one pass over each parameter, for the common case of no clipping.
//!
//! The chain runs each link over every update in turn (a copy of the shared gradient, the moments,
//! the rate, the addition): four passes over arrays that are too large for the cache. Here one
//! loop reads the gradient and writes the moments and the parameter, with the chain's arithmetic
//! in the chain's order, so the results are the same to the bit. Anything unusual about the
//! state or the gradients (missing, stray or misshapen entries) goes through the chain instead,
//! which reports it.

use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

use super::{
    LEARNING_RATE, STEP, Schedule, check_grads, flush_subnormal, step_count, step_tensor,
    take_state,
};
use crate::error::Result;
use crate::exec::join;
use crate::ops::in_wide_vectors;
use crate::tensor::{Tensor, TensorMap};

/// Where weight decay enters Adam's update.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Decay {
    /// None.
    Off,
    /// `g + wd p` before the moments (Adam's L2 penalty).
    Coupled(f32),
    /// `+ wd p` after the moments, before the rate (AdamW).
    Decoupled(f32),
}

/// Adam's chain `[decay?] adam [decay?] rate` as one rule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamRule {
    pub(crate) beta_1: f32,
    pub(crate) beta_2: f32,
    pub(crate) epsilon: f32,
    pub(crate) decay: Decay,
    /// The position of Adam's link in the chain: its moments are `"{link}/m/{param}"`.
    pub(crate) link: usize,
}

impl AdamRule {
    fn moment_names(&self, param: &str) -> (String, String) {
        (
            format!("{}/m/{param}", self.link),
            format!("{}/v/{param}", self.link),
        )
    }

    /// Whether `state` holds exactly this rule's entries for `params` and `grads` a gradient of
    /// the right shape for each: then [`AdamRule::update`] does what the chain would.
    pub(crate) fn fits(&self, params: &TensorMap, grads: &TensorMap, state: &TensorMap) -> bool {
        let rate_ok = state
            .get(LEARNING_RATE)
            .and_then(|t| t.item().ok())
            .is_some_and(|r| r.is_finite() && r >= 0.0);
        state.len() == 2 + 2 * params.len()
            && rate_ok
            && step_count(state).is_ok()
            && params.iter().all(|(name, p)| {
                let (m, v) = self.moment_names(name);
                let same = |t: Option<&Tensor>| t.is_some_and(|t| t.shape() == p.shape());
                same(grads.get(name)) && same(state.get(&m)) && same(state.get(&v))
            })
    }

    /// One update of every parameter, in place where nothing else shares the storage.
    pub(crate) fn update(
        &self,
        op: &'static str,
        schedule: &Schedule,
        params: TensorMap,
        grads: &TensorMap,
        mut state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)> {
        check_grads(op, &params, grads)?;
        let step = step_count(&state)?;
        let base = state.require(LEARNING_RATE)?.item()?;
        let lr = schedule.scaled_at(step, base);
        let t = step as f64 + 1.0;
        let c1 = (1.0 / (1.0 - (self.beta_1 as f64).powf(t))) as f32;
        let c2 = (1.0 / (1.0 - (self.beta_2 as f64).powf(t))) as f32;
        let kernel = Kernel {
            b1: self.beta_1,
            b2: self.beta_2,
            eps: self.epsilon,
            c1,
            c2,
            scale: -lr,
            decay: self.decay,
        };
        let mut new_params = TensorMap::new();
        for (name, p) in params {
            let (mk, vk) = self.moment_names(&name);
            let mut m = take_state(op, &mut state, &mk, p.shape())?;
            let mut v = take_state(op, &mut state, &vk, p.shape())?;
            let mut p = p.into_array();
            let g = grads.require(&name)?.array();
            kernel.apply(&mut p, g, &mut m, &mut v);
            new_params.insert(name, Tensor::new(p));
            state.insert(mk, Tensor::new(m));
            state.insert(vk, Tensor::new(v));
        }
        state.insert(STEP, step_tensor(step + 1));
        state.insert(LEARNING_RATE, Tensor::scalar(base));
        Ok((new_params, state))
    }
}

/// Parameters with at least this many values are updated on two threads: below it, handing
/// half to the other thread costs about what it saves.
const PARALLEL_FROM: usize = 1 << 15;

/// The per-element arithmetic of one step.
#[derive(Clone, Copy)]
struct Kernel {
    b1: f32,
    b2: f32,
    eps: f32,
    c1: f32,
    c2: f32,
    /// `-learning_rate`.
    scale: f32,
    decay: Decay,
}

/// [`Decay`] as a constant, so that each kind compiles to its own branch-free loop.
const OFF: u8 = 0;
const COUPLED: u8 = 1;
const DECOUPLED: u8 = 2;

impl Kernel {
    fn apply(
        &self,
        p: &mut ArrayD<f32>,
        g: &ArcArray<f32, IxDyn>,
        m: &mut ArrayD<f32>,
        v: &mut ArrayD<f32>,
    ) {
        match self.decay {
            Decay::Off => self.run::<OFF>(0.0, p, g, m, v),
            Decay::Coupled(wd) => self.run::<COUPLED>(wd, p, g, m, v),
            Decay::Decoupled(wd) => self.run::<DECOUPLED>(wd, p, g, m, v),
        }
    }

    fn run<const DECAY: u8>(
        &self,
        wd: f32,
        p: &mut ArrayD<f32>,
        g: &ArcArray<f32, IxDyn>,
        m: &mut ArrayD<f32>,
        v: &mut ArrayD<f32>,
    ) {
        match (
            p.as_slice_mut(),
            g.as_slice(),
            m.as_slice_mut(),
            v.as_slice_mut(),
        ) {
            (Some(p), Some(g), Some(m), Some(v)) => {
                if p.len() < PARALLEL_FROM {
                    return self.contiguous::<DECAY>(wd, p, g, m, v);
                }
                // Halves of a large parameter on two cores: in 16-wide vectors the loop is bound
                // by moving 28 bytes a value between cache levels (as fast with the division and
                // square root taken out), which each core does on its own. The cut keeps whole
                // vectors on each side.
                let mid = p.len() / 2 / 16 * 16;
                let (p0, p1) = p.split_at_mut(mid);
                let (m0, m1) = m.split_at_mut(mid);
                let (v0, v1) = v.split_at_mut(mid);
                let (g0, g1) = g.split_at(mid);
                join(
                    || self.contiguous::<DECAY>(wd, p0, g0, m0, v0),
                    || self.contiguous::<DECAY>(wd, p1, g1, m1, v1),
                );
            }
            _ => Zip::from(p)
                .and(g)
                .and(m)
                .and(v)
                .for_each(|p, &g, m, v| self.element::<DECAY>(wd, p, g, m, v)),
        }
    }

    /// The loop over contiguous values, in the widest vectors the CPU has.
    fn contiguous<const DECAY: u8>(
        &self,
        wd: f32,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        in_wide_vectors(|| self.slices::<DECAY>(wd, p, g, m, v));
    }

    /// The loop over contiguous values; the compiler vectorizes it (sqrt and division are exact
    /// in any width, and nothing is contracted into fused multiply-adds, so every width gives
    /// the same bits).
    #[inline(always)]
    fn slices<const DECAY: u8>(
        &self,
        wd: f32,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            self.element::<DECAY>(wd, p, g, m, v);
        }
    }

    /// The chain's operations, in its order: decay into the gradient, the moments, the scaled
    /// moment ratio, decoupled decay, the rate, the addition.
    #[inline(always)]
    fn element<const DECAY: u8>(&self, wd: f32, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) {
        let g = if DECAY == COUPLED { g + wd * *p } else { g };
        *m = flush_subnormal(self.b1 * *m + (1.0 - self.b1) * g);
        *v = flush_subnormal(self.b2 * *v + (1.0 - self.b2) * g * g);
        let mut u = (*m * self.c1) / ((*v * self.c2).sqrt() + self.eps);
        if DECAY == DECOUPLED {
            u += wd * *p;
        }
        *p += u * self.scale;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        Adam, AdamW, Optimizer, Transformed, add_decayed_weights, chain, scale_by_adam,
        scale_by_learning_rate,
    };
    use super::PARALLEL_FROM;
    use crate::tensor::{Tensor, TensorMap};

    /// 37 values (not a multiple of any vector width), a transposed 3 x 4 matrix (not contiguous
    /// in logical order) and a parameter large enough to be split over two threads, with
    /// gradients that change sign and size.
    fn problem(step: usize) -> (TensorMap, TensorMap) {
        let values = |n: usize, k: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + k) * 0.37).sin()).collect()
        };
        let matrix = |k: f32| {
            let a = ndarray::Array2::from_shape_vec((4, 3), values(12, k)).unwrap();
            Tensor::new(a.reversed_axes())
        };
        let params = TensorMap::new()
            .with("b", Tensor::from(values(37, 0.0)))
            .with("w", matrix(1.0))
            .with("big", Tensor::from(values(PARALLEL_FROM + 5, 2.0)));
        let k = 10.0 * step as f32;
        let grads = TensorMap::new()
            .with("b", Tensor::from(values(37, k)))
            .with("w", matrix(k + 3.0))
            .with("big", Tensor::from(values(PARALLEL_FROM + 5, k + 4.0)));
        (params, grads)
    }

    fn run(opt: &dyn Optimizer) -> Vec<Vec<f32>> {
        let (mut params, _) = problem(0);
        let mut state = opt.init(&params).unwrap();
        let mut out = Vec::new();
        for step in 0..4 {
            let (_, grads) = problem(step);
            (params, state) = opt.update(params, &grads, state).unwrap();
            out.extend(params.iter().map(|(_, t)| t.to_vec()));
            out.extend(state.iter().map(|(_, t)| t.to_vec()));
        }
        out
    }

    #[test]
    fn moments_that_decay_below_the_normal_range_become_zero() {
        // One tiny gradient, then zeros: m = 1e-37 * 0.9^k is subnormal from k = 22 on.
        let chained = Transformed::new(
            chain(vec![
                scale_by_adam(0.9, 0.999, 1e-7),
                scale_by_learning_rate(),
            ]),
            0.01,
        );
        let optimizers: [&dyn Optimizer; 2] = [&Adam::new(0.01), &chained];
        for opt in optimizers {
            let mut params = TensorMap::new().with("w", Tensor::from(vec![1.0]));
            let mut state = opt.init(&params).unwrap();
            for step in 0..30 {
                let g = if step == 0 { 1e-36 } else { 0.0 };
                let grads = TensorMap::new().with("w", Tensor::from(vec![g]));
                (params, state) = opt.update(params, &grads, state).unwrap();
            }
            assert_eq!(state.require("0/m/w").unwrap().to_vec(), vec![0.0]);
        }
    }

    #[test]
    fn one_pass_adam_gives_the_bits_of_its_chain() {
        let chain_of = |links| Transformed::new(chain(links), 0.01);
        let cases: Vec<(Box<dyn Optimizer>, Transformed)> = vec![
            (
                Box::new(Adam::new(0.01)),
                chain_of(vec![
                    scale_by_adam(0.9, 0.999, 1e-7),
                    scale_by_learning_rate(),
                ]),
            ),
            (
                Box::new(Adam {
                    weight_decay: 0.1,
                    ..Adam::new(0.01)
                }),
                chain_of(vec![
                    add_decayed_weights(0.1),
                    scale_by_adam(0.9, 0.999, 1e-7),
                    scale_by_learning_rate(),
                ]),
            ),
            (
                Box::new(AdamW::new(0.01)),
                chain_of(vec![
                    scale_by_adam(0.9, 0.999, 1e-7),
                    add_decayed_weights(0.004),
                    scale_by_learning_rate(),
                ]),
            ),
        ];
        for (fused, chained) in cases {
            assert_eq!(run(fused.as_ref()), run(&chained));
        }
    }
}
