//! The Model trait's default steps and the Runner's loops, with models written against the step
//! contexts directly (the `#[step]` adapter has its own tests).

mod common;

use common::Linear;
use elegy::callbacks::CallbackContext;
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::optimizers::{Adam, Sgd};
use elegy::step::{PredContext, StepContext};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{
    Data, EvaluateOptions, FitOptions, Model, PredStep, PredictOptions, Result, Runner, Tensor,
    TensorMap, TestStep, TrainStep, datasets,
};

fn runner(seed: u64) -> Runner<Linear> {
    Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(3e-2))
        .seed(seed)
        .build()
        .unwrap()
}

fn digits_split() -> (Data, Data, Data, Data) {
    let d = datasets::digits().unwrap();
    datasets::train_test_split(d.x, d.y, 0.2, 0).unwrap()
}

fn quiet(epochs: usize) -> FitOptions {
    FitOptions {
        epochs,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn fit_trains_a_linear_classifier_on_digits() {
    let (xtr, ytr, xte, yte) = digits_split();
    let mut r = runner(0);
    let history = r.fit(xtr, ytr, quiet(8)).unwrap();
    let losses = history.get("loss").unwrap();
    assert!(losses.last() < losses.first(), "{losses:?}");
    let logs = r.evaluate(xte, yte, EvaluateOptions::default()).unwrap();
    assert!(logs["sparse_categorical_accuracy"] > 0.95, "{logs:?}");
    assert_eq!(
        history.logs.keys().collect::<Vec<_>>(),
        vec!["learning_rate", "loss", "sparse_categorical_accuracy"],
        "the one loss is logged once, as `loss`"
    );
}

#[test]
fn the_same_seed_gives_bit_identical_weights() {
    let (xtr, ytr, _, _) = digits_split();
    let mut a = runner(7);
    let mut b = runner(7);
    a.fit(xtr.clone(), ytr.clone(), quiet(2)).unwrap();
    b.fit(xtr.clone(), ytr.clone(), quiet(2)).unwrap();
    assert_eq!(a.states().net_params, b.states().net_params);
    let mut c = runner(8);
    c.fit(xtr, ytr, quiet(2)).unwrap();
    assert_ne!(a.states().net_params, c.states().net_params);
}

#[test]
fn epoch_logs_are_sample_weighted_means_including_the_partial_last_batch() {
    // With a zero learning rate the parameters stay put, so the epoch's training loss must equal
    // the loss evaluated over the same samples in one batch.
    let d = datasets::digits().unwrap();
    let x = Data::from(d.x)
        .select(&(0..50).collect::<Vec<_>>())
        .unwrap();
    let y = Data::from(d.y)
        .select(&(0..50).collect::<Vec<_>>())
        .unwrap();
    let mut r = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Sgd::new(0.0))
        .build()
        .unwrap();
    let options = FitOptions {
        batch_size: 7, // 7 batches of 7 and one of 1
        ..quiet(1)
    };
    let history = r.fit(x.clone(), y.clone(), options).unwrap();
    let whole = r
        .evaluate(
            x,
            y,
            EvaluateOptions {
                batch_size: 50,
                ..Default::default()
            },
        )
        .unwrap();
    let fit_loss = history.last("loss").unwrap();
    assert!(
        (fit_loss - whole["loss"]).abs() < 1e-5,
        "{fit_loss} vs {}",
        whole["loss"]
    );
    let fit_acc = history.last("sparse_categorical_accuracy").unwrap();
    assert!((fit_acc - whole["sparse_categorical_accuracy"]).abs() < 1e-6);
}

#[test]
fn validation_logs_are_prefixed_and_predict_concatenates_batches() {
    let (xtr, ytr, xte, _) = digits_split();
    let mut r = runner(1);
    let history = r
        .fit(
            xtr,
            ytr,
            FitOptions {
                validation_split: 0.25,
                ..quiet(2)
            },
        )
        .unwrap();
    assert!(
        history
            .get("val_loss")
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
    assert!(history.get("val_sparse_categorical_accuracy").is_some());
    let n = xte.num_samples().unwrap();
    let pred = r
        .predict(
            xte,
            PredictOptions {
                batch_size: 50,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(pred.as_tensor("y_pred").unwrap().shape(), &[n, 10]);
}

#[test]
fn default_grad_step_matches_finite_differences_of_the_test_step_loss() {
    let (xtr, ytr, _, _) = digits_split();
    let xb = xtr.select(&(0..16).collect::<Vec<_>>()).unwrap();
    let yb = ytr.select(&(0..16).collect::<Vec<_>>()).unwrap();
    let mut r = runner(3);
    r.init(xb.clone(), Some(yb.clone()), 16).unwrap();
    let states = r.states().clone();
    let ctx = |states| StepContext {
        x: &xb,
        y_true: Some(&yb),
        sample_weight: None,
        class_weight: None,
        states,
        components: r.components(),
        initializing: false,
        training: true,
    };
    let grads = r.model().grad_step(ctx(states.clone())).unwrap().grads;
    let names: Vec<String> = states.net_params.names().map(str::to_string).collect();
    let values: Vec<Tensor> = names
        .iter()
        .map(|n| states.net_params.require(n).unwrap().clone())
        .collect();
    let loss_of = |params: &[Tensor]| {
        let p: TensorMap = names.iter().cloned().zip(params.iter().cloned()).collect();
        Ok(r.model()
            .test_step(ctx(states.clone().with_net_params(p)))?
            .loss)
    };
    check_gradients(loss_of, &values, &GradCheck::default())
        .unwrap()
        .assert_ok();
    // And grad_step's gradients are those autodiff gives for that loss.
    let tracked = states.net_params.tracked();
    let loss = r
        .model()
        .test_step(ctx(states.clone().with_net_params(tracked.clone())))
        .unwrap()
        .loss;
    assert_eq!(elegy::grad(&loss, &tracked).unwrap(), grads);
}

/// Overrides only `test_step`: mean squared error of a one-parameter model, by hand.
struct OnlyTestStep;

impl Model for OnlyTestStep {
    fn test_step(&self, ctx: StepContext<'_>) -> Result<TestStep> {
        let x = ctx.x.as_tensor("x")?;
        let y = ctx.y_true.expect("targets given").as_tensor("y")?;
        let params = if ctx.initializing {
            TensorMap::new().with("a", Tensor::zeros(&[1]))
        } else {
            ctx.states.net_params.clone()
        };
        let loss = x.mul(params.require("a")?)?.sub(y)?.square().mean_all();
        let mut logs = elegy::Logs::new();
        logs.batch("loss", loss.item()?);
        Ok(TestStep {
            loss,
            logs,
            states: ctx.states.with_net_params(params),
        })
    }
}

#[test]
fn a_model_overriding_only_test_step_can_be_fitted_but_not_asked_to_predict() {
    let x = Tensor::from_vec((0..40).map(|i| i as f32 / 40.0).collect(), &[40, 1]).unwrap();
    let y = x.mul_scalar(3.0);
    let mut r = Runner::new(OnlyTestStep)
        .optimizer(Sgd::new(0.5))
        .seed(0)
        .build()
        .unwrap();
    r.fit(
        x.clone(),
        y,
        FitOptions {
            batch_size: 8,
            ..quiet(40)
        },
    )
    .unwrap();
    let a = r.states().net_params.require("a").unwrap().item().unwrap();
    assert!((a - 3.0).abs() < 0.05, "a = {a}");
    let err = r
        .predict(x, PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not override `pred_step`"), "{err}");
}

/// Overrides only `train_step`: plain gradient descent written by hand on top of `grad_step`.
struct OnlyTrainStep;

impl Model for OnlyTrainStep {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        Linear { classes: 10 }.pred_step(ctx)
    }

    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        if ctx.initializing {
            return elegy::model::defaults::train_step(self, ctx);
        }
        let step = self.grad_step(ctx)?;
        let params = step
            .states
            .net_params
            .zip_with(&step.grads, |p, g| p.sub(&g.mul_scalar(0.5)))?;
        let mut logs = step.logs;
        logs.running("custom", 1.0);
        Ok(TrainStep {
            logs,
            states: step.states.with_net_params(params),
        })
    }
}

#[test]
fn a_model_overriding_only_train_step_trains_without_an_optimizer() {
    let (xtr, ytr, xte, yte) = digits_split();
    let mut r = Runner::new(OnlyTrainStep)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .seed(0)
        .build()
        .unwrap();
    let history = r.fit(xtr, ytr, quiet(5)).unwrap();
    assert_eq!(history.last("custom"), Some(1.0));
    let logs = r.evaluate(xte, yte, EvaluateOptions::default()).unwrap();
    assert!(logs["sparse_categorical_accuracy"] > 0.85, "{logs:?}");
}

#[test]
fn bad_input_to_the_loops_is_an_error_not_a_panic() {
    let x = Tensor::zeros(&[10, 64]);
    let y = Tensor::zeros(&[9]);
    let mut r = runner(0);
    let err = r.fit(x.clone(), y, quiet(1)).unwrap_err().to_string();
    assert!(err.contains("x has 10 samples but y has 9"), "{err}");

    let err = r
        .fit(Tensor::zeros(&[0, 64]), Tensor::zeros(&[0]), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("x has no samples"), "{err}");

    let zero_batch = FitOptions {
        batch_size: 0,
        ..quiet(1)
    };
    let err = r
        .fit(x.clone(), Tensor::zeros(&[10]), zero_batch)
        .unwrap_err()
        .to_string();
    assert!(err.contains("batch_size must be at least 1"), "{err}");

    let err = r
        .predict(x.clone(), PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("predict: the model is not initialized"),
        "{err}"
    );

    // Labels for 10 classes against a model with 3 outputs: the loss rejects them.
    let mut small = Runner::new(Linear { classes: 3 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.1))
        .build()
        .unwrap();
    let labels = Tensor::full(&[10], 7.0);
    let err = small
        .fit(x.clone(), labels, quiet(1))
        .unwrap_err()
        .to_string();
    // Every label is 7: the first of the shuffled first batch is named, by its index in x.
    assert!(err.contains("label 7 of sample "), "{err}");
    assert!(
        err.contains(" of x (fit, epoch 0, batch 0) is not below the 3 classes"),
        "{err}"
    );

    // Targets of the wrong shape for the loss.
    let err = small
        .fit(x, Tensor::zeros(&[10, 2, 2]), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sparse_categorical_crossentropy"), "{err}");
}

#[test]
fn weights_that_are_nan_infinite_or_negative_are_errors_not_silent_poison() {
    let (x, y) = (Tensor::zeros(&[10, 64]), Tensor::zeros(&[10]));
    let mut weights = vec![1.0f32; 10];
    for (bad, shown) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf"), (-1.0, "-1")] {
        weights[3] = bad;
        let options = FitOptions {
            sample_weight: Some(Tensor::from(weights.clone())),
            ..quiet(1)
        };
        let err = runner(0)
            .fit(x.clone(), y.clone(), options)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("sample_weight holds {shown} for sample 3")),
            "{err}"
        );
        let options = EvaluateOptions {
            sample_weight: Some(Tensor::from(weights.clone())),
            ..Default::default()
        };
        let mut fitted = runner(0);
        fitted.fit(x.clone(), y.clone(), quiet(1)).unwrap();
        assert!(fitted.evaluate(x.clone(), y.clone(), options).is_err());
    }
    let mut class_weight = vec![1.0f32; 10];
    class_weight[2] = f32::NAN;
    let options = FitOptions {
        class_weight: Some(Tensor::from(class_weight)),
        ..quiet(1)
    };
    let err = runner(0)
        .fit(x.clone(), y.clone(), options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("class_weight holds NaN for class 2"), "{err}");

    let nan_loss = Runner::new(Linear { classes: 10 })
        .weighted_loss(SparseCategoricalCrossentropy::from_logits(), f32::NAN)
        .optimizer(Sgd::new(0.1))
        .build();
    let err = nan_loss
        .err()
        .expect("a NaN loss weight is refused")
        .to_string();
    assert!(
        err.contains("weight NaN") && err.contains("finite"),
        "{err}"
    );
}

#[test]
fn inputs_with_no_features_train_the_bias_instead_of_panicking() {
    // A CSV of labels only gives x of shape [n, 0]: the model sees no features, but nothing
    // about that is an error for the loops (a linear model learns the class frequencies).
    let x = Tensor::zeros(&[10, 0]);
    let y = Tensor::from((0..10).map(|i| (i % 3) as f32).collect::<Vec<f32>>());
    let mut r = runner(0);
    r.fit(
        x.clone(),
        y.clone(),
        FitOptions {
            batch_size: 4,
            ..quiet(2)
        },
    )
    .unwrap();
    let p = r.predict(x.clone(), PredictOptions::default()).unwrap();
    assert_eq!(p.as_tensor("p").unwrap().shape(), &[10, 10]);
    let (train_x, _, _, _) = datasets::train_test_split(x, y, 0.2, 0).unwrap();
    assert_eq!(train_x.as_tensor("x").unwrap().shape(), &[8, 0]);
}

#[test]
fn selecting_samples_past_the_end_is_an_error() {
    let data = Data::from(Tensor::zeros(&[3, 2]));
    let err = data.select(&[0, 5]).unwrap_err().to_string();
    assert!(
        err.contains("sample 5 is out of range") && err.contains("3 samples"),
        "{err}"
    );
    assert!(Data::from(Tensor::scalar(1.0)).select(&[0]).is_err());
    assert!(
        Data::from(Tensor::from(vec![1.0, 2.0]))
            .select(&[2])
            .is_err()
    );
    let picked = data.select(&[2, 0]).unwrap();
    assert_eq!(picked.as_tensor("x").unwrap().shape(), &[2, 2]);
}

#[test]
fn a_batch_the_model_refuses_leaves_the_trained_states_as_they_were() {
    let (xtr, ytr, xte, yte) = digits_split();
    let mut r = runner(0);
    r.fit(xtr.clone(), ytr.clone(), quiet(2)).unwrap();
    let params = r.states().net_params.clone();
    let moments = r.states().optimizer_states.clone();
    let steps = r.step_count();

    // 5 features where the kernel takes 64: the product in pred_step fails.
    let err = r
        .train_on_batch(Tensor::zeros(&[4, 5]), Tensor::zeros(&[4]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("matmul"), "{err}");
    assert!(r.is_initialized());
    assert_eq!(r.step_count(), steps);
    assert_eq!(r.states().net_params, params);
    assert_eq!(r.states().optimizer_states, moments);

    // Training goes on from where it was: the same as a runner that never saw the bad batch.
    let mut clean = runner(0);
    clean.fit(xtr.clone(), ytr.clone(), quiet(2)).unwrap();
    let go_on = || FitOptions {
        initial_epoch: 2,
        ..quiet(3)
    };
    r.fit(xtr.clone(), ytr.clone(), go_on()).unwrap();
    clean.fit(xtr, ytr, go_on()).unwrap();
    assert_eq!(r.states().net_params, clean.states().net_params);
    let logs = r.evaluate(xte, yte, EvaluateOptions::default()).unwrap();
    assert!(logs["sparse_categorical_accuracy"] > 0.85, "{logs:?}");
}

#[test]
fn a_training_step_updates_parameters_and_moments_in_place() {
    let (xtr, ytr, _, _) = digits_split();
    let mut r = runner(0);
    r.fit(xtr.clone(), ytr.clone(), quiet(1)).unwrap();
    let buffer = |r: &Runner<Linear>, map: &str, key: &str| {
        let states = r.states();
        let map = if map == "params" {
            &states.net_params
        } else {
            &states.optimizer_states
        };
        map.require(key).unwrap().array().as_ptr()
    };
    let moment = r
        .states()
        .optimizer_states
        .names()
        .find(|k| k.contains("m/w"))
        .unwrap()
        .to_string();
    let before = (buffer(&r, "params", "w"), buffer(&r, "opt", &moment));
    let batch = Data::select(&xtr, &[0, 1, 2, 3]).unwrap();
    let targets = Data::select(&ytr, &[0, 1, 2, 3]).unwrap();
    r.train_on_batch(batch, targets).unwrap();
    assert_eq!(
        (buffer(&r, "params", "w"), buffer(&r, "opt", &moment)),
        before
    );
}

/// A train step of its own that fails on batches of fewer than 8 samples.
struct FailsOnSmallBatches;

impl Model for FailsOnSmallBatches {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        Linear { classes: 10 }.pred_step(ctx)
    }

    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        if !ctx.initializing && ctx.x.num_samples()? < 8 {
            return Err(elegy::Error::Step("too few samples".into()));
        }
        elegy::model::defaults::train_step(self, ctx)
    }
}

