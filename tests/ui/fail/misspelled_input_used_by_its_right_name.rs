use elegy::prelude::*;
use elegy::{Model, PredStep, States};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, x: &Tensor, stats: States) -> Result<PredStep> {
        let w = states.net_params.require("w")?;
        let y_pred = x.matmul(w)?;
        let (key, _) = states.rng.split();
        let _ = key;
        Ok(PredStep::new(y_pred, states))
    }
}

fn main() {}
