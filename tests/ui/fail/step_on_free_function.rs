use elegy::prelude::*;

#[step]
fn pred_step(x: &Tensor, states: States) -> Result<PredStep> {
    Ok(PredStep::new(x.clone(), states))
}

fn main() {}
