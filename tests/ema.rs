//! The moving average of the weights (`optimizers::Ema`, `callbacks::SwapEmaWeights`): a hand
//! computation, Keras 3's `use_ema` trajectories, and evaluation and prediction with the
//! averages.

mod common;

use common::Linear;
use elegy::callbacks::{Callback, SwapEmaWeights};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::optimizers::{
    Ema, MultiSteps, Nadam, Optimizer, Sgd, ema_weights, step_count, swap_ema_weights,
};
use elegy::{
    Data, EvaluateOptions, FitOptions, PredictOptions, Runner, Tensor, TensorMap, datasets,
};

/// Keras 3.15 (JAX backend, float32): starting parameters, twelve gradients, and each case's
/// parameters and moving averages after every update.
const KERAS: &str = include_str!("reference/keras_ema_accumulation.json");

/// How far from Keras' parameters and averages ours may be (absolute; they are of order 1).
const KERAS_TOLERANCE: f32 = 1e-6;

fn w(value: f32) -> TensorMap {
    TensorMap::new().with("w", Tensor::scalar(value))
}

fn value(map: &TensorMap, name: &str) -> f32 {
    map.require(name).unwrap().item().unwrap()
}

#[test]
fn the_average_follows_keras_rule_by_hand() {
    // SGD with rate 1 along 1, 2, 3: w = -1, -3, -6. Momentum 0.5: the first update sets the
    // average, then a = 0.5 a + 0.5 w: -1, -2, -4 (exact in binary).
    let optimizer = Ema::new(Sgd::new(1.0), 0.5);
    let mut params = w(0.0);
    let mut state = optimizer.init(&params).unwrap();
    assert_eq!(value(&state, "ema/w"), 0.0, "the initial parameters");
    let mut seen = Vec::new();
    for g in [1.0, 2.0, 3.0] {
        (params, state) = optimizer.update(params, &w(g), state).unwrap();
        seen.push((value(&params, "w"), value(&state, "ema/w")));
    }
    assert_eq!(seen, [(-1.0, -1.0), (-3.0, -2.0), (-6.0, -4.0)]);
}

#[test]
fn overwrite_frequency_replaces_the_weights_by_the_average_by_hand() {
    // As above, but after update 2 the weights become the average -2; update 3 moves them to
    // -5, and the average to 0.5 * -2 + 0.5 * -5.
    let optimizer = Ema::new(Sgd::new(1.0), 0.5).overwrite_frequency(2);
    let mut params = w(0.0);
    let mut state = optimizer.init(&params).unwrap();
    let mut seen = Vec::new();
    for g in [1.0, 2.0, 3.0] {
        (params, state) = optimizer.update(params, &w(g), state).unwrap();
        seen.push((value(&params, "w"), value(&state, "ema/w")));
    }
    assert_eq!(seen, [(-1.0, -1.0), (-2.0, -2.0), (-5.0, -3.5)]);
}

#[test]
fn under_accumulation_the_average_moves_once_per_real_update() {
    let optimizer = Ema::new(MultiSteps::new(Sgd::new(1.0), 2), 0.5);
    let mut params = w(0.0);
    let mut state = optimizer.init(&params).unwrap();
    let mut seen = Vec::new();
    for g in [1.0, 3.0, 2.0, 6.0] {
        (params, state) = optimizer.update(params, &w(g), state).unwrap();
        seen.push((value(&params, "w"), value(&state, "ema/w")));
    }
    // Updates along 2 then 4: w = -2, -6; the average -2, then 0.5 * -2 + 0.5 * -6.
    assert_eq!(seen, [(0.0, 0.0), (-2.0, -2.0), (-2.0, -2.0), (-6.0, -4.0)]);
    assert_eq!(step_count(&state).unwrap(), 2);
}

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
fn assert_follows_keras(optimizer: &dyn Optimizer, case: &str) {
    let keras: serde_json::Value = serde_json::from_str(KERAS).unwrap();
    let shapes = &keras["shapes"];
    let mut params = keras_map(&keras["initial"], shapes);
    let mut state = optimizer.init(&params).unwrap();
    let steps = keras["cases"][case].as_array().expect("a case of the file");
    let grads = keras["grads"].as_array().unwrap();
    assert_eq!(steps.len(), 12);
    for (i, (g, want)) in grads.iter().zip(steps).enumerate() {
        (params, state) = optimizer
            .update(params, &keras_map(g, shapes), state)
            .unwrap();
        let averages = ema_weights(&state, &params).unwrap();
        for (what, got, want) in [
            ("parameters", &params, &want["params"]),
            ("averages", &averages, &want["averages"]),
        ] {
            for (name, expected) in keras_map(want, shapes).iter() {
                let (g, e) = (got.require(name).unwrap().to_vec(), expected.to_vec());
                for (a, b) in g.iter().zip(&e) {
                    assert!(
                        (a - b).abs() <= KERAS_TOLERANCE,
                        "{case}, update {}, {what} `{name}`: {g:?} != Keras' {e:?}",
                        i + 1
                    );
                }
            }
        }
    }
}