#[test]
fn a_failed_train_step_of_the_users_own_says_the_states_are_gone() {
    let (xtr, ytr, _, _) = digits_split();
    let mut r = Runner::new(FailsOnSmallBatches)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.1))
        .seed(0)
        .build()
        .unwrap();
    r.fit(xtr, ytr, quiet(1)).unwrap();
    let err = r
        .train_on_batch(Tensor::zeros(&[4, 64]), Tensor::zeros(&[4]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("too few samples"), "{err}");
    assert!(err.contains("states it was given are gone"), "{err}");
    assert!(!r.is_initialized());
}

#[test]
fn fit_without_an_optimizer_says_how_to_give_one() {
    let mut r = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .build()
        .unwrap();
    let err = r
        .fit(Tensor::zeros(&[4, 64]), Tensor::zeros(&[4]), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the runner has no optimizer"), "{err}");
    // The step failed before any update: the states initialized for it are kept.
    assert!(r.is_initialized());
}

/// Two updates per batch, the second on inputs the model refuses.
struct FailsOnItsSecondUpdate;

impl Model for FailsOnItsSecondUpdate {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        Linear { classes: 10 }.pred_step(ctx)
    }

    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        if ctx.initializing {
            return elegy::model::defaults::train_step(self, ctx);
        }
        let again = ctx.clone();
        let first = elegy::model::defaults::train_step(self, ctx)?;
        let refused = Data::from(Tensor::zeros(&[1, 5]));
        let second = StepContext {
            x: &refused,
            states: first.states,
            ..again
        };
        elegy::model::defaults::train_step(self, second)
    }
}

