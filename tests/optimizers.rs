//! Optimizers, schedules and gradient transforms against their published formulas.
//!
//! Each optimizer runs three updates on the same small problem; the expected parameters are
//! computed here in f64, straight from the paper's or Keras' update rule, element by element.
//! Nadam, Adamax, Lion and Adafactor follow Keras 3's own trajectories for ten updates instead
//! (`tests/reference/keras_optimizers.py` made them; the test reads the committed numbers).

use elegy::optimizers::{
    Adafactor, Adagrad, Adam, AdamW, Adamax, Lion, Nadam, Optimizer, RmsProp, Schedule, Sgd,
    Transformed, chain, clip_by_global_norm, scale_by_adam, scale_by_learning_rate,
};
use elegy::{Tensor, TensorMap};

const P0: [f64; 3] = [1.0, -2.0, 0.5];
const GRADS: [[f64; 3]; 3] = [[0.1, -0.2, 0.3], [-0.5, 0.4, 0.05], [0.2, 0.2, -0.1]];

fn vector(values: &[f64]) -> Tensor {
    Tensor::from(values.iter().map(|&v| v as f32).collect::<Vec<_>>())
}

fn params_w(values: &[f64]) -> TensorMap {
    TensorMap::new().with("w", vector(values))
}

/// The parameter `w` after each of the three updates along `GRADS`, from `P0`.
fn three_updates(opt: &dyn Optimizer) -> Vec<Vec<f32>> {
    let mut params = params_w(&P0);
    let mut state = opt.init(&params).unwrap();
    let mut out = Vec::new();
    for g in GRADS {
        (params, state) = opt.update(params, &params_w(&g), state).unwrap();
        out.push(params.require("w").unwrap().to_vec());
    }
    out
}

/// The expected parameters after each update: `rule(p, g, t)` updates every element of `p`
/// in place at step `t` (1-based), keeping whatever state it needs.
fn reference(mut rule: impl FnMut(&mut [f64; 3], &[f64; 3], i32)) -> Vec<[f64; 3]> {
    let mut p = P0;
    let mut out = Vec::new();
    for (t, g) in GRADS.iter().enumerate() {
        rule(&mut p, g, t as i32 + 1);
        out.push(p);
    }
    out
}

fn assert_close(actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        let err = (*a as f64 - e).abs() / e.abs().max(1e-12);
        assert!(
            err <= 1e-6,
            "{actual:?} != {expected:?} (relative error {err:e})"
        );
    }
}

fn assert_steps(actual: Vec<Vec<f32>>, expected: Vec<[f64; 3]>) {
    for (step, (a, e)) in actual.iter().zip(&expected).enumerate() {
        eprintln!("update {}", step + 1);
        assert_close(a, e);
    }
}

fn error_of(result: elegy::Result<impl std::fmt::Debug>) -> String {
    result.expect_err("expected an error").to_string()
}

// ---- The optimizers' first three updates -------------------------------------------------

#[test]
fn sgd_steps_against_the_gradient() {
    let lr = 0.1;
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            p[i] -= lr * g[i];
        }
    });
    assert_steps(three_updates(&Sgd::new(lr as f32)), expected);
}

#[test]
fn sgd_momentum_matches_keras() {
    let (lr, m) = (0.1, 0.9);
    let mut v = [0.0; 3];
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            v[i] = m * v[i] - lr * g[i];
            p[i] += v[i];
        }
    });
    let sgd = Sgd {
        momentum: m as f32,
        ..Sgd::new(lr as f32)
    };
    assert_steps(three_updates(&sgd), expected);
}

#[test]
fn sgd_nesterov_matches_keras() {
    let (lr, m) = (0.1, 0.9);
    let mut v = [0.0; 3];
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            v[i] = m * v[i] - lr * g[i];
            p[i] += m * v[i] - lr * g[i];
        }
    });
    let sgd = Sgd {
        momentum: m as f32,
        nesterov: true,
        ..Sgd::new(lr as f32)
    };
    assert_steps(three_updates(&sgd), expected);
}

