use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(x: &Tensor, &self, states: States) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
