use elegy::prelude::*;

struct Linear;

impl Linear {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
