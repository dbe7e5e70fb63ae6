//! The built-in callbacks, each shown firing where it should and not firing where it should not,
//! on a model whose losses are scripted so every decision is deterministic.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use elegy::callbacks::{
    Callback, CsvLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, Mode, Progress,
    ReduceLrOnPlateau, StopOnInterrupt, TerminateOnNaN,
};
use elegy::step::{InitContext, StepContext};
use elegy::{
    FitOptions, History, Logs, Model, Result, Runner, States, Tensor, TensorMap, TestStep,
    TrainStep,
};

/// A model whose `k`-th training step reports the loss `train[k]`, and whose evaluation after `k`
/// steps reports `val[k - 1]`. Its parameter and its network state `steps` count the steps
/// taken, so the weights of every epoch are known. The learning rate lives in optimizer state
/// (as the built-in optimizers keep it), which `fit` logs as `learning_rate` (the runner has no
/// optimizer to ask).
struct Scripted {
    train: Vec<f32>,
    val: Vec<f32>,
    lr_in_state: bool,
}

impl Scripted {
    fn new(train: &[f32]) -> Scripted {
        Scripted {
            train: train.to_vec(),
            val: Vec::new(),
            lr_in_state: true,
        }
    }

    fn with_val(mut self, val: &[f32]) -> Scripted {
        self.val = val.to_vec();
        self
    }

    fn without_lr_state(mut self) -> Scripted {
        self.lr_in_state = false;
        self
    }
}

fn steps_of(states: &States) -> Result<usize> {
    Ok(states.net_params.require("steps")?.item()? as usize)
}

impl Model for Scripted {
    fn init_step(&self, ctx: InitContext<'_>) -> Result<States> {
        let zero = TensorMap::new().with("steps", Tensor::scalar(0.0));
        let optimizer = if self.lr_in_state {
            TensorMap::new().with("learning_rate", Tensor::scalar(0.1))
        } else {
            TensorMap::new()
        };
        Ok(ctx
            .states
            .with_net_params(zero.clone())
            .with_net_states(zero)
            .with_optimizer_states(optimizer))
    }

    fn train_step(&self, ctx: StepContext<'_>) -> Result<TrainStep> {
        let steps = steps_of(&ctx.states)?;
        let mut logs = Logs::new();
        logs.batch("loss", self.train[steps]);
        let next = TensorMap::new().with("steps", Tensor::scalar((steps + 1) as f32));
        Ok(TrainStep {
            logs,
            states: ctx
                .states
                .with_net_params(next.clone())
                .with_net_states(next),
        })
    }

    fn test_step(&self, ctx: StepContext<'_>) -> Result<TestStep> {
        let loss = self.val[steps_of(&ctx.states)? - 1];
        let mut logs = Logs::new();
        logs.batch("loss", loss);
        Ok(TestStep {
            loss: Tensor::scalar(loss),
            logs,
            states: ctx.states,
        })
    }
}

/// `n` samples: with batches of one, `n` steps per epoch.
fn samples(n: usize) -> Tensor {
    Tensor::zeros(&[n, 1])
}

fn options(epochs: usize, callbacks: Vec<Box<dyn Callback>>) -> FitOptions {
    FitOptions {
        epochs,
        batch_size: 1,
        shuffle: false,
        verbose: 0,
        callbacks,
        ..Default::default()
    }
}

/// Fits `model` for `epochs` epochs of one step each.
fn fit(
    model: Scripted,
    epochs: usize,
    callbacks: Vec<Box<dyn Callback>>,
) -> (Runner<Scripted>, Result<History>) {
    let mut runner = Runner::new(model).build().unwrap();
    let history = runner.fit(samples(1), samples(1), options(epochs, callbacks));
    (runner, history)
}

fn epochs_run(history: &History) -> usize {
    history.epochs.len()
}

fn steps(runner: &Runner<Scripted>) -> usize {
    steps_of(runner.states()).unwrap()
}

fn learning_rate(runner: &Runner<Scripted>) -> f32 {
    let state = &runner.states().optimizer_states;
    state.require("learning_rate").unwrap().item().unwrap()
}

fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-6, "{actual:?} vs {expected:?}");
    }
}

/// A fresh folder for one test's files, removed when the test is done.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("elegy-callbacks-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the progress display writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_string).collect()
    }
}

/// `Epoch 1/2 - 3/3 - 0.0s - loss: ...` split around its time: (before, seconds, after).
fn split_time(line: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = line.splitn(4, " - ").collect();
    let head = &line[..parts[0].len() + 3 + parts[1].len()];
    (head, parts[2], parts[3])
}

// --- progress display ---

