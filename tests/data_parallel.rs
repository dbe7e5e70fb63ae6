//! Data-parallel training on the thread backend (2 and 3 ranks in one process): the exactness
//! oracle against one process at the same global batch, identical ranks, sharding of odd sizes,
//! global logs, callbacks on rank 0, agreed stopping, saving and resuming, and failing ranks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use elegy::callbacks::{Callback, CallbackContext, LambdaCallback, LogValues};
use elegy::distributed::{Collective, ThreadGroup};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::Sequential;
use elegy::module::layers::{BatchNorm, Linear, Relu};
use elegy::optimizers::Adam;
use elegy::runner::RunnerBuilder;
use elegy::{EvaluateOptions, FitOptions, History, Runner, Tensor, TensorMap};
use elegy_core::Error;
use elegy_core::model::Defaults;

/// 97 samples of 6 features and 3 classes: a size no rank count or batch size divides.
fn data() -> (Tensor, Tensor) {
    let n = 97;
    let x: Vec<f32> = (0..n * 6)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let y: Vec<f32> = (0..n).map(|i| ((i * 7 + i / 5) % 3) as f32).collect();
    (Tensor::from_vec(x, &[n, 6]).unwrap(), Tensor::from(y))
}

fn builder(batch_norm: bool) -> RunnerBuilder<Defaults> {
    let mut model = Sequential::new().layer(Linear::new(16));
    if batch_norm {
        model = model.layer(BatchNorm::new());
    }
    let model = model.layer(Relu).layer(Linear::new(3));
    Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(11)
}

fn options(epochs: usize, batch_size: usize) -> FitOptions {
    FitOptions {
        epochs,
        batch_size,
        // Validated on the last 20 samples: the validation is sharded and reduced too.
        validation_split: 0.2,
        verbose: 0,
        ..Default::default()
    }
}

