//! Fixtures shared by the integration tests (each test file that needs them says `mod common;`).

// Each test binary uses only some of these.
#![allow(dead_code)]

use elegy::step::PredContext;
use elegy::{Initializer, Model, PredStep, Result, Tensor, TensorMap};

/// Softmax regression over flattened inputs scaled by 1/16 (the digits' pixel range).
pub struct Linear {
    /// The number of classes: the width of the output.
    pub classes: usize,
}

impl Model for Linear {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        let x = x.reshape(&[x.shape()[0] as isize, -1])?.div_scalar(16.0);
        let params = if ctx.initializing {
            let (k, _) = ctx.states.rng.split();
            TensorMap::new()
                .with(
                    "w",
                    Initializer::GlorotUniform.init(&[x.shape()[1], self.classes], k)?,
                )
                .with("b", Tensor::zeros(&[self.classes]))
        } else {
            ctx.states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(y, ctx.states.with_net_params(params)))
    }
}
