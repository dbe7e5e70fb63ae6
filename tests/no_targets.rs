//! Training without labels: the loops take `NoTargets`, steps see `y_true = None`, a loss can
//! read `x`, and a step or loss that needs targets fails before any batch trains.

use std::sync::{Arc, Mutex};

use elegy::data::{Batch, Loader};
use elegy::losses::{Loss, LossInputs, MeanSquaredError, Reconstruction};
use elegy::model::defaults;
use elegy::optimizers::{Adam, Sgd};
use elegy::prelude::*;
use elegy::step::StepContext;

/// A column of `n` values 0, 1, ...
fn column(n: usize) -> Tensor {
    Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n, 1]).unwrap()
}

/// y = x w over the first input part (a tensor, a tuple or a named map).
struct Scale;

impl Model for Scale {
    #[step]
    fn pred_step(&self, x: &Data, states: States, initializing: bool) -> Result<PredStep> {
        let x = x.leaves()[0];
        let params = if initializing {
            TensorMap::new().with("w", Tensor::full(&[1, 1], 0.5))
        } else {
            states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?;
        Ok(PredStep::new(y, states.with_net_params(params)))
    }
}

/// What one `test_step` call of [`Watched`] saw.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    training: bool,
    /// The first input part's values.
    x: Vec<f32>,
    had_targets: bool,
    sample_weight: Option<Vec<f32>>,
}

/// [`Scale`] whose `test_step` records what it is given, then runs the default body.
#[derive(Clone, Default)]
struct Watched {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Watched {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Model for Watched {
    fn pred_step(&self, ctx: elegy::step::PredContext<'_>) -> Result<PredStep> {
        Scale.pred_step(ctx)
    }

    #[step]
    fn test_step(
        &self,
        x: &Data,
        y_true: Option<&Data>,
        sample_weight: Option<&Tensor>,
        training: bool,
        initializing: bool,
        ctx: StepContext,
    ) -> Result<TestStep> {
        if !initializing {
            self.seen.lock().unwrap().push(Seen {
                training,
                x: x.leaves()[0].to_vec(),
                had_targets: y_true.is_some(),
                sample_weight: sample_weight.map(|w| w.to_vec()),
            });
        }
        defaults::test_step(self, ctx)
    }
}

/// Mean squared distance between the predictions and the first input part: a loss that reads
/// `x` of any structure.
struct FirstPartReconstruction;

impl Loss for FirstPartReconstruction {
    fn name(&self) -> String {
        "first_part_reconstruction".into()
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        let x = inputs.x.leaves()[0].detach();
        let y_pred = inputs.y_pred.as_tensor("y_pred")?;
        let n = x.shape()[0] as f32;
        Ok(y_pred.sub(&x)?.square().sum_all().div_scalar(n))
    }
}

fn quiet(epochs: usize) -> FitOptions {
    FitOptions {
        epochs,
        verbose: 0,
        shuffle: false,
        ..Default::default()
    }
}

#[test]
fn an_autoencoder_trains_without_targets_on_a_loss_that_reads_x() -> Result<()> {
    let digits = datasets::digits()?;
    let x = digits.x.slice(0, 0, 256)?.div_scalar(16.0);
    let mut runner = Runner::for_module(Mlp::new(&[16, 64]))
        .loss(Reconstruction::new(MeanSquaredError))
        .optimizer(Adam::new(1e-2))
        .seed(0)
        .build()?;
    let before = runner.evaluate(x.clone(), NoTargets, EvaluateOptions::default());
    // Not initialized yet: evaluate says so rather than inventing parameters.
    assert!(before.is_err());
    let history = runner.fit(
        x.clone(),
        NoTargets,
        FitOptions {
            validation_split: 0.25,
            ..quiet(15)
        },
    )?;
    let loss = history.get("loss").unwrap();
    let val = history.get("val_loss").unwrap();
    assert!(
        loss[14] < 0.5 * loss[0],
        "the reconstruction error fell from {} to {}",
        loss[0],
        loss[14]
    );
    assert!(val[14] < val[0], "validation {val:?}");
    assert_eq!(
        history.logs.keys().collect::<Vec<_>>(),
        ["learning_rate", "loss", "val_loss"],
        "the one loss is logged as `loss` alone"
    );
    let logs = runner.evaluate(x, NoTargets, EvaluateOptions::default())?;
    assert!(logs["loss"].is_finite());
    Ok(())
}

#[test]
fn a_step_asking_for_optional_targets_gets_none_in_every_loop() -> Result<()> {
    let model = Watched::default();
    let mut runner = Runner::new(model.clone())
        .loss(Reconstruction::new(MeanSquaredError))
        .optimizer(Sgd::new(0.01))
        .build()?;
    runner.fit(column(4), NoTargets, quiet(1))?;
    runner.train_on_batch(column(2), NoTargets)?;
    runner.test_on_batch(column(3), NoTargets)?;
    runner.evaluate(column(5), None::<Tensor>, EvaluateOptions::default())?;
    let mut stream = Loader::from_batches(|| (0..2).map(|_| Ok(Batch::new(column(2)))));
    runner.fit_dataset(&mut stream, quiet(1))?;
    runner.evaluate_dataset(&mut stream)?;
    let seen = model.seen();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|s| !s.had_targets), "{seen:?}");
    let samples: usize = seen.iter().map(|s| s.x.len()).sum();
    assert_eq!(samples, 4 + 2 + 3 + 5 + 4 + 4);
    Ok(())
}

/// Asks for targets it cannot do without.
struct NeedsTargets;

