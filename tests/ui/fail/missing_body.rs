use elegy::prelude::*;
use elegy::{Model, PredStep};

struct Linear;

impl Model for Linear {
    #[step]
    fn pred_step(&self, x: &Tensor) -> Result<PredStep>;
}

fn main() {}
