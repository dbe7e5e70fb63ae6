use elegy::prelude::*;
use elegy::{Model, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States) -> Result<Tensor> {
        let w = states.net_params.require("w")?;
        x.matmul(w)
    }
}

fn main() {}
