use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step(x, states)]
    fn pred_step(&self, x: &Tensor, states: States) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
