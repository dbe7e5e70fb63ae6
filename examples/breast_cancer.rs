//! A binary classifier of the breast-cancer data: features standardized with the training set's
//! statistics, one logit out, binary cross-entropy, precision / recall / AUC.
//!
//! `cargo run --release --example breast_cancer`

use elegy::losses::BinaryCrossentropy;
use elegy::metrics::{Auc, BinaryAccuracy, Precision, Recall};
use elegy::module::layers::Mlp;
use elegy::optimizers::Adam;
use elegy::{Data, EvaluateOptions, FitOptions, Result, Runner, Tensor, datasets};

/// `(x - mean) / std` with the statistics of `train`.
fn standardize(train: &Tensor, x: &Tensor) -> Result<Tensor> {
    let mean = train.mean(&[0], true)?;
    let std = train.var(&[0], true)?.sqrt().add_scalar(1e-7);
    x.sub(&mean)?.div(&std)
}

fn main() -> Result<()> {
    let data = datasets::breast_cancer()?;
    let y = data.y.reshape(&[-1, 1])?;
    let (x_train, y_train, x_test, y_test) = datasets::train_test_split(data.x, y, 0.25, 1)?;
    let tensor = |d: &Data| d.as_tensor("data").cloned();
    let (x_train, x_test) = (tensor(&x_train)?, tensor(&x_test)?);
    let x_test = standardize(&x_train, &x_test)?;
    let x_train = standardize(&x_train, &x_train)?;

    let mut runner = Runner::for_module(Mlp::new(&[16, 1]))
        .loss(BinaryCrossentropy::from_logits())
        .metric(BinaryAccuracy { threshold: 0.0 })
        .metric(Precision {
            threshold: 0.0,
            ..Default::default()
        })
        .metric(Recall {
            threshold: 0.0,
            ..Default::default()
        })
        .metric(Auc {
            from_logits: true,
            ..Default::default()
        })
        .optimizer(Adam::new(1e-3))
        .seed(0)
        .build()?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 60,
            batch_size: 16,
            verbose: 0,
            ..Default::default()
        },
    )?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!(
        "test accuracy: {:.4} - precision: {:.4} - recall: {:.4} - auc: {:.4}",
        logs["binary_accuracy"], logs["precision"], logs["recall"], logs["auc"]
    );
    Ok(())
}
