use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, _x: Tensor) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
