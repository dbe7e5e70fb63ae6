use elegy::prelude::*;

struct M;

/// An alias the macro cannot see through: the trait of the input says what it accepts.
type Flag = f32;

impl Model for M {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, training: Flag) -> Result<PredStep> {
        let _ = training;
        Ok(PredStep::new(x.clone(), states))
    }
}

fn main() {}