#[test]
fn progress_writes_one_keras_style_line_per_epoch_when_not_on_a_terminal() {
    let out = Captured::default();
    let model =
        Scripted::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).with_val(&[0.0, 0.0, 0.5, 0.0, 0.0, 0.25]);
    let mut runner = Runner::new(model).build().unwrap();
    let options = FitOptions {
        validation_data: Some((samples(1), samples(1)).into()),
        ..options(2, vec![Box::new(Progress::to_writer(out.clone()))])
    };
    runner.fit(samples(3), samples(3), options).unwrap();

    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let expected = [
        (
            "Epoch 1/2 - 3/3",
            "loss: 2.0000 - learning_rate: 0.1000 - val_loss: 0.5000",
        ),
        (
            "Epoch 2/2 - 3/3",
            "loss: 5.0000 - learning_rate: 0.1000 - val_loss: 0.2500",
        ),
    ];
    for (line, (head, logs)) in lines.iter().zip(expected) {
        let (h, seconds, rest) = split_time(line);
        assert_eq!((h, rest), (head, logs), "{line}");
        let number = seconds.strip_suffix('s').unwrap();
        assert!(
            number.parse::<f64>().is_ok() && number.contains('.'),
            "{line}"
        );
    }
}

#[test]
fn progress_of_a_stream_of_unknown_length_counts_the_batches_it_ran() {
    let out = Captured::default();
    let mut loader = elegy::data::Loader::from_batches(|| {
        (0..3).map(|_| Ok(elegy::data::Batch::xy(samples(1), samples(1))))
    });
    let mut runner = Runner::new(Scripted::new(&[1.0, 2.0, 3.0]))
        .build()
        .unwrap();
    let options = options(1, vec![Box::new(Progress::to_writer(out.clone()))]);
    runner.fit_dataset(&mut loader, options).unwrap();
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("Epoch 1/1 - 3/3 - "), "{lines:?}");
}

#[test]
fn progress_counts_only_the_batches_run_when_training_stops_mid_epoch() {
    let out = Captured::default();
    let model = Scripted::new(&[1.0, f32::NAN, 1.0, 1.0]);
    let callbacks: Vec<Box<dyn Callback>> = vec![
        Box::new(Progress::to_writer(out.clone())),
        Box::new(TerminateOnNaN::new()),
    ];
    let mut runner = Runner::new(model).build().unwrap();
    runner
        .fit(samples(4), samples(4), options(3, callbacks))
        .unwrap();
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("Epoch 1/3 - 2/4 - "), "{}", lines[0]);
}

// --- EarlyStopping ---

#[test]
fn early_stopping_stops_once_patience_runs_out() {
    let stop = EarlyStopping::new("loss").patience(2);
    let (_, history) = fit(
        Scripted::new(&[5.0, 4.0, 4.5, 4.6, 4.7, 4.8]),
        6,
        vec![Box::new(stop)],
    );
    // Best at epoch 1; epochs 2 and 3 do not improve.
    assert_eq!(history.unwrap().epochs, vec![0, 1, 2, 3]);
}

#[test]
fn early_stopping_does_not_stop_while_the_log_improves() {
    let stop = EarlyStopping::new("loss").patience(0);
    let (_, history) = fit(
        Scripted::new(&[5.0, 4.0, 3.0, 2.0, 1.0]),
        5,
        vec![Box::new(stop)],
    );
    assert_eq!(epochs_run(&history.unwrap()), 5);
}

#[test]
fn early_stopping_ignores_improvements_smaller_than_min_delta() {
    let script = [5.0, 4.99, 4.98, 4.97, 4.96];
    let strict = EarlyStopping::new("loss").patience(1).min_delta(0.1);
    let (_, history) = fit(Scripted::new(&script), 5, vec![Box::new(strict)]);
    assert_eq!(epochs_run(&history.unwrap()), 2);
    let lax = EarlyStopping::new("loss").patience(1);
    let (_, history) = fit(Scripted::new(&script), 5, vec![Box::new(lax)]);
    assert_eq!(epochs_run(&history.unwrap()), 5);
}

#[test]
fn early_stopping_in_max_mode_counts_rising_values_as_improvements() {
    let script = [1.0, 2.0, 3.0, 2.0, 1.0];
    let max = EarlyStopping::new("loss").patience(1).mode(Mode::Max);
    let (_, history) = fit(Scripted::new(&script), 5, vec![Box::new(max)]);
    assert_eq!(epochs_run(&history.unwrap()), 4);
    let min = EarlyStopping::new("loss").patience(1).mode(Mode::Min);
    let (_, history) = fit(Scripted::new(&script), 5, vec![Box::new(min)]);
    assert_eq!(epochs_run(&history.unwrap()), 2);
}

