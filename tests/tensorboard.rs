//! The TensorBoard callback's event files, read back: by our reader against the history, and
//! against what TensorBoard's own reader read from the same run (`tests/reference/
//! tensorboard_read.py` made `tensorboard_readback.json` once; the tests never run Python).
//! Our reader is checked in turn on a file TensorBoard's own writer made.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Linear;
use elegy::callbacks::{Callback, ScalarEvent, TensorBoard, read_event_scalars};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::optimizers::Sgd;
use elegy::{Data, Error, FitOptions, History, Runner, datasets};

/// What TensorBoard 2.21's `EventAccumulator` read from the files of [`train_with_tensorboard`]
/// (the scalars' tags, steps and values, per part).
const TENSORBOARD_READ: &str = include_str!("reference/tensorboard_readback.json");

/// How far this run's values may be from those TensorBoard read (absolute, on losses near 2 and
/// accuracies below 1): on the machine that made the file they are equal bit for bit.
const READBACK_TOLERANCE: f32 = 1e-5;

/// Trains three epochs with a TensorBoard callback writing under `dir` (batches of 32 over 160
/// samples, 40 held out: five batches an epoch, every second written).
fn train_with_tensorboard(dir: &Path) -> History {
    let d = datasets::digits().unwrap();
    let first: Vec<usize> = (0..200).collect();
    let (x, y) = (
        Data::from(d.x).select(&first).unwrap(),
        Data::from(d.y).select(&first).unwrap(),
    );
    let mut runner = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Sgd::new(0.1))
        .seed(8)
        .build()
        .unwrap();
    let callbacks: Vec<Box<dyn Callback>> = vec![Box::new(TensorBoard::new(dir).update_freq(2))];
    let options = FitOptions {
        epochs: 3,
        validation_split: 0.2,
        verbose: 0,
        callbacks,
        ..Default::default()
    };
    runner.fit(x, y, options).unwrap()
}

/// The one event file in `dir`.
fn event_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().contains("tfevents"), "{files:?}");
    files[0].clone()
}

/// tag -> [(step, value)], as TensorBoard's scalar dashboard groups them.
fn by_tag(events: &[ScalarEvent]) -> BTreeMap<String, Vec<(i64, f32)>> {
    let mut tags: BTreeMap<String, Vec<(i64, f32)>> = BTreeMap::new();
    for e in events {
        tags.entry(e.tag.clone())
            .or_default()
            .push((e.step, e.value));
    }
    tags
}

/// Where to leave the files of a run for TensorBoard's reader (`ELEGY_TENSORBOARD_DIR`), or a
/// temporary folder.
fn log_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("ELEGY_TENSORBOARD_DIR") {
        Some(dir) => (None, PathBuf::from(dir)),
        None => {
            let temp = tempfile::tempdir().unwrap();
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    }
}

#[test]
fn the_epoch_logs_are_written_as_keras_tensorboard_writes_them() {
    let (_keep, dir) = log_dir();
    let history = train_with_tensorboard(&dir);
    let train = by_tag(&read_event_scalars(event_file(&dir.join("train"))).unwrap());
    let validation = by_tag(&read_event_scalars(event_file(&dir.join("validation"))).unwrap());
    for (name, values) in &history.logs {
        let expected: Vec<(i64, f32)> = values
            .iter()
            .enumerate()
            .map(|(e, &v)| (e as i64, v))
            .collect();
        let (part, tag) = match name.strip_prefix("val_") {
            Some(name) => (&validation, format!("epoch_{name}")),
            None => (&train, format!("epoch_{name}")),
        };
        assert_eq!(part.get(&tag), Some(&expected), "{tag}");
    }
    assert!(
        train.contains_key("epoch_learning_rate"),
        "{:?}",
        train.keys()
    );
    // Every second of fifteen batches, counted from 1 over the epochs, with the rate of each.
    let steps: Vec<i64> = train["batch_loss"].iter().map(|&(s, _)| s).collect();
    assert_eq!(steps, [2, 4, 6, 8, 10, 12, 14]);
    assert_eq!(
        train["batch_learning_rate"],
        steps.iter().map(|&s| (s, 0.1)).collect::<Vec<_>>()
    );
}

/// TensorBoard's reading of a run: part -> tag -> [(step, value)].
fn tensorboard_read() -> BTreeMap<String, BTreeMap<String, Vec<(i64, f32)>>> {
    let json: serde_json::Value = serde_json::from_str(TENSORBOARD_READ).unwrap();
    let mut parts = BTreeMap::new();
    for (part, tags) in json["scalars"].as_object().unwrap() {
        let mut read = BTreeMap::new();
        for (tag, points) in tags.as_object().unwrap() {
            let points = points
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap() as f32))
                .collect();
            read.insert(tag.clone(), points);
        }
        parts.insert(part.clone(), read);
    }
    parts
}

#[test]
fn tensorboards_own_reader_read_the_same_scalars_from_this_run() {
    // The run is deterministic (seeded), so what TensorBoard read from it once is what this run
    // writes, up to the times: the same tags and steps, and the same values within
    // READBACK_TOLERANCE, in case another CPU's kernels round differently.
    let (_keep, dir) = log_dir();
    train_with_tensorboard(&dir);
    for (part, tags) in tensorboard_read() {
        let ours = by_tag(&read_event_scalars(event_file(&dir.join(&part))).unwrap());
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            tags.keys().collect::<Vec<_>>(),
            "{part}"
        );
        for (tag, points) in tags {
            let mine = &ours[&tag];
            let steps = |p: &[(i64, f32)]| p.iter().map(|&(s, _)| s).collect::<Vec<_>>();
            assert_eq!(steps(mine), steps(&points), "{part}/{tag}");
            for (&(_, a), &(_, e)) in mine.iter().zip(&points) {
                assert!(
                    (a - e).abs() <= READBACK_TOLERANCE,
                    "{part}/{tag}: {mine:?} vs {points:?}"
                );
            }
        }
    }
}

#[test]
fn our_reader_reads_a_file_tensorboards_own_writer_made() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference/tensorboard/events.out.tfevents.1764770000.python-writer");
    let events = read_event_scalars(&file).unwrap();
    let read: Vec<(&str, i64, f32)> = events
        .iter()
        .map(|e| (e.tag.as_str(), e.step, e.value))
        .collect();
    // As written by tensorboard_read.py: `a` at steps 0..3, `b` = 0.0 at step 7.
    assert_eq!(
        read,
        [
            ("a", 0, 0.5),
            ("a", 1, 0.25),
            ("a", 2, 0.125),
            ("b", 7, 0.0)
        ]
    );
}

#[test]
fn a_damaged_or_truncated_event_file_is_a_format_error_naming_the_offset() {
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference/tensorboard/events.out.tfevents.1764770000.python-writer");
    let bytes = std::fs::read(&original).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("events.out.tfevents.damaged");

    let mut flipped = bytes.clone();
    let last = flipped.len() - 6;
    flipped[last] ^= 0x40;
    std::fs::write(&path, &flipped).unwrap();
    let err = read_event_scalars(&path).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:#?}");
    assert!(
        err.to_string().contains("checksum does not match at byte"),
        "{err}"
    );

    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let err = read_event_scalars(&path).unwrap_err();
    assert!(
        err.to_string().contains("longer than the rest of the file"),
        "{err}"
    );
}
