//! The states a step returns are the runner's afterwards, whichever loop called it, and every
//! hook sees them through its context.

use std::sync::{Arc, Mutex};

use elegy::callbacks::LambdaCallback;
use elegy::losses::MeanSquaredError;
use elegy::optimizers::Sgd;
use elegy::step::PredContext;
use elegy::{
    EvaluateOptions, FitOptions, Model, PredStep, PredictOptions, Result, Runner, Tensor, TensorMap,
};

/// y = x w, counting its calls in `net_states` (`calls`, a scalar).
struct Counting;

impl Model for Counting {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        let (params, calls) = if ctx.initializing {
            (TensorMap::new().with("w", Tensor::ones(&[2, 1])), 0.0)
        } else {
            let calls = ctx.states.net_states.require("calls")?.item()?;
            (ctx.states.net_params.clone(), calls)
        };
        let y = x.matmul(params.require("w")?)?;
        let net_states = TensorMap::new().with("calls", Tensor::scalar(calls + 1.0));
        let states = ctx
            .states
            .with_net_params(params)
            .with_net_states(net_states);
        Ok(PredStep::new(y, states))
    }
}

fn calls<M: Model>(runner: &Runner<M>) -> f32 {
    let calls = runner.states().net_states.require("calls").unwrap();
    calls.item().unwrap()
}

fn runner() -> Runner<Counting> {
    let mut runner = Runner::new(Counting)
        .loss(MeanSquaredError)
        .optimizer(Sgd::new(0.01))
        .build()
        .unwrap();
    runner
        .init(Tensor::ones(&[4, 2]), Some(Tensor::ones(&[4, 1]).into()), 4)
        .unwrap();
    runner
}

#[test]
fn predict_and_evaluate_keep_the_states_their_steps_return() {
    let mut r = runner();
    let after_init = calls(&r);
    let predict = PredictOptions {
        batch_size: 2,
        ..Default::default()
    };
    r.predict(Tensor::ones(&[6, 2]), predict).unwrap();
    assert_eq!(calls(&r), after_init + 3.0);
    r.predict_on_batch(Tensor::ones(&[2, 2])).unwrap();
    assert_eq!(calls(&r), after_init + 4.0);
    let evaluate = EvaluateOptions {
        batch_size: 2,
        ..Default::default()
    };
    r.evaluate(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]), evaluate)
        .unwrap();
    assert_eq!(calls(&r), after_init + 6.0);
    r.test_on_batch(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]))
        .unwrap();
    assert_eq!(calls(&r), after_init + 7.0);
}

#[test]
fn fit_and_its_validation_keep_the_states_their_steps_return() {
    let mut r = runner();
    let after_init = calls(&r);
    let options = FitOptions {
        epochs: 2,
        batch_size: 2,
        verbose: 0,
        validation_data: Some((Tensor::ones(&[2, 2]), Tensor::ones(&[2, 1])).into()),
        ..Default::default()
    };
    r.fit(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]), options)
        .unwrap();
    // Two training batches and one validation batch an epoch.
    assert_eq!(calls(&r), after_init + 6.0);
}

#[test]
fn evaluation_and_prediction_hooks_see_the_runners_states() {
    let mut r = runner();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook = |name: &'static str| {
        let seen = seen.clone();
        move |ctx: &mut elegy::callbacks::CallbackContext<'_>| {
            let calls = ctx.states.net_states.require("calls")?.item()?;
            seen.lock().unwrap().push(format!("{name} {calls}"));
            Ok(())
        }
    };
    let (test_begin, test_end) = (hook("test_begin"), hook("test_end"));
    let callback = LambdaCallback::new()
        .on_test_begin(test_begin)
        .on_test_end(move |ctx, _| test_end(ctx));
    let evaluate = EvaluateOptions {
        batch_size: 2,
        callbacks: vec![Box::new(callback)],
        ..Default::default()
    };
    r.evaluate(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]), evaluate)
        .unwrap();
    let (predict_begin, predict_batch) = (hook("predict_begin"), hook("predict_batch_end"));
    let callback = LambdaCallback::new()
        .on_predict_begin(predict_begin)
        .on_predict_batch_end(move |_, ctx| predict_batch(ctx));
    let predict = PredictOptions {
        batch_size: 2,
        callbacks: vec![Box::new(callback)],
    };
    r.predict(Tensor::ones(&[2, 2]), predict).unwrap();
    let first = calls(&r) - 3.0;
    let expected: Vec<String> = [
        ("test_begin", first),
        ("test_end", first + 2.0),
        ("predict_begin", first + 2.0),
        ("predict_batch_end", first + 3.0),
    ]
    .iter()
    .map(|(name, calls)| format!("{name} {calls}"))
    .collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}

