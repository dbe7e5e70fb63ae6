use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

async fn forward(x: &Tensor) -> Tensor {
    x.clone()
}

impl Model for Linear {
    #[step]
    async fn pred_step(&self, x: &Tensor, states: States) -> Result<PredStep> {
        Ok(PredStep::new(forward(x).await, states))
    }
}

fn main() {}