/// The largest difference between two parameter maps, relative to the largest magnitude of
/// the tensor it is in (max |a - b| / max |a|, per tensor): what "within 1e-5 relative" means
/// for a model's parameters, where an element near 0 would make element-wise ratios meaningless.
fn max_relative_difference(a: &TensorMap, b: &TensorMap) -> f32 {
    assert_eq!(a.names().collect::<Vec<_>>(), b.names().collect::<Vec<_>>());
    a.iter()
        .zip(b.iter())
        .map(|((_, a), (_, b))| {
            let (a, b) = (a.to_vec(), b.to_vec());
            let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
            let worst = a
                .iter()
                .zip(&b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            worst / scale
        })
        .fold(0.0, f32::max)
}

/// Trains on `ranks` ranks (0: one process without data parallelism) and returns each rank's
/// parameters and history.
fn train(ranks: usize, batch_size: usize, epochs: usize) -> Vec<(TensorMap, History)> {
    let (x, y) = data();
    if ranks == 0 {
        let mut runner = builder(false).build().unwrap();
        let history = runner.fit(x, y, options(epochs, batch_size)).unwrap();
        return vec![(runner.states().net_params.clone(), history)];
    }
    ThreadGroup::run(ranks, |rank| {
        let mut runner = builder(false).data_parallel(rank).build().unwrap();
        let history = runner
            .fit(x.clone(), y.clone(), options(epochs, batch_size))
            .unwrap();
        (runner.states().net_params.clone(), history)
    })
}

#[test]
fn two_and_three_ranks_train_as_one_process_at_the_global_batch() {
    // 77 training samples at batch 10 (20 held out): 8 batches an epoch, 7 epochs = 56 Adam
    // steps; 10 over 3 ranks is 4 + 3 + 3, and the last batch of 7 is 3 + 2 + 2.
    let single = train(0, 10, 7);
    let (reference, reference_history) = &single[0];
    for ranks in [2, 3] {
        let outcome = train(ranks, 10, 7);
        for (rank, (params, history)) in outcome.iter().enumerate() {
            let difference = max_relative_difference(reference, params);
            assert!(
                difference < 1e-5,
                "{ranks} ranks, rank {rank}: parameters differ by {difference} relative"
            );
            // Every rank holds the same model, bit for bit, and the same logs.
            assert_eq!(params, &outcome[0].0, "{ranks} ranks: rank {rank} differs");
            assert_eq!(history.logs, outcome[0].1.logs);
        }
        // The logs are over all samples: the same loss and accuracy as one process.
        let (a, b) = (&reference_history.logs, &outcome[0].1.logs);
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (name, values) in a {
            for (x, y) in values.iter().zip(&b[name]) {
                assert!(
                    (x - y).abs() < 1e-5,
                    "{ranks} ranks, {name}: {x} against {y}"
                );
            }
        }
    }
}

#[test]
fn one_rank_is_bit_identical_to_no_data_parallelism() {
    let single = train(0, 16, 3);
    let one = train(1, 16, 3);
    assert_eq!(single[0].0, one[0].0);
    assert_eq!(single[0].1.logs, one[0].1.logs);
}

#[test]
fn a_batch_smaller_than_the_ranks_trains_exactly_too() {
    // 77 = 2 x 38 + 1: the last batch has one sample, so two of three ranks have none.
    let single = train(0, 38, 2);
    let three = train(3, 38, 2);
    let difference = max_relative_difference(&single[0].0, &three[0].0);
    assert!(difference < 1e-5, "{difference}");
}

#[test]
fn evaluate_is_sharded_and_reduced() {
    let (x, y) = data();
    let mut single = builder(false).build().unwrap();
    single.fit(x.clone(), y.clone(), options(2, 16)).unwrap();
    let expected = single
        .evaluate(
            x.clone(),
            y.clone(),
            EvaluateOptions {
                batch_size: 10,
                ..Default::default()
            },
        )
        .unwrap();
    let logs = ThreadGroup::run(3, |rank| {
        let mut runner = builder(false).data_parallel(rank).build().unwrap();
        runner.fit(x.clone(), y.clone(), options(2, 16)).unwrap();
        let options = EvaluateOptions {
            batch_size: 10,
            ..Default::default()
        };
        runner.evaluate(x.clone(), y.clone(), options).unwrap()
    });
    for rank_logs in &logs {
        assert_eq!(rank_logs, &logs[0]);
        for (name, value) in &expected {
            assert!((value - rank_logs[name]).abs() < 1e-5, "{name}");
        }
    }
}

#[test]
fn batch_norm_statistics_stay_the_same_on_every_rank() {
    let (x, y) = data();
    let states = ThreadGroup::run(2, |rank| {
        let mut runner = builder(true).data_parallel(rank).build().unwrap();
        runner.fit(x.clone(), y.clone(), options(2, 16)).unwrap();
        runner.states().clone()
    });
    assert!(!states[0].net_states.is_empty());
    assert_eq!(states[0].net_states, states[1].net_states);
    assert_eq!(states[0].net_params, states[1].net_params);
}

/// Counts the epochs it saw on each rank.
struct CountEpochs {
    chief_only: bool,
    seen: Arc<[AtomicUsize; 3]>,
}

impl Callback for CountEpochs {
    fn chief_only(&self) -> bool {
        self.chief_only
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        ctx: &mut CallbackContext<'_>,
        _logs: &mut LogValues,
    ) -> elegy::Result<()> {
        self.seen[ctx.rank()].fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn side_effect_callbacks_run_on_rank_0_and_a_stop_on_any_rank_stops_all() {
    let (x, y) = data();
    let everywhere = Arc::new([(); 3].map(|_| AtomicUsize::new(0)));
    let chief = Arc::new([(); 3].map(|_| AtomicUsize::new(0)));
    let histories = ThreadGroup::run(3, |rank| {
        let mut runner = builder(false).data_parallel(rank).build().unwrap();
        let stop_on_rank_2 = LambdaCallback::new().on_epoch_end(|epoch, ctx, _logs| {
            if ctx.rank() == 2 && epoch == 1 {
                ctx.stop_training = true;
            }
            Ok(())
        });
        let mut options = options(6, 16);
        options.callbacks = vec![
            Box::new(CountEpochs {
                chief_only: false,
                seen: everywhere.clone(),
            }),
            Box::new(CountEpochs {
                chief_only: true,
                seen: chief.clone(),
            }),
            Box::new(stop_on_rank_2),
        ];
        runner.fit(x.clone(), y.clone(), options).unwrap()
    });
    // Stopped after epoch 1 on every rank.
    for history in &histories {
        assert_eq!(history.epochs.len(), 2);
    }
    let counts = |c: &[AtomicUsize; 3]| c.each_ref().map(|a| a.load(Ordering::SeqCst));
    assert_eq!(counts(&everywhere), [2, 2, 2]);
    assert_eq!(counts(&chief), [2, 0, 0]);
}

#[test]
fn a_resumed_data_parallel_fit_equals_an_uninterrupted_one() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt");
    let uninterrupted = train(2, 16, 4);
    let resumed = ThreadGroup::run(2, |rank| {
        let group = Arc::new(rank);
        let mut first = builder(false).data_parallel(group.clone()).build().unwrap();
        first.fit(x.clone(), y.clone(), options(2, 16)).unwrap();
        first.save(&path).unwrap();
        let mut second = builder(false).data_parallel(group).build().unwrap();
        second.load(&path).unwrap();
        let mut rest = options(4, 16);
        rest.initial_epoch = second.next_epoch();
        second.fit(x.clone(), y.clone(), rest).unwrap();
        second.states().net_params.clone()
    });
    for params in &resumed {
        assert_eq!(params, &uninterrupted[0].0);
    }
}

#[test]
fn a_failing_rank_stops_the_others_with_its_rank_named() {
    let (x, y) = data();
    let outcomes = ThreadGroup::run(3, |rank| {
        let mine = rank.rank();
        let mut runner = builder(false).data_parallel(rank).build().unwrap();
        // Rank 1's data holds a NaN: it fails before training, the others must not wait.
        let x = if mine == 1 {
            let mut values = x.to_vec();
            values[7] = f32::NAN;
            Tensor::from_vec(values, x.shape()).unwrap()
        } else {
            x.clone()
        };
        runner.fit(x, y.clone(), options(2, 16)).map(|_| ())
    });
    let own = outcomes[1].as_ref().unwrap_err().to_string();
    assert!(own.contains("NaN"), "{own}");
    for rank in [0, 2] {
        match &outcomes[rank] {
            Err(Error::Distributed { rank: 1, message }) => {
                assert!(message.contains("NaN"), "{message}")
            }
            other => panic!("rank {rank}: {other:?}"),
        }
    }
}

#[test]
fn a_panicking_rank_stops_the_others() {
    let (x, y) = data();
    let survivors = Arc::new(AtomicUsize::new(0));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ThreadGroup::run(2, |rank| {
            let mine = rank.rank();
            let mut runner = builder(false).data_parallel(rank).build().unwrap();
            let mut options = options(3, 16);
            options.callbacks = vec![Box::new(LambdaCallback::new().on_train_batch_end(
                move |batch, _ctx, _logs| {
                    if mine == 1 && batch == 2 {
                        panic!("rank 1 gives up");
                    }
                    Ok(())
                },
            ))];
            if let Err(Error::Distributed { rank: 1, .. }) =
                runner.fit(x.clone(), y.clone(), options)
            {
                survivors.fetch_add(1, Ordering::SeqCst);
            }
        })
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"rank 1 gives up"));
    assert_eq!(survivors.load(Ordering::SeqCst), 1);
}