#[test]
fn early_stopping_with_an_unbeaten_baseline_stops_as_soon_as_progress_stalls() {
    let script = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7];
    let unreached = EarlyStopping::new("loss").patience(2).baseline(1.0);
    let (_, history) = fit(Scripted::new(&script), 6, vec![Box::new(unreached)]);
    assert_eq!(epochs_run(&history.unwrap()), 4);
    let beaten = EarlyStopping::new("loss").patience(2).baseline(10.0);
    let (_, history) = fit(Scripted::new(&script), 6, vec![Box::new(beaten)]);
    assert_eq!(epochs_run(&history.unwrap()), 5);
}

#[test]
fn early_stopping_ignores_epochs_before_start_from_epoch() {
    let script = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let warm = EarlyStopping::new("loss").patience(1).start_from_epoch(3);
    let (_, history) = fit(Scripted::new(&script), 6, vec![Box::new(warm)]);
    assert_eq!(epochs_run(&history.unwrap()), 5);
    let cold = EarlyStopping::new("loss").patience(1);
    let (_, history) = fit(Scripted::new(&script), 6, vec![Box::new(cold)]);
    assert_eq!(epochs_run(&history.unwrap()), 2);
}

#[test]
fn early_stopping_restores_the_best_epochs_parameters_and_network_state_after_stopping() {
    let script = [3.0, 1.0, 2.0, 2.0, 2.0, 2.0];
    let restore = EarlyStopping::new("loss")
        .patience(2)
        .restore_best_weights(true);
    let (runner, history) = fit(Scripted::new(&script), 6, vec![Box::new(restore)]);
    assert_eq!(epochs_run(&history.unwrap()), 4);
    // The best epoch is the second: two steps taken by its end.
    assert_eq!(steps(&runner), 2);
    let state = runner.states().net_states.require("steps").unwrap();
    assert_eq!(state.item().unwrap(), 2.0);

    let keep = EarlyStopping::new("loss").patience(2);
    let (runner, _) = fit(Scripted::new(&script), 6, vec![Box::new(keep)]);
    assert_eq!(steps(&runner), 4);
}

#[test]
fn early_stopping_restores_the_best_weights_even_when_patience_never_ran_out() {
    let restore = EarlyStopping::new("loss")
        .patience(5)
        .restore_best_weights(true);
    let (runner, history) = fit(Scripted::new(&[3.0, 1.0, 2.0]), 3, vec![Box::new(restore)]);
    assert_eq!(epochs_run(&history.unwrap()), 3);
    assert_eq!(steps(&runner), 2);
}

#[test]
fn early_stopping_on_a_misspelt_log_is_an_error_listing_the_logs() {
    let stop = EarlyStopping::new("los").mode(Mode::Min);
    let (_, history) = fit(Scripted::new(&[1.0]), 1, vec![Box::new(stop)]);
    let err = history.unwrap_err().to_string();
    assert!(err.contains("`los`") && err.contains("\"loss\""), "{err}");
}

#[test]
fn early_stopping_on_val_loss_without_validation_is_an_error() {
    let stop = EarlyStopping::default();
    let (_, history) = fit(Scripted::new(&[1.0, 1.0]), 2, vec![Box::new(stop)]);
    let err = history.unwrap_err().to_string();
    assert!(
        err.contains("val_loss") && err.contains("validation"),
        "{err}"
    );
}

#[test]
fn early_stopping_skips_epochs_without_validation() {
    // Validation every second epoch: val_loss exists on epochs 1, 3, 5 only.
    let val = [9.0, 1.0, 9.0, 2.0, 9.0, 3.0];
    let model = Scripted::new(&[1.0; 6]).with_val(&val);
    let mut runner = Runner::new(model).build().unwrap();
    let options = FitOptions {
        validation_data: Some((samples(1), samples(1)).into()),
        validation_freq: 2,
        ..options(6, vec![Box::new(EarlyStopping::default().patience(1))])
    };
    let history = runner.fit(samples(1), samples(1), options).unwrap();
    // Epoch 3 is the first validated epoch without improvement.
    assert_eq!(epochs_run(&history), 4);
}

#[test]
fn auto_mode_on_a_log_of_unknown_direction_is_an_error() {
    let stop = EarlyStopping::new("learning_rate");
    let (_, history) = fit(Scripted::new(&[1.0]), 1, vec![Box::new(stop)]);
    let err = history.unwrap_err().to_string();
    assert!(err.contains("Mode::Min"), "{err}");
}

// --- CsvLogger ---

#[test]
fn csv_logger_writes_a_header_and_one_row_per_epoch() {
    let dir = Scratch::new("csv_rows");
    let path = dir.join("log.csv");
    let (_, history) = fit(
        Scripted::new(&[3.0, 2.5]),
        2,
        vec![Box::new(CsvLogger::new(&path))],
    );
    history.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "epoch,learning_rate,loss\n0,0.1,3\n1,0.1,2.5\n");
}

