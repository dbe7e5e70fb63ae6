//! What a failing or panicking step leaves: the states a step hands back are the runner's, and a
//! runner whose states are gone says so at every call instead of running or saving an empty
//! model.

use std::panic::{AssertUnwindSafe, catch_unwind};

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::model::defaults;
use elegy::optimizers::Sgd;
use elegy::step::{Components, PredContext, StepContext};
use elegy::{
    Data, Error, EvaluateOptions, FitOptions, Initializer, Model, PredStep, PredictOptions, Result,
    Runner, States, Tensor, TensorMap, TrainStep,
};

/// y = x w + b over 4 features and 3 classes; refuses (or panics on) batches of one sample in
/// training, as chosen.
struct Picky {
    on_one_sample: Refusal,
}

#[derive(Clone, Copy, PartialEq)]
enum Refusal {
    /// An error with the states handed back (`Error::with_states`).
    HandBack,
    /// An error alone: the states go with it.
    Drop,
    /// A panic in `train_step`.
    PanicInTrain,
    /// A panic in `pred_step`, whatever the loop.
    PanicInPred,
    /// A panic in `test_step`, whatever the loop.
    PanicInTest,
}

impl Model for Picky {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        if self.on_one_sample == Refusal::PanicInPred && !ctx.initializing && x.shape()[0] == 1 {
            panic!("pred_step panics on one sample");
        }
        let params = if ctx.initializing {
            TensorMap::new()
                .with(
                    "w",
                    Initializer::GlorotUniform.init(&[4, 3], ctx.states.rng)?,
                )
                .with("b", Tensor::zeros(&[3]))
        } else {
            ctx.states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(y, ctx.states.with_net_params(params)))
    }

    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        if ctx.initializing || ctx.x.num_samples()? > 1 {
            return defaults::train_step(self, ctx);
        }
        let refused = Error::Step("one sample is too few".into());
        match self.on_one_sample {
            Refusal::HandBack => Err(refused.with_states(ctx.states)),
            Refusal::Drop => Err(refused),
            Refusal::PanicInTrain => panic!("train_step panics on one sample"),
            Refusal::PanicInPred | Refusal::PanicInTest => defaults::train_step(self, ctx),
        }
    }

    fn test_step(&self, ctx: StepContext<'_>) -> Result<elegy::TestStep> {
        let one = ctx.x.num_samples()? == 1;
        if self.on_one_sample == Refusal::PanicInTest && !ctx.initializing && one {
            panic!("test_step panics on one sample");
        }
        defaults::test_step(self, ctx)
    }
}

fn runner(on_one_sample: Refusal) -> Runner<Picky> {
    let mut runner = Runner::new(Picky { on_one_sample })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.1))
        .seed(3)
        .build()
        .unwrap();
    runner.fit(x(8), y(8), quiet()).unwrap();
    runner
}

fn x(n: usize) -> Tensor {
    Tensor::from_vec((0..n * 4).map(|i| (i % 7) as f32 / 7.0).collect(), &[n, 4]).unwrap()
}

fn y(n: usize) -> Tensor {
    Tensor::from_vec((0..n).map(|i| (i % 3) as f32).collect(), &[n]).unwrap()
}

