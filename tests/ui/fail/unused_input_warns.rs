#![deny(unused_variables)]

use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, training: bool) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
