//! Every sample given to a loop is trained on, evaluated or predicted exactly once per pass,
//! with its own weight: the splits are exact, the validation part keeps its weights, and the
//! batch a stream initializes the model from is trained on.

use std::sync::{Arc, Mutex};

use elegy::callbacks::{Callback, CallbackContext, LambdaCallback, LogValues};
use elegy::data::{Batch, Batches, Dataset};
use elegy::losses::MeanSquaredError;
use elegy::optimizers::Sgd;
use elegy::step::PredContext;
use elegy::{EvaluateOptions, FitOptions, Model, PredStep, Result, Runner, Tensor, TensorMap};

/// y = x w over one feature.
struct Scale;

impl Model for Scale {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        let params = if ctx.initializing {
            TensorMap::new().with("w", Tensor::ones(&[1, 1]))
        } else {
            ctx.states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?;
        Ok(PredStep::new(y, ctx.states.with_net_params(params)))
    }
}

fn runner() -> Runner<Scale> {
    Runner::new(Scale)
        .loss(MeanSquaredError)
        .optimizer(Sgd::new(0.01))
        .build()
        .unwrap()
}

/// `n` samples x = i, y = 2 i, as columns.
fn samples(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let y: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
    (
        Tensor::from_vec(x, &[n, 1]).unwrap(),
        Tensor::from_vec(y, &[n, 1]).unwrap(),
    )
}

/// Counts the samples each hook saw in batches: training and evaluation.
#[derive(Clone, Default)]
struct BatchCounter {
    train: Arc<Mutex<usize>>,
    test: Arc<Mutex<usize>>,
}

impl Callback for BatchCounter {
    fn on_train_batch_end(
        &mut self,
        _: usize,
        _: &mut CallbackContext<'_>,
        _: &LogValues,
    ) -> Result<()> {
        *self.train.lock().unwrap() += 1;
        Ok(())
    }
    fn on_test_batch_end(
        &mut self,
        _: usize,
        _: &mut CallbackContext<'_>,
        _: &LogValues,
    ) -> Result<()> {
        *self.test.lock().unwrap() += 1;
        Ok(())
    }
}

#[test]
fn validation_split_of_decimal_fractions_is_exact() {
    for (n, split, train, validation) in
        [(100, 0.2, 80, 20), (10, 0.25, 7, 3), (1000, 0.1, 900, 100)]
    {
        let (x, y) = samples(n);
        let counter = BatchCounter::default();
        let options = FitOptions {
            batch_size: 1,
            validation_split: split,
            verbose: 0,
            callbacks: vec![Box::new(counter.clone())],
            ..Default::default()
        };
        runner().fit(x, y, options).unwrap();
        assert_eq!(*counter.train.lock().unwrap(), train, "{split} of {n}");
        assert_eq!(*counter.test.lock().unwrap(), validation, "{split} of {n}");
    }
}

#[test]
fn the_validation_split_keeps_its_sample_weights() {
    let (x, y) = samples(10);
    // The last 5 samples (the validation part) weigh 0 but one.
    let weights: Vec<f32> = (0..10)
        .map(|i| if i < 5 || i == 7 { 1.0 } else { 0.0 })
        .collect();
    let weights = Tensor::from(weights);
    let mut r = runner();
    let options = FitOptions {
        batch_size: 5,
        validation_split: 0.5,
        sample_weight: Some(weights.clone()),
        shuffle: false,
        verbose: 0,
        ..Default::default()
    };
    let history = r.fit(x.clone(), y.clone(), options).unwrap();
    let val_loss = history.last("val_loss").unwrap();
    let tail: Vec<usize> = (5..10).collect();
    let evaluate = EvaluateOptions {
        sample_weight: Some(Tensor::new(weights.view().select(ndarray::Axis(0), &tail))),
        ..Default::default()
    };
    let (vx, vy) = (
        elegy::Data::from(x).select(&tail).unwrap(),
        elegy::Data::from(y).select(&tail).unwrap(),
    );
    let weighted = r.evaluate(vx.clone(), vy.clone(), evaluate).unwrap()["loss"];
    let unweighted = r.evaluate(vx, vy, EvaluateOptions::default()).unwrap()["loss"];
    assert_eq!(val_loss, weighted);
    assert_ne!(val_loss, unweighted);
}

/// A stream that cannot restart: every call to `batches` goes on where the last stopped.
struct OneShot {
    left: Arc<Mutex<std::vec::IntoIter<Batch>>>,
}

impl Dataset for OneShot {
    fn batches(&mut self, _epoch: usize) -> Result<Batches<'_>> {
        let left = self.left.clone();
        Ok(Box::new(std::iter::from_fn(move || {
            left.lock().unwrap().next().map(Ok)
        })))
    }
}

#[test]
fn fit_dataset_on_a_one_shot_stream_trains_on_the_batch_it_initialized_from() {
    let batches: Vec<Batch> = (0..5)
        .map(|_| {
            let (x, y) = samples(2);
            Batch::xy(x, y)
        })
        .collect();
    let mut stream = OneShot {
        left: Arc::new(Mutex::new(batches.into_iter())),
    };
    let trained = Arc::new(Mutex::new(0));
    let count = trained.clone();
    let callback = LambdaCallback::new().on_train_batch_end(move |_, _, _| {
        *count.lock().unwrap() += 1;
        Ok(())
    });
    let options = FitOptions {
        verbose: 0,
        callbacks: vec![Box::new(callback)],
        ..Default::default()
    };
    runner().fit_dataset(&mut stream, options).unwrap();
    assert_eq!(*trained.lock().unwrap(), 5);
}
