//! `ctx` receives the whole context, beside any of its fields but `states`, in every step.

use elegy::model::defaults;
use elegy::prelude::*;
use elegy::step::{InitContext, PredContext, StepContext, SummaryContext};
use elegy::{GradStep, SummaryRow, TestStep, TrainStep};

struct M;

impl Model for M {
    #[step]
    fn init_step(&self, x: &Data, ctx: InitContext<'_>) -> Result<States> {
        let _ = x;
        defaults::init_step(self, ctx)
    }

    #[step]
    fn pred_step(&self, training: bool, ctx: PredContext<'_>) -> Result<PredStep> {
        let _ = training;
        defaults::pred_step(self, ctx)
    }

    #[step]
    fn test_step(&self, ctx: StepContext<'_>, y_true: Option<&Data>) -> Result<TestStep> {
        let _ = y_true;
        defaults::test_step(self, ctx)
    }

    #[step]
    fn grad_step(&self, ctx: StepContext<'_>) -> Result<GradStep> {
        defaults::grad_step(self, ctx)
    }

    #[step]
    fn train_step(&self, components: &Components, ctx: StepContext<'_>) -> Result<TrainStep> {
        let _ = components.optimizer.is_some();
        defaults::train_step(self, ctx)
    }

    #[step]
    fn summary_step(&self, ctx: SummaryContext<'_>) -> Result<Vec<SummaryRow>> {
        defaults::summary_step(self, ctx)
    }
}

use elegy::step::Components;

fn main() {}
