//! Overriding only `train_step`: plain gradient descent with a decaying step size written by hand
//! on top of the default `grad_step`, for the same linear classifier of the digits.
//!
//! `cargo run --release --example custom_train_step`

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::model::defaults;
use elegy::prelude::*;
use elegy::step::StepContext;
use elegy::{
    EvaluateOptions, FitOptions, GradStep, Model, PredStep, Runner, States, TrainStep, datasets,
};

struct DecayingGradientDescent;

impl Model for DecayingGradientDescent {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, initializing: bool) -> Result<PredStep> {
        let x = x.div_scalar(16.0);
        let params = if initializing {
            TensorMap::new()
                .with("w", Tensor::zeros(&[64, 10]))
                .with("b", Tensor::zeros(&[10]))
        } else {
            states.net_params.clone()
        };
        let y_pred = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(y_pred, states.with_net_params(params)))
    }

    #[step]
    fn train_step(&self, ctx: StepContext<'_>, initializing: bool) -> Result<TrainStep> {
        // `ctx` is the whole context, passed on as it is: sample and class weights given to
        // `fit` reach the loss of the default steps.
        if initializing {
            // The default body creates the parameters and metric state.
            return defaults::train_step(self, ctx);
        }
        let GradStep {
            logs,
            states,
            grads,
            ..
        } = self.grad_step(ctx)?;
        // The step count lives in a user field of the states, so it is saved with them.
        let count = states.field("schedule").map_or(0.0, |f| {
            f.get("count").and_then(|t| t.item().ok()).unwrap_or(0.0)
        });
        let lr = 1.0 / (1.0 + count / 100.0);
        let params = states
            .net_params
            .zip_with(&grads, |p, g| p.sub(&g.mul_scalar(lr)))?;
        let mut logs = logs;
        // `fit` logs the runner optimizer's rate as `learning_rate`; this step has its own, which
        // it logs under that key instead.
        logs.running("learning_rate", lr);
        let schedule = TensorMap::new().with("count", Tensor::scalar(count + 1.0));
        Ok(TrainStep {
            logs,
            states: states
                .with_net_params(params)
                .with_field("schedule", schedule),
        })
    }
}

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let (x_train, y_train, x_test, y_test) =
        datasets::train_test_split(digits.x, digits.y, 0.2, 7)?;
    let mut runner = Runner::new(DecayingGradientDescent)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .seed(7)
        .build()?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 10,
            ..Default::default()
        },
    )?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!("test accuracy: {:.4}", logs["sparse_categorical_accuracy"]);
    Ok(())
}
