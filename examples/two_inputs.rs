//! A model with two inputs: the top and the bottom halves of each 8x8 digit go through their own
//! small networks, whose features are joined to classify the digit. The inputs travel as a named
//! map, batched and shuffled together, and the model receives them in the same structure.
//!
//! `cargo run --release --example two_inputs`

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::layers::{Linear, Mlp};
use elegy::module::{Module, ModuleContext};
use elegy::optimizers::Adam;
use elegy::{Data, EvaluateOptions, FitOptions, Result, Runner, Tensor, datasets};

/// One branch per half, then a linear head over both branches' features.
struct TwoHalves;

impl Module for TwoHalves {
    fn kind(&self) -> &'static str {
        "TwoHalves"
    }

    fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
        Err(elegy::Error::Data(format!(
            "TwoHalves takes a map {{\"top\", \"bottom\"}}, not one tensor of shape {:?}",
            x.shape()
        )))
    }

    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        let top = ctx.call(
            &Mlp::new(&[32]).named("top"),
            x.part("top")?.as_tensor("top")?,
        )?;
        let bottom = ctx.call(
            &Mlp::new(&[32]).named("bottom"),
            x.part("bottom")?.as_tensor("bottom")?,
        )?;
        let features = Tensor::concat(&[top.relu(), bottom.relu()], -1)?;
        Ok(ctx.call(&Linear::new(10), &features)?.into())
    }
}

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let pixels = digits.x.div_scalar(16.0);
    // Rows 0-3 of each image are its first 32 pixels; rows 4-7 the last 32.
    let halves: Data = [
        ("top", pixels.slice(1, 0, 32)?),
        ("bottom", pixels.slice(1, 32, 64)?),
    ]
    .into_iter()
    .collect();
    let (x_train, y_train, x_test, y_test) = datasets::train_test_split(halves, digits.y, 0.2, 0)?;

    let mut runner = Runner::for_module(TwoHalves)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(3e-3))
        .seed(0)
        .build()?;
    runner.summary(x_train.clone())?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 30,
            validation_split: 0.1,
            verbose: 2,
            ..Default::default()
        },
    )?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!("test accuracy: {:.4}", logs["sparse_categorical_accuracy"]);
    Ok(())
}