fn quiet() -> FitOptions {
    FitOptions {
        epochs: 2,
        batch_size: 4,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn states_handed_back_by_a_failing_step_of_the_users_own_stay_the_runners() {
    let mut r = runner(Refusal::HandBack);
    let before = r.states().clone();
    let err = r.train_on_batch(x(1), y(1)).unwrap_err();
    assert!(matches!(err, Error::Step(_)), "{err:?}");
    assert!(r.is_initialized());
    assert_eq!(r.states(), &before);
    // And the runner goes on from them.
    r.train_on_batch(x(4), y(4)).unwrap();
    assert_ne!(r.states().net_params, before.net_params);
}

#[test]
fn a_failing_step_that_drops_its_states_leaves_a_runner_that_refuses_every_call() {
    let mut r = runner(Refusal::Drop);
    let err = r.train_on_batch(x(1), y(1)).unwrap_err();
    let Error::StatesLost { step, source, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*step, 5);
    // The step's own error is the source, not a string.
    assert!(matches!(source.as_deref(), Some(Error::Step(_))), "{err:?}");
    let source = std::error::Error::source(&err)
        .expect("a source")
        .to_string();
    assert_eq!(source, "one sample is too few");
    assert_refuses_every_call(&mut r);
}

#[test]
fn a_panicking_train_step_leaves_a_runner_that_refuses_every_call_and_saves_nothing() {
    let mut r = runner(Refusal::PanicInTrain);
    let dir = tempfile::tempdir().unwrap();
    r.save(dir.path().join("good")).unwrap();
    let saved = r.states().clone();
    let panicked = catch_unwind(AssertUnwindSafe(|| r.train_on_batch(x(1), y(1))));
    assert!(panicked.is_err());
    assert!(!r.is_initialized());
    // Saving over the good checkpoint is refused, first of all.
    let err = r.save(dir.path().join("good")).unwrap_err();
    assert!(matches!(err, Error::StatesLost { .. }), "{err:?}");
    let err = r.predict(x(2), PredictOptions::default()).unwrap_err();
    assert!(matches!(err, Error::StatesLost { .. }), "{err:?}");
    // The good checkpoint is still there, and loading it gives the runner its model back.
    r.load(dir.path().join("good")).unwrap();
    assert_eq!(r.states(), &saved);
    assert!(r.is_initialized());
    r.predict(x(2), PredictOptions::default()).unwrap();
    r.fit(x(8), y(8), quiet()).unwrap();
}

#[test]
fn a_panic_in_pred_step_during_predict_or_evaluate_leaves_the_states_as_they_were() {
    let mut r = runner(Refusal::PanicInPred);
    let before = r.states().clone();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        r.predict(x(1), PredictOptions::default())
    }));
    assert!(panicked.is_err());
    let options = EvaluateOptions::default;
    let panicked = catch_unwind(AssertUnwindSafe(|| r.evaluate(x(1), y(1), options())));
    assert!(panicked.is_err());
    assert!(r.is_initialized());
    assert_eq!(r.states(), &before);
    r.evaluate(x(4), y(4), options()).unwrap();
}

#[test]
fn a_panic_in_test_step_during_evaluate_leaves_the_states_and_one_in_training_refuses_calls() {
    let mut r = runner(Refusal::PanicInTest);
    let before = r.states().clone();
    let options = EvaluateOptions::default;
    let panicked = catch_unwind(AssertUnwindSafe(|| r.evaluate(x(1), y(1), options())));
    assert!(panicked.is_err());
    let panicked = catch_unwind(AssertUnwindSafe(|| r.test_on_batch(x(1), y(1))));
    assert!(panicked.is_err());
    assert_eq!(r.states(), &before);
    r.evaluate(x(4), y(4), options()).unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| r.train_on_batch(x(1), y(1))));
    assert!(panicked.is_err());
    assert_refuses_every_call(&mut r);
}

#[test]
fn a_panic_in_pred_step_during_training_leaves_a_runner_that_refuses_every_call() {
    let mut r = runner(Refusal::PanicInPred);
    let panicked = catch_unwind(AssertUnwindSafe(|| r.train_on_batch(x(1), y(1))));
    assert!(panicked.is_err());
    assert_refuses_every_call(&mut r);
}

