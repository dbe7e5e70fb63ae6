use elegy::prelude::*;
use elegy::step::StepContext;
use elegy::TrainStep;

struct M;

impl Model for M {
    #[step]
    fn train_step(&self, ctx: StepContext<'_>, states: States) -> Result<TrainStep> {
        let _ = (ctx, states);
        todo!()
    }
}

fn main() {}
