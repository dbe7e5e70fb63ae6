use elegy::prelude::*;

struct M;

impl Model for M {
    #[step]
    fn train_step(&self, x: &Tensor) -> Result<TrainStep> {
        let _ = x;
        if ctx.training {
            return elegy::model::defaults::train_step(self, ctx);
        }
        todo!()
    }
}

fn main() {}
