use elegy::prelude::*;

struct M;

impl Model for M {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States) -> Result<(Tensor, States)> {
        Ok((x.clone(), states))
    }
}

fn main() {}
