//! Every type form each input can be received as.
#![deny(warnings)]

use elegy::prelude::*;
use elegy::{Data, Model, TestStep, TrainStep};

struct Borrowed;

impl Model for Borrowed {
    #[step]
    fn test_step(
        &self,
        _x: &Tensor,
        _y_true: &Tensor,
        _sample_weight: &Tensor,
        _class_weight: Option<&Tensor>,
    ) -> Result<TestStep> {
        unimplemented!()
    }

    #[step]
    fn train_step(
        &self,
        _x: &Data,
        _y_true: &Data,
        _sample_weight: Option<&Tensor>,
        _class_weight: &Tensor,
    ) -> Result<TrainStep> {
        unimplemented!()
    }
}

struct Owned;

impl Model for Owned {
    #[step]
    fn test_step(
        &self,
        _x: Tensor,
        _y_true: Option<Tensor>,
        _sample_weight: Option<Tensor>,
        _class_weight: Tensor,
    ) -> Result<TestStep> {
        unimplemented!()
    }

    #[step]
    fn train_step(
        &self,
        _x: Data,
        _y_true: Option<Data>,
        _sample_weight: Tensor,
        _class_weight: Option<Tensor>,
    ) -> Result<TrainStep> {
        unimplemented!()
    }
}

/// Targets by value without an `Option`: a call without targets is an error when it runs.
struct RequiredTargets;

impl Model for RequiredTargets {
    #[step]
    fn test_step(&self, _y_true: Tensor) -> Result<TestStep> {
        unimplemented!()
    }

    #[step]
    fn train_step(&self, _y_true: Data) -> Result<TrainStep> {
        unimplemented!()
    }
}

struct OptionalTargets;

impl Model for OptionalTargets {
    #[step]
    fn test_step(&self, _y_true: Option<&Tensor>) -> Result<TestStep> {
        unimplemented!()
    }

    #[step]
    fn train_step(&self, _y_true: Option<&Data>) -> Result<TrainStep> {
        unimplemented!()
    }
}

fn main() {}
