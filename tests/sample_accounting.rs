//! Every loop, counted: each sample given is trained on, evaluated or predicted exactly once per
//! pass, in order when not shuffled, with its own weight. The samples are their own ids (x = i,
//! weight = i + 1), and a model records every id and weight its steps see.

use std::sync::{Arc, Mutex};

use elegy::data::{Batch, Loader};
use elegy::losses::MeanSquaredError;
use elegy::model::defaults;
use elegy::optimizers::Sgd;
use elegy::prelude::*;
use elegy::step::{PredContext, StepContext};

/// What the steps of [`Counted`] saw, by phase.
#[derive(Default)]
struct Record {
    /// (x, weight) of each sample `train_step` trained on.
    trained: Vec<(f32, f32)>,
    /// (x, weight) of each sample `test_step` evaluated (validation included).
    evaluated: Vec<(f32, f32)>,
    /// x of each sample `predict` predicted.
    predicted: Vec<f32>,
}

/// y = x w with w = 1 (a learning rate of 0 keeps it so), recording what each step sees.
#[derive(Clone, Default)]
struct Counted {
    record: Arc<Mutex<Record>>,
}

fn ids_and_weights(x: &Data, weights: Option<&Tensor>) -> Vec<(f32, f32)> {
    let ids = x.leaves()[0].to_vec();
    let weights = weights.map_or(vec![1.0; ids.len()], |w| w.to_vec());
    ids.into_iter().zip(weights).collect()
}

impl Model for Counted {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, initializing: bool) -> Result<PredStep> {
        let params = if initializing {
            TensorMap::new().with("w", Tensor::ones(&[1, 1]))
        } else {
            states.net_params.clone()
        };
        Ok(PredStep::new(
            x.matmul(params.require("w")?)?,
            states.with_net_params(params),
        ))
    }

    #[step]
    fn test_step(&self, initializing: bool, training: bool, ctx: StepContext) -> Result<TestStep> {
        if !initializing && !training {
            let seen = ids_and_weights(ctx.x, ctx.sample_weight);
            self.record.lock().unwrap().evaluated.extend(seen);
        }
        defaults::test_step(self, ctx)
    }

    #[step]
    fn train_step(&self, initializing: bool, ctx: StepContext) -> Result<TrainStep> {
        if !initializing {
            let seen = ids_and_weights(ctx.x, ctx.sample_weight);
            self.record.lock().unwrap().trained.extend(seen);
        }
        defaults::train_step(self, ctx)
    }
}

/// The predictions of `predict` come from `pred_step` called on its own: recorded apart.
struct Predicting(Counted);

impl Model for Predicting {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        if !ctx.initializing {
            let ids = ctx.x.leaves()[0].to_vec();
            self.0.record.lock().unwrap().predicted.extend(ids);
        }
        self.0.pred_step(ctx)
    }
}

fn ids(n: usize) -> Tensor {
    Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n, 1]).unwrap()
}

fn weights(n: usize) -> Tensor {
    Tensor::from((0..n).map(|i| i as f32 + 1.0).collect::<Vec<f32>>())
}

/// (i, i + 1) for the samples `range`, in order.
fn expected(range: std::ops::Range<usize>) -> Vec<(f32, f32)> {
    range.map(|i| (i as f32, i as f32 + 1.0)).collect()
}

fn runner(model: &Counted) -> Runner<Counted> {
    Runner::new(model.clone())
        .loss(MeanSquaredError)
        .optimizer(Sgd::new(0.0))
        .build()
        .unwrap()
}

