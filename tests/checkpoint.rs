//! Saving and loading: exact resumption (across processes), crash safety under SIGKILL, clear
//! errors for damaged or mismatched checkpoints, weights-only files, `.npz` export, and the
//! `ModelCheckpoint` callback.
//!
//! Two tests run a second copy of this test binary as the "other process": the `child_*` tests
//! below do nothing unless their environment variable is set, which only the parent tests do.

mod common;

use common::Linear;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use elegy::callbacks::{Mode, ModelCheckpoint, SaveFreq};
use elegy::checkpoint::{Checkpoint, Kind, MANIFEST_FILE};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::optimizers::Adam;
use elegy::step::PredContext;
use elegy::{
    Data, Error, FitOptions, History, Model, PredStep, PredictOptions, Result, RngKey, Runner,
    States, Tensor, TensorMap, datasets,
};

fn runner(classes: usize, seed: u64) -> Runner<Linear> {
    Runner::new(Linear { classes })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(seed)
        .build()
        .unwrap()
}

/// The first `n` digits: enough to train a few small epochs quickly.
fn digits(n: usize) -> (Data, Data) {
    let d = datasets::digits().unwrap();
    let first: Vec<usize> = (0..n).collect();
    (
        Data::from(d.x).select(&first).unwrap(),
        Data::from(d.y).select(&first).unwrap(),
    )
}

fn options(initial_epoch: usize, epochs: usize) -> FitOptions {
    FitOptions {
        epochs,
        initial_epoch,
        batch_size: 32,
        validation_split: 0.2,
        verbose: 0,
        ..Default::default()
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn bits(map: &TensorMap) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    map.iter()
        .map(|(name, t)| {
            let values = t.to_vec().iter().map(|v| v.to_bits()).collect();
            (name.to_string(), t.shape().to_vec(), values)
        })
        .collect()
}

/// Equal bit for bit, NaN included (History's `==` says NaN != NaN).
fn history_bits(h: &History) -> Vec<(String, Vec<u32>)> {
    let mut out = vec![(
        "epochs".to_string(),
        h.epochs.iter().map(|&e| e as u32).collect(),
    )];
    out.extend(
        h.logs
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|x| x.to_bits()).collect())),
    );
    out
}

