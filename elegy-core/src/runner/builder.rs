//! [`RunnerBuilder`]: what a runner is made of, checked once by its one fallible step,
//! [`RunnerBuilder::build`].

use std::sync::Arc;

use super::Runner;
use crate::distributed::{Collective, DataParallel};
use crate::error::{Error, Result};
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::model::Model;
use crate::module::Module;
use crate::optimizers::Optimizer;
use crate::step::{Components, LossEntry, MetricEntry, loss_log_name};

/// The parts of a [`Runner`] while it is being put together: `Runner::new(model)` (or
/// `Runner::for_module`), then the losses, metrics, optimizer, module and seed, then
/// [`RunnerBuilder::build`].
///
/// ```
/// use elegy_core::losses::SparseCategoricalCrossentropy;
/// use elegy_core::metrics::SparseCategoricalAccuracy;
/// use elegy_core::module::layers::Mlp;
/// use elegy_core::optimizers::Adam;
/// use elegy_core::Runner;
/// let runner = Runner::for_module(Mlp::new(&[16, 3]))
///     .loss(SparseCategoricalCrossentropy::from_logits())
///     .metric(SparseCategoricalAccuracy)
///     .optimizer(Adam::new(1e-2))
///     .seed(42)
///     .build()?;
/// // Two logs of one name would overwrite each other: `build` says so.
/// let clash = Runner::for_module(Mlp::new(&[3]))
///     .metric(SparseCategoricalAccuracy)
///     .metric(SparseCategoricalAccuracy)
///     .build();
/// assert!(clash.is_err());
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub struct RunnerBuilder<M> {
    model: M,
    components: Components,
    seed: u64,
    tune_malloc: bool,
    /// The first mistake among the calls so far, which `build` returns.
    mistake: Option<String>,
}

impl<M: Model> RunnerBuilder<M> {
    pub(super) fn new(model: M) -> RunnerBuilder<M> {
        RunnerBuilder {
            model,
            components: Components::default(),
            seed: 0,
            tune_malloc: true,
            mistake: None,
        }
    }

    /// The runner, or the first mistake in what it was given: a loss weight that is not finite,
    /// or two logs of one name (they would overwrite each other): two metrics, a metric and a
    /// loss, or a metric called `loss`. A loss's own name is logged only beside other losses
    /// (one loss is logged as `loss` alone), so only then can it clash.
    pub fn build(mut self) -> Result<Runner<M>> {
        if let Some(name) = first_repeated(self.components.log_names()) {
            self.note_mistake(format!(
                "two of the runner's losses and metrics are logged as `{name}`, and would \
                 overwrite each other; give one of them a group with named_loss / named_metric, \
                 or rename a metric with Metric::named"
            ));
        }
        if let Some(message) = self.mistake {
            return Err(Error::invalid("Runner", message));
        }
        Ok(Runner::built(
            self.model,
            self.components,
            self.seed,
            self.tune_malloc,
        ))
    }

    /// Adds a loss with weight 1. Logged as `loss` when it is the runner's one loss; beside
    /// others, the total is `loss` and this one is logged as `<name>_loss` too.
    pub fn loss(self, loss: impl Loss + 'static) -> RunnerBuilder<M> {
        self.weighted_loss(loss, 1.0)
    }

    /// Adds a loss whose value is multiplied by `weight`. Its log is the weighted value, the part
    /// it adds to the total `loss` (as in Elegy, where the weight belongs to the loss; Keras logs
    /// each output's loss before weighting).
    pub fn weighted_loss(self, loss: impl Loss + 'static, weight: f32) -> RunnerBuilder<M> {
        let log_name = loss_log_name(&loss.name());
        self.push_loss(Arc::new(loss), weight, log_name, None)
    }

    /// Adds a loss in the named group `key`, logged as `key/<name>_loss` beside the total `loss`
    /// when the runner has several losses.
    pub fn named_loss(self, key: &str, loss: impl Loss + 'static, weight: f32) -> RunnerBuilder<M> {
        let log_name = format!("{key}/{}", loss_log_name(&loss.name()));
        self.push_loss(Arc::new(loss), weight, log_name, None)
    }

    /// Adds a loss of the model's output `key` (a map's key, or a tuple's position `"0"`,
    /// `"1"`...) against the same part of the targets, logged as `key/<name>_loss` beside the
    /// total `loss` when the runner has several losses.
    pub fn output_loss(
        self,
        key: &str,
        loss: impl Loss + 'static,
        weight: f32,
    ) -> RunnerBuilder<M> {
        let log_name = format!("{key}/{}", loss_log_name(&loss.name()));
        self.push_loss(Arc::new(loss), weight, log_name, Some(key.to_string()))
    }

    /// Adds a metric, logged under its name.
    pub fn metric(self, metric: impl Metric + 'static) -> RunnerBuilder<M> {
        let log_name = metric.name();
        self.push_metric(Arc::new(metric), log_name, None)
    }

