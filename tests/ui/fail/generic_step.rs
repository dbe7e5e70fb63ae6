use elegy::prelude::*;
use elegy::{GradStep, Model, PredStep, States, TestStep};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step<T: Into<Tensor>>(&self, x: T, states: States) -> Result<PredStep> {
        Ok(PredStep::new(x.into(), states))
    }

    #[step]
    fn grad_step(&self, x: impl Into<Tensor>, states: States) -> Result<GradStep> {
        let _ = (x.into(), states);
        unimplemented!()
    }

    #[step]
    fn test_step(&self, states: States) -> Result<TestStep>
    where
        Self: Sized,
    {
        let _ = states;
        unimplemented!()
    }
}

fn main() {}
