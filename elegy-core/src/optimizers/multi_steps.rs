//! [`MultiSteps`]: gradient accumulation, one update of an optimizer every `k` training steps
//! along the mean of their gradients.

use ndarray::Zip;

use super::{Optimizer, check_grads, positive_steps, take_state};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// What the names of [`MultiSteps`]' own state entries start with.
const PREFIX: &str = "accumulated/";

/// The name of the count of steps accumulated since the last update.
pub(crate) const MICRO_STEPS: &str = "accumulated/micro_steps";

/// The largest `every_k_steps`: every count below it is exact in the `f32` state keeps it in.
const MAX_STEPS: usize = 1 << 24;

/// The name of the gradient sum of parameter `param`.
fn sum_name(param: &str) -> String {
    format!("{PREFIX}grads/{param}")
}

/// Accumulates gradients over `every_k_steps` training steps and updates with `optimizer` once
/// along their mean: optax's `MultiSteps`, Keras' `gradient_accumulation_steps`. With `k`
/// micro-batches of `b` samples each, training sees the gradient of one batch of `k * b`, for the
/// memory of a batch of `b`.
///
/// ```
/// use elegy_core::optimizers::{Adam, MultiSteps, Optimizer};
/// use elegy_core::{Tensor, TensorMap};
/// let optimizer = MultiSteps::new(Adam::new(1e-3), 4);
/// let params = TensorMap::new().with("w", Tensor::from(vec![1.0, 2.0]));
/// let names: Vec<String> = optimizer.init(&params)?.names().map(String::from).collect();
/// assert_eq!(
///     names,
///     ["0/m/w", "0/v/w", "accumulated/grads/w", "accumulated/micro_steps", "learning_rate", "step"]
/// );
/// # Ok::<(), elegy_core::Error>(())
/// ```
///
/// The rules:
///
/// - **One update per `k` steps, counted once.** The first `k - 1` steps of a group only add
///   their gradients to `accumulated/grads/{param}` (the parameters do not move); the `k`-th
///   hands `(sum + g) / k` to `optimizer`, whose step count (`step`), learning-rate schedule,
///   clipping and weight decay then advance or apply once, as for one step on the big batch
///   (Keras at first advanced its schedule per micro-batch: its issue 19990). So `k` batches of
///   `b` equal one batch of `k * b` up to float rounding, for a model without batch statistics
///   and a loss that is a mean over the batch (the default reduction): the mean of `k` equal-sized
///   batch means is the big batch's mean. `fit` logs as `learning_rate` the rate of the next real
///   update.
/// - **Unequal batches.** The mean is over steps, not samples: each micro-batch's gradient
///   counts `1 / k` whatever its size, so a group holding a smaller last batch weights its
///   samples more than one big batch would (as optax and Keras do).
/// - **Groups do not stop at epochs.** The count goes on across epochs and `fit` calls: with a
///   number of batches per epoch that `k` does not divide, a group spans the end of one epoch
///   and the start of the next; after the last step of training, a partial group waits in the
///   state (saved in checkpoints, resumed exactly) and never moves the parameters unless
///   training goes on. Choose `batch_size` and `steps_per_epoch` so that `k` divides the batches
///   of an epoch to have every epoch end on an update.
/// - **State.** `optimizer`'s own entries as they are (so `learning_rate` and `step` stay where
///   callbacks look for them), `accumulated/micro_steps` (the steps accumulated so far, below `k`)
///   and `accumulated/grads/{param}` (their gradients' sum).
#[doc(alias = "gradient_accumulation_steps")]
#[doc(alias = "gradient accumulation")]
#[derive(Clone, Debug)]
pub struct MultiSteps<O> {
    optimizer: O,
    every_k_steps: usize,
}

impl<O: Optimizer> MultiSteps<O> {
    /// Updates with `optimizer` every `every_k_steps` steps (1: every step, as `optimizer` alone).
    pub fn new(optimizer: O, every_k_steps: usize) -> MultiSteps<O> {
        MultiSteps {
            optimizer,
            every_k_steps,
        }
    }

    /// The optimizer that makes the updates.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The number of steps per update.
    pub fn every_k_steps(&self) -> usize {
        self.every_k_steps
    }