impl Model for NeedsTargets {
    fn pred_step(&self, ctx: elegy::step::PredContext<'_>) -> Result<PredStep> {
        Scale.pred_step(ctx)
    }

    #[step]
    fn train_step(&self, y_true: &Tensor, ctx: StepContext) -> Result<TrainStep> {
        let _ = y_true;
        defaults::train_step(self, ctx)
    }
}

#[test]
fn a_step_that_needs_targets_fails_before_any_batch_naming_the_input_and_the_step() {
    let mut runner = Runner::new(NeedsTargets)
        .loss(MeanSquaredError)
        .optimizer(Sgd::new(0.01))
        .build()
        .unwrap();
    let began = Arc::new(Mutex::new(0));
    let counter = began.clone();
    let callback = elegy::callbacks::LambdaCallback::new().on_train_batch_begin(move |_, _| {
        *counter.lock().unwrap() += 1;
        Ok(())
    });
    let error = runner
        .fit(
            column(4),
            NoTargets,
            FitOptions {
                callbacks: vec![Box::new(callback)],
                ..quiet(1)
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MissingInput {
                input: "y_true",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("train_step") && message.contains("`y_true`"),
        "{message}"
    );
    assert_eq!(*began.lock().unwrap(), 0, "no batch began");
    assert_eq!(runner.step_count(), 0);
    // With targets the same runner trains.
    runner.fit(column(4), column(4), quiet(1)).unwrap();
}

#[test]
fn a_loss_that_compares_targets_says_so_without_them_and_points_to_reconstruction() {
    let mut runner = Runner::new(Scale)
        .loss(MeanSquaredError)
        .optimizer(Sgd::new(0.01))
        .build()
        .unwrap();
    let error = runner.fit(column(4), NoTargets, quiet(1)).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("mean_squared_error")
            && message.contains("no targets")
            && message.contains("Reconstruction"),
        "{message}"
    );
    assert_eq!(runner.step_count(), 0);
}

#[test]
fn validation_split_without_targets_splits_structured_inputs_exactly() -> Result<()> {
    for x in [
        Data::from((column(10), column(10).mul_scalar(2.0))),
        [("a", column(10)), ("b", column(10))]
            .into_iter()
            .collect::<Data>(),
    ] {
        let model = Watched::default();
        let mut runner = Runner::new(model.clone())
            .loss(FirstPartReconstruction)
            .optimizer(Sgd::new(0.01))
            .build()?;
        let weights = Tensor::from((0..10).map(|i| i as f32 + 1.0).collect::<Vec<_>>());
        runner.fit(
            x,
            NoTargets,
            FitOptions {
                validation_split: 0.2,
                sample_weight: Some(weights),
                batch_size: 4,
                ..quiet(1)
            },
        )?;
        let seen = model.seen();
        let train: Vec<f32> = seen
            .iter()
            .filter(|s| s.training)
            .flat_map(|s| s.x.clone())
            .collect();
        let val: Vec<f32> = seen
            .iter()
            .filter(|s| !s.training)
            .flat_map(|s| s.x.clone())
            .collect();
        assert_eq!(train, (0..8).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(val, vec![8.0, 9.0]);
        let val_weights: Vec<f32> = seen
            .iter()
            .filter(|s| !s.training)
            .flat_map(|s| s.sample_weight.clone().unwrap())
            .collect();
        assert_eq!(
            val_weights,
            vec![9.0, 10.0],
            "the held-out part keeps its weights"
        );
    }
    Ok(())
}

#[test]
fn validation_data_may_come_without_targets_and_with_weights() -> Result<()> {
    let model = Watched::default();
    let mut runner = Runner::new(model.clone())
        .loss(Reconstruction::new(MeanSquaredError))
        .optimizer(Sgd::new(0.01))
        .build()?;
    let weights = Tensor::from(vec![0.0f32, 1.0, 3.0]);
    let history = runner.fit(
        column(4),
        NoTargets,
        FitOptions {
            validation_data: Some(Batch::new(column(3)).with_sample_weight(weights.clone())),
            ..quiet(1)
        },
    )?;
    let validated: Vec<Seen> = model.seen().into_iter().filter(|s| !s.training).collect();
    assert_eq!(validated.len(), 1);
    assert_eq!(validated[0].sample_weight, Some(weights.to_vec()));
    // The validation loss is the weighted one: evaluate with the same weights agrees.
    let logs = runner.evaluate(
        column(3),
        NoTargets,
        EvaluateOptions {
            sample_weight: Some(weights),
            ..Default::default()
        },
    );
    let val_loss = history.get("val_loss").unwrap()[0];
    // Validation runs after the epoch's last update: the parameters are those evaluate sees.
    assert!((logs?["loss"] - val_loss).abs() < 1e-6);
    Ok(())
}

#[test]
fn a_stream_mixing_batches_with_and_without_targets_gives_each_step_what_its_batch_has()
-> Result<()> {
    let model = Watched::default();
    let mut runner = Runner::new(model.clone())
        .loss(Reconstruction::new(MeanSquaredError))
        .optimizer(Sgd::new(0.01))
        .build()?;
    let mut stream = Loader::from_batches(|| {
        vec![
            Ok(Batch::new(column(2))),
            Ok(Batch::xy(column(2), column(2))),
        ]
    });
    runner.fit_dataset(&mut stream, quiet(1))?;
    let targets: Vec<bool> = model.seen().iter().map(|s| s.had_targets).collect();
    assert_eq!(targets, [false, true]);
    Ok(())
}
