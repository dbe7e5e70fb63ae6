use elegy::prelude::*;

struct M;

impl Model for M {
    #[step]
    fn pred_step(&self, x: f32, states: &States, training: Option<bool>) -> Result<PredStep> {
        let _ = (x, states, training);
        todo!()
    }

    #[step]
    fn train_step(&self, ctx: &elegy::step::StepContext<'_>, y_true: &mut Tensor) -> Result<TrainStep> {
        let _ = (ctx, y_true);
        todo!()
    }
}

fn main() {}