    fn validate(&self, op: &'static str) -> Result<()> {
        positive_steps(op, "every_k_steps", self.every_k_steps as u64)?;
        if self.every_k_steps > MAX_STEPS {
            return Err(Error::invalid(
                op,
                format!(
                    "every_k_steps {} is above {MAX_STEPS}, the largest count the state keeps \
                     exactly",
                    self.every_k_steps
                ),
            ));
        }
        Ok(())
    }

    /// The steps accumulated so far, as the state says: a whole number below `k`.
    fn micro_steps(&self, op: &'static str, state: &TensorMap) -> Result<usize> {
        let value = state.require(MICRO_STEPS)?.item()?;
        let k = self.every_k_steps;
        if value.fract() == 0.0 && value >= 0.0 && (value as usize) < k {
            return Ok(value as usize);
        }
        Err(Error::invalid(
            op,
            format!(
                "the optimizer state `{MICRO_STEPS}` is {value}, not a count of steps below \
                 every_k_steps {k}; the state was made by a MultiSteps with another \
                 every_k_steps (build the runner with the one it was saved with)"
            ),
        ))
    }
}

impl<O: Optimizer> Optimizer for MultiSteps<O> {
    fn init(&self, params: &TensorMap) -> Result<TensorMap> {
        let op = "MultiSteps::init";
        self.validate(op)?;
        let mut state = self.optimizer.init(params)?;
        if let Some(name) = state.names().find(|n| n.starts_with(PREFIX)) {
            return Err(Error::invalid(
                op,
                format!(
                    "the inner optimizer's state has an entry `{name}`, under the prefix \
                     `{PREFIX}` MultiSteps keeps for its own; do not wrap a MultiSteps in another"
                ),
            ));
        }
        state.insert(MICRO_STEPS, Tensor::scalar(0.0));
        for (name, p) in params.iter() {
            state.insert(sum_name(name), Tensor::zeros(p.shape()));
        }
        Ok(state)
    }

    fn update(
        &self,
        params: TensorMap,
        grads: &TensorMap,
        mut state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)> {
        let op = "MultiSteps::update";
        self.validate(op)?;
        check_grads(op, &params, grads)?;
        let micro_steps = self.micro_steps(op, &state)?;
        let mut sums = Vec::with_capacity(params.len());
        for (name, p) in params.iter() {
            let mut sum = take_state(op, &mut state, &sum_name(name), p.shape())?;
            let g = grads.require(name)?;
            Zip::from(&mut sum).and(g.array()).for_each(|s, &g| *s += g);
            sums.push((name.to_string(), sum));
        }
        state.remove(MICRO_STEPS);
        if micro_steps + 1 < self.every_k_steps {
            for (name, sum) in sums {
                state.insert(sum_name(&name), Tensor::new(sum));
            }
            state.insert(MICRO_STEPS, Tensor::scalar((micro_steps + 1) as f32));
            return Ok((params, state));
        }
        let k = self.every_k_steps as f32;
        let means: TensorMap = sums
            .into_iter()
            .map(|(name, mut sum)| {
                sum.mapv_inplace(|s| s / k);
                (name, Tensor::new(sum))
            })
            .collect();
        let (params, mut state) = self.optimizer.update(params, &means, state)?;
        // The next group starts from zero, in the same arrays.
        for (name, mean) in means {
            let mut sum = mean.into_array();
            sum.fill(0.0);
            state.insert(sum_name(&name), Tensor::new(sum));
        }
        state.insert(MICRO_STEPS, Tensor::scalar(0.0));
        Ok((params, state))
    }

    /// The rate of the next real update.
    fn learning_rate(&self, state: &TensorMap) -> Option<f32> {
        self.optimizer.learning_rate(state)
    }

    fn hyperparameters(&self) -> serde_json::Value {
        serde_json::json!({
            "MultiSteps": {
                "every_k_steps": self.every_k_steps,
                "optimizer": self.optimizer.hyperparameters(),
            }
        })
    }

    fn base_learning_rate(&self, state: &TensorMap) -> Option<f32> {
        self.optimizer.base_learning_rate(state)
    }

    fn set_base_learning_rate(&self, state: &mut TensorMap, learning_rate: f32) -> Result<()> {
        self.optimizer.set_base_learning_rate(state, learning_rate)
    }
}