#[test]
fn only_the_first_default_train_step_of_a_runners_step_hands_its_states_back() {
    // The second update's states are half a step on (one update in, step count and keys not):
    // handing them back would leave the runner inconsistent, so they go with the error.
    let mut r = Runner::new(FailsOnItsSecondUpdate)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.1))
        .build()
        .unwrap();
    let err = r
        .train_on_batch(Tensor::zeros(&[4, 64]), Tensor::zeros(&[4]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("are gone"), "{err}");
    assert!(!r.is_initialized());
}

#[test]
fn init_creates_metric_state_without_counting_its_batch() {
    let (xtr, ytr, _, _) = digits_split();
    let mut r = runner(0);
    r.init(xtr, Some(ytr), 32).unwrap();
    let m = &r.states().metrics_states;
    assert_eq!(
        m.require("sparse_categorical_accuracy/count")
            .unwrap()
            .item()
            .unwrap(),
        0.0
    );
    assert_eq!(
        m.require("sparse_categorical_accuracy/correct")
            .unwrap()
            .item()
            .unwrap(),
        0.0
    );
}

#[test]
fn the_learning_rate_log_is_the_scheduled_rate_of_the_epochs_last_step() {
    use elegy::optimizers::Schedule;
    let (xtr, ytr, _, _) = digits_split();
    let schedule = Schedule::ExponentialDecay {
        initial: 0.1,
        decay_steps: 10,
        decay_rate: 0.5,
        staircase: false,
    };
    let mut r = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd {
            learning_rate: schedule.clone(),
            ..Default::default()
        })
        .build()
        .unwrap();
    let history = r.fit(xtr, ytr, quiet(2)).unwrap();
    // Steps are counted from 0: the last step of epoch 0 is step n - 1, of epoch 1 step 2n - 1.
    let n = r.step_count() / 2;
    let expected = [schedule.at(n - 1), schedule.at(2 * n - 1)];
    assert_eq!(history.get("learning_rate").unwrap(), expected);
    assert!(history.get("lr").is_none(), "one key for the rate");
}