fn assert_same_run<M: Model, N: Model>(a: &Runner<M>, b: &Runner<N>) {
    let (sa, sb) = (a.states(), b.states());
    assert_eq!(bits(&sa.net_params), bits(&sb.net_params));
    assert_eq!(bits(&sa.optimizer_states), bits(&sb.optimizer_states));
    assert_eq!(a.step_count(), b.step_count());
    assert_eq!(history_bits(a.history()), history_bits(b.history()));
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn tensors_file(dir: &Path) -> PathBuf {
    let name = file_names(dir)
        .into_iter()
        .find(|n| n.ends_with(".safetensors"))
        .expect("a tensors file");
    dir.join(name)
}

/// A runner trained for one epoch and saved to a fresh directory.
fn saved_run() -> (tempfile::TempDir, Runner<Linear>) {
    let (x, y) = digits(200);
    let mut r = runner(10, 3);
    r.fit(x, y, options(0, 1)).unwrap();
    let dir = temp_dir();
    r.save(dir.path()).unwrap();
    (dir, r)
}

fn format_message(err: Error) -> (PathBuf, String) {
    match err {
        Error::Format { path, message } => (path, message),
        other => panic!("expected a format error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips and resumption

#[test]
fn load_restores_the_states_counters_seed_and_history_into_an_uninitialized_runner() {
    let (x, y) = digits(200);
    let mut a = runner(10, 5);
    let with_gaps = FitOptions {
        validation_freq: 2, // val_ logs are NaN on the first epoch
        ..options(0, 2)
    };
    a.fit(x, y, with_gaps).unwrap();
    let dir = temp_dir();
    a.save(dir.path()).unwrap();

    let mut b = runner(10, 99);
    assert!(!b.is_initialized());
    b.load(dir.path()).unwrap();
    assert!(b.is_initialized());
    assert_eq!(b.states(), a.states());
    assert_same_run(&a, &b);
    assert!(b.history().get("val_loss").unwrap()[0].is_nan());
    assert_eq!(b.next_epoch(), 2);
}

#[test]
fn user_fields_scalars_empty_tensors_and_empty_maps_survive_a_round_trip() {
    let states = States::new(0)
        .with_net_params(TensorMap::new().with("dense/w", Tensor::from(vec![1.5f32, -2.0])))
        .with_net_states(TensorMap::new().with("count", Tensor::scalar(7.0)))
        .with_optimizer_states(TensorMap::new().with("empty", Tensor::zeros(&[0, 3])))
        .with_rng(RngKey::from_bits(u64::MAX - 1))
        .with_field(
            "generator",
            TensorMap::new().with("a/b", Tensor::full(&[2, 2], f32::INFINITY)),
        )
        .with_field("unused", TensorMap::new());
    let mut a = Runner::new(Linear { classes: 2 }).build().unwrap();
    a.set_states(states);
    let dir = temp_dir();
    a.save(dir.path()).unwrap();

    let mut b = Runner::new(Linear { classes: 2 }).build().unwrap();
    b.load(dir.path()).unwrap();
    assert_eq!(b.states(), a.states());
    assert_eq!(
        b.states().fields.keys().collect::<Vec<_>>(),
        ["generator", "unused"]
    );
}

#[test]
fn training_four_epochs_equals_two_then_two_more_after_loading() {
    let (x, y) = digits(300);
    let mut straight = runner(10, 11);
    straight.fit(x.clone(), y.clone(), options(0, 4)).unwrap();

    let mut first = runner(10, 11);
    first.fit(x.clone(), y.clone(), options(0, 2)).unwrap();
    let dir = temp_dir();
    first.save(dir.path()).unwrap();

    let mut resumed = runner(10, 11);
    resumed.load(dir.path()).unwrap();
    let next = resumed.next_epoch();
    resumed.fit(x, y, options(next, 4)).unwrap();
    assert_same_run(&straight, &resumed);
}

#[test]
fn every_new_optimizer_resumes_from_a_checkpoint_as_if_never_stopped() {
    use elegy::optimizers::{Adafactor, Adamax, Ema, Lion, MultiSteps, Nadam, Optimizer, Sgd};
    fn with_optimizer(opt: impl Optimizer + 'static) -> Runner<Linear> {
        Runner::new(Linear { classes: 10 })
            .loss(SparseCategoricalCrossentropy::from_logits())
            .optimizer(opt)
            .seed(13)
            .build()
            .unwrap()
    }
    let makers: [fn() -> Runner<Linear>; 7] = [
        || with_optimizer(Nadam::new(1e-2)),
        || with_optimizer(Adamax::new(1e-2)),
        || with_optimizer(Lion::new(1e-3)),
        || with_optimizer(Adafactor::new(1e-2)),
        // Three batches an epoch: the first epoch ends mid-group, which the second completes.
        || with_optimizer(MultiSteps::new(Adam::new(1e-2), 2)),
        || with_optimizer(Ema::new(Adam::new(1e-2), 0.9)),
        || {
            let sgd = Sgd {
                momentum: 0.9,
                ..Sgd::new(0.05)
            };
            with_optimizer(Ema::new(MultiSteps::new(sgd, 2), 0.8).overwrite_frequency(2))
        },
    ];
    let (x, y) = digits(100);
    for make in makers {
        let mut straight = make();
        straight.fit(x.clone(), y.clone(), options(0, 2)).unwrap();

        let mut first = make();
        first.fit(x.clone(), y.clone(), options(0, 1)).unwrap();
        let dir = temp_dir();
        first.save(dir.path()).unwrap();
        let mut resumed = make();
        resumed.load(dir.path()).unwrap();
        assert_eq!(
            bits(&resumed.states().optimizer_states),
            bits(&first.states().optimizer_states)
        );
        resumed.fit(x.clone(), y.clone(), options(1, 2)).unwrap();
        assert_same_run(&straight, &resumed);
    }
}

/// Set by [`resuming_in_a_fresh_process_is_bit_identical_to_training_straight_through`].
const RESUME_DIR: &str = "ELEGY_TEST_RESUME_DIR";

/// The second half of the fresh-process resume: loads `$RESUME_DIR/half`, trains to epoch 4 and
/// saves to `$RESUME_DIR/full`. Does nothing when run as an ordinary test.
#[test]
fn child_resume_from_checkpoint() {
    let Ok(dir) = std::env::var(RESUME_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let (x, y) = digits(300);
    let mut r = runner(10, 11);
    r.load(dir.join("half")).unwrap();
    let next = r.next_epoch();
    r.fit(x, y, options(next, 4)).unwrap();
    r.save(dir.join("full")).unwrap();
}

#[test]
fn resuming_in_a_fresh_process_is_bit_identical_to_training_straight_through() {
    let (x, y) = digits(300);
    let mut straight = runner(10, 11);
    straight.fit(x.clone(), y.clone(), options(0, 4)).unwrap();

    let mut first = runner(10, 11);
    first.fit(x, y, options(0, 2)).unwrap();
    let dir = temp_dir();
    first.save(dir.path().join("half")).unwrap();

    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_resume_from_checkpoint",
            "--exact",
            "--test-threads=1",
        ])
        .env(RESUME_DIR, dir.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child process failed: {status}");

    let mut resumed = runner(10, 11);
    resumed.load(dir.path().join("full")).unwrap();
    assert_same_run(&straight, &resumed);
}

#[test]
fn saving_an_uninitialized_runner_is_an_error_and_writes_nothing() {
    let dir = temp_dir();
    let err = runner(10, 0).save(dir.path().join("c")).unwrap_err();
    assert!(err.to_string().contains("not initialized"), "{err}");
    assert!(!dir.path().join("c").exists());
}

// ---------------------------------------------------------------------------------------------
// Crash safety

/// Set by [`a_save_killed_at_any_moment_leaves_a_loadable_checkpoint`].
const SAVE_LOOP_DIR: &str = "ELEGY_TEST_SAVE_LOOP_DIR";

/// States whose every value is `k`, so a checkpoint mixing two saves is detectable.
fn states_of(k: u64) -> States {
    let v = k as f32;
    States::new(0)
        .with_net_params(
            TensorMap::new()
                .with("w", Tensor::full(&[512, 512], v))
                .with("b", Tensor::full(&[512], v)),
        )
        .with_field("meta", TensorMap::new().with("k", Tensor::scalar(v)))
}

/// Saves `states_of(1)`, `states_of(2)`, ... to `$SAVE_LOOP_DIR` until killed, saying `saving`
/// after the first save. Does nothing when run as an ordinary test.
#[test]
fn child_save_in_a_loop() {
    let Ok(dir) = std::env::var(SAVE_LOOP_DIR) else {
        return;
    };
    let mut r = Runner::new(Linear { classes: 2 }).build().unwrap();
    for k in 1.. {
        r.set_states(states_of(k));
        r.save(&dir).unwrap();
        if k == 1 {
            println!("saving");
        }
    }
}

#[test]
fn a_save_killed_at_any_moment_leaves_a_loadable_checkpoint() {
    let dir = temp_dir();
    let mut r = Runner::new(Linear { classes: 2 }).build().unwrap();
    r.set_states(states_of(0));
    r.save(dir.path()).unwrap();

    for round in 0..8 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_save_in_a_loop",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SAVE_LOOP_DIR, dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let started = BufReader::new(stdout)
            .lines()
            .any(|line| line.is_ok_and(|l| l.contains("saving")));
        assert!(started, "the child never saved");
        let delay = Duration::from_micros(rand::random_range(0..40_000));
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL: no destructor, no cleanup runs
        child.wait().unwrap();

        let mut loaded = Runner::new(Linear { classes: 2 }).build().unwrap();
        loaded
            .load(dir.path())
            .unwrap_or_else(|e| panic!("round {round}, killed after {delay:?}: {e}"));
        let k = loaded
            .states()
            .field("meta")
            .unwrap()
            .require("k")
            .unwrap()
            .item()
            .unwrap();
        assert!(
            k >= 1.0,
            "round {round}: the child's first save is not there"
        );
        assert_eq!(
            loaded.states(),
            &states_of(k as u64),
            "round {round}: a checkpoint mixes two saves"
        );
    }

    // The next save clears what the killed ones left behind.
    r.save(dir.path()).unwrap();
    let names = file_names(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(MANIFEST_FILE), "{names:?}");
}

// ---------------------------------------------------------------------------------------------
// Damaged and mismatched checkpoints

#[test]
fn a_truncated_tensors_file_is_a_format_error_naming_it() {
    let (dir, _) = saved_run();
    let path = tensors_file(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();

    let mut r = runner(10, 3);
    let (at, message) = format_message(r.load(dir.path()).unwrap_err());
    assert_eq!(at, path);
    assert!(message.contains("truncated"), "{message}");
    assert!(!r.is_initialized());
}

#[test]
fn flipped_bytes_in_the_tensors_file_are_detected() {
    let (dir, _) = saved_run();
    let path = tensors_file(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3; // inside a tensor's values, not the header
    bytes[last] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let (at, message) = format_message(runner(10, 3).load(dir.path()).unwrap_err());
    assert_eq!(at, path);
    assert!(message.contains("corrupted"), "{message}");
}

#[test]
fn a_deleted_tensors_file_is_an_io_error_naming_it() {
    let (dir, _) = saved_run();
    let path = tensors_file(dir.path());
    std::fs::remove_file(&path).unwrap();

    match runner(10, 3).load(dir.path()).unwrap_err() {
        Error::Io { path: at, source } => {
            assert_eq!(at, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn a_directory_without_a_checkpoint_is_an_io_error_naming_the_manifest() {
    let dir = temp_dir();
    match runner(10, 3).load(dir.path()).unwrap_err() {
        Error::Io { path, .. } => assert_eq!(path, dir.path().join(MANIFEST_FILE)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn an_edited_manifest_is_a_format_error_naming_it() {
    let (dir, _) = saved_run();
    let manifest = dir.path().join(MANIFEST_FILE);
    let original = std::fs::read_to_string(&manifest).unwrap();
    let edits = [
        (
            original.replacen('{', "", 1),
            "not a valid checkpoint manifest",
        ),
        (
            original.replace("\"version\": 1", "\"version\": 99"),
            "version 99",
        ),
        (
            original.replace("\"step\"", "\"steps\""),
            "missing field `step`",
        ),
        (
            original.replace("tensors-000001.safetensors", "../secret.safetensors"),
            "not a checkpoint tensors file",
        ),
    ];
    for (edited, expected) in edits {
        assert_ne!(edited, original);
        std::fs::write(&manifest, &edited).unwrap();
        let (at, message) = format_message(runner(10, 3).load(dir.path()).unwrap_err());
        assert_eq!(at, manifest);
        assert!(message.contains(expected), "{message}");
    }
}

#[test]
fn a_manifest_whose_step_count_no_run_reaches_is_refused_at_load() {
    // Loaded, step u64::MAX became 0 one step later (a panic in a debug build).
    let (dir, _) = saved_run();
    let manifest = dir.path().join(MANIFEST_FILE);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    for step in [u64::MAX, 1 << 63] {
        json["training"]["step"] = serde_json::json!(step);
        std::fs::write(&manifest, json.to_string()).unwrap();
        let mut r = runner(10, 3);
        let (at, message) = format_message(r.load(dir.path()).unwrap_err());
        assert_eq!(at, manifest);
        assert!(
            message.contains(&step.to_string()) && message.contains("corrupt"),
            "{message}"
        );
    }
    // The largest count the format accepts still loads.
    json["training"]["step"] = serde_json::json!(i64::MAX as u64);
    std::fs::write(&manifest, json.to_string()).unwrap();
    runner(10, 3).load(dir.path()).unwrap();
}

#[test]
fn saving_onto_an_existing_file_names_it_and_says_a_checkpoint_is_a_directory() {
    let (dir, r) = saved_run();
    let file = dir.path().join("model.ckpt");
    std::fs::write(&file, b"not a checkpoint").unwrap();
    for error in [
        r.save(&file).unwrap_err(),
        runner(10, 3).load(&file).unwrap_err(),
    ] {
        let message = error.to_string();
        match error {
            Error::Io { path, .. } => assert_eq!(path, file),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(message.contains("a checkpoint is a directory"), "{message}");
    }
    // The file is left as it was.
    assert_eq!(std::fs::read(&file).unwrap(), b"not a checkpoint");
    // A checkpoint under a file names the file.
    let inside = file.join("run1");
    let message = r.save(&inside).unwrap_err().to_string();
    assert!(
        message.contains(&format!("{} is a file", file.display())),
        "{message}"
    );
}

#[test]
fn a_checkpoint_of_another_model_is_rejected_naming_the_tensor_and_nothing_changes() {
    let (dir, _) = saved_run();
    let (x, y) = digits(200);
    let mut other = runner(12, 3); // 12 classes instead of 10
    other.init(x, Some(y.clone()), 32).unwrap();
    let before = other.states().clone();

    let (at, message) = format_message(other.load(dir.path()).unwrap_err());
    assert_eq!(at, tensors_file(dir.path()));
    assert!(
        message.contains("tensor `net_params/w` has shape [64, 10] in the checkpoint but [64, 12]"),
        "{message}"
    );
    assert_eq!(other.states(), &before);
    assert_eq!(other.step_count(), 0);
    assert!(other.history().epochs.is_empty());
}

#[test]
fn a_checkpoint_with_another_optimizer_is_rejected_listing_the_unexpected_state() {
    let (dir, _) = saved_run();
    let (x, y) = digits(200);
    let mut sgd = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(elegy::optimizers::Sgd::new(0.1))
        .build()
        .unwrap();
    // Uninitialized, the runner would take the tensors as they are: the optimizer checks its
    // state all the same (else the first step fails and takes the loaded states with it).
    let (_, message) = format_message(sgd.load(dir.path()).unwrap_err());
    assert!(!sgd.is_initialized());
    sgd.init(x, Some(y), 32).unwrap();
    let (_, initialized) = format_message(sgd.load(dir.path()).unwrap_err());
    for message in [message, initialized] {
        assert!(message.contains("optimizer_states/"), "{message}");
        assert!(
            message.contains("in the checkpoint but not in the model"),
            "{message}"
        );
        assert!(
            message.starts_with("the checkpoint was saved with the optimizer {\"Adam\"")
                && message.contains("the runner's {\"Sgd\""),
            "{message}"
        );
    }
}

#[test]
fn a_checkpoint_with_the_step_count_of_earlier_versions_still_loads() {
    // Before the count had two parts it was one scalar.
    let (_, trained) = saved_run();
    let mut old = trained.to_checkpoint().unwrap();
    let state = &mut old.states.optimizer_states;
    let step = state.require("step").unwrap().to_vec();
    assert_eq!(step[0], 0.0);
    state.insert("step", Tensor::scalar(step[1]));
    let mut fresh = runner(10, 3);
    fresh.restore(old).unwrap();
    assert_eq!(fresh.states(), trained.states());
}

#[test]
fn a_runner_initialized_without_targets_loads_the_optimizer_state_of_its_optimizer() {
    let (dir, trained) = saved_run();
    let (x, _) = digits(200);
    let mut r = runner(10, 3);
    r.init(x, None, 32).unwrap();
    assert!(r.states().optimizer_states.is_empty());
    r.load(dir.path()).unwrap();
    assert_eq!(
        r.states().optimizer_states,
        trained.states().optimizer_states
    );
}

#[test]
fn a_checkpoint_with_other_metrics_is_refused_whether_the_runner_made_its_own_or_not() {
    let (dir, _) = saved_run(); // with SparseCategoricalAccuracy
    let (x, y) = digits(200);
    let make = |top_k: bool| {
        let r = Runner::new(Linear { classes: 10 })
            .loss(SparseCategoricalCrossentropy::from_logits())
            .optimizer(Adam::new(1e-2));
        let r = if top_k {
            r.metric(elegy::metrics::SparseTopKCategoricalAccuracy::default())
        } else {
            r
        };
        r.build().unwrap()
    };
    // No metrics, initialized with targets: the checkpoint's accuracy state is not the model's.
    let mut none = make(false);
    none.init(x.clone(), Some(y), 32).unwrap();
    let (_, message) = format_message(none.load(dir.path()).unwrap_err());
    assert!(
        message.contains("metrics_states/sparse_categorical_accuracy/"),
        "{message}"
    );
    // Top-k, initialized without targets or not at all: its state is missing from the checkpoint.
    let mut top_k = make(true);
    let (_, message) = format_message(top_k.load(dir.path()).unwrap_err());
    assert!(!top_k.is_initialized());
    top_k.init(x, None, 32).unwrap();
    let (_, initialized) = format_message(top_k.load(dir.path()).unwrap_err());
    for message in [message, initialized] {
        assert!(
            message.contains("metric state `metrics_states/sparse_top_k_categorical_accuracy/")
                && message.contains("other metrics"),
            "{message}"
        );
    }
}

#[test]
fn a_checkpoint_saved_before_any_training_step_loads_into_a_trained_runner() {
    // Saved after init without targets: no metric or optimizer state yet.
    let (x, y) = digits(200);
    let dir = temp_dir();
    let mut fresh = runner(10, 3);
    fresh.init(x.clone(), None, 32).unwrap();
    fresh.save(dir.path()).unwrap();
    let mut trained = runner(10, 3);
    trained.fit(x.clone(), y.clone(), options(0, 1)).unwrap();
    trained.load(dir.path()).unwrap();
    assert_eq!(trained.states().net_params, fresh.states().net_params);
    trained.fit(x, y, options(0, 1)).unwrap();
}

/// `Linear` with a train step that keeps a count of its own in a states field, made at the first
/// training step rather than at `init`.
struct CountsSteps;

impl Model for CountsSteps {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        Linear { classes: 10 }.pred_step(ctx)
    }

    fn train_step(&self, ctx: elegy::step::StepContext<'_>) -> Result<elegy::TrainStep> {
        let initializing = ctx.initializing;
        let mut step = elegy::model::defaults::train_step(self, ctx)?;
        if !initializing {
            let count = step
                .states
                .field("count")
                .map_or(0.0, |f| f.require("n").map_or(0.0, |n| n.to_vec()[0]));
            let count = TensorMap::new().with("n", Tensor::scalar(count + 1.0));
            step.states = step.states.with_field("count", count);
        }
        Ok(step)
    }
}

#[test]
fn a_states_field_made_by_training_loads_into_a_runner_initialized_before_it() {
    let dir = temp_dir();
    let (x, y) = digits(64);
    let make = || {
        Runner::new(CountsSteps)
            .loss(SparseCategoricalCrossentropy::from_logits())
            .optimizer(Adam::new(1e-2))
            .seed(1)
            .build()
            .unwrap()
    };
    let mut trained = make();
    trained.fit(x.clone(), y.clone(), options(0, 1)).unwrap();
    trained.save(dir.path()).unwrap();
    let mut fresh = make();
    fresh.init(x, Some(y), 32).unwrap();
    assert!(fresh.states().field("count").is_err());
    fresh.load(dir.path()).unwrap();
    assert_eq!(fresh.states(), trained.states());
}

// ---------------------------------------------------------------------------------------------
// Weights only, and npz

#[test]
fn weights_only_checkpoints_restore_predictions_but_not_training_state() {
    let (dir, trained) = saved_run();
    let (x, y) = digits(200);
    let weights = dir.path().join("weights");
    trained.save_weights(&weights).unwrap();

    let mut fresh = runner(10, 42);
    let err = fresh.load_weights(&weights).unwrap_err();
    assert!(err.to_string().contains("call `init` first"), "{err}");
    let (_, message) = format_message(fresh.load(&weights).unwrap_err());
    assert!(message.contains("load_weights"), "{message}");

    fresh.init(x.clone(), Some(y), 32).unwrap();
    fresh.load_weights(&weights).unwrap();
    let mut trained = trained;
    let want = trained
        .predict(x.clone(), PredictOptions::default())
        .unwrap();
    let got = fresh.predict(x, PredictOptions::default()).unwrap();
    assert_eq!(got.as_tensor("y").unwrap(), want.as_tensor("y").unwrap());
    assert_eq!(fresh.step_count(), 0);
    assert_eq!(Checkpoint::read(&weights).unwrap().kind, Kind::Weights);
}

#[test]
fn export_npz_writes_every_parameter_under_its_name() {
    let (dir, trained) = saved_run();
    let path = dir.path().join("params.npz");
    trained.export_npz(&path).unwrap();

    let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut names = npz.names().unwrap();
    names.sort();
    assert_eq!(names, ["b", "w"]);
    let w: ndarray::ArrayD<f32> = npz.by_name("w").unwrap();
    assert_eq!(
        &w,
        &trained.states().net_params.require("w").unwrap().to_array()
    );
}

#[test]
fn export_npz_writes_the_network_state_inference_needs_too() {
    use elegy::module::Sequential;
    use elegy::module::layers::{BatchNorm, Linear};
    let (x, y) = digits(64);
    let mut r = Runner::for_module(
        Sequential::new()
            .layer(Linear::new(8))
            .layer(BatchNorm::new())
            .layer(Linear::new(10)),
    )
    .loss(SparseCategoricalCrossentropy::from_logits())
    .optimizer(Adam::new(1e-2))
    .build()
    .unwrap();
    r.fit(x, y, options(0, 1)).unwrap();
    let dir = temp_dir();
    let path = dir.path().join("weights.npz");
    r.export_npz(&path).unwrap();
    let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let names: BTreeSet<String> = npz.names().unwrap().into_iter().collect();
    let states = r.states();
    let expected: BTreeSet<String> = states
        .net_params
        .names()
        .chain(states.net_states.names())
        .map(str::to_string)
        .collect();
    assert!(!states.net_states.is_empty());
    assert_eq!(names, expected);
    for (name, tensor) in states.net_states.iter() {
        let saved: ndarray::ArrayD<f32> = npz.by_name(name).unwrap();
        assert_eq!(saved, tensor.to_array(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// ModelCheckpoint

fn fit_with(r: &mut Runner<Linear>, epochs: usize, checkpoint: ModelCheckpoint) -> Result<History> {
    let (x, y) = digits(200);
    r.fit(
        x,
        y,
        FitOptions {
            callbacks: vec![Box::new(checkpoint)],
            ..options(0, epochs)
        },
    )
}

fn template(dir: &Path, pattern: &str) -> String {
    dir.join(pattern).to_string_lossy().into_owned()
}

#[test]
fn model_checkpoint_saves_every_epoch_to_the_rendered_path() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "epoch{epoch:02}-{val_loss:.4}"));
    let history = fit_with(&mut r, 3, cb).unwrap();

    let expected: BTreeSet<String> = history.get("val_loss").unwrap()[..]
        .iter()
        .enumerate()
        .map(|(i, v)| format!("epoch{:02}-{v:.4}", i + 1))
        .collect();
    assert_eq!(file_names(dir.path()), expected);
}

#[test]
fn save_best_only_does_not_write_when_the_monitor_gets_worse() {
    // The training loss falls every epoch, so with mode Max each epoch after the first is worse.
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "e{epoch}"))
        .monitor("loss")
        .mode(Mode::Max)
        .save_best_only(true);
    let history = fit_with(&mut r, 3, cb).unwrap();
    let losses = history.get("loss").unwrap();
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    assert_eq!(file_names(dir.path()), BTreeSet::from(["e1".to_string()]));
}

#[test]
fn save_best_only_writes_each_time_the_monitor_improves() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "e{epoch}"))
        .monitor("loss") // Mode::Auto minimizes a loss
        .save_best_only(true);
    fit_with(&mut r, 3, cb).unwrap();
    assert_eq!(file_names(dir.path()).len(), 3);
}

#[test]
fn save_best_only_with_an_absent_monitor_stops_fit_with_an_error() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "best"))
        .monitor("val_f1")
        .save_best_only(true);
    let err = fit_with(&mut r, 1, cb).unwrap_err().to_string();
    assert!(err.contains("val_f1") && err.contains("val_loss"), "{err}");
}

#[test]
fn save_best_only_on_a_validation_log_skips_the_epochs_that_do_not_validate() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "e{epoch}"))
        .monitor("val_loss")
        .save_best_only(true);
    let (x, y) = digits(200);
    let options = FitOptions {
        validation_freq: 2,
        callbacks: vec![Box::new(cb)],
        ..options(0, 4)
    };
    let history = r.fit(x, y, options).unwrap();
    // NaN at the epochs that did not validate.
    let validated: Vec<f32> = history.get("val_loss").unwrap()[..]
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    assert_eq!(validated.len(), 2);
    let mut expected = BTreeSet::from(["e2".to_string()]);
    if validated[1] < validated[0] {
        expected.insert("e4".to_string());
    }
    assert_eq!(file_names(dir.path()), expected);
}

#[test]
fn save_best_only_on_a_validation_log_without_validation_is_an_error() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "best")).save_best_only(true);
    let (x, y) = digits(200);
    let options = FitOptions {
        validation_split: 0.0,
        callbacks: vec![Box::new(cb)],
        ..options(0, 1)
    };
    let err = r.fit(x, y, options).unwrap_err().to_string();
    assert!(err.contains("`val_loss` never appeared"), "{err}");

    // Batch logs never hold validation logs: refused before training.
    let cb = ModelCheckpoint::new(template(dir.path(), "best"))
        .save_best_only(true)
        .save_freq(SaveFreq::Batches(2));
    let err = fit_with(&mut r, 1, cb).unwrap_err().to_string();
    assert!(
        err.contains("no validation logs") && !err.contains("  "),
        "{err}"
    );
    assert!(file_names(dir.path()).is_empty());
}

