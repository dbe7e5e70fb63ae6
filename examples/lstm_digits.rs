//! A recurrent classifier: each 8x8 digit read as a sequence of 8 rows of 8 pixels by an LSTM,
//! whose state after every row a dense layer classifies (through dropout). Trained on the bundled digits with a held-out test
//! split.
//!
//! `cargo run --release --example lstm_digits`

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::Sequential;
use elegy::module::layers::{Dropout, Flatten, Linear, Lstm};
use elegy::optimizers::Adam;
use elegy::{Data, EvaluateOptions, FitOptions, Result, Runner, datasets};

/// Flat 64-pixel rows as `[samples, 8 rows, 8 pixels]`, scaled to [0, 1].
fn as_rows(x: Data) -> Result<Data> {
    let x = x.as_tensor("digits")?;
    Ok(x.div_scalar(16.0).reshape(&[-1, 8, 8])?.into())
}

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let (x_train, y_train, x_test, y_test) =
        datasets::train_test_split(digits.x, digits.y, 0.2, 0)?;
    let (x_train, x_test) = (as_rows(x_train)?, as_rows(x_test)?);

    let model = Sequential::new()
        .layer(Lstm::new(64).return_sequences())
        .layer(Flatten)
        .layer(Dropout::new(0.3))
        .layer(Linear::new(10));
    let mut runner = Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(2e-3))
        .seed(0)
        .build()?;
    runner.summary(x_train.clone())?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 25,
            batch_size: 32,
            validation_split: 0.1,
            verbose: 2,
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
