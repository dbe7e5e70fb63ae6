//! An autoencoder of the digits: 64 pixels squeezed through 8 numbers and back, trained to
//! reproduce its input. There are no targets: `fit(x, NoTargets, ..)`, with a loss that compares
//! the predictions with the inputs (`Reconstruction`).
//!
//! `cargo run --release --example autoencoder`

use elegy::losses::{MeanSquaredError, Reconstruction};
use elegy::module::Sequential;
use elegy::module::layers::{Mlp, Sigmoid};
use elegy::optimizers::Adam;
use elegy::{Data, EvaluateOptions, FitOptions, NoTargets, Result, Runner, datasets};

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let x = digits.x.div_scalar(16.0);
    let (x_train, _, x_test, _) = datasets::train_test_split(x, digits.y, 0.2, 0)?;

    let autoencoder = Sequential::new()
        .layer(Mlp::new(&[32, 8]).named("encoder"))
        .layer(Mlp::new(&[32, 64]).named("decoder"))
        .layer(Sigmoid);
    let mut runner = Runner::for_module(autoencoder)
        .loss(Reconstruction::new(MeanSquaredError))
        .optimizer(Adam::new(3e-3))
        .seed(0)
        .build()?;
    runner.fit(
        x_train,
        NoTargets,
        FitOptions {
            epochs: 60,
            batch_size: 32,
            verbose: 0,
            ..Default::default()
        },
    )?;
    // Predicting every pixel's mean, for scale.
    let baseline = mean_image_error(&x_test)?;
    let logs = runner.evaluate(x_test, NoTargets, EvaluateOptions::default())?;
    println!(
        "test reconstruction MSE: {:.4} (predicting the mean image: {baseline:.4})",
        logs["loss"]
    );
    Ok(())
}

/// The mean squared error of predicting each pixel's mean over `x`.
fn mean_image_error(x: &Data) -> Result<f32> {
    let x = x.as_tensor("x")?;
    let mean = x.mean(&[0], true)?;
    x.sub(&mean)?.square().mean_all().item()
}