#[test]
fn save_freq_batches_saves_every_n_batches_counted_across_epochs() {
    // 160 training samples in batches of 32: 5 batches per epoch.
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "e{epoch}-b{batch}-s{step}"))
        .save_freq(SaveFreq::Batches(3));
    fit_with(&mut r, 2, cb).unwrap();
    let expected = ["e1-b3-s3", "e2-b1-s6", "e2-b4-s9"].map(String::from);
    assert_eq!(file_names(dir.path()), BTreeSet::from(expected));
    let mid = Checkpoint::read(dir.path().join("e2-b1-s6")).unwrap();
    assert_eq!((mid.step, mid.next_epoch), (6, 1));
    let mut resumed = runner(10, 0);
    resumed.load(dir.path().join("e2-b1-s6")).unwrap();
    assert_eq!(resumed.next_epoch(), 1, "the interrupted epoch starts over");
}

#[test]
fn weights_only_model_checkpoints_hold_only_the_network() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "w")).weights_only(true);
    fit_with(&mut r, 1, cb).unwrap();
    let saved = Checkpoint::read(dir.path().join("w")).unwrap();
    assert_eq!(saved.kind, Kind::Weights);
    assert_eq!(saved.states.net_params, r.states().net_params);
    assert!(saved.states.optimizer_states.is_empty());
}