#[test]
fn the_learning_rate_log_follows_a_learning_rate_scheduler_on_a_built_in_optimizer() {
    use elegy::callbacks::{Callback, LearningRateScheduler};
    let (xtr, ytr, _, _) = digits_split();
    let mut r = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.1))
        .build()
        .unwrap();
    let halving = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr / 2.0 });
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(halving)];
    let options = FitOptions {
        callbacks,
        ..quiet(3)
    };
    let history = r.fit(xtr, ytr, options).unwrap();
    assert_eq!(history.get("learning_rate").unwrap(), [0.1, 0.05, 0.025]);
}

#[test]
fn the_learning_rate_log_of_a_constant_rate_is_that_rate_every_epoch() {
    let (xtr, ytr, _, _) = digits_split();
    let mut r = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.05))
        .build()
        .unwrap();
    let history = r.fit(xtr, ytr, quiet(2)).unwrap();
    assert_eq!(history.get("learning_rate").unwrap(), [0.05, 0.05]);
}

#[test]
fn a_metric_and_a_loss_sharing_a_log_name_is_an_error_before_anything_runs() {
    use elegy::losses::{L2Regularization, MeanSquaredError};
    use elegy::metrics::{MeanSquaredError as MseMetric, Metric};
    // Beside a second loss, the loss logs as `mean_squared_error_loss` too; a metric renamed to
    // that would overwrite it.
    let clash = || MseMetric.named("mean_squared_error_loss");
    let built = Runner::new(Linear { classes: 10 })
        .loss(MeanSquaredError)
        .loss(L2Regularization::default())
        .metric(clash())
        .optimizer(Sgd::new(0.1))
        .build();
    let Err(err) = built else {
        panic!("a runner with two logs of one name was built");
    };
    assert!(
        err.to_string()
            .contains("are logged as `mean_squared_error_loss`"),
        "{err}"
    );
    // A runner's one loss is logged as `loss` alone: the name is free.
    let one_loss = Runner::new(Linear { classes: 10 })
        .loss(MeanSquaredError)
        .metric(clash())
        .build();
    assert!(one_loss.is_ok());
    // The total is always `loss`.
    let named_loss = Runner::new(Linear { classes: 10 })
        .loss(MeanSquaredError)
        .metric(MseMetric.named("loss"))
        .build();
    assert!(named_loss.is_err());
    // The same metric twice clashes too.
    let twice = Runner::new(Linear { classes: 10 })
        .metric(SparseCategoricalAccuracy)
        .metric(SparseCategoricalAccuracy)
        .build();
    assert!(twice.is_err());
}

