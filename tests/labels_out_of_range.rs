//! A label that is no class is reported with the sample of the data it belongs to: its index
//! in `x` (or `validation_data`) for arrays, shuffled or not, with the loop, epoch and batch;
//! for a stream, the batch, the sample in it and its position in the pass.

mod common;

use common::Linear;
use elegy::data::Loader;
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::optimizers::Sgd;
use elegy::prelude::*;

/// 80 samples of 4 features, labels 0..3 but for `bad`, which is 14.
fn data_with_a_bad_label(bad: usize) -> (Tensor, Tensor) {
    let x = Tensor::uniform(&[80, 4], 0.0, 16.0, RngKey::new(0));
    let labels: Vec<f32> = (0..80)
        .map(|i| if i == bad { 14.0 } else { (i % 3) as f32 })
        .collect();
    (x, Tensor::from(labels))
}

fn runner() -> Runner<Linear> {
    Runner::new(Linear { classes: 3 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Sgd::new(0.1))
        .build()
        .unwrap()
}

fn options(shuffle: bool) -> FitOptions {
    FitOptions {
        epochs: 1,
        batch_size: 16,
        shuffle,
        verbose: 0,
        ..Default::default()
    }
}

const PROBLEM: &str = "is not below the 3 classes the predictions have";

#[test]
fn fit_names_the_sample_of_x_not_of_its_batch() {
    let (x, y) = data_with_a_bad_label(37);
    let err = runner().fit(x, y, options(false)).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "sparse_categorical_crossentropy: label 14 of sample 37 of x (fit, epoch 0, \
             batch 2) {PROBLEM}"
        )
    );
}

#[test]
fn fit_names_the_sample_of_x_in_the_first_batch_too() {
    // The first batch initializes the runner: its error is placed all the same.
    let (x, y) = data_with_a_bad_label(5);
    let err = runner().fit(x, y, options(false)).unwrap_err().to_string();
    assert!(
        err.contains("label 14 of sample 5 of x (fit, epoch 0, batch 0)"),
        "{err}"
    );
}

#[test]
fn shuffled_fit_names_the_sample_of_x() {
    let (x, y) = data_with_a_bad_label(37);
    let mut r = runner();
    // Initialized on fine samples, so that the bad one fails mid-epoch, in whatever batch the
    // shuffle put it.
    r.init(
        x.slice(0, 0, 16).unwrap(),
        Some(y.slice(0, 0, 16).unwrap().into()),
        16,
    )
    .unwrap();
    let err = r.fit(x, y, options(true)).unwrap_err().to_string();
    assert!(
        err.contains("label 14 of sample 37 of x (fit, epoch 0, batch "),
        "{err}"
    );
    assert!(err.ends_with(PROBLEM), "{err}");
}

#[test]
fn evaluate_names_the_sample_of_x() {
    let (x, y) = data_with_a_bad_label(50);
    let mut r = runner();
    r.init(x.clone(), None, 16).unwrap();
    let err = r
        .evaluate(
            x,
            y,
            EvaluateOptions {
                batch_size: 16,
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label 14 of sample 50 of x (evaluate, batch 3)"),
        "{err}"
    );
}

#[test]
fn validation_held_out_of_x_names_the_sample_of_x() {
    // validation_split 0.2 holds out the last 16 samples, 64..80.
    let (x, y) = data_with_a_bad_label(70);
    let options = FitOptions {
        validation_split: 0.2,
        ..options(false)
    };
    let err = runner().fit(x, y, options).unwrap_err().to_string();
    assert!(
        err.contains("label 14 of sample 70 of x (fit (validation), batch 0)"),
        "{err}"
    );
}

#[test]
fn validation_data_names_its_own_sample() {
    let (x, y) = data_with_a_bad_label(70);
    let (val_x, val_y) = data_with_a_bad_label(3);
    let options = FitOptions {
        validation_data: Some(Batch::xy(val_x, val_y)),
        ..options(false)
    };
    let (x, y) = (x.slice(0, 0, 64).unwrap(), y.slice(0, 0, 64).unwrap());
    let err = runner().fit(x, y, options).unwrap_err().to_string();
    assert!(
        err.contains("label 14 of sample 3 of validation_data (fit (validation), batch 0)"),
        "{err}"
    );
}

#[test]
fn a_stream_names_the_batch_and_the_sample_in_the_pass() {
    let (x, y) = data_with_a_bad_label(37);
    let mut loader = Loader::from_batches(move || {
        let (x, y) = (x.clone(), y.clone());
        (0..5).map(move |b| {
            let rows = 16 * b..16 * (b + 1);
            Ok(Batch::xy(
                x.slice(0, rows.start, rows.end)?,
                y.slice(0, rows.start, rows.end)?,
            ))
        })
    });
    let err = runner()
        .fit_dataset(&mut loader, options(false))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "sparse_categorical_crossentropy: label 14 of sample 5 of batch 2 (fit_dataset, \
             epoch 0; sample 37 of the pass) {PROBLEM}"
        )
    );
}