#[test]
fn a_model_checkpoint_of_epoch_two_resumes_exactly_in_an_uninitialized_runner() {
    let dir = temp_dir();
    let mut straight = runner(10, 21);
    let cb = ModelCheckpoint::new(template(dir.path(), "e{epoch}"));
    fit_with(&mut straight, 4, cb).unwrap();

    let (x, y) = digits(200);
    let mut resumed = runner(10, 21);
    resumed.load(dir.path().join("e2")).unwrap();
    assert_eq!(resumed.next_epoch(), 2);
    resumed.fit(x, y, options(2, 4)).unwrap();
    assert_same_run(&straight, &resumed);
}

#[test]
fn a_template_naming_an_unavailable_log_stops_fit_with_an_error() {
    let dir = temp_dir();
    let mut r = runner(10, 0);
    let cb = ModelCheckpoint::new(template(dir.path(), "{val_accuracy:.3}"));
    let err = fit_with(&mut r, 1, cb).unwrap_err().to_string();
    assert!(err.contains("`{val_accuracy}` is not available"), "{err}");
    assert!(err.contains("val_sparse_categorical_accuracy"), "{err}");
}

#[test]
fn the_manifest_records_the_optimizers_hyperparameters() {
    let (dir, _) = saved_run();
    let manifest = std::fs::read_to_string(dir.path().join("checkpoint.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let adam = &json["training"]["optimizer"]["Adam"];
    assert_eq!(adam["beta_1"], serde_json::json!(0.9f32));
    assert_eq!(
        adam["learning_rate"]["Constant"],
        serde_json::json!(0.01f32)
    );
    let loaded = elegy::checkpoint::Checkpoint::read(dir.path()).unwrap();
    let beta_2 = loaded.optimizer.as_ref().unwrap()["Adam"]["beta_2"]
        .as_f64()
        .unwrap();
    assert_eq!(beta_2 as f32, 0.999f32);
}