#[test]
fn csv_logger_rows_are_on_disk_when_their_epoch_ends() {
    let dir = Scratch::new("csv_flush");
    let path = dir.join("log.csv");
    let rows = Rc::new(RefCell::new(Vec::new()));
    let seen = rows.clone();
    let reader = path.clone();
    let watch = LambdaCallback::new().on_epoch_end(move |_, _, _| {
        let text = std::fs::read_to_string(&reader).unwrap();
        seen.borrow_mut().push(text.lines().count());
        Ok(())
    });
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(CsvLogger::new(&path)), Box::new(watch)];
    fit(Scripted::new(&[1.0, 1.0, 1.0]), 3, callbacks)
        .1
        .unwrap();
    assert_eq!(*rows.borrow(), vec![2, 3, 4]);
}

#[test]
fn csv_logger_appends_rows_under_the_existing_header() {
    let dir = Scratch::new("csv_append");
    let path = dir.join("log.csv");
    let mut runner = Runner::new(Scripted::new(&[4.0, 3.0, 2.0, 1.0]))
        .build()
        .unwrap();
    let logger = || Box::new(CsvLogger::new(&path).append(true)) as Box<dyn Callback>;
    runner
        .fit(samples(1), samples(1), options(2, vec![logger()]))
        .unwrap();
    let resumed = FitOptions {
        initial_epoch: 2,
        ..options(4, vec![logger()])
    };
    runner.fit(samples(1), samples(1), resumed).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "epoch,learning_rate,loss\n0,0.1,4\n1,0.1,3\n2,0.1,2\n3,0.1,1\n"
    );
}

#[test]
fn csv_logger_without_append_starts_the_file_afresh() {
    let dir = Scratch::new("csv_rewrite");
    let path = dir.join("log.csv");
    std::fs::write(&path, "epoch,loss\n0,99\n").unwrap();
    fit(
        Scripted::new(&[1.0]),
        1,
        vec![Box::new(CsvLogger::new(&path))],
    )
    .1
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "epoch,learning_rate,loss\n0,0.1,1\n");
}

#[test]
fn csv_logger_uses_the_separator_given() {
    let dir = Scratch::new("csv_separator");
    let path = dir.join("log.csv");
    let logger = CsvLogger::new(&path).separator(';');
    fit(Scripted::new(&[1.0]), 1, vec![Box::new(logger)])
        .1
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "epoch;learning_rate;loss\n0;0.1;1\n");
}

#[test]
fn csv_logger_adds_a_column_for_a_log_first_seen_later() {
    let dir = Scratch::new("csv_widen");
    let path = dir.join("log.csv");
    let model = Scripted::new(&[1.0, 2.0]).with_val(&[0.0, 0.5]);
    let mut runner = Runner::new(model).build().unwrap();
    let options = FitOptions {
        validation_data: Some((samples(1), samples(1)).into()),
        validation_freq: 2,
        ..options(2, vec![Box::new(CsvLogger::new(&path))])
    };
    runner.fit(samples(1), samples(1), options).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "epoch,learning_rate,loss,val_loss\n0,0.1,1,NA\n1,0.1,2,0.5\n"
    );
}

// --- callbacks adding logs ---

/// A callback that logs `twice_loss` at the end of every epoch.
fn doubling() -> LambdaCallback {
    LambdaCallback::new().on_epoch_end(|_, _, logs| {
        let loss = logs["loss"];
        logs.insert("twice_loss".to_string(), 2.0 * loss);
        Ok(())
    })
}

#[test]
fn a_log_added_by_a_callback_reaches_the_history_and_a_csv_logger_after_it() {
    let dir = Scratch::new("csv_added");
    let (after, before) = (dir.join("after.csv"), dir.join("before.csv"));
    let callbacks: Vec<Box<dyn Callback>> = vec![
        Box::new(CsvLogger::new(&before)),
        Box::new(doubling()),
        Box::new(CsvLogger::new(&after)),
    ];
    let (runner, history) = fit(Scripted::new(&[3.0, 2.5]), 2, callbacks);
    let history = history.unwrap();
    assert_close(history.get("twice_loss").unwrap(), &[6.0, 5.0]);
    assert_close(runner.history().get("twice_loss").unwrap(), &[6.0, 5.0]);
    let text = std::fs::read_to_string(&after).unwrap();
    assert_eq!(
        text,
        "epoch,learning_rate,loss,twice_loss\n0,0.1,3,6\n1,0.1,2.5,5\n"
    );
    // The order rule: a logger before the callback does not see what it adds.
    let text = std::fs::read_to_string(&before).unwrap();
    assert_eq!(text, "epoch,learning_rate,loss\n0,0.1,3\n1,0.1,2.5\n");
}

