//! The high-level API: an MLP module, a loss, a metric and an optimizer handed to a runner, no
//! step written. Trained on the bundled handwritten digits with a held-out test split.
//!
//! `cargo run --release --example mlp_digits`

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::layers::Mlp;
use elegy::optimizers::Adam;
use elegy::{EvaluateOptions, FitOptions, Result, Runner, datasets};

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let x = digits.x.div_scalar(16.0);
    let (x_train, y_train, x_test, y_test) = datasets::train_test_split(x, digits.y, 0.2, 0)?;

    let mut runner = Runner::for_module(Mlp::new(&[128, 64, 10]).dropout(0.1))
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-3))
        .seed(0)
        .build()?;
    runner.summary(x_train.clone())?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 40,
            batch_size: 32,
            validation_split: 0.1,
            ..Default::default()
        },
    )?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!(
        "test loss: {:.4} - test accuracy: {:.4}",
        logs["loss"], logs["sparse_categorical_accuracy"]
    );
    Ok(())
}
