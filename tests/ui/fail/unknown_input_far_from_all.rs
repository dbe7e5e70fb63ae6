use elegy::prelude::*;
use elegy::{Data, Model, SummaryRow};

struct Linear;

impl Model for Linear {
    #[step]
    fn summary_step(&self, inputs: &Data) -> Result<Vec<SummaryRow>> {
        let _ = inputs;
        Ok(Vec::new())
    }
}

fn main() {}