#[test]
fn a_later_callback_sees_an_added_log_in_its_logs_and_in_the_runners_history() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = seen.clone();
    let reader = LambdaCallback::new().on_epoch_end(move |_, ctx, logs| {
        record
            .borrow_mut()
            .push((logs["twice_loss"], ctx.history.last("twice_loss").unwrap()));
        Ok(())
    });
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(doubling()), Box::new(reader)];
    fit(Scripted::new(&[3.0, 2.5]), 2, callbacks).1.unwrap();
    assert_eq!(*seen.borrow(), [(6.0, 6.0), (5.0, 5.0)]);
}

#[test]
fn an_added_log_may_be_a_monitored_one() {
    // Early stopping on a log another callback computes, placed before it.
    let worsening = LambdaCallback::new().on_epoch_end(|epoch, _, logs| {
        logs.insert("my_loss".to_string(), epoch as f32);
        Ok(())
    });
    let stop = EarlyStopping::new("my_loss").patience(1);
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(worsening), Box::new(stop)];
    let (_, history) = fit(Scripted::new(&[1.0; 5]), 5, callbacks);
    assert_eq!(epochs_run(&history.unwrap()), 2);
}

// --- TerminateOnNaN ---

#[test]
fn terminate_on_nan_stops_right_after_the_batch_whose_loss_is_nan() {
    let model = Scripted::new(&[1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0]);
    let mut runner = Runner::new(model).build().unwrap();
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(TerminateOnNaN::new())];
    let history = runner
        .fit(samples(3), samples(3), options(2, callbacks))
        .unwrap();
    assert_eq!(steps(&runner), 2);
    assert_eq!(epochs_run(&history), 1);
    assert!(history.last("loss").unwrap().is_nan());
}

#[test]
fn terminate_on_nan_also_stops_on_an_infinite_loss() {
    let model = Scripted::new(&[f32::INFINITY, 1.0, 1.0]);
    let mut runner = Runner::new(model).build().unwrap();
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(TerminateOnNaN::new())];
    runner
        .fit(samples(3), samples(3), options(1, callbacks))
        .unwrap();
    assert_eq!(steps(&runner), 1);
}

#[test]
fn terminate_on_nan_with_raise_error_makes_fit_fail_naming_the_batch() {
    let model = Scripted::new(&[1.0, 1.0, 1.0, 1.0, f32::NAN, 1.0]);
    let mut runner = Runner::new(model).build().unwrap();
    let ended = Rc::new(RefCell::new(false));
    let seen = ended.clone();
    let watch = LambdaCallback::new().on_train_end(move |_, _| {
        *seen.borrow_mut() = true;
        Ok(())
    });
    let callbacks: Vec<Box<dyn Callback>> = vec![
        Box::new(TerminateOnNaN::new().raise_error(true)),
        Box::new(watch),
    ];
    let err = runner
        .fit(samples(3), samples(3), options(2, callbacks))
        .unwrap_err();
    // The fifth step is the second batch (1) of the second epoch (1).
    assert!(
        matches!(err, elegy::Error::NonFiniteLoss { epoch: 1, batch: 1, loss } if loss.is_nan()),
        "{err:#?}"
    );
    assert!(
        err.to_string().contains("after batch 2 of epoch 2"),
        "{err}"
    );
    assert_eq!(steps(&runner), 5);
    // Keras' rule: raising skips the end hooks.
    assert!(!*ended.borrow());
    // The epoch that finished is in the runner's history; the broken one is not.
    assert_eq!(runner.history().epochs, [0]);
}

#[test]
fn terminate_on_nan_lets_finite_losses_train_to_the_end() {
    let model = Scripted::new(&[1.0; 6]);
    let mut runner = Runner::new(model).build().unwrap();
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(TerminateOnNaN::new())];
    runner
        .fit(samples(3), samples(3), options(2, callbacks))
        .unwrap();
    assert_eq!(steps(&runner), 6);
}

// --- ReduceLrOnPlateau ---

#[test]
fn reduce_lr_on_plateau_multiplies_the_optimizer_state_learning_rate_after_patience() {
    let reduce = ReduceLrOnPlateau::new("loss").patience(2).factor(0.5);
    let (runner, history) = fit(
        Scripted::new(&[5.0, 4.0, 4.0, 4.0, 4.0, 4.0]),
        6,
        vec![Box::new(reduce)],
    );
    // The `learning_rate` log is the rate each epoch trained with: reduced after epochs 3 and 5.
    assert_close(
        history.unwrap().get("learning_rate").unwrap(),
        &[0.1, 0.1, 0.1, 0.1, 0.05, 0.05],
    );
    assert_close(&[learning_rate(&runner)], &[0.025]);
}