/// Every entry point says the states are gone, until states come back (`set_states` here).
fn assert_refuses_every_call(r: &mut Runner<Picky>) {
    assert!(!r.is_initialized());
    let lost = |result: Result<()>, call: &str| match result {
        Err(Error::StatesLost { op, .. }) => assert!(op.contains(call), "{op} for {call}"),
        other => panic!("{call}: {other:?}"),
    };
    let dir = tempfile::tempdir().unwrap();
    lost(r.save(dir.path().join("ckpt")), "save");
    assert!(!dir.path().join("ckpt").exists());
    lost(r.fit(x(8), y(8), quiet()).map(drop), "fit");
    lost(r.train_on_batch(x(4), y(4)).map(drop), "train_on_batch");
    lost(r.init(x(4), Some(y(4).into()), 4), "init");
    lost(
        r.predict(x(4), PredictOptions::default()).map(drop),
        "predict",
    );
    lost(r.predict_on_batch(x(4)).map(drop), "predict_on_batch");
    lost(
        r.evaluate(x(4), y(4), EvaluateOptions::default()).map(drop),
        "evaluate",
    );
    lost(r.test_on_batch(x(4), y(4)).map(drop), "test_on_batch");
    let message = r.check().unwrap_err().to_string();
    assert!(message.contains("`load` a checkpoint"), "{message}");
    // States given back make it whole again.
    let mut fresh = Runner::new(Picky {
        on_one_sample: Refusal::HandBack,
    })
    .loss(SparseCategoricalCrossentropy::from_logits())
    .optimizer(Sgd::new(0.1))
    .build()
    .unwrap();
    fresh.init(x(4), Some(y(4).into()), 4).unwrap();
    r.set_states(fresh.states().clone());
    r.check().unwrap();
    r.train_on_batch(x(4), y(4)).unwrap();
}

#[test]
fn reset_returns_the_runner_to_before_init_with_the_same_keys() {
    let mut r = runner(Refusal::HandBack);
    let first = r.states().clone();
    r.fit(x(8), y(8), quiet()).unwrap();
    r.reset();
    assert!(!r.is_initialized());
    assert_eq!(r.step_count(), 0);
    assert!(r.history().epochs.is_empty());
    r.fit(x(8), y(8), quiet()).unwrap();
    assert_eq!(r.states(), &first);
}

#[test]
fn states_are_plain_data_built_and_compared_without_a_runner() {
    let params = TensorMap::new().with("w", Tensor::ones(&[2]));
    let a = States::new(1).with_net_params(params.clone());
    let b = States::new(1).with_net_params(params);
    assert_eq!(a, b);
    assert_ne!(a, States::new(2));
    // A step called outside a runner gets its components from the context, and says what it
    // misses; the states come back with the error.
    let x = Data::from(x(2));
    let err = Picky {
        on_one_sample: Refusal::HandBack,
    }
    .train_step(StepContext {
        x: &x,
        y_true: None,
        sample_weight: None,
        class_weight: None,
        states: a.clone(),
        components: Components::none(),
        initializing: false,
        training: true,
    })
    .unwrap_err();
    assert_eq!(err.states(), Some(&a));
    let (err, _) = err.into_parts();
    assert!(
        matches!(
            err,
            Error::MissingComponent {
                component: "optimizer",
                ..
            }
        ),
        "{err:?}"
    );
}

/// A stream loaded ahead on a background thread, whose third batch panics.
struct PanicsOnItsThirdBatch;

impl elegy::Dataset for PanicsOnItsThirdBatch {
    fn batches(&mut self, _epoch: usize) -> Result<elegy::data::Batches<'_>> {
        Ok(Box::new((0..5).map(|i| {
            if i == 2 {
                panic!("the dataset broke at batch 2");
            }
            Ok(elegy::Batch::xy(x(4), y(4)))
        })))
    }

    fn prefetch(&self) -> usize {
        2
    }
}

#[test]
fn a_panic_on_the_prefetch_thread_reaches_the_caller_with_its_own_message() {
    let mut r = runner(Refusal::HandBack);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        r.fit_dataset(&mut PanicsOnItsThirdBatch, quiet())
    }))
    .unwrap_err();
    let message = panicked
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panicked.downcast_ref::<String>().map(String::as_str));
    assert_eq!(message, Some("the dataset broke at batch 2"));
    // The runner's states were not in the dataset's hands: it goes on.
    assert!(r.is_initialized());
    r.train_on_batch(x(4), y(4)).unwrap();
}