#[test]
fn named_groups_prefix_their_log_names() {
    let (xtr, ytr, _, _) = digits_split();
    let mut r = Runner::new(Linear { classes: 10 })
        .named_loss("digits", SparseCategoricalCrossentropy::from_logits(), 1.0)
        .named_metric("digits", SparseCategoricalAccuracy)
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .build()
        .unwrap();
    r.check().unwrap();
    let history = r.fit(xtr, ytr, quiet(1)).unwrap();
    assert_eq!(
        history.logs.keys().collect::<Vec<_>>(),
        vec![
            "digits/sparse_categorical_accuracy",
            "learning_rate",
            "loss",
            "sparse_categorical_accuracy"
        ]
    );
    assert_eq!(
        history.last("digits/sparse_categorical_accuracy"),
        history.last("sparse_categorical_accuracy")
    );
}

/// Records the hooks it sees, in order.
#[derive(Clone, Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl elegy::callbacks::Callback for Recorder {
    fn on_test_begin(&mut self, _: &mut CallbackContext<'_>) -> Result<()> {
        self.0.lock().unwrap().push("test_begin".into());
        Ok(())
    }
    fn on_test_batch_begin(&mut self, batch: usize, _: &mut CallbackContext<'_>) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(format!("test_batch_begin {batch}"));
        Ok(())
    }
    fn on_test_batch_end(
        &mut self,
        batch: usize,
        _: &mut CallbackContext<'_>,
        _: &elegy::callbacks::LogValues,
    ) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(format!("test_batch_end {batch}"));
        Ok(())
    }
    fn on_test_end(
        &mut self,
        _: &mut CallbackContext<'_>,
        logs: &elegy::callbacks::LogValues,
    ) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(format!("test_end {}", logs.contains_key("loss")));
        Ok(())
    }
    fn on_predict_begin(&mut self, _: &mut CallbackContext<'_>) -> Result<()> {
        self.0.lock().unwrap().push("predict_begin".into());
        Ok(())
    }
    fn on_predict_batch_begin(&mut self, batch: usize, _: &mut CallbackContext<'_>) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(format!("predict_batch_begin {batch}"));
        Ok(())
    }
    fn on_predict_batch_end(&mut self, batch: usize, _: &mut CallbackContext<'_>) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(format!("predict_batch_end {batch}"));
        Ok(())
    }
    fn on_predict_end(&mut self, _: &mut CallbackContext<'_>) -> Result<()> {
        self.0.lock().unwrap().push("predict_end".into());
        Ok(())
    }
}

