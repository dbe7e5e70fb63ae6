//! Data beyond one array: tuples and maps of inputs and outputs, streamed datasets with
//! shuffling, batching and prefetching, and the errors bad data gives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use elegy::data::{Batch, Dataset, Loader};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::layers::Mlp;
use elegy::optimizers::Adam;
use elegy::step::PredContext;
use elegy::{
    Data, EvaluateOptions, FitOptions, Model, PredStep, PredictOptions, Result, Runner, Tensor,
    datasets,
};

fn quiet(epochs: usize) -> FitOptions {
    FitOptions {
        epochs,
        verbose: 0,
        ..Default::default()
    }
}

/// The digits, scaled, as (x rows, labels).
fn digits() -> (Tensor, Tensor) {
    let d = datasets::digits().unwrap();
    (d.x.div_scalar(16.0), d.y)
}

/// A loader of the digits' samples, one at a time, from a generator closure.
fn digit_samples(x: &Tensor, y: &Tensor, counter: Arc<AtomicUsize>) -> Loader {
    let (x, y) = (x.clone(), y.clone());
    let n = x.shape()[0];
    Loader::from_samples(move || {
        let (x, y, counter) = (x.clone(), y.clone(), counter.clone());
        (0..n).map(move |i| {
            counter.fetch_add(1, Ordering::Relaxed);
            let row = x.slice(0, i, i + 1)?.reshape(&[-1])?;
            let label = y.slice(0, i, i + 1)?.reshape(&[])?;
            Ok(Batch::xy(row, label))
        })
    })
}

fn mlp_runner() -> Runner<elegy::Defaults> {
    Runner::for_module(Mlp::new(&[32, 10]))
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(0)
        .build()
        .unwrap()
}

#[test]
fn a_streamed_dataset_trains_evaluates_and_predicts_like_arrays() {
    let (x, y) = digits();
    let counter = Arc::new(AtomicUsize::new(0));
    let mut train = digit_samples(&x, &y, counter.clone())
        .batch(32)
        .shuffle(256, 1);
    let mut r = mlp_runner();
    // Initialized from arrays here, so that the count below is the training passes' alone
    // (fit_dataset would otherwise initialize from the stream's first batch).
    r.init(x.clone(), Some(y.clone().into()), 32).unwrap();
    let history = r.fit_dataset(&mut train, quiet(3)).unwrap();
    // Three passes over every sample, yielded lazily.
    assert_eq!(counter.load(Ordering::Relaxed), 3 * 1797);
    assert!(history.last("sparse_categorical_accuracy").unwrap() > 0.9);
    let mut eval = digit_samples(&x, &y, Arc::default()).batch(100);
    let logs = r.evaluate_dataset(&mut eval).unwrap();
    let same = r
        .evaluate(
            x.clone(),
            y,
            EvaluateOptions {
                batch_size: 64,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        (logs["loss"] - same["loss"]).abs() < 1e-4,
        "{logs:?} vs {same:?}"
    );
    // The same batches (of 100) both ways: a BLAS build's last bits depend on the batch size.
    let pred = r.predict_dataset(&mut eval).unwrap();
    let options = PredictOptions {
        batch_size: 100,
        ..Default::default()
    };
    let direct = r.predict(x, options).unwrap();
    assert_eq!(pred, direct);
}

#[test]
fn batching_keeps_the_partial_last_batch_and_shuffling_is_seeded_per_epoch() {
    let samples = || {
        Loader::from_samples(|| (0..10).map(|i| Ok(Batch::new(Tensor::from(vec![i as f32])))))
            .batch(4)
            .shuffle(100, 5)
    };
    let order = |loader: &mut Loader, epoch| -> Vec<f32> {
        loader
            .batches(epoch)
            .unwrap()
            .flat_map(|b| b.unwrap().x.as_tensor("x").unwrap().to_vec())
            .collect()
    };
    let mut a = samples();
    let sizes: Vec<usize> = a
        .batches(0)
        .unwrap()
        .map(|b| b.unwrap().num_samples().unwrap())
        .collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    let first = order(&mut a, 0);
    let mut sorted = first.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, (0..10).map(|i| i as f32).collect::<Vec<_>>());
    assert_ne!(first, sorted, "a buffer as large as the stream shuffles it");
    assert_eq!(
        first,
        order(&mut samples(), 0),
        "the same seed and epoch, the same order"
    );
    assert_ne!(first, order(&mut a, 1), "another epoch, another order");
}

