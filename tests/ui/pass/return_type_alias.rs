// A step may name its return type through an alias of elegy's `Result`.
use elegy::prelude::*;
use elegy::{Model, PredStep, States};

type StepResult = elegy::Result<PredStep>;

struct Aliased;

impl Model for Aliased {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States) -> StepResult {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
