use elegy::prelude::*;
use elegy::{Data, Model, States, TestStep};

struct Linear;

impl Model for Linear {
    #[step]
    fn test_step(&self, sample_weight: Option<&Data>, states: States) -> Result<TestStep> {
        let _ = (sample_weight, states);
        unimplemented!()
    }
}

fn main() {}
