//! The seed's model: a linear classifier written as a pure `pred_step`, trained on the bundled
//! handwritten digits with a held-out test split.
//!
//! `cargo run --release --example linear_classifier`

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::optimizers::Adam;
use elegy::prelude::*;
use elegy::{EvaluateOptions, FitOptions, Model, PredStep, Runner, States, datasets};

struct LinearClassifier;

impl Model for LinearClassifier {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, initializing: bool) -> Result<PredStep> {
        // 8x8 images with pixel values 0..16, flattened and scaled to [0, 1].
        let x = x.reshape(&[x.shape()[0] as isize, -1])?.div_scalar(16.0);
        let params = if initializing {
            let (key, _) = states.rng.split();
            TensorMap::new()
                .with(
                    "w",
                    Initializer::GlorotUniform.init(&[x.shape()[1], 10], key)?,
                )
                .with("b", Tensor::zeros(&[10]))
        } else {
            states.net_params.clone()
        };
        let y_pred = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(y_pred, states.with_net_params(params)))
    }
}

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let (x_train, y_train, x_test, y_test) =
        datasets::train_test_split(digits.x, digits.y, 0.2, 42)?;

    let mut runner = Runner::new(LinearClassifier)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(3e-2))
        .seed(42)
        .build()?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 20,
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