#[test]
fn evaluate_and_predict_call_their_hooks_around_each_batch() {
    let (xtr, ytr, _, _) = digits_split();
    let x = xtr.select(&(0..40).collect::<Vec<_>>()).unwrap();
    let y = ytr.select(&(0..40).collect::<Vec<_>>()).unwrap();
    let mut r = runner(0);
    r.init(x.clone(), Some(y.clone()), 32).unwrap();
    let seen = Recorder::default();
    let options = EvaluateOptions {
        batch_size: 32,
        callbacks: vec![Box::new(seen.clone())],
        ..Default::default()
    };
    r.evaluate(x.clone(), y, options).unwrap();
    let options = PredictOptions {
        batch_size: 32,
        callbacks: vec![Box::new(seen.clone())],
    };
    r.predict(x, options).unwrap();
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![
            "test_begin",
            "test_batch_begin 0",
            "test_batch_end 0",
            "test_batch_begin 1",
            "test_batch_end 1",
            "test_end true",
            "predict_begin",
            "predict_batch_begin 0",
            "predict_batch_end 0",
            "predict_batch_begin 1",
            "predict_batch_end 1",
            "predict_end",
        ]
    );
}

#[test]
fn validation_during_fit_calls_the_test_hooks() {
    let (xtr, ytr, _, _) = digits_split();
    let seen = Recorder::default();
    let mut r = runner(0);
    let options = FitOptions {
        validation_split: 0.1,
        batch_size: 1000,
        callbacks: vec![Box::new(seen.clone())],
        ..quiet(2)
    };
    r.fit(xtr, ytr, options).unwrap();
    let log = seen.0.lock().unwrap();
    assert_eq!(log.iter().filter(|e| *e == "test_begin").count(), 2);
    assert_eq!(log.iter().filter(|e| *e == "test_end true").count(), 2);
}