#[test]
fn a_source_that_fails_midway_surfaces_its_error_without_hanging() {
    let mut failing = Loader::from_samples(|| {
        (0..1000).map(|i| {
            if i == 500 {
                Err(elegy::Error::Data(
                    "the disk went away at sample 500".into(),
                ))
            } else {
                Ok(Batch::xy(Tensor::zeros(&[64]), Tensor::scalar(1.0)))
            }
        })
    })
    .batch(16)
    .prefetch(2);
    let mut r = mlp_runner();
    let err = r
        .fit_dataset(&mut failing, quiet(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the disk went away at sample 500"), "{err}");
}

#[test]
fn ragged_samples_are_an_error_naming_the_sample() {
    let mut ragged = Loader::from_samples(|| {
        (0..8).map(|i| {
            let len = if i == 5 { 3 } else { 4 };
            Ok(Batch::xy(Tensor::zeros(&[len]), Tensor::scalar(0.0)))
        })
    })
    .batch(8);
    let mut r = mlp_runner();
    let err = r
        .fit_dataset(&mut ragged, quiet(1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x: sample 5 is a tensor of shape [3] but sample 0 is a tensor of shape [4]"),
        "{err}"
    );
}

#[test]
fn nan_in_inputs_is_reported_with_the_sample_not_trained_on() {
    let (x, y) = digits();
    let mut values = x.to_array();
    values[[17, 3]] = f32::NAN;
    let mut r = mlp_runner();
    let err = r
        .fit(Tensor::new(values), y.clone(), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("fit: x holds NaN at sample 17"), "{err}");
    // Streamed: counted across batches.
    let mut stream = Loader::from_samples(|| {
        (0..40).map(|i| {
            let v = if i == 37 { f32::INFINITY } else { 0.5 };
            Ok(Batch::xy(Tensor::full(&[64], v), Tensor::scalar(1.0)))
        })
    })
    .batch(16);
    let err = r
        .fit_dataset(&mut stream, quiet(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("fit: x holds inf at sample 37"), "{err}");
}

/// Two inputs (a tuple) and two named outputs: the digit and whether it is odd.
struct TwoHeads;

impl Model for TwoHeads {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let (left, right) = (
            ctx.x.part("0")?.as_tensor("x.0")?,
            ctx.x.part("1")?.as_tensor("x.1")?,
        );
        let x = Tensor::concat(&[left.clone(), right.clone()], -1)?;
        let params = if ctx.initializing {
            let (k1, k2) = ctx.states.rng.split();
            elegy::TensorMap::new()
                .with(
                    "digit",
                    elegy::Initializer::GlorotUniform.init(&[64, 10], k1)?,
                )
                .with("odd", elegy::Initializer::GlorotUniform.init(&[64, 2], k2)?)
        } else {
            ctx.states.net_params.clone()
        };
        let y: Data = [
            ("digit", x.matmul(params.require("digit")?)?),
            ("odd", x.matmul(params.require("odd")?)?),
        ]
        .into_iter()
        .collect();
        Ok(PredStep::new(y, ctx.states.with_net_params(params)))
    }
}

#[test]
fn tuple_inputs_and_named_outputs_flow_through_fit_evaluate_and_predict() {
    let (x, y) = digits();
    let (left, right) = (x.slice(1, 0, 32).unwrap(), x.slice(1, 32, 64).unwrap());
    let odd = Tensor::new(y.view().mapv(|v| v % 2.0));
    let inputs: Data = (left, right).into();
    let targets: Data = [("digit", y), ("odd", odd)].into_iter().collect();
    let mut r = Runner::new(TwoHeads)
        .output_loss("digit", SparseCategoricalCrossentropy::from_logits(), 1.0)
        .output_loss("odd", SparseCategoricalCrossentropy::from_logits(), 0.5)
        .output_metric("digit", SparseCategoricalAccuracy)
        .output_metric("odd", SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(0)
        .build()
        .unwrap();
    let history = r.fit(inputs.clone(), targets.clone(), quiet(5)).unwrap();
    assert!(history.last("digit/sparse_categorical_accuracy").unwrap() > 0.9);
    assert!(history.last("odd/sparse_categorical_accuracy").unwrap() > 0.8);
    let logs = r
        .evaluate(inputs.clone(), targets, EvaluateOptions::default())
        .unwrap();
    let total = logs["digit/sparse_categorical_crossentropy_loss"]
        + logs["odd/sparse_categorical_crossentropy_loss"];
    assert!((logs["loss"] - total).abs() < 1e-4, "{logs:?}");
    let pred = r.predict(inputs, PredictOptions::default()).unwrap();
    assert_eq!(
        pred.part("odd").unwrap().as_tensor("odd").unwrap().shape(),
        &[1797, 2]
    );
}

#[test]
fn named_map_inputs_reach_the_model_batched_in_the_same_structure() {
    use elegy::module::layers::Linear;
    use elegy::module::{Module, ModuleContext};
    /// Sums its two named inputs' linear maps.
    struct Both;
    impl Module for Both {
        fn kind(&self) -> &'static str {
            "Both"
        }
        fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
            Err(elegy::Error::Data(format!(
                "Both wants a map, got {:?}",
                x.shape()
            )))
        }
        fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
            let a = ctx.call(&Linear::new(10).named("a"), x.part("a")?.as_tensor("a")?)?;
            let b = ctx.call(&Linear::new(10).named("b"), x.part("b")?.as_tensor("b")?)?;
            Ok(a.add(&b)?.into())
        }
    }
    let (x, y) = digits();
    let inputs: Data = [
        ("a", x.slice(1, 0, 40).unwrap()),
        ("b", x.slice(1, 40, 64).unwrap()),
    ]
    .into_iter()
    .collect();
    let mut r = Runner::for_module(Both)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(0)
        .build()
        .unwrap();
    let history = r.fit(inputs.clone(), y.clone(), quiet(5)).unwrap();
    assert!(history.last("sparse_categorical_accuracy").unwrap() > 0.9);
    let logs = r
        .evaluate(inputs.clone(), y, EvaluateOptions::default())
        .unwrap();
    assert!(logs["sparse_categorical_accuracy"] > 0.9);
    let pred = r.predict(inputs, PredictOptions::default()).unwrap();
    assert_eq!(pred.as_tensor("y").unwrap().shape(), &[1797, 10]);
}

#[test]
fn a_batch_size_larger_than_the_stream_gives_one_batch_of_everything() {
    // The batch's room grows with its samples: a huge size neither overflows nor aborts.
    let (x, y) = digits();
    let counter = Arc::new(AtomicUsize::new(0));
    let mut loader = digit_samples(&x, &y, counter).batch(usize::MAX);
    let sizes: Vec<usize> = loader
        .batches(0)
        .unwrap()
        .map(|b| b.and_then(|b| b.num_samples()))
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(sizes, vec![1797]);
}

#[test]
fn streamed_sample_weights_that_are_not_finite_are_an_error() {
    let loader = Loader::from_batches(|| {
        (0..2).map(|i| {
            let weight = if i == 1 { f32::NAN } else { 1.0 };
            Ok(Batch::xy(Tensor::zeros(&[4, 3]), Tensor::zeros(&[4]))
                .with_sample_weight(Tensor::full(&[4], weight)))
        })
    });
    let mut loader = loader;
    let err = Runner::for_module(Mlp::new(&[2]))
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Adam::new(1e-2))
        .build()
        .unwrap()
        .fit_dataset(&mut loader, quiet(1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sample_weight holds NaN for sample 4"),
        "{err}"
    );
}
