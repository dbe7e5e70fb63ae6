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
        .optimizer(Sgd::new(0.01));
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
        validation_data: Some((Tensor::ones(&[2, 2]).into(), Tensor::ones(&[2, 1]).into())),
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
