use elegy::prelude::*;
use elegy::{Model, PredStep, States, TestStep};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, (x, _y): (Tensor, Tensor), states: States) -> Result<PredStep> {
        Ok(PredStep::new(x, states))
    }

    #[step]
    fn test_step(&self, _: bool, ref states: States) -> Result<TestStep> {
        let _ = states;
        unimplemented!()
    }
}

fn main() {}
