//! Inputs in any order, any subset, `_`-prefixed and `mut`, without a single warning.
#![deny(warnings)]

use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(
        &self,
        training: bool,
        mut states: States,
        x: &Tensor,
        _initializing: bool,
    ) -> Result<PredStep> {
        if training {
            states = States::new(1);
        }
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