/// Adam, Kingma & Ba (2015), Algorithm 1; epsilon is large so that its placement matters.
fn adam_reference(lr: f64, b1: f64, b2: f64, eps: f64, l2: f64) -> Vec<[f64; 3]> {
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    reference(|p, g, t| {
        for i in 0..3 {
            let g = g[i] + l2 * p[i];
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let m_hat = m[i] / (1.0 - b1.powi(t));
            let v_hat = v[i] / (1.0 - b2.powi(t));
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    })
}

#[test]
fn adam_matches_the_paper() {
    let adam = Adam {
        learning_rate: Schedule::Constant(0.1),
        beta_1: 0.8,
        beta_2: 0.9,
        epsilon: 1e-2,
        ..Adam::default()
    };
    assert_steps(
        three_updates(&adam),
        adam_reference(0.1, 0.8, 0.9, 1e-2, 0.0),
    );
}

#[test]
fn adam_weight_decay_is_an_l2_penalty_on_the_gradient() {
    let adam = Adam {
        learning_rate: Schedule::Constant(0.1),
        beta_1: 0.8,
        beta_2: 0.9,
        epsilon: 1e-2,
        weight_decay: 0.05,
        ..Adam::default()
    };
    assert_steps(
        three_updates(&adam),
        adam_reference(0.1, 0.8, 0.9, 1e-2, 0.05),
    );
}

#[test]
fn adamw_matches_keras_decoupled_weight_decay() {
    let (lr, b1, b2, eps, wd) = (0.1, 0.8, 0.9, 1e-2, 0.05);
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let expected = reference(|p, g, t| {
        for i in 0..3 {
            // Keras: the decay first, from the current weights, then Adam's step.
            p[i] -= p[i] * wd * lr;
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - b1.powi(t));
            let v_hat = v[i] / (1.0 - b2.powi(t));
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    });
    let adamw = AdamW {
        learning_rate: Schedule::Constant(lr as f32),
        beta_1: b1 as f32,
        beta_2: b2 as f32,
        epsilon: eps as f32,
        weight_decay: wd as f32,
        ..AdamW::default()
    };
    assert_steps(three_updates(&adamw), expected);
}

#[test]
fn rmsprop_matches_keras() {
    let (lr, rho, eps) = (0.01, 0.8, 1e-3);
    let mut ms = [0.0; 3];
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            ms[i] = rho * ms[i] + (1.0 - rho) * g[i] * g[i];
            p[i] -= lr * g[i] / (ms[i] + eps).sqrt();
        }
    });
    let rmsprop = RmsProp {
        learning_rate: Schedule::Constant(lr as f32),
        rho: rho as f32,
        epsilon: eps as f32,
        ..RmsProp::default()
    };
    assert_steps(three_updates(&rmsprop), expected);
}

#[test]
fn rmsprop_centered_with_momentum_matches_keras() {
    let (lr, rho, eps, momentum) = (0.01, 0.8, 1e-3, 0.5);
    let (mut ms, mut mg, mut buf) = ([0.0; 3], [0.0; 3], [0.0; 3]);
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            ms[i] = rho * ms[i] + (1.0 - rho) * g[i] * g[i];
            mg[i] = rho * mg[i] + (1.0 - rho) * g[i];
            let increment = lr * g[i] / (ms[i] - mg[i] * mg[i] + eps).sqrt();
            buf[i] = momentum * buf[i] + increment;
            p[i] -= buf[i];
        }
    });
    let rmsprop = RmsProp {
        learning_rate: Schedule::Constant(lr as f32),
        rho: rho as f32,
        epsilon: eps as f32,
        momentum: momentum as f32,
        centered: true,
        ..RmsProp::default()
    };
    assert_steps(three_updates(&rmsprop), expected);
}

#[test]
fn adagrad_matches_keras() {
    let (lr, init, eps) = (0.1, 0.1, 1e-3);
    let mut acc = [init; 3];
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            acc[i] += g[i] * g[i];
            p[i] -= lr * g[i] / (acc[i] + eps).sqrt();
        }
    });
    let adagrad = Adagrad {
        learning_rate: Schedule::Constant(lr as f32),
        initial_accumulator_value: init as f32,
        epsilon: eps as f32,
        ..Adagrad::default()
    };
    assert_steps(three_updates(&adagrad), expected);
}

#[test]
fn a_chain_wrapped_in_transformed_is_the_optimizer_it_spells() {
    let adam = Adam {
        learning_rate: Schedule::Constant(0.1),
        ..Adam::default()
    };
    let spelled = Transformed::new(
        chain(vec![
            scale_by_adam(0.9, 0.999, 1e-7),
            scale_by_learning_rate(),
        ]),
        0.1,
    );
    assert_eq!(three_updates(&spelled), three_updates(&adam));
}

// ---- Keras 3's trajectories ------------------------------------------------------------------

/// Keras 3.15 (JAX backend, float32): the starting parameters `b` [3], `w` [2, 3] and
/// `k` [2, 2, 3], ten gradients, and each case's parameters after every update.
const KERAS: &str = include_str!("reference/keras_optimizers.json");

/// How far from Keras' parameters ours may be after each of the ten updates (absolute; the
/// parameters are of order 1, and move by up to 0.5 over the ten updates).
const KERAS_TOLERANCE: f64 = 1e-5;

