//! Attributes on the method, its body and its parameters are kept (the `unused_mut` allowed on
//! `x` reaches its binding); full paths and the long form of `&self` work; no inputs is fine.
#![deny(warnings)]

use elegy::prelude::*;

/// A model.
struct Documented;

impl elegy::Model for Documented {
    /// Kept on the generated method.
    #[step]
    #[allow(clippy::needless_return)]
    fn pred_step(
        self: &Self,
        #[allow(unused_mut)] mut x: elegy::Tensor,
    ) -> elegy::Result<elegy::PredStep> {
        #![allow(unreachable_code)]
        return Ok(elegy::PredStep::new(x, elegy::States::new(0)));
    }

    #[step]
    fn summary_step(&self) -> elegy::Result<Vec<elegy::SummaryRow>> {
        Ok(Vec::new())
    }
}

fn main() {}
