use elegy::prelude::*;
use elegy::{Model, PredStep, States, TestStep};

struct Linear {
    calls: usize,
}

impl Model for Linear {
    #[step]
    fn pred_step(&mut self, x: &Tensor, states: States) -> Result<PredStep> {
        self.calls += 1;
        Ok(PredStep::new(x.clone(), states))
    }

    #[step]
    fn test_step(self, states: States) -> Result<TestStep> {
        drop(self);
        let _ = states;
        unimplemented!()
    }
}

fn main() {}
