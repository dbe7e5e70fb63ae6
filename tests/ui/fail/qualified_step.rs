use elegy::prelude::*;
use elegy::{GradStep, Model, PredStep, States, TestStep};

struct Linear;

impl Model for Linear {
    #[step]
    const fn pred_step(&self, states: States) -> Result<PredStep> {
        let _ = states;
        unimplemented!()
    }

    #[step]
    unsafe fn test_step(&self, states: States) -> Result<TestStep> {
        let _ = states;
        unimplemented!()
    }

    #[step]
    extern "C" fn grad_step(&self, states: States) -> Result<GradStep> {
        let _ = states;
        unimplemented!()
    }
}

fn main() {}