    /// Adds a metric in the named group `key`, logged as `key/<name>`.
    pub fn named_metric(self, key: &str, metric: impl Metric + 'static) -> RunnerBuilder<M> {
        let log_name = format!("{key}/{}", metric.name());
        self.push_metric(Arc::new(metric), log_name, None)
    }

    /// Adds a metric of the model's output `key` against the same part of the targets, logged
    /// as `key/<name>`.
    pub fn output_metric(self, key: &str, metric: impl Metric + 'static) -> RunnerBuilder<M> {
        let log_name = format!("{key}/{}", metric.name());
        self.push_metric(Arc::new(metric), log_name, Some(key.to_string()))
    }

    /// Sets the module the default `pred_step` runs (the high-level API: no step to write).
    pub fn module(mut self, module: impl Module + 'static) -> RunnerBuilder<M> {
        self.components.module = Some(Arc::new(module));
        self
    }

    /// Sets the optimizer of the default `train_step`.
    pub fn optimizer(mut self, optimizer: impl Optimizer + 'static) -> RunnerBuilder<M> {
        self.components.optimizer = Some(Arc::new(optimizer));
        self
    }

    /// Trains data-parallel over `group`: each rank (thread or process) of the group trains on
    /// its shard of every batch and the gradients are summed across ranks before each update,
    /// so that every rank holds the same model. Build the runner this way on every rank, with
    /// the same model, options and seed. See [`crate::distributed`] for the rules.
    ///
    /// ```
    /// use elegy_core::distributed::ThreadGroup;
    /// use elegy_core::losses::MeanSquaredError;
    /// use elegy_core::module::layers::Linear;
    /// use elegy_core::optimizers::Sgd;
    /// use elegy_core::{FitOptions, Runner, Tensor};
    /// let x = Tensor::from_vec((0..16).map(|i| i as f32 / 16.0).collect(), &[16, 1])?;
    /// let y = x.mul_scalar(3.0);
    /// let params = ThreadGroup::run(2, |rank| {
    ///     let mut runner = Runner::for_module(Linear::new(1))
    ///         .loss(MeanSquaredError)
    ///         .optimizer(Sgd::new(0.1))
    ///         .data_parallel(rank)
    ///         .build()?;
    ///     let options = FitOptions { epochs: 3, batch_size: 8, verbose: 0, ..Default::default() };
    ///     runner.fit(x.clone(), y.clone(), options)?;
    ///     Ok::<_, elegy_core::Error>(runner.states().net_params.clone())
    /// });
    /// let (rank0, rank1) = (params[0].as_ref().unwrap(), params[1].as_ref().unwrap());
    /// assert_eq!(rank0, rank1); // the same model on every rank
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn data_parallel(mut self, group: impl Collective + 'static) -> RunnerBuilder<M> {
        self.components.data_parallel = Some(DataParallel::new(group));
        self
    }

    /// Sets the seed every random choice derives from (initialization, shuffling, dropout).
    pub fn seed(mut self, seed: u64) -> RunnerBuilder<M> {
        self.seed = seed;
        self
    }

    /// Whether the first training step tunes glibc's malloc for the whole process so that freed
    /// arrays are kept for the next step ([`super::retain_freed_memory`]): on by default,
    /// because without it each step faults its arrays' pages in again (`bench_mlp`'s epochs
    /// take 2.2x as long at batch 64, 2.0x at batch 256). Pass `false` when the host process
    /// must keep its own malloc settings; the call is a no-op where the environment already
    /// tunes malloc (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`) and
    /// off glibc.
    pub fn retain_freed_memory(mut self, enabled: bool) -> RunnerBuilder<M> {
        self.tune_malloc = enabled;
        self
    }

    fn push_loss(
        mut self,
        loss: Arc<dyn Loss>,
        weight: f32,
        log_name: String,
        output: Option<String>,
    ) -> RunnerBuilder<M> {
        if !weight.is_finite() {
            self.note_mistake(format!(
                "the loss logged as `{log_name}` has weight {weight}; a loss weight must be finite"
            ));
        }
        self.components.losses.push(LossEntry {
            loss,
            weight,
            log_name,
            output,
        });
        self
    }

    fn push_metric(
        mut self,
        metric: Arc<dyn Metric>,
        log_name: String,
        output: Option<String>,
    ) -> RunnerBuilder<M> {
        self.components.metrics.push(MetricEntry {
            metric,
            log_name,
            output,
        });
        self
    }

    /// Keeps the first mistake, for `build`.
    fn note_mistake(&mut self, message: String) {
        self.mistake.get_or_insert(message);
    }
}

/// The first name `names` gives twice.
fn first_repeated<'a>(mut names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = std::collections::HashSet::new();
    names.find(|name| !seen.insert(*name))
}
