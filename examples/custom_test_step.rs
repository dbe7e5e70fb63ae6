//! Overriding only `test_step`, as Elegy's examples do: the model computes its own loss (mean
//! squared error of a line fit) and the runner's default `grad_step` and `train_step` train it.
//! The runner's metrics are measured by the default `test_step`; an override reports them with
//! one call, `defaults::update_metrics`.
//!
//! `cargo run --release --example custom_test_step`

use elegy::metrics::MeanAbsoluteError;
use elegy::model::defaults;
use elegy::optimizers::Sgd;
use elegy::prelude::*;
use elegy::step::StepContext;
use elegy::{FitOptions, Logs, Model, Runner, TestStep};

/// y = a x + b, fitted by least squares.
struct LineFit;

impl Model for LineFit {
    #[step]
    fn test_step(
        &self,
        x: &Tensor,
        y_true: &Tensor,
        initializing: bool,
        ctx: StepContext<'_>,
    ) -> Result<TestStep> {
        let params = if initializing {
            TensorMap::new()
                .with("a", Tensor::zeros(&[1]))
                .with("b", Tensor::zeros(&[1]))
        } else {
            ctx.states.net_params.clone()
        };
        let y_pred = x.mul(params.require("a")?)?.add(params.require("b")?)?;
        let loss = y_pred.sub(y_true)?.square().mean_all();
        let mut logs = Logs::new();
        logs.batch("loss", loss.item()?);
        let states = ctx.states.clone().with_net_params(params);
        // The runner's metrics (`.metric(..)` below), measured on these predictions.
        let states = defaults::update_metrics(&ctx, &y_pred, states, &mut logs)?;
        Ok(TestStep { loss, logs, states })
    }
}

fn main() -> Result<()> {
    // y = 2x - 1 plus a little noise.
    let x = Tensor::uniform(&[256, 1], -1.0, 1.0, RngKey::new(0));
    let noise = Tensor::normal(&[256, 1], 0.0, 0.05, RngKey::new(1));
    let y = x.mul_scalar(2.0).sub_scalar(1.0).add(&noise)?;

    let mut runner = Runner::new(LineFit)
        .metric(MeanAbsoluteError)
        .optimizer(Sgd::new(0.1))
        .seed(0)
        .build()?;
    runner.fit(
        x,
        y,
        FitOptions {
            epochs: 30,
            batch_size: 16,
            ..Default::default()
        },
    )?;
    let params = &runner.states().net_params;
    println!(
        "a = {:.3} (true 2), b = {:.3} (true -1)",
        params.require("a")?.item()?,
        params.require("b")?.item()?
    );
    Ok(())
}