/// A map of the named tensors in `json` (`{"b": [...], ...}`), shaped as Keras' `shapes`.
fn keras_params(json: &serde_json::Value, shapes: &serde_json::Value) -> TensorMap {
    let mut map = TensorMap::new();
    for (name, shape) in shapes.as_object().unwrap() {
        let shape: Vec<usize> = shape
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let values: Vec<f32> = json[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        map.insert(name.as_str(), Tensor::from_vec(values, &shape).unwrap());
    }
    map
}

/// Runs `opt` along Keras' gradients and compares every update with Keras' case `case`.
#[track_caller]
fn assert_follows_keras(opt: &dyn Optimizer, case: &str) {
    let keras: serde_json::Value = serde_json::from_str(KERAS).unwrap();
    let shapes = &keras["shapes"];
    let mut params = keras_params(&keras["initial"], shapes);
    let mut state = opt.init(&params).unwrap();
    let expected = keras["cases"][case].as_array().expect("a case of the file");
    let grads = keras["grads"].as_array().unwrap();
    assert_eq!(expected.len(), 10);
    for (step, (g, want)) in grads.iter().zip(expected).enumerate() {
        let g = keras_params(g, shapes);
        (params, state) = opt.update(params, &g, state).unwrap();
        let want = keras_params(want, shapes);
        for (name, p) in params.iter() {
            let (got, want) = (p.to_vec(), want.require(name).unwrap().to_vec());
            for (a, e) in got.iter().zip(&want) {
                let err = (*a as f64 - *e as f64).abs();
                assert!(
                    err <= KERAS_TOLERANCE,
                    "{case}, update {}, `{name}`: {got:?} != Keras' {want:?} (error {err:e})",
                    step + 1
                );
            }
        }
    }
}

#[test]
fn nadam_follows_keras() {
    assert_follows_keras(&Nadam::new(0.05), "nadam_defaults");
    let tuned = Nadam {
        beta_1: 0.8,
        beta_2: 0.9,
        epsilon: 1e-2,
        weight_decay: 0.05,
        ..Nadam::new(0.05)
    };
    assert_follows_keras(&tuned, "nadam_tuned");
    let clipped = Nadam {
        clip_global_norm: Some(0.5),
        ..Nadam::new(0.05)
    };
    assert_follows_keras(&clipped, "nadam_global_clipnorm");
}

#[test]
fn adamax_follows_keras() {
    assert_follows_keras(&Adamax::new(0.05), "adamax_defaults");
    let tuned = Adamax {
        beta_1: 0.8,
        beta_2: 0.9,
        epsilon: 1e-2,
        weight_decay: 0.05,
        ..Adamax::new(0.05)
    };
    assert_follows_keras(&tuned, "adamax_tuned");
}

#[test]
fn lion_follows_keras() {
    assert_follows_keras(&Lion::new(0.01), "lion_defaults");
    let tuned = Lion {
        beta_1: 0.8,
        beta_2: 0.95,
        weight_decay: 0.1,
        clip_value: Some(0.3),
        ..Lion::new(0.01)
    };
    assert_follows_keras(&tuned, "lion_tuned");
}

#[test]
fn adafactor_follows_keras() {
    // lr 0.5: min(lr, 1 / sqrt(t)) is the rate for t <= 4 and 1 / sqrt(t) after.
    assert_follows_keras(&Adafactor::new(0.5), "adafactor_defaults");
    let tuned = Adafactor {
        beta_2_decay: -0.5,
        epsilon_1: 1e-20,
        epsilon_2: 0.1,
        clip_threshold: 0.5,
        ..Adafactor::new(0.05)
    };
    assert_follows_keras(&tuned, "adafactor_tuned");
}

#[test]
fn lion_leaves_an_element_whose_momentum_and_gradient_are_zero_where_it_is() {
    let lion = Lion::new(0.1);
    let params = params_w(&P0);
    let state = lion.init(&params).unwrap();
    let (params, _) = lion
        .update(params, &params_w(&[0.0, 0.5, -0.5]), state)
        .unwrap();
    assert_close(&params.require("w").unwrap().to_vec(), &[1.0, -2.1, 0.6]);
}

#[test]
fn the_new_optimizers_keep_the_state_their_docs_name() {
    let names_of = |opt: &dyn Optimizer| -> Vec<String> {
        let state = opt.init(&two_params()).unwrap();
        state.names().map(String::from).collect()
    };
    let rest = ["learning_rate", "step"];
    let with =
        |own: &[&str]| -> Vec<String> { own.iter().chain(&rest).map(|s| s.to_string()).collect() };
    assert_eq!(
        names_of(&Nadam::default()),
        with(&[
            "0/m/dense/bias",
            "0/m/dense/kernel",
            "0/v/dense/bias",
            "0/v/dense/kernel"
        ])
    );
    assert_eq!(
        names_of(&Adamax::default()),
        with(&[
            "0/m/dense/bias",
            "0/m/dense/kernel",
            "0/u/dense/bias",
            "0/u/dense/kernel"
        ])
    );
    assert_eq!(
        names_of(&Lion::default()),
        with(&["0/m/dense/bias", "0/m/dense/kernel"])
    );
    // The kernel [2, 2] keeps row and column means, the bias its whole second moment.
    let adafactor = Adafactor::default().init(&two_params()).unwrap();
    assert_eq!(
        names(&adafactor),
        [
            "0/c/dense/kernel",
            "0/r/dense/kernel",
            "0/v/dense/bias",
            "learning_rate",
            "step"
        ]
    );
    assert_eq!(adafactor.require("0/r/dense/kernel").unwrap().shape(), [2]);
    let three_axes = TensorMap::new().with("k", Tensor::zeros(&[4, 2, 3]));
    let state = Adafactor::default().init(&three_axes).unwrap();
    assert_eq!(state.require("0/r/k").unwrap().shape(), [4, 2]);
    assert_eq!(state.require("0/c/k").unwrap().shape(), [4, 3]);
}

#[test]
fn the_new_optimizers_reject_state_that_is_not_theirs() {
    let optimizers: [&dyn Optimizer; 4] = [
        &Nadam::default(),
        &Adamax::default(),
        &Lion::default(),
        &Adafactor::default(),
    ];
    for opt in optimizers {
        let params = params_w(&P0);
        let mut state = opt.init(&params).unwrap();
        state.insert("0/stray/w", Tensor::zeros(&[3]));
        let err = error_of(opt.update(params, &params_w(&GRADS[0]), state));
        assert!(
            err.contains("0/stray/w") || err.contains("stray/w"),
            "{err}"
        );
    }
}

// ---- Weight decay ---------------------------------------------------------------------------

#[test]
fn sgd_weight_decay_adds_the_l2_gradient() {
    let (lr, wd) = (0.1, 0.05);
    let expected = reference(|p, g, _| {
        for i in 0..3 {
            p[i] -= lr * (g[i] + wd * p[i]);
        }
    });
    let sgd = Sgd {
        weight_decay: wd as f32,
        ..Sgd::new(lr as f32)
    };
    assert_steps(three_updates(&sgd), expected);
}

#[test]
fn adamw_shrinks_weights_in_proportion_where_adam_l2_steps_by_the_rate() {
    // With zero gradients, AdamW only decays: p (1 - lr wd). Adam's L2 gradient wd p goes
    // through the normalisation, so every weight moves by about lr whatever its size.
    let (lr, wd) = (0.01f32, 0.1f32);
    let zero = params_w(&[0.0; 3]);
    let step = |opt: &dyn Optimizer| {
        let params = params_w(&P0);
        let state = opt.init(&params).unwrap();
        opt.update(params, &zero, state).unwrap().0
    };
    let adamw = step(&AdamW {
        weight_decay: wd,
        ..AdamW::new(lr)
    });
    let adam_l2 = step(&Adam {
        weight_decay: wd,
        ..Adam::new(lr)
    });
    let decayed: Vec<f64> = P0.iter().map(|p| p * (1.0 - (lr * wd) as f64)).collect();
    assert_close(&adamw.require("w").unwrap().to_vec(), &decayed);
    let l2_steps: Vec<f64> = P0.iter().map(|p| p - (lr as f64) * p.signum()).collect();
    assert_close(&adam_l2.require("w").unwrap().to_vec(), &l2_steps);
}

#[test]
fn adamw_without_decay_is_adam() {
    let adamw = AdamW {
        weight_decay: 0.0,
        ..AdamW::new(0.1)
    };
    assert_eq!(three_updates(&adamw), three_updates(&Adam::new(0.1)));
}

// ---- Clipping -------------------------------------------------------------------------------

/// Parameters `a` = [0, 0], `b` = [0] after one SGD step of rate 1 with `grads`: minus the
/// updates, after clipping.
fn clipped(sgd: Sgd, a: [f64; 2], b: f64) -> (Vec<f32>, Vec<f32>) {
    let params = TensorMap::new()
        .with("a", vector(&[0.0, 0.0]))
        .with("b", vector(&[0.0]));
    let grads = TensorMap::new()
        .with("a", vector(&a))
        .with("b", vector(&[b]));
    let state = sgd.init(&params).unwrap();
    let (params, _) = sgd.update(params, &grads, state).unwrap();
    (
        params.require("a").unwrap().to_vec(),
        params.require("b").unwrap().to_vec(),
    )
}

#[test]
fn clip_by_global_norm_scales_all_gradients_together() {
    // The global norm of [3, 4] and [12] is 13: clipping to 6.5 halves every gradient.
    let sgd = Sgd {
        clip_global_norm: Some(6.5),
        ..Sgd::new(1.0)
    };
    assert_eq!(
        clipped(sgd, [3.0, 4.0], 12.0),
        (vec![-1.5, -2.0], vec![-6.0])
    );
}

#[test]
fn clip_by_global_norm_leaves_gradients_under_the_bound() {
    let sgd = Sgd {
        clip_global_norm: Some(13.5),
        ..Sgd::new(1.0)
    };
    assert_eq!(
        clipped(sgd, [3.0, 4.0], 12.0),
        (vec![-3.0, -4.0], vec![-12.0])
    );
}

#[test]
fn clip_by_value_clamps_each_element() {
    let sgd = Sgd {
        clip_value: Some(3.5),
        ..Sgd::new(1.0)
    };
    assert_eq!(
        clipped(sgd, [3.0, -4.0], 12.0),
        (vec![-3.0, 3.5], vec![-3.5])
    );
}

#[test]
fn clipping_by_value_comes_before_the_global_norm() {
    // By value first: [3, 4] and [12] become [3, 4] and [4], of norm sqrt(41); then scaled to 1.
    let sgd = Sgd {
        clip_value: Some(4.0),
        clip_global_norm: Some(1.0),
        ..Sgd::new(1.0)
    };
    let (a, b) = clipped(sgd, [3.0, 4.0], 12.0);
    let n = 41f64.sqrt();
    assert_close(&[a, b].concat(), &[-3.0 / n, -4.0 / n, -4.0 / n]);
}

// ---- Schedules ------------------------------------------------------------------------------

fn assert_schedule(schedule: &Schedule, expected: &[(u64, f64)]) {
    schedule.validate().unwrap();
    for &(step, rate) in expected {
        eprintln!("step {step}");
        assert_close(&[schedule.at(step)], &[rate]);
    }
}

#[test]
fn a_constant_schedule_is_the_same_at_every_step() {
    assert_schedule(
        &Schedule::Constant(0.3),
        &[(0, 0.3), (1, 0.3), (10_000, 0.3)],
    );
}

#[test]
fn exponential_decay_multiplies_by_the_rate_every_decay_steps() {
    let smooth = Schedule::ExponentialDecay {
        initial: 0.1,
        decay_steps: 10,
        decay_rate: 0.5,
        staircase: false,
    };
    assert_schedule(
        &smooth,
        &[(0, 0.1), (5, 0.1 * 0.5f64.sqrt()), (10, 0.05), (20, 0.025)],
    );
}

#[test]
fn staircase_exponential_decay_drops_once_every_decay_steps() {
    let stairs = Schedule::ExponentialDecay {
        initial: 0.1,
        decay_steps: 10,
        decay_rate: 0.5,
        staircase: true,
    };
    assert_schedule(&stairs, &[(0, 0.1), (9, 0.1), (10, 0.05), (25, 0.025)]);
}

#[test]
fn piecewise_keeps_a_value_up_to_and_including_its_boundary() {
    let piecewise = Schedule::Piecewise {
        boundaries: vec![10, 20],
        values: vec![1.0, 0.5, 0.1],
    };
    assert_schedule(
        &piecewise,
        &[
            (0, 1.0),
            (10, 1.0),
            (11, 0.5),
            (20, 0.5),
            (21, 0.1),
            (1000, 0.1),
        ],
    );
}

#[test]
fn cosine_decay_falls_to_alpha_times_the_initial_rate_and_stays() {
    let cosine = Schedule::CosineDecay {
        initial: 0.1,
        decay_steps: 100,
        alpha: 0.1,
        warmup_steps: 0,
        warmup_target: None,
    };
    // 0.1 * ((1 - alpha) * 0.5 * (1 + cos(pi * step / 100)) + alpha)
    assert_schedule(
        &cosine,
        &[
            (0, 0.1),
            (25, 0.1 * (0.9 * 0.5 * (1.0 + 0.5f64.sqrt()) + 0.1)),
            (50, 0.055),
            (100, 0.01),
            (500, 0.01),
        ],
    );
}

#[test]
fn cosine_decay_warms_up_linearly_then_decays_from_the_target() {
    let cosine = Schedule::CosineDecay {
        initial: 0.0,
        decay_steps: 100,
        alpha: 0.0,
        warmup_steps: 10,
        warmup_target: Some(1.0),
    };
    assert_schedule(
        &cosine,
        &[
            (1, 0.1),
            (5, 0.5),
            (10, 1.0),
            (60, 0.5),
            (85, 0.5 * (1.0 - 0.5f64.sqrt())),
        ],
    );
    assert_eq!(cosine.at(0), 0.0);
    assert_eq!(cosine.at(110), 0.0);
}

#[test]
fn updates_use_the_schedule_at_the_number_of_updates_before_them() {
    let sgd = Sgd {
        learning_rate: Schedule::Piecewise {
            boundaries: vec![1],
            values: vec![0.1, 0.01],
        },
        ..Sgd::default()
    };
    let rates = [0.1, 0.1, 0.01];
    let mut i = 0;
    let expected = reference(|p, g, _| {
        for j in 0..3 {
            p[j] -= rates[i] * g[j];
        }
        i += 1;
    });
    assert_steps(three_updates(&sgd), expected);
}

#[test]
fn learning_rate_is_the_rate_of_the_next_update() {
    let sgd = Sgd {
        learning_rate: Schedule::ExponentialDecay {
            initial: 0.1,
            decay_steps: 1,
            decay_rate: 0.5,
            staircase: false,
        },
        ..Sgd::default()
    };
    let mut params = params_w(&P0);
    let mut state = sgd.init(&params).unwrap();
    let mut logged = Vec::new();
    for g in GRADS {
        logged.push(sgd.learning_rate(&state).unwrap());
        (params, state) = sgd.update(params, &params_w(&g), state).unwrap();
    }
    assert_close(&logged, &[0.1, 0.05, 0.025]);
}

// ---- The learning rate in the state ----------------------------------------------------------

#[test]
fn init_stores_the_base_rate_and_the_step_count() {
    let state = Adam::new(0.02).init(&params_w(&P0)).unwrap();
    assert_eq!(
        state.require("learning_rate").unwrap().item().unwrap(),
        0.02
    );
    assert_eq!(state.require("step").unwrap().to_vec(), [0.0, 0.0]);
}

#[test]
fn the_step_count_and_a_schedule_go_on_past_the_steps_one_f32_counts_exactly() {
    // 2^24 + 1 is the first count an f32 cannot hold: a count kept in one would stop there, and
    // the schedule with it. Both the fused (Adam) and the chained (Sgd) updates count.
    let schedule = Schedule::CosineDecay {
        initial: 0.1,
        decay_steps: 20_000_000,
        alpha: 0.0,
        warmup_steps: 0,
        warmup_target: None,
    };
    let adam = Adam {
        learning_rate: schedule.clone(),
        ..Adam::default()
    };
    let sgd = Sgd {
        learning_rate: schedule.clone(),
        ..Sgd::default()
    };
    let start = (1u64 << 24) - 2;
    for optimizer in [&adam as &dyn Optimizer, &sgd] {
        let mut params = params_w(&P0);
        let mut state = optimizer.init(&params).unwrap();
        state.insert("step", elegy::optimizers::step_tensor(start));
        let mut rates = Vec::new();
        for k in 0..4 {
            rates.push(optimizer.learning_rate(&state).unwrap());
            assert_eq!(rates[k], schedule.at(start + k as u64));
            (params, state) = optimizer
                .update(params, &params_w(&GRADS[0]), state)
                .unwrap();
        }
        assert!(rates.windows(2).all(|w| w[1] < w[0]), "{rates:?}");
        assert_eq!(state.require("step").unwrap().to_vec(), [1.0, 2.0]);
    }
}

#[test]
fn replacing_the_base_rate_changes_the_next_constant_rate_update() {
    let sgd = Sgd::new(0.1);
    let params = params_w(&P0);
    let mut state = sgd.init(&params).unwrap();
    sgd.set_base_learning_rate(&mut state, 0.5).unwrap();
    assert_eq!(sgd.learning_rate(&state), Some(0.5));
    let (params, state) = sgd.update(params, &params_w(&GRADS[0]), state).unwrap();
    let expected: Vec<f64> = (0..3).map(|i| P0[i] - 0.5 * GRADS[0][i]).collect();
    assert_close(&params.require("w").unwrap().to_vec(), &expected);
    assert_eq!(sgd.base_learning_rate(&state), Some(0.5));
}

#[test]
fn replacing_the_base_rate_scales_a_schedule() {
    // Base 0.1 halved to 0.05: every later rate of the schedule is halved.
    let schedule = Schedule::CosineDecay {
        initial: 0.1,
        decay_steps: 4,
        alpha: 0.0,
        warmup_steps: 0,
        warmup_target: None,
    };
    let sgd = Sgd {
        learning_rate: schedule.clone(),
        ..Sgd::default()
    };
    let mut params = params_w(&P0);
    let mut state = sgd.init(&params).unwrap();
    (params, state) = sgd.update(params, &params_w(&GRADS[0]), state).unwrap();
    sgd.set_base_learning_rate(&mut state, 0.05).unwrap();
    let expected = 0.5 * schedule.at(1) as f64;
    assert_close(&[sgd.learning_rate(&state).unwrap()], &[expected]);
    let before = params.require("w").unwrap().to_vec();
    let (params, _) = sgd.update(params, &params_w(&GRADS[1]), state).unwrap();
    let moved: Vec<f64> = (0..3)
        .map(|i| before[i] as f64 - expected * GRADS[1][i])
        .collect();
    assert_close(&params.require("w").unwrap().to_vec(), &moved);
}

// ---- State names ------------------------------------------------------------------------------

fn names(state: &TensorMap) -> Vec<&str> {
    state.names().collect()
}

fn two_params() -> TensorMap {
    TensorMap::new()
        .with("dense/kernel", Tensor::zeros(&[2, 2]))
        .with("dense/bias", Tensor::zeros(&[2]))
}

#[test]
fn state_names_follow_the_links_and_parameters() {
    let adam = Adam::default().init(&two_params()).unwrap();
    assert_eq!(
        names(&adam),
        [
            "0/m/dense/bias",
            "0/m/dense/kernel",
            "0/v/dense/bias",
            "0/v/dense/kernel",
            "learning_rate",
            "step"
        ]
    );
    let sgd = Sgd {
        momentum: 0.9,
        clip_global_norm: Some(1.0),
        ..Sgd::default()
    };
    let sgd = sgd.init(&two_params()).unwrap();
    assert_eq!(
        names(&sgd),
        [
            "2/momentum/dense/bias",
            "2/momentum/dense/kernel",
            "learning_rate",
            "step"
        ]
    );
}

#[test]
fn state_names_are_the_same_after_updates_and_across_inits() {
    let rmsprop = RmsProp {
        momentum: 0.5,
        centered: true,
        ..RmsProp::default()
    };
    let params = two_params();
    let first = rmsprop.init(&params).unwrap();
    assert_eq!(names(&first), names(&rmsprop.init(&params).unwrap()));
    let grads = params.map(|_, p| p.ones_like());
    let (_, after) = rmsprop.update(params, &grads, first.clone()).unwrap();
    assert_eq!(names(&after), names(&first));
    assert_eq!(after.require("step").unwrap().to_vec(), [0.0, 1.0]);
}

#[test]
fn chains_nest_their_prefixes() {
    let nested = Transformed::new(
        chain(vec![
            clip_by_global_norm(1.0),
            chain(vec![scale_by_adam(0.9, 0.999, 1e-7)]),
            scale_by_learning_rate(),
        ]),
        0.1,
    );
    let state = nested.init(&params_w(&P0)).unwrap();
    assert_eq!(
        names(&state),
        ["1/0/m/w", "1/0/v/w", "learning_rate", "step"]
    );
}

// ---- In place ---------------------------------------------------------------------------------

#[test]
fn updates_reuse_the_storage_of_unshared_parameters_and_moments() {
    let adam = Adam::default();
    let params = params_w(&P0);
    let state = adam.init(&params).unwrap();
    let p_ptr = params.require("w").unwrap().array().as_ptr();
    let m_ptr = state.require("0/m/w").unwrap().array().as_ptr();
    let (params, state) = adam.update(params, &params_w(&GRADS[0]), state).unwrap();
    assert_eq!(params.require("w").unwrap().array().as_ptr(), p_ptr);
    assert_eq!(state.require("0/m/w").unwrap().array().as_ptr(), m_ptr);
}

// ---- Errors -------------------------------------------------------------------------------------

#[test]
fn a_missing_gradient_is_an_error_naming_the_parameter() {
    let sgd = Sgd::default();
    let params = two_params();
    let state = sgd.init(&params).unwrap();
    let grads = TensorMap::new().with("dense/kernel", Tensor::zeros(&[2, 2]));
    let err = error_of(sgd.update(params, &grads, state));
    assert!(
        err.contains("no gradient for parameter `dense/bias`"),
        "{err}"
    );
}

#[test]
fn a_gradient_of_the_wrong_shape_is_an_error() {
    let adam = Adam::default();
    let params = params_w(&P0);
    let state = adam.init(&params).unwrap();
    let err = error_of(adam.update(params, &params_w(&[1.0, 2.0]), state));
    assert!(err.contains("shape [2] but the parameter has [3]"), "{err}");
}

#[test]
fn a_negative_learning_rate_is_an_error_at_init() {
    let err = error_of(Sgd::new(-0.1).init(&params_w(&P0)));
    assert!(err.contains("non-negative, got -0.1"), "{err}");
}

#[test]
fn a_beta_outside_the_unit_interval_is_an_error_at_init() {
    let adam = Adam {
        beta_1: 1.0,
        ..Adam::default()
    };
    let err = error_of(adam.init(&params_w(&P0)));
    assert!(
        err.contains("Adam: beta_1 must be in [0, 1), got 1"),
        "{err}"
    );
}

#[test]
fn bad_optimizer_hyperparameters_are_errors() {
    let bad: Vec<(Box<dyn Optimizer>, &str)> = vec![
        (
            Box::new(Sgd {
                momentum: -0.5,
                ..Sgd::default()
            }),
            "momentum",
        ),
        (
            Box::new(AdamW {
                weight_decay: -1.0,
                ..AdamW::default()
            }),
            "weight_decay",
        ),
        (
            Box::new(RmsProp {
                rho: 1.5,
                ..RmsProp::default()
            }),
            "rho",
        ),
        (
            Box::new(Adagrad {
                initial_accumulator_value: -0.1,
                ..Adagrad::default()
            }),
            "initial_accumulator_value",
        ),
        (
            Box::new(Adam {
                clip_global_norm: Some(0.0),
                ..Adam::default()
            }),
            "clip_global_norm",
        ),
        (
            Box::new(Nadam {
                epsilon: 0.0,
                ..Nadam::default()
            }),
            "epsilon",
        ),
        (
            Box::new(Adamax {
                beta_2: 1.0,
                ..Adamax::default()
            }),
            "beta_2",
        ),
        (
            Box::new(Lion {
                beta_1: -0.1,
                ..Lion::default()
            }),
            "beta_1",
        ),
        (
            Box::new(Adafactor {
                beta_2_decay: 0.8,
                ..Adafactor::default()
            }),
            "beta_2_decay",
        ),
        (
            Box::new(Adafactor {
                clip_threshold: 0.0,
                ..Adafactor::default()
            }),
            "clip_threshold",
        ),
    ];
    for (opt, name) in bad {
        let err = error_of(opt.init(&params_w(&P0)));
        assert!(err.contains(name), "{name}: {err}");
    }
}

#[test]
fn bad_schedules_are_errors() {
    let bad = [
        (
            Schedule::Piecewise {
                boundaries: vec![10],
                values: vec![0.1],
            },
            "1 boundaries need 2 values, got 1",
        ),
        (
            Schedule::Piecewise {
                boundaries: vec![10, 10],
                values: vec![0.1, 0.2, 0.3],
            },
            "strictly increasing",
        ),
        (
            Schedule::ExponentialDecay {
                initial: 0.1,
                decay_steps: 0,
                decay_rate: 0.5,
                staircase: false,
            },
            "decay_steps must be at least 1",
        ),
        (
            Schedule::CosineDecay {
                initial: 0.0,
                decay_steps: 10,
                alpha: 0.0,
                warmup_steps: 5,
                warmup_target: None,
            },
            "warmup_target is None",
        ),
        (
            Schedule::CosineDecay {
                initial: 0.1,
                decay_steps: 10,
                alpha: 2.0,
                warmup_steps: 0,
                warmup_target: None,
            },
            "alpha must be in [0, 1]",
        ),
    ];
    for (schedule, message) in bad {
        let err = error_of(schedule.validate());
        assert!(err.contains(message), "{schedule:?}: {err}");
    }
}

#[test]
fn a_negative_base_rate_in_the_state_is_an_error() {
    let sgd = Sgd::default();
    let params = params_w(&P0);
    let mut state = sgd.init(&params).unwrap();
    assert!(sgd.set_base_learning_rate(&mut state, -1.0).is_err());
    state.insert("learning_rate", Tensor::scalar(-1.0));
    let err = error_of(sgd.update(params, &params_w(&GRADS[0]), state));
    assert!(err.contains("learning_rate"), "{err}");
}

#[test]
fn state_from_another_optimizer_is_an_error() {
    let params = params_w(&P0);
    let sgd_state = Sgd {
        momentum: 0.9,
        ..Sgd::default()
    }
    .init(&params)
    .unwrap();
    let err = error_of(Adam::default().update(params, &params_w(&GRADS[0]), sgd_state));
    assert!(err.contains("optimizer state `0/m/w` not found"), "{err}");
}

#[test]
fn state_for_other_parameters_is_an_error() {
    let adam = Adam::default();
    let state = adam.init(&params_w(&[1.0, 2.0])).unwrap();
    let err = error_of(adam.update(params_w(&P0), &params_w(&GRADS[0]), state));
    assert!(err.contains("made for other parameters"), "{err}");
}

#[test]
fn state_a_link_does_not_own_is_an_error() {
    // Adam's moments in the place of SGD's momentum-free chain (one stateless link).
    let params = params_w(&P0);
    let adam_state = Adam::default().init(&params).unwrap();
    let err = error_of(Sgd::default().update(params, &params_w(&GRADS[0]), adam_state));
    assert!(
        err.contains("optimizer state `m/w` is not this link's"),
        "{err}"
    );
}

#[test]
fn a_missing_state_entry_is_an_error_with_its_full_name() {
    let params = params_w(&P0);
    let sgd_state = Sgd {
        momentum: 0.9,
        ..Sgd::default()
    }
    .init(&params)
    .unwrap();
    let err = error_of(Adagrad::default().update(params, &params_w(&GRADS[0]), sgd_state));
    assert!(
        err.contains("optimizer state `0/accumulator/w` not found"),
        "{err}"
    );
}

#[test]
fn state_beyond_the_chain_is_an_error() {
    // SGD with momentum keeps `1/momentum/w`; plain SGD's chain has a single link.
    let params = params_w(&P0);
    let momentum_state = Sgd {
        momentum: 0.9,
        ..Sgd::default()
    }
    .init(&params)
    .unwrap();
    let err = error_of(Sgd::default().update(params, &params_w(&GRADS[0]), momentum_state));
    assert!(
        err.contains("`1/momentum/w` belongs to none of the 1 links"),
        "{err}"
    );
}
