use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, x: &Tensor, _y_true: Option<&Tensor>, states: States) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