#[test]
fn reduce_lr_on_plateau_leaves_the_rate_alone_while_the_log_improves() {
    let reduce = ReduceLrOnPlateau::new("loss").patience(1);
    let (runner, _) = fit(
        Scripted::new(&[5.0, 4.0, 3.0, 2.0, 1.0]),
        5,
        vec![Box::new(reduce)],
    );
    assert_close(&[learning_rate(&runner)], &[0.1]);
}

#[test]
fn reduce_lr_on_plateau_waits_out_its_cooldown_after_a_reduction() {
    let script = [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0];
    let eager = ReduceLrOnPlateau::new("loss").patience(1).factor(0.5);
    let (_, history) = fit(Scripted::new(&script), 7, vec![Box::new(eager)]);
    assert_close(
        history.unwrap().get("learning_rate").unwrap(),
        &[0.1, 0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625],
    );
    let cooled = ReduceLrOnPlateau::new("loss")
        .patience(1)
        .factor(0.5)
        .cooldown(2);
    let (_, history) = fit(Scripted::new(&script), 7, vec![Box::new(cooled)]);
    assert_close(
        history.unwrap().get("learning_rate").unwrap(),
        &[0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025],
    );
}

#[test]
fn reduce_lr_on_plateau_never_goes_below_min_lr() {
    let reduce = ReduceLrOnPlateau::new("loss")
        .patience(1)
        .factor(0.1)
        .min_lr(0.005);
    let (runner, _) = fit(Scripted::new(&[5.0; 5]), 5, vec![Box::new(reduce)]);
    assert_close(&[learning_rate(&runner)], &[0.005]);
}

#[test]
fn reduce_lr_on_plateau_needs_a_learning_rate_in_optimizer_state() {
    let reduce = ReduceLrOnPlateau::new("loss");
    let model = Scripted::new(&[1.0]).without_lr_state();
    let err = fit(model, 1, vec![Box::new(reduce)]).1.unwrap_err();
    assert!(err.to_string().contains("learning_rate"), "{err}");
}

#[test]
fn reduce_lr_on_plateau_rejects_a_factor_that_does_not_reduce() {
    let reduce = ReduceLrOnPlateau::new("loss").factor(1.5);
    let err = fit(Scripted::new(&[1.0]), 1, vec![Box::new(reduce)])
        .1
        .unwrap_err();
    assert!(err.to_string().contains("factor 1.5"), "{err}");
}

// --- LearningRateScheduler ---

#[test]
fn learning_rate_scheduler_sets_each_epochs_rate_from_the_schedule() {
    let schedule = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { 1.0 } else { lr / 2.0 });
    let (runner, history) = fit(Scripted::new(&[1.0; 3]), 3, vec![Box::new(schedule)]);
    assert_close(
        history.unwrap().get("learning_rate").unwrap(),
        &[1.0, 0.5, 0.25],
    );
    assert_close(&[learning_rate(&runner)], &[0.25]);
}

#[test]
fn learning_rate_scheduler_rejects_a_negative_rate() {
    let schedule = LearningRateScheduler::new(|_, _| -1.0);
    let err = fit(Scripted::new(&[1.0]), 1, vec![Box::new(schedule)])
        .1
        .unwrap_err();
    assert!(err.to_string().contains("-1"), "{err}");
}

// --- LambdaCallback ---

#[test]
fn lambda_callback_hooks_fire_at_every_point_of_the_loop() {
    let events = Rc::new(RefCell::new(Vec::<String>::new()));
    let log = |name: &'static str| {
        let events = events.clone();
        move || -> Result<()> {
            events.borrow_mut().push(name.to_string());
            Ok(())
        }
    };
    let (a, b, c, d, e, f, g) = (
        log("train_begin"),
        log("epoch_begin"),
        log("batch_begin"),
        log("batch_end"),
        log("test_batch"),
        log("epoch_end"),
        log("train_end"),
    );
    let hooks = LambdaCallback::new()
        .on_train_begin(move |_| a())
        .on_epoch_begin(move |_, _| b())
        .on_train_batch_begin(move |_, _| c())
        .on_train_batch_end(move |_, _, _| d())
        .on_test_batch_end(move |_, _, _| e())
        .on_epoch_end(move |_, _, _| f())
        .on_train_end(move |_, _| g());
    let model = Scripted::new(&[1.0; 4]).with_val(&[1.0; 4]);
    let mut runner = Runner::new(model).build().unwrap();
    let options = FitOptions {
        validation_data: Some((samples(1), samples(1)).into()),
        ..options(2, vec![Box::new(hooks)])
    };
    runner.fit(samples(2), samples(2), options).unwrap();
    let epoch = [
        "epoch_begin",
        "batch_begin",
        "batch_end",
        "batch_begin",
        "batch_end",
    ];
    let expected: Vec<&str> = std::iter::once("train_begin")
        .chain(epoch)
        .chain(["test_batch", "epoch_end"])
        .chain(epoch)
        .chain(["test_batch", "epoch_end", "train_end"])
        .collect();
    assert_eq!(*events.borrow(), expected);
}

