//! [`Components`]: the loss, metrics, optimizer and module a runner was given, which its default
//! steps use. Steps receive them in their context, beside the [`crate::step::States`].

use std::sync::Arc;

use crate::distributed::DataParallel;
use crate::error::Result;
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::module::Module;
use crate::optimizers::Optimizer;
use crate::tensor::TensorMap;

/// One loss of a runner, with its weight in the total and its log name.
#[derive(Clone)]
pub struct LossEntry {
    /// The loss function.
    pub loss: Arc<dyn Loss>,
    /// Multiplies this loss in the total.
    pub weight: f32,
    /// The name it is logged under (`<name>_loss`) beside the total `loss`, when the runner has
    /// several losses; a runner's one loss is logged as `loss` alone.
    pub log_name: String,
    /// The part of the targets and predictions it compares (a map's key or a tuple's
    /// position), or all of them.
    pub output: Option<String>,
}

/// One metric of a runner, with its log name (also the prefix of its state in
/// `metrics_states`).
#[derive(Clone)]
pub struct MetricEntry {
    /// The metric.
    pub metric: Arc<dyn Metric>,
    /// The name it is logged under (`accuracy`, or `key/accuracy` in a named group).
    pub log_name: String,
    /// The part of the targets and predictions it measures, or all of them.
    pub output: Option<String>,
}

/// What default steps use from their runner: the high-level API's parts. Every step context
/// carries the runner's (`ctx.components`; ask for `components` with `#[step]`); outside a
/// runner, `Components::none()` has none. Cheap to clone (everything is shared).
#[derive(Clone, Default)]
pub struct Components {
    /// The losses, summed (with their weights) into the total loss.
    pub losses: Vec<LossEntry>,
    /// The metrics, logged by name.
    pub metrics: Vec<MetricEntry>,
    /// The optimizer of `train_step`.
    pub optimizer: Option<Arc<dyn Optimizer>>,
    /// The module of the default `pred_step`.
    pub module: Option<Arc<dyn Module>>,
    /// Data-parallel training's group, when the runner trains on several ranks
    /// ([`RunnerBuilder::data_parallel`](crate::runner::RunnerBuilder::data_parallel)).
    pub data_parallel: Option<DataParallel>,
}

/// No loss, metric, optimizer or module: what [`Components::none`] lends.
static NONE: Components = Components {
    losses: Vec::new(),
    metrics: Vec::new(),
    optimizer: None,
    module: None,
    data_parallel: None,
};

impl Components {
    /// The gradients of the whole batch from this rank's: with data-parallel training, every
    /// rank's scaled by its share of the batch and summed over the ranks
    /// ([`DataParallel::reduce_gradients`]); otherwise `grads` as they are. The default
    /// `train_step` calls it before its optimizer's update; a `train_step` of your own that
    /// updates with optimizers of its own calls it on each set of gradients (every rank must).
    pub fn reduce_gradients(&self, grads: &TensorMap) -> Result<TensorMap> {
        match &self.data_parallel {
            Some(dp) => dp.reduce_gradients(grads),
            None => Ok(grads.clone()),
        }
    }

    /// This process's rank in data-parallel training (0 without it).
    pub fn rank(&self) -> usize {
        self.data_parallel.as_ref().map_or(0, DataParallel::rank)
    }

    /// Components with nothing in them, for a step context built by hand outside a runner (a
    /// test calling a step directly, say): the default steps then say what they miss.
    pub fn none() -> &'static Components {
        &NONE
    }
}

impl MetricEntry {
    /// What the names of this metric's state in `metrics_states` start with (`accuracy/`).
    pub(crate) fn state_prefix(&self) -> String {
        format!("{}/", self.log_name)
    }
}

/// `<name>_loss`, without doubling a `_loss` the name already ends with.
pub(crate) fn loss_log_name(name: &str) -> String {
    if name == "loss" || name.ends_with("_loss") {
        name.to_string()
    } else {
        format!("{name}_loss")
    }
}

impl Components {
    /// The metrics' state as `test_step` first makes it: each metric's initial state, its names
    /// under the metric's log name (`accuracy/count`).
    pub(crate) fn initial_metric_states(&self) -> TensorMap {
        let mut states = TensorMap::new();
        for entry in &self.metrics {
            let prefix = entry.state_prefix();
            for (key, value) in entry.metric.init() {
                states.insert(format!("{prefix}{key}"), value);
            }
        }
        states
    }

    /// Every name the default `test_step` logs: the total's `loss`, each loss's own name when
    /// there are several (one loss is the total), and the metrics'.
    pub(crate) fn log_names(&self) -> impl Iterator<Item = &str> {
        let parts = if self.losses.len() > 1 {
            &self.losses[..]
        } else {
            &[]
        };
        std::iter::once("loss")
            .chain(parts.iter().map(|l| l.log_name.as_str()))
            .chain(self.metrics.iter().map(|m| m.log_name.as_str()))
    }
}

impl std::fmt::Debug for Components {
    /// The log names of the losses and metrics, the optimizer's hyperparameters, and whether
    /// there is a module.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |names: Vec<&str>| names.join(", ");
        f.debug_struct("Components")
            .field(
                "losses",
                &names(self.losses.iter().map(|l| l.log_name.as_str()).collect()),
            )
            .field(
                "metrics",
                &names(self.metrics.iter().map(|m| m.log_name.as_str()).collect()),
            )
            .field(
                "optimizer",
                &self.optimizer.as_ref().map(|o| o.hyperparameters()),
            )
            .field("module", &self.module.is_some())
            .finish()
    }
}
