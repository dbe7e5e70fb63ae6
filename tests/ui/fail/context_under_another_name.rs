use elegy::prelude::*;
use elegy::step::StepContext;

struct M;

impl Model for M {
    #[step]
    fn train_step(&self, context: StepContext<'_>) -> Result<TrainStep> {
        elegy::model::defaults::train_step(self, context)
    }
}

fn main() {}