#[test]
fn lambda_callback_can_stop_training_and_the_end_hook_still_runs() {
    let ended = Rc::new(RefCell::new(false));
    let flag = ended.clone();
    let hooks = LambdaCallback::new()
        .on_epoch_end(|epoch, ctx, _| {
            ctx.stop_training = epoch == 1;
            Ok(())
        })
        .on_train_end(move |_, _| {
            *flag.borrow_mut() = true;
            Ok(())
        });
    let (_, history) = fit(Scripted::new(&[1.0; 5]), 5, vec![Box::new(hooks)]);
    assert_eq!(epochs_run(&history.unwrap()), 2);
    assert!(*ended.borrow());
}

// --- StopOnInterrupt ---

/// Records whether `on_train_end` ran: where a checkpoint callback would save.
fn end_marker() -> (Rc<RefCell<bool>>, Box<dyn Callback>) {
    let ended = Rc::new(RefCell::new(false));
    let flag = ended.clone();
    let marker = LambdaCallback::new().on_train_end(move |_, _| {
        *flag.borrow_mut() = true;
        Ok(())
    });
    (ended, Box::new(marker))
}

#[test]
fn stop_on_interrupt_finishes_the_current_batch_and_runs_the_end_hooks() {
    let interrupt = Arc::new(AtomicBool::new(false));
    let press = interrupt.clone();
    let ctrl_c_during_second_batch = LambdaCallback::new().on_train_batch_begin(move |batch, _| {
        if batch == 1 {
            press.store(true, Ordering::SeqCst);
        }
        Ok(())
    });
    let (ended, marker) = end_marker();
    let callbacks: Vec<Box<dyn Callback>> = vec![
        Box::new(ctrl_c_during_second_batch),
        Box::new(StopOnInterrupt::with_flag(interrupt)),
        marker,
    ];
    let mut runner = Runner::new(Scripted::new(&[1.0; 9])).build().unwrap();
    let history = runner
        .fit(samples(3), samples(3), options(3, callbacks))
        .unwrap();
    assert_eq!(steps(&runner), 2);
    assert_eq!(epochs_run(&history), 1);
    assert!(*ended.borrow());
}

#[test]
fn stop_on_interrupt_does_nothing_without_an_interrupt() {
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(StopOnInterrupt::with_flag(Arc::new(
        AtomicBool::new(false),
    )))];
    let mut runner = Runner::new(Scripted::new(&[1.0; 6])).build().unwrap();
    runner
        .fit(samples(3), samples(3), options(2, callbacks))
        .unwrap();
    assert_eq!(steps(&runner), 6);
}

/// The real thing: SIGINT sent to this test process during a fit.
#[cfg(unix)]
#[test]
fn stop_on_interrupt_catches_a_real_ctrl_c_and_a_later_fit_starts_afresh() {
    let ctrl_c_during_second_batch = LambdaCallback::new().on_train_batch_begin(|batch, _| {
        if batch == 1 {
            let pid = std::process::id().to_string();
            let status = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .expect("kill runs");
            assert!(status.success());
            // The handler runs on its own thread: wait for it, within reason.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !StopOnInterrupt::was_interrupted() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        Ok(())
    });
    let (ended, marker) = end_marker();
    let callbacks: Vec<Box<dyn Callback>> = vec![
        Box::new(ctrl_c_during_second_batch),
        Box::new(StopOnInterrupt::new()),
        marker,
    ];
    let mut runner = Runner::new(Scripted::new(&[1.0; 12])).build().unwrap();
    runner
        .fit(samples(3), samples(3), options(2, callbacks))
        .unwrap();
    assert!(StopOnInterrupt::was_interrupted());
    assert_eq!(steps(&runner), 2);
    assert!(*ended.borrow());

    // The handler stays installed; the next run forgets the old Ctrl-C and trains to the end.
    let mut runner = Runner::new(Scripted::new(&[1.0; 6])).build().unwrap();
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(StopOnInterrupt::new())];
    runner
        .fit(samples(3), samples(3), options(2, callbacks))
        .unwrap();
    assert!(!StopOnInterrupt::was_interrupted());
    assert_eq!(steps(&runner), 6);
}

// --- training curves ---