#[test]
fn maybe_update_fills_what_is_absent_or_empty_and_update_known_replaces_only_what_is_there() {
    use elegy::States;
    let one = TensorMap::new().with("a", Tensor::ones(&[1]));
    let two = TensorMap::new().with("a", Tensor::full(&[1], 2.0));
    let mine = States::new(1)
        .with_net_params(one.clone())
        .with_field("empty", TensorMap::new())
        .with_field("kept", one.clone());
    let theirs = States::new(2)
        .with_net_params(two.clone())
        .with_net_states(two.clone())
        .with_field("empty", two.clone())
        .with_field("kept", two.clone())
        .with_field("new", two.clone());

    let filled = mine.clone().maybe_update(theirs.clone());
    assert_eq!(filled.net_params, one);
    assert_eq!(filled.net_states, two);
    assert_eq!(filled.field("empty").unwrap(), &two);
    assert_eq!(filled.field("kept").unwrap(), &one);
    assert_eq!(filled.field("new").unwrap(), &two);
    assert_eq!(filled.rng, mine.rng);

    let known = mine.clone().update_known(theirs.clone());
    assert_eq!(known.net_params, two);
    assert!(known.net_states.is_empty());
    assert_eq!(known.field("kept").unwrap(), &two);
    assert_eq!(known.field("empty").unwrap(), &two);
    assert!(known.field("new").is_err());
    assert_eq!(known.rng, theirs.rng);
}

#[test]
fn init_after_set_states_completes_the_optimizer_and_metric_state() {
    use elegy::metrics::MeanSquaredError as Mse;
    let mut source = runner();
    let params = source.states().net_params.clone();
    let mut r = Runner::new(Counting)
        .loss(MeanSquaredError)
        .metric(Mse)
        .optimizer(Sgd::new(0.01))
        .build()
        .unwrap();
    let calls = TensorMap::new().with("calls", Tensor::scalar(0.0));
    r.set_states(
        elegy::States::new(0)
            .with_net_params(params)
            .with_net_states(calls),
    );
    assert!(r.states().optimizer_states.is_empty());
    r.init(Tensor::ones(&[2, 2]), None, 2).unwrap();
    assert!(!r.states().optimizer_states.is_empty());
    let metrics = &r.states().metrics_states;
    assert!(
        metrics
            .names()
            .any(|n| n.starts_with("mean_squared_error/")),
        "{metrics:?}"
    );
    // And the runner trains from there.
    source
        .fit(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]), quiet())
        .unwrap();
    r.fit(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]), quiet())
        .unwrap();
    assert_eq!(r.states().net_params, source.states().net_params);
}

#[test]
fn test_on_batch_initializes_an_uninitialized_runner_from_its_batch() {
    let mut r = Runner::new(Counting)
        .loss(MeanSquaredError)
        .build()
        .unwrap();
    let logs = r
        .test_on_batch(Tensor::ones(&[4, 2]), Tensor::ones(&[4, 1]))
        .unwrap();
    assert!(r.is_initialized());
    assert_eq!(logs["loss"], 1.0);
    let err = Runner::new(Counting)
        .build()
        .unwrap()
        .predict_on_batch(Tensor::ones(&[4, 2]))
        .unwrap_err();
    assert!(err.to_string().contains("`init`"), "{err}");
}

fn quiet() -> FitOptions {
    FitOptions {
        epochs: 2,
        batch_size: 2,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn test_on_batch_accumulates_across_calls_until_reset_metrics() {
    use elegy::metrics::MeanAbsoluteError;
    let mut r = Runner::new(Counting)
        .loss(MeanSquaredError)
        .metric(MeanAbsoluteError)
        .optimizer(Sgd::new(0.01))
        .build()
        .unwrap();
    r.init(Tensor::ones(&[2, 2]), Some(Tensor::ones(&[2, 1]).into()), 2)
        .unwrap();
    let x = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 1.0, 3.0], &[4, 2]).unwrap();
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 2.0], &[4, 1]).unwrap();
    let half = |t: &Tensor, first: usize| {
        elegy::Data::from(t.clone())
            .select(&[first, first + 1])
            .unwrap()
    };
    r.test_on_batch(half(&x, 0), half(&y, 0)).unwrap();
    let both = r.test_on_batch(half(&x, 2), half(&y, 2)).unwrap();
    let evaluate = EvaluateOptions {
        batch_size: 2,
        ..Default::default()
    };
    let whole = r.evaluate(x.clone(), y.clone(), evaluate).unwrap();
    assert_eq!(both, whole);
    // evaluate ended the series; after reset_metrics too, a call's logs are its own.
    r.reset_metrics();
    let alone = r.test_on_batch(half(&x, 2), half(&y, 2)).unwrap();
    let only_second = r
        .evaluate(half(&x, 2), half(&y, 2), EvaluateOptions::default())
        .unwrap();
    assert_eq!(alone, only_second);
    assert_ne!(alone, both);
}

#[test]
fn summary_runs_pred_step_on_a_copy_and_shows_what_it_makes_and_its_output_shape() {
    let mut r = runner();
    let before = r.states().clone();
    let rows = r.summary_rows(Tensor::ones(&[3, 2])).unwrap();
    let shown: Vec<(&str, &str, Vec<usize>)> = rows
        .iter()
        .map(|row| (row.path.as_str(), row.kind.as_str(), row.shape.clone()))
        .collect();
    assert_eq!(
        shown,
        [
            ("w", "parameter", vec![2, 1]),
            ("calls", "state", vec![]),
            ("output", "output", vec![3, 1]),
        ]
    );
    assert_eq!(r.states(), &before);
    let table = elegy::runner::format_summary(&rows);
    assert!(table.contains("[3, 1]"), "{table}");
}
