//! A small convolutional network on the 8x8 digits, seen as 8x8x1 images.
//!
//! `cargo run --release --example cnn_digits`

use elegy::Padding;
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::Sequential;
use elegy::module::layers::{Conv2D, Flatten, Linear, MaxPool2D, Relu};
use elegy::optimizers::Adam;
use elegy::{EvaluateOptions, FitOptions, Result, Runner, datasets};

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let images = digits.x.div_scalar(16.0).reshape(&[-1, 8, 8, 1])?;
    let (x_train, y_train, x_test, y_test) = datasets::train_test_split(images, digits.y, 0.2, 0)?;

    let cnn = Sequential::new()
        .layer(Conv2D::new(16, (3, 3)).padding(Padding::Same))
        .layer(Relu)
        .layer(MaxPool2D::new((2, 2)))
        .layer(Conv2D::new(32, (3, 3)).padding(Padding::Same))
        .layer(Relu)
        .layer(MaxPool2D::new((2, 2)))
        .layer(Flatten)
        .layer(Linear::new(10));
    let mut runner = Runner::for_module(cnn)
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
            epochs: 15,
            batch_size: 32,
            ..Default::default()
        },
    )?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!("test accuracy: {:.4}", logs["sparse_categorical_accuracy"]);
    Ok(())
}