fn options(epochs: usize, batch_size: usize) -> FitOptions {
    FitOptions {
        epochs,
        batch_size,
        shuffle: false,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn fit_trains_on_every_sample_once_an_epoch_in_order_with_its_weight() -> Result<()> {
    let model = Counted::default();
    runner(&model).fit(
        ids(10),
        ids(10),
        FitOptions {
            sample_weight: Some(weights(10)),
            ..options(2, 4)
        },
    )?;
    let trained = std::mem::take(&mut model.record.lock().unwrap().trained);
    assert_eq!(trained, [expected(0..10), expected(0..10)].concat());
    Ok(())
}

#[test]
fn shuffled_fit_trains_on_a_permutation_each_epoch_and_weights_follow_their_samples() -> Result<()>
{
    let model = Counted::default();
    runner(&model).fit(
        ids(10),
        ids(10),
        FitOptions {
            sample_weight: Some(weights(10)),
            shuffle: true,
            ..options(3, 4)
        },
    )?;
    let trained = std::mem::take(&mut model.record.lock().unwrap().trained);
    assert_eq!(trained.len(), 30);
    let mut orders = Vec::new();
    for epoch in trained.chunks(10) {
        assert!(epoch.iter().all(|(x, w)| w - x == 1.0), "{epoch:?}");
        let mut sorted = epoch.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(sorted, expected(0..10), "each sample once an epoch");
        orders.push(epoch.to_vec());
    }
    assert_ne!(orders[0], orders[1], "each epoch has an order of its own");
    Ok(())
}

#[test]
fn steps_per_epoch_over_arrays_goes_on_where_the_last_epoch_stopped() -> Result<()> {
    let model = Counted::default();
    // 10 samples in batches of 4 are 3 batches a pass: 3 epochs of 2 batches are two passes.
    runner(&model).fit(
        ids(10),
        ids(10),
        FitOptions {
            sample_weight: Some(weights(10)),
            steps_per_epoch: Some(2),
            ..options(3, 4)
        },
    )?;
    let trained = std::mem::take(&mut model.record.lock().unwrap().trained);
    assert_eq!(trained, [expected(0..10), expected(0..10)].concat());
    Ok(())
}

/// A stream of the samples 0..n with weights, batched by `batch`, `prefetch` batches ahead.
fn stream(n: usize, batch: usize, prefetch: usize) -> Loader {
    Loader::from_samples(move || {
        (0..n).map(|i| {
            let i = i as f32;
            Ok(Batch::xy(Tensor::from(vec![i]), Tensor::from(vec![i]))
                .with_sample_weight(Tensor::scalar(i + 1.0)))
        })
    })
    .batch(batch)
    .prefetch(prefetch)
}

#[test]
fn fit_dataset_trains_on_every_streamed_sample_once_an_epoch_with_or_without_prefetch() -> Result<()>
{
    for prefetch in [0, 1, 3] {
        let model = Counted::default();
        runner(&model).fit_dataset(&mut stream(11, 3, prefetch), options(2, 1))?;
        let trained = std::mem::take(&mut model.record.lock().unwrap().trained);
        assert_eq!(
            trained,
            [expected(0..11), expected(0..11)].concat(),
            "prefetch {prefetch}"
        );
    }
    Ok(())
}

#[test]
fn fit_dataset_with_steps_per_epoch_takes_the_first_batches_of_each_pass() -> Result<()> {
    let model = Counted::default();
    runner(&model).fit_dataset(
        &mut stream(11, 3, 2),
        FitOptions {
            steps_per_epoch: Some(2),
            ..options(2, 1)
        },
    )?;
    let trained = std::mem::take(&mut model.record.lock().unwrap().trained);
    // A dataset starts a pass every epoch (documented on FitOptions::steps_per_epoch).
    assert_eq!(trained, [expected(0..6), expected(0..6)].concat());
    Ok(())
}

#[test]
fn evaluate_and_evaluate_dataset_see_every_sample_once_in_order_with_its_weight() -> Result<()> {
    let model = Counted::default();
    let mut runner = runner(&model);
    runner.init(ids(4), Some(ids(4).into()), 4)?;
    runner.evaluate(
        ids(10),
        ids(10),
        EvaluateOptions {
            batch_size: 4,
            sample_weight: Some(weights(10)),
            ..Default::default()
        },
    )?;
    let evaluated = std::mem::take(&mut model.record.lock().unwrap().evaluated);
    assert_eq!(evaluated, expected(0..10));
    for prefetch in [0, 2] {
        runner.evaluate_dataset(&mut stream(11, 3, prefetch))?;
        let evaluated = std::mem::take(&mut model.record.lock().unwrap().evaluated);
        assert_eq!(evaluated, expected(0..11), "prefetch {prefetch}");
    }
    Ok(())
}

#[test]
fn validation_sees_every_held_out_sample_once_an_epoch_with_its_weight() -> Result<()> {
    let model = Counted::default();
    runner(&model).fit(
        ids(10),
        ids(10),
        FitOptions {
            sample_weight: Some(weights(10)),
            validation_data: Some(Batch::xy(ids(5), ids(5)).with_sample_weight(weights(5))),
            ..options(2, 2)
        },
    )?;
    let evaluated = std::mem::take(&mut model.record.lock().unwrap().evaluated);
    assert_eq!(evaluated, [expected(0..5), expected(0..5)].concat());
    Ok(())
}

#[test]
fn predict_and_predict_dataset_predict_every_sample_once_in_order() -> Result<()> {
    let model = Counted::default();
    let mut runner = Runner::new(Predicting(model.clone())).build()?;
    runner.init(ids(2), None, 2)?;
    let y = runner.predict(
        ids(10),
        PredictOptions {
            batch_size: 4,
            ..Default::default()
        },
    )?;
    assert_eq!(y.as_tensor("y")?.to_vec(), ids(10).to_vec());
    let predicted = std::mem::take(&mut model.record.lock().unwrap().predicted);
    assert_eq!(predicted, ids(10).to_vec());
    for prefetch in [0, 2] {
        let y = runner.predict_dataset(&mut stream(11, 3, prefetch))?;
        assert_eq!(
            y.as_tensor("y")?.to_vec(),
            ids(11).to_vec(),
            "prefetch {prefetch}"
        );
        let predicted = std::mem::take(&mut model.record.lock().unwrap().predicted);
        assert_eq!(predicted, ids(11).to_vec(), "prefetch {prefetch}");
    }
    Ok(())
}
