//! [`Components`]: the loss, metrics and optimizer a runner was given.

use std::sync::Arc;

use crate::losses::Loss;
use crate::metrics::Metric;
use crate::module::Module;
use crate::optimizers::Optimizer;

/// One loss of a runner, with its weight in the total and its log name.
#[derive(Clone)]
pub struct LossEntry {
    /// The loss function.
    pub loss: Arc<dyn Loss>,
    /// Multiplies this loss in the total.
    pub weight: f32,
    /// The name it is logged under (`<name>_loss`).
    pub log_name: String,
}

/// What default steps use from their runner: the high-level API's parts. Cheap to clone (everything is shared).
#[derive(Clone, Default)]
pub struct Components {
    /// The losses, summed (with their weights) into the total loss.
    pub losses: Vec<LossEntry>,
    /// The metrics, logged by name.
    pub metrics: Vec<Arc<dyn Metric>>,
    /// The optimizer of `train_step`.
    pub optimizer: Option<Arc<dyn Optimizer>>,
    /// The module of the default `pred_step`.
    pub module: Option<Arc<dyn Module>>,
}

/// `<name>_loss`, without doubling a `_loss` the name already ends with.
pub(crate) fn loss_log_name(name: &str) -> String {
    if name == "loss" || name.ends_with("_loss") {
        name.to_string()
    } else {
        format!("{name}_loss")
    }
}