#[test]
fn the_summary_of_a_model_without_a_module_lists_its_parameters_with_their_whole_shapes() {
    let mut r = runner(0);
    let rows = r.summary_rows(Tensor::zeros(&[2, 64])).unwrap();
    let table = elegy::runner::format_summary(&rows);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{table}"))
            .to_string()
    };
    assert!(
        line("w ").contains("[64, 10]") && !table.contains("None"),
        "{table}"
    );
    assert!(line("b ").contains("[10]"), "{table}");
    assert!(table.contains("Total parameters: 650"), "{table}");
}

#[test]
fn a_loss_or_metric_given_structured_targets_says_to_bind_it_to_one_part() {
    let x = Tensor::zeros(&[4, 64]);
    let y: Data = [
        ("digit", Tensor::zeros(&[4])),
        ("parity", Tensor::zeros(&[4])),
    ]
    .into_iter()
    .collect();
    let err = runner(0)
        .fit(x.clone(), y.clone(), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("y_true is a map"), "{err}");
    assert!(
        err.contains("Runner::output_loss") || err.contains("Runner::output_metric"),
        "{err}"
    );
    assert!(!err.contains("&Data"), "{err}");

    // A loss of the user's own may read the whole structure; the metric still needs one part.
    struct Zero;
    impl elegy::losses::Loss for Zero {
        fn name(&self) -> String {
            "zero".into()
        }
        fn compute(&self, _: &elegy::losses::LossInputs<'_>) -> Result<Tensor> {
            Ok(Tensor::scalar(0.0))
        }
    }
    let mut metric_only = Runner::new(Linear { classes: 10 })
        .loss(Zero)
        .metric(SparseCategoricalAccuracy)
        .build()
        .unwrap();
    let err = metric_only.init(x, Some(y), 4).unwrap_err().to_string();
    assert!(
        err.contains("metric `sparse_categorical_accuracy`: y_true is a map")
            && err.contains("Runner::output_metric(key, metric)"),
        "{err}"
    );
}

/// `Linear` over one feature that records the inputs of each training batch.
struct RecordsBatches {
    seen: std::sync::Mutex<Vec<Vec<f32>>>,
}

impl Model for RecordsBatches {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        Linear { classes: 2 }.pred_step(ctx)
    }

    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        if !ctx.initializing {
            let x = ctx.x.as_tensor("x")?.to_vec();
            self.seen.lock().unwrap().push(x);
        }
        elegy::model::defaults::train_step(self, ctx)
    }
}

