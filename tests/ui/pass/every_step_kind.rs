//! Each step kind with every input it offers.
#![deny(warnings)]
#![allow(clippy::too_many_arguments)]

use elegy::prelude::*;
use elegy::{Data, GradStep, Model, PredStep, States, SummaryRow, TestStep, TrainStep};

struct Full;

impl Model for Full {
    #[step]
    fn init_step(
        &self,
        _x: &Data,
        _y_true: Option<&Data>,
        _sample_weight: Option<&Tensor>,
        _class_weight: Option<&Tensor>,
        states: States,
    ) -> Result<States> {
        Ok(states)
    }

    #[step]
    fn pred_step(
        &self,
        x: &Data,
        states: States,
        _initializing: bool,
        _training: bool,
    ) -> Result<PredStep> {
        Ok(PredStep::new(x.clone(), states))
    }

    #[step]
    fn test_step(
        &self,
        _x: &Data,
        _y_true: Option<&Data>,
        _sample_weight: Option<&Tensor>,
        _class_weight: Option<&Tensor>,
        states: States,
        _initializing: bool,
        _training: bool,
    ) -> Result<TestStep> {
        Ok(TestStep { loss: Tensor::scalar(0.0), logs: Default::default(), states })
    }

    #[step]
    fn grad_step(
        &self,
        _x: &Data,
        _y_true: Option<&Data>,
        _sample_weight: Option<&Tensor>,
        _class_weight: Option<&Tensor>,
        states: States,
        _initializing: bool,
        _training: bool,
    ) -> Result<GradStep> {
        Ok(GradStep {
            loss: Tensor::scalar(0.0),
            logs: Default::default(),
            states,
            grads: TensorMap::new(),
        })
    }

    #[step]
    fn train_step(
        &self,
        _x: &Data,
        _y_true: Option<&Data>,
        _sample_weight: Option<&Tensor>,
        _class_weight: Option<&Tensor>,
        states: States,
        _initializing: bool,
        _training: bool,
    ) -> Result<TrainStep> {
        Ok(TrainStep { logs: Default::default(), states })
    }

    #[step]
    fn summary_step(&self, _x: &Data, _states: States) -> Result<Vec<SummaryRow>> {
        Ok(Vec::new())
    }
}

fn main() {}