#[test]
fn ema_follows_keras_use_ema() {
    let sgd = Sgd {
        momentum: 0.9,
        ..Sgd::new(0.1)
    };
    assert_follows_keras(&Ema::new(sgd.clone(), 0.8), "sgd_momentum_ema");
    assert_follows_keras(&Ema::new(Nadam::new(0.05), 0.9), "nadam_ema");
    let overwriting = Ema::new(sgd, 0.8).overwrite_frequency(3);
    assert_follows_keras(&overwriting, "sgd_ema_overwrite_every_3");
}

#[test]
fn a_momentum_outside_0_1_and_a_frequency_of_0_are_errors() {
    let err = Ema::new(Sgd::new(0.1), 1.5).init(&w(0.0)).unwrap_err();
    assert!(
        err.to_string()
            .contains("momentum must be in [0, 1], got 1.5"),
        "{err}"
    );
    let err = Ema::new(Sgd::new(0.1), 0.9)
        .overwrite_frequency(0)
        .init(&w(0.0))
        .unwrap_err();
    assert!(err.to_string().contains("overwrite_frequency"), "{err}");
}

#[test]
fn swapping_without_an_ema_optimizer_is_an_error_that_says_what_to_use() {
    let params = w(1.0);
    let state = Sgd::new(0.1).init(&params).unwrap();
    let mut states = elegy::States::new(0)
        .with_net_params(params)
        .with_optimizer_states(state);
    let before = states.clone();
    let err = swap_ema_weights(&mut states).unwrap_err();
    assert!(err.to_string().contains("optimizers::Ema"), "{err}");
    assert_eq!(states, before);
}

// ---- evaluating and predicting with the averages ----------------------------------------------

fn digits() -> (Data, Data) {
    let d = datasets::digits().unwrap();
    let first: Vec<usize> = (0..200).collect();
    (
        Data::from(d.x).select(&first).unwrap(),
        Data::from(d.y).select(&first).unwrap(),
    )
}

fn runner() -> Runner<Linear> {
    Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Ema::new(Sgd::new(0.5), 0.9))
        .seed(3)
        .build()
        .unwrap()
}

fn swapping() -> Vec<Box<dyn Callback>> {
    vec![Box::new(SwapEmaWeights::new())]
}

fn fit_options(callbacks: Vec<Box<dyn Callback>>) -> FitOptions {
    FitOptions {
        epochs: 3,
        validation_split: 0.25,
        verbose: 0,
        callbacks,
        ..Default::default()
    }
}

/// The runner's states with the averages as parameters, in a runner of their own.
fn averaged(trained: &Runner<Linear>) -> Runner<Linear> {
    let mut states = trained.states().clone();
    swap_ema_weights(&mut states).unwrap();
    let mut copy = runner();
    copy.set_states(states);
    copy
}

#[test]
fn validation_with_swap_ema_weights_measures_the_averages_and_training_goes_on_unchanged() {
    let (x, y) = digits();
    let mut plain = runner();
    let plain_history = plain
        .fit(x.clone(), y.clone(), fit_options(Vec::new()))
        .unwrap();
    let mut swapped = runner();
    let history = swapped
        .fit(x.clone(), y.clone(), fit_options(swapping()))
        .unwrap();
    // The same training: the swaps around validation leave nothing behind.
    assert_eq!(swapped.states(), plain.states());
    assert_eq!(history.get("loss"), plain_history.get("loss"));
    // The validation logs are those of the averages: the last epoch's, recomputed.
    let validation: Vec<usize> = (150..200).collect();
    let (xv, yv) = (
        x.select(&validation).unwrap(),
        y.select(&validation).unwrap(),
    );
    let quiet = EvaluateOptions::default();
    let expected = averaged(&swapped)
        .evaluate(xv.clone(), yv.clone(), quiet)
        .unwrap();
    assert_eq!(history.last("val_loss"), Some(expected["loss"]));
    let trained = plain.evaluate(xv, yv, EvaluateOptions::default()).unwrap();
    assert_ne!(trained["loss"], expected["loss"]);
}

#[test]
fn evaluate_and_predict_with_swap_ema_weights_use_the_averages_and_swap_back() {
    let (x, y) = digits();
    let mut runner = runner();
    runner
        .fit(x.clone(), y.clone(), fit_options(Vec::new()))
        .unwrap();
    let before = runner.states().clone();
    let mut reference = averaged(&runner);

    let options = EvaluateOptions {
        callbacks: swapping(),
        ..Default::default()
    };
    let logs = runner.evaluate(x.clone(), y.clone(), options).unwrap();
    let expected = reference
        .evaluate(x.clone(), y, EvaluateOptions::default())
        .unwrap();
    assert_eq!(logs["loss"], expected["loss"]);
    assert_eq!(runner.states().net_params, before.net_params);

    let options = PredictOptions {
        callbacks: swapping(),
        ..Default::default()
    };
    let predicted = runner
        .predict(x.clone(), options)
        .unwrap()
        .into_tensor()
        .unwrap();
    let expected = reference
        .predict(x, PredictOptions::default())
        .unwrap()
        .into_tensor()
        .unwrap();
    assert_eq!(predicted, expected);
    // Back to the trained parameters (Keras 3.15's `on_predict_end` never swaps back).
    assert_eq!(runner.states().net_params, before.net_params);
    assert_eq!(runner.states().optimizer_states, before.optimizer_states);
}
