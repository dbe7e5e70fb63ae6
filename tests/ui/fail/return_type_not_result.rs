use elegy::prelude::*;
use elegy::{Model, PredStep, States, TestStep};

struct NotAResult;

impl Model for NotAResult {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States) -> PredStep {
        PredStep::new(x.clone(), states)
    }
}

struct OtherError;

impl Model for OtherError {
    #[step]
    fn test_step(&self, states: States) -> std::result::Result<TestStep, String> {
        Err(format!("{:?}", states.rng))
    }
}

struct NoReturnType;

impl Model for NoReturnType {
    #[step]
    fn pred_step(&self, x: &Tensor) {
        let _ = x;
    }
}

fn main() {}