#[test]
fn train_on_batch_shards_its_batch() {
    let (x, y) = data();
    let mut single = builder(false).build().unwrap();
    let expected = single.train_on_batch(x.clone(), y.clone()).unwrap();
    let outcomes = ThreadGroup::run(2, |rank| {
        let mut runner = builder(false).data_parallel(rank).build().unwrap();
        let logs = runner.train_on_batch(x.clone(), y.clone()).unwrap();
        (logs, runner.states().net_params.clone())
    });
    let difference = max_relative_difference(&single.states().net_params, &outcomes[0].1);
    assert!(difference < 1e-5, "{difference}");
    assert!((expected["loss"] - outcomes[0].0["loss"]).abs() < 1e-5);
    assert_eq!(outcomes[0].1, outcomes[1].1);
}

#[test]
fn the_collectives_of_a_thread_group() {
    let results = ThreadGroup::run(3, |rank| {
        let r = rank.rank() as f32;
        let mut sum = [r, 2.0 * r];
        rank.all_reduce_sum(&mut sum)?;
        let mut root = [r; 2];
        rank.broadcast(&mut root, 2)?;
        rank.barrier()?;
        Ok::<_, Error>((sum, root, rank.world_size()))
    });
    for result in results {
        assert_eq!(result.unwrap(), ([3.0, 6.0], [2.0, 2.0], 3));
    }
    // Ranks calling different operations get an error, not a hang.
    let mismatched = ThreadGroup::run(2, |rank| {
        if rank.rank() == 0 {
            rank.all_reduce_sum(&mut [1.0, 2.0])
        } else {
            rank.all_reduce_sum(&mut [1.0])
        }
    });
    for result in mismatched {
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("different collective")
        );
    }
}
