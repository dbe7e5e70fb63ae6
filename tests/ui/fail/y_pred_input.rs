use elegy::prelude::*;

struct M;

impl Model for M {
    #[step]
    fn test_step(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<TestStep> {
        let _ = (y_true, y_pred);
        todo!()
    }
}

fn main() {}