fn sample_history() -> History {
    let mut history = History::default();
    for epoch in 0..4 {
        let e = epoch as f32;
        let mut logs = std::collections::BTreeMap::new();
        logs.insert("loss".to_string(), 1.0 / (1.0 + e));
        logs.insert("accuracy".to_string(), 0.5 + 0.1 * e);
        logs.insert("learning_rate".to_string(), 1e-3);
        // Validation from the second epoch on: NaN at the first.
        if epoch > 0 {
            logs.insert("val_loss".to_string(), 1.2 / (1.0 + e));
            logs.insert("val_accuracy".to_string(), 0.45 + 0.1 * e);
        }
        history.record(epoch, &logs);
    }
    history
}

/// The contents of the SVG's `<text>` elements.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

#[test]
fn plot_svg_writes_a_curve_per_log_with_its_name() {
    let dir = Scratch::new("plot");
    let path = dir.join("curves.svg");
    let history = sample_history();
    history.plot_svg(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    // Training curves in one colour, validation curves in another.
    let curves = |colour: &str| svg.matches(&format!("stroke=\"{colour}\"")).count();
    assert!(curves("#1F77B4") >= 3, "{svg}");
    assert!(curves("#FF7F0E") >= 2, "{svg}");
    let texts = svg_texts(&svg);
    for name in history.logs.keys() {
        assert!(texts.contains(name), "no label {name} in {texts:?}");
    }
    // Written through a temporary file that is gone once renamed.
    let files: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert_eq!(files.len(), 1);
}

/// The history of a model with one loss, an accuracy metric and a learning rate, validated.
fn history_of_one_loss() -> History {
    let mut history = History::default();
    for epoch in 0..5 {
        let e = epoch as f32;
        let logs = [
            ("loss", 1.0 / (1.0 + e)),
            ("accuracy", 0.5 + 0.1 * e),
            ("learning_rate", 1e-3),
            ("val_loss", 1.2 / (1.0 + e)),
            ("val_accuracy", 0.45 + 0.1 * e),
        ];
        history.record(
            epoch,
            &logs.iter().map(|&(k, v)| (k.to_string(), v)).collect(),
        );
    }
    history
}

/// The `width` and `height` of the SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let root = &svg[..svg.find('>').unwrap()];
    let attribute = |name: &str| {
        let start = root.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        root[start..][..root[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    (attribute("width"), attribute("height"))
}

#[test]
fn plot_svg_draws_one_panel_per_log_with_its_validation_twin() {
    let history = history_of_one_loss();
    let svg = history.to_svg().unwrap();
    let texts = svg_texts(&svg);
    assert_eq!(
        texts.iter().filter(|t| *t == "epoch").count(),
        3,
        "{texts:?}"
    );
    // Three panels side by side: no empty cell.
    assert_eq!(svg_size(&svg), (3 * 560, 360));
    // Each panel has its title, and a legend naming its curves.
    for name in [
        "loss",
        "val_loss",
        "accuracy",
        "val_accuracy",
        "learning_rate",
    ] {
        assert!(
            texts.iter().any(|t| t == name),
            "no label {name} in {texts:?}"
        );
    }
}

#[test]
fn plot_svg_draws_the_parts_of_a_loss_beside_the_total() {
    let mut history = history_of_one_loss();
    // With a second loss (or a regularizer) the runner logs each part beside the total.
    for (name, scale) in [("crossentropy_loss", 0.9), ("val_crossentropy_loss", 1.1)] {
        let values = (0..5).map(|e| scale / (1.0 + e as f32)).collect();
        history.logs.insert(name.to_string(), values);
    }
    let svg = history.to_svg().unwrap();
    let texts = svg_texts(&svg);
    assert_eq!(
        texts.iter().filter(|t| *t == "epoch").count(),
        4,
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "val_crossentropy_loss"),
        "{texts:?}"
    );
    // Four panels in two rows of two.
    assert_eq!(svg_size(&svg), (2 * 560, 2 * 360));
}

#[test]
fn plot_png_writes_an_image_of_the_panels_size() {
    let dir = Scratch::new("plot-png");
    let path = dir.join("curves.png");
    history_of_one_loss().plot_png(&path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (3 * 560, 360));
    // Drawn, not blank: the background is white, the curves and text are not.
    assert!(pixels.chunks(3).any(|p| p != [255, 255, 255]));
}

#[test]
fn plot_png_of_an_empty_history_is_an_error() {
    let err = History::default().to_png().unwrap_err().to_string();
    assert!(
        err.contains("History::plot_png") && err.contains("no epochs"),
        "{err}"
    );
}

#[test]
fn plot_svg_of_an_empty_history_is_an_error() {
    let err = History::default().to_svg().unwrap_err().to_string();
    assert!(err.contains("no epochs"), "{err}");
}