fn recording_runner() -> Runner<RecordsBatches> {
    Runner::new(RecordsBatches {
        seen: Default::default(),
    })
    .loss(SparseCategoricalCrossentropy::from_logits())
    .optimizer(Sgd::new(0.1))
    .seed(5)
    .build()
    .unwrap()
}

fn indexed_samples(n: usize) -> (Tensor, Tensor) {
    let x = Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n, 1]).unwrap();
    let y = Tensor::from_vec((0..n).map(|i| (i % 2) as f32).collect(), &[n]).unwrap();
    (x, y)
}

#[test]
fn epochs_shorter_than_a_pass_go_on_where_the_last_one_stopped() {
    let (x, y) = indexed_samples(8);
    let mut r = recording_runner();
    let options = |epochs, initial_epoch, shuffle| FitOptions {
        epochs,
        initial_epoch,
        batch_size: 2,
        steps_per_epoch: Some(3),
        shuffle,
        verbose: 0,
        ..Default::default()
    };
    r.fit(x.clone(), y.clone(), options(2, 0, false)).unwrap();
    // Epoch 0 takes the first three batches of the first pass, epoch 1 the last one, then the
    // first two of the second pass.
    let seen = r.model().seen.lock().unwrap().clone();
    let expected: Vec<Vec<f32>> = [
        [0.0, 1.0],
        [2.0, 3.0],
        [4.0, 5.0],
        [6.0, 7.0],
        [0.0, 1.0],
        [2.0, 3.0],
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    assert_eq!(seen, expected);

    // Shuffled, three epochs of three batches see the whole first pass, each sample once, and a
    // run resumed at epoch 1 meets the same batches as the one that went through.
    let mut whole = recording_runner();
    whole
        .fit(x.clone(), y.clone(), options(3, 0, true))
        .unwrap();
    let seen = whole.model().seen.lock().unwrap().clone();
    let mut first_pass: Vec<f32> = seen[..4].concat();
    first_pass.sort_by(f32::total_cmp);
    assert_eq!(first_pass, (0..8).map(|i| i as f32).collect::<Vec<_>>());
    let mut resumed = recording_runner();
    resumed.fit(x, y, options(3, 1, true)).unwrap();
    let resumed_seen = resumed.model().seen.lock().unwrap().clone();
    // The resumed runner's init looks at epoch 1's first batch without training on it.
    assert_eq!(resumed_seen, seen[3..].to_vec());
}

#[test]
fn a_dataset_pass_shorter_than_steps_per_epoch_is_an_error() {
    let (x, y) = indexed_samples(8);
    let mut loader = elegy::data::Loader::from_batches(move || {
        let batch = elegy::data::Batch::xy(x.clone(), y.clone());
        std::iter::once(Ok(batch))
    });
    let mut r = recording_runner();
    let err = r
        .fit_dataset(
            &mut loader,
            FitOptions {
                epochs: 2,
                steps_per_epoch: Some(3),
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gave 1 of the 3 batches steps_per_epoch asks for"),
        "{err}"
    );
}

#[test]
fn a_second_fit_from_epoch_zero_replaces_the_runners_history_and_a_resumed_one_extends_it() {
    let (xtr, ytr, _, _) = digits_split();
    let mut r = runner(0);
    r.fit(xtr.clone(), ytr.clone(), quiet(2)).unwrap();
    // A fit that fails before its first epoch ends leaves the history as it was.
    let fails = FitOptions {
        callbacks: vec![Box::new(elegy::callbacks::ModelCheckpoint::new(
            "{epoch:bad",
        ))],
        ..quiet(3)
    };
    r.fit(xtr.clone(), ytr.clone(), fails).unwrap_err();
    assert_eq!(r.history().epochs, [0, 1]);
    let second = r.fit(xtr.clone(), ytr.clone(), quiet(3)).unwrap();
    assert_eq!(r.history().epochs, [0, 1, 2]);
    assert_eq!(r.history(), &second);
    let resumed = FitOptions {
        initial_epoch: r.next_epoch(),
        ..quiet(5)
    };
    r.fit(xtr, ytr, resumed).unwrap();
    assert_eq!(r.history().epochs, [0, 1, 2, 3, 4]);
    assert_eq!(
        r.history().get("loss").unwrap()[..3],
        second.get("loss").unwrap()[..]
    );
}
