//! Gradient accumulation (`optimizers::MultiSteps`): Keras 3's `gradient_accumulation_steps`
//! trajectory, and the oracle that `k` batches of `b` train exactly as one batch of `k * b`,
//! step count, schedule, weight decay and clipping included.

mod common;

use common::Linear;
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::optimizers::{AdamW, MultiSteps, Optimizer, Schedule, Sgd, step_count};
use elegy::{Data, FitOptions, Runner, Tensor, TensorMap, datasets};

/// Keras 3.15 (JAX backend, float32): starting parameters, twelve gradients, and each case's
/// parameters (and moving averages) after every step.
const KERAS: &str = include_str!("reference/keras_ema_accumulation.json");

/// How far from Keras' parameters ours may be (absolute; the parameters are of order 1).
const KERAS_TOLERANCE: f32 = 1e-6;

/// How far one batch of `k * b` and `k` batches of `b` may end apart after training (absolute,
/// on parameters of order 0.01 to 1): the two sum the same per-sample gradients in another
/// order, so they differ by float rounding alone (a few 1e-8 seen after 32 to 64 updates).
const ORACLE_TOLERANCE: f32 = 1e-6;

/// The tensors of `json` (`{"b": [...], "w": [...]}`) shaped as the reference's `shapes`.
fn keras_map(json: &serde_json::Value, shapes: &serde_json::Value) -> TensorMap {
    let mut map = TensorMap::new();
    for (name, shape) in shapes.as_object().unwrap() {
        let shape: Vec<usize> = shape
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let values = json[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        map.insert(name.as_str(), Tensor::from_vec(values, &shape).unwrap());
    }
    map
}

#[track_caller]
fn assert_close_maps(got: &TensorMap, want: &TensorMap, tolerance: f32, what: &str) {
    for (name, w) in want.iter() {
        let (g, w) = (got.require(name).unwrap().to_vec(), w.to_vec());
        for (a, e) in g.iter().zip(&w) {
            assert!(
                (a - e).abs() <= tolerance,
                "{what}, `{name}`: {g:?} != {w:?} (error {:e})",
                (a - e).abs()
            );
        }
    }
}

#[test]
fn multi_steps_follows_keras_gradient_accumulation_steps() {
    let keras: serde_json::Value = serde_json::from_str(KERAS).unwrap();
    let shapes = &keras["shapes"];
    let sgd = Sgd {
        momentum: 0.9,
        clip_global_norm: Some(0.5),
        ..Sgd::new(0.1)
    };
    let optimizer = MultiSteps::new(sgd, 3);
    let mut params = keras_map(&keras["initial"], shapes);
    let mut state = optimizer.init(&params).unwrap();
    let steps = keras["cases"]["sgd_accumulate_3"].as_array().unwrap();
    for (i, (g, want)) in keras["grads"]
        .as_array()
        .unwrap()
        .iter()
        .zip(steps)
        .enumerate()
    {
        (params, state) = optimizer
            .update(params, &keras_map(g, shapes), state)
            .unwrap();
        let what = format!("step {}", i + 1);
        assert_close_maps(
            &params,
            &keras_map(&want["params"], shapes),
            KERAS_TOLERANCE,
            &what,
        );
    }
    assert_eq!(step_count(&state).unwrap(), 4, "one update per three steps");
}

fn w(values: &[f32]) -> TensorMap {
    TensorMap::new().with("w", Tensor::from(values.to_vec()))
}

#[test]
fn the_first_steps_of_a_group_leave_the_parameters_and_the_step_count_alone() {
    let optimizer = MultiSteps::new(Sgd::new(1.0), 3);
    let mut params = w(&[0.0]);
    let mut state = optimizer.init(&params).unwrap();
    let mut trajectory = Vec::new();
    for g in [1.0, 2.0, 6.0, 3.0] {
        (params, state) = optimizer.update(params, &w(&[g]), state).unwrap();
        trajectory.push((
            params.require("w").unwrap().to_vec()[0],
            step_count(&state).unwrap(),
        ));
    }
    // By hand: the third step moves by the mean (1 + 2 + 6) / 3 = 3; the fourth starts a group.
    assert_eq!(trajectory, [(0.0, 0), (0.0, 0), (-3.0, 1), (-3.0, 1)]);
    assert_eq!(
        state.require("accumulated/grads/w").unwrap().to_vec(),
        [3.0]
    );
    assert_eq!(
        state
            .require("accumulated/micro_steps")
            .unwrap()
            .item()
            .unwrap(),
        1.0
    );
}

#[test]
fn one_step_per_update_is_the_optimizer_itself_bit_for_bit() {
    let adamw = AdamW::new(0.1);
    let once = MultiSteps::new(adamw.clone(), 1);
    let (mut a, mut b) = (w(&[0.5, -1.0]), w(&[0.5, -1.0]));
    let (mut sa, mut sb) = (adamw.init(&a).unwrap(), once.init(&b).unwrap());
    for g in [[0.3, -0.2], [0.1, 0.4], [-0.7, 0.05]] {
        (a, sa) = adamw.update(a, &w(&g), sa).unwrap();
        (b, sb) = once.update(b, &w(&g), sb).unwrap();
    }
    assert_eq!(a, b);
    assert_eq!(sa.require("step").unwrap(), sb.require("step").unwrap());
}

#[test]
fn the_learning_rate_is_the_next_real_updates() {
    let schedule = Schedule::ExponentialDecay {
        initial: 0.1,
        decay_steps: 1,
        decay_rate: 0.5,
        staircase: false,
    };
    let optimizer = MultiSteps::new(
        Sgd {
            learning_rate: schedule,
            ..Sgd::default()
        },
        2,
    );
    let mut params = w(&[0.0]);
    let mut state = optimizer.init(&params).unwrap();
    let mut rates = Vec::new();
    for _ in 0..4 {
        rates.push(optimizer.learning_rate(&state).unwrap());
        (params, state) = optimizer.update(params, &w(&[1.0]), state).unwrap();
    }
    assert_eq!(rates, [0.1, 0.1, 0.05, 0.05]);
}

#[test]
fn every_k_steps_of_zero_and_a_state_of_another_k_are_errors() {
    let err = MultiSteps::new(Sgd::new(0.1), 0)
        .init(&w(&[0.0]))
        .unwrap_err();
    assert!(
        err.to_string().contains("every_k_steps must be at least 1"),
        "{err}"
    );

    let three = MultiSteps::new(Sgd::new(0.1), 3);
    let mut params = w(&[0.0]);
    let mut state = three.init(&params).unwrap();
    for _ in 0..2 {
        (params, state) = three.update(params, &w(&[1.0]), state).unwrap();
    }
    let err = MultiSteps::new(Sgd::new(0.1), 2)
        .update(params, &w(&[1.0]), state)
        .unwrap_err();
    assert!(
        err.to_string().contains("accumulated/micro_steps` is 2"),
        "{err}"
    );
}

// ---- the oracle: k batches of b are one batch of k * b ---------------------------------------

/// The first 256 digits: 32 batches of 8, or 8 batches of 32.
fn digits() -> (Data, Data) {
    let d = datasets::digits().unwrap();
    let first: Vec<usize> = (0..256).collect();
    (
        Data::from(d.x).select(&first).unwrap(),
        Data::from(d.y).select(&first).unwrap(),
    )
}

fn train(optimizer: impl Optimizer + 'static, batch_size: usize, epochs: usize) -> Runner<Linear> {
    let (x, y) = digits();
    let mut runner = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(optimizer)
        .seed(5)
        .build()
        .unwrap();
    let options = FitOptions {
        epochs,
        batch_size,
        // The same samples in the same order: a big batch is four small ones.
        shuffle: false,
        verbose: 0,
        ..Default::default()
    };
    runner.fit(x, y, options).unwrap();
    runner
}

/// A schedule decaying per update: one read per micro-batch would decay it four times as fast.
fn decaying() -> Schedule {
    Schedule::ExponentialDecay {
        initial: 0.2,
        decay_steps: 8,
        decay_rate: 0.5,
        staircase: false,
    }
}

#[track_caller]
fn assert_same_training(big: &Runner<Linear>, small: &Runner<Linear>) {
    let (b, s) = (big.states(), small.states());
    assert_close_maps(&s.net_params, &b.net_params, ORACLE_TOLERANCE, "parameters");
    let optimizer_step = |r: &Runner<Linear>| step_count(&r.states().optimizer_states).unwrap();
    assert_eq!(optimizer_step(small), optimizer_step(big));
    assert_eq!(
        small.step_count(),
        4 * big.step_count(),
        "the runner counts batches"
    );
    let rates = |r: &Runner<Linear>| r.history().get("learning_rate").unwrap().to_vec();
    assert_eq!(rates(small), rates(big));
}

#[test]
fn four_batches_of_8_train_as_one_batch_of_32_with_momentum_decay_clipping_and_a_schedule() {
    let sgd = Sgd {
        learning_rate: decaying(),
        momentum: 0.9,
        weight_decay: 1e-2,
        // Small enough to bind: clipping each micro-batch would move differently.
        clip_global_norm: Some(0.1),
        ..Sgd::default()
    };
    let big = train(sgd.clone(), 32, 8);
    let small = train(MultiSteps::new(sgd, 4), 8, 8);
    assert_same_training(&big, &small);
    // Eight updates an epoch, counted once each.
    assert_eq!(step_count(&small.states().optimizer_states).unwrap(), 64);
}

#[test]
fn four_batches_of_8_train_as_one_batch_of_32_with_adamw() {
    let adamw = AdamW {
        learning_rate: decaying(),
        ..AdamW::new(0.2)
    };
    let big = train(adamw.clone(), 32, 4);
    let small = train(MultiSteps::new(adamw, 4), 8, 4);
    assert_same_training(&big, &small);
}

#[test]
fn a_group_that_the_epoch_ends_goes_on_into_the_next() {
    // 256 samples in batches of 24: ten of 24 and one of 16 an epoch, in groups of two.
    let (x, y) = digits();
    let mut runner = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(MultiSteps::new(Sgd::new(0.1), 2))
        .build()
        .unwrap();
    let options = |epochs| FitOptions {
        epochs,
        batch_size: 24,
        verbose: 0,
        ..Default::default()
    };
    runner.fit(x.clone(), y.clone(), options(1)).unwrap();
    let state = &runner.states().optimizer_states;
    assert_eq!(step_count(state).unwrap(), 5);
    assert_eq!(
        state
            .require("accumulated/micro_steps")
            .unwrap()
            .item()
            .unwrap(),
        1.0
    );
    runner
        .fit(
            x,
            y,
            FitOptions {
                initial_epoch: 1,
                ..options(2)
            },
        )
        .unwrap();
    let state = &runner.states().optimizer_states;
    assert_eq!(step_count(state).unwrap(), 11);
    assert_eq!(
        state
            .require("accumulated/micro_steps")
            .unwrap()
            .item()
            .unwrap(),
        0.0
    );
}
