//! [`Runner`]: what you call `fit` on. It owns a model, the loss, metrics and optimizer the
//! default steps use, a seed, and the current [`States`].

mod accumulate;
mod builder;
mod checks;
mod drive;
mod evaluate;
mod fit;
mod history;
mod history_plot;
mod hooks;
mod memory;
mod options;
mod origin;
mod parallel;
mod persist;
mod predict;
mod summary;
mod unreported;

pub use builder::RunnerBuilder;
pub use history::History;
pub use memory::retain_freed_memory;
pub use options::{EvaluateOptions, FitOptions, PredictOptions};
pub use summary::format_summary;

use crate::data::Data;
use crate::error::{Error, Result};
use crate::model::{Defaults, Model};
use crate::module::Module;
use crate::step::{Components, InitContext, States, SummaryContext, SummaryRow};
use crate::tensor::{RngKey, Tensor, TensorMap};

/// Runs a [`Model`]'s steps over data: `fit`, `evaluate`, `predict`, and their `*_on_batch`
/// forms.
///
/// The rules every entry point keeps:
/// - The states a step returns are the runner's afterwards (as in Elegy), in training,
///   evaluation and prediction alike; each step's random key derives from the seed, the step
///   count and the batch, so the same calls in the same order give bit-identical results.
/// - A step receives the runner's [`Components`] in its context beside the states; the states
///   are plain data.
/// - A step that fails leaves the runner's states as they were before it: evaluation and
///   prediction steps are given a copy sharing every tensor, and a training step (given the
///   states themselves, so that the optimizer updates them in place) hands them back in its
///   error, as the default steps do. A training step that fails without handing them back, or
///   panics, leaves the runner without states: every later call, `save` first, is then an
///   [`Error::StatesLost`] until `load`, `restore`, `set_states` or `reset`.
/// - Targets are optional wherever a loop takes them ([`crate::NoTargets`]): the steps then see
///   `y_true = None`, and a step, loss or metric that needs targets fails before any batch
///   trains (a runner initialized to train runs `train_step(initializing)`, which asks for
///   them). Every sample given is trained on, evaluated or predicted exactly once per pass, in
///   order unless shuffled, with its own weight (`tests/sample_accounting.rs`).
///
/// ```
/// use elegy_core::losses::SparseCategoricalCrossentropy;
/// use elegy_core::metrics::SparseCategoricalAccuracy;
/// use elegy_core::module::layers::Mlp;
/// use elegy_core::optimizers::Adam;
/// use elegy_core::{FitOptions, Runner, datasets};
/// let iris = datasets::iris()?;
/// let mut runner = Runner::for_module(Mlp::new(&[16, 3]))
///     .loss(SparseCategoricalCrossentropy::from_logits())
///     .metric(SparseCategoricalAccuracy)
///     .optimizer(Adam::new(1e-2))
///     .seed(42)
///     .build()?;
/// let options = FitOptions { epochs: 20, verbose: 0, ..Default::default() };
/// let history = runner.fit(iris.x, iris.y, options)?;
/// assert!(history.last("sparse_categorical_accuracy").unwrap() > 0.8);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub struct Runner<M> {
    model: M,
    components: Components,
    seed: u64,
    states: States,
    /// Metric state right after `init`: what every epoch and evaluation starts from.
    initial_metrics_states: TensorMap,
    initialized: bool,
    /// Whether the metric state is there (init with targets, or loaded): checkpoints are then
    /// held to it exactly.
    metrics_made: bool,
    /// Training steps taken so far; each step's random key derives from it.
    step: u64,
    history: History,
    /// The training step that lost the states, while the runner has none (a step failed without
    /// handing them back, or panicked): every call is then an error until it gets states again.
    lost_at: Option<u64>,
    /// Whether training tunes glibc's malloc for the process ([`retain_freed_memory`]).
    tune_malloc: bool,
    /// The logs of a series of `test_on_batch` calls under way (until `reset_metrics` or
    /// another loop).
    on_batch_logs: Option<accumulate::LogAccumulator>,
    /// Whether the runner has warned that a step of the model's own left out a metric it was
    /// given (once is enough).
    warned_of_unreported_metrics: bool,
}

/// Keys derived from the seed for different purposes never collide.
const SHUFFLE_STREAM: u64 = 1;
const STEP_STREAM: u64 = 2;
/// Keys of evaluation and prediction steps come from their own stream.
const EVAL_STREAM: u64 = 3;

impl Runner<Defaults> {
    /// A runner whose default `pred_step` runs `module`: the high-level API, with no step to
    /// write. Give it a loss, metrics and an optimizer as usual, then [`RunnerBuilder::build`].
    pub fn for_module(module: impl Module + 'static) -> RunnerBuilder<Defaults> {
        Runner::new(Defaults).module(module)
    }
}

impl<M: Model> Runner<M> {
    /// Starts building a runner of `model`: no loss, metrics or optimizer yet, and seed 0. Add
    /// them with the builder's methods, then call [`RunnerBuilder::build`], which reports any
    /// mistake in them.
    // The familiar first word of a runner (`Runner::new(model)...build()?`) starts its builder.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(model: M) -> RunnerBuilder<M> {
        RunnerBuilder::new(model)
    }

    /// The runner a builder describes, checked (see [`RunnerBuilder::build`]).
    fn built(model: M, components: Components, seed: u64, tune_malloc: bool) -> Runner<M> {
        Runner {
            model,
            components,
            seed,
            states: States::new(seed),
            initial_metrics_states: TensorMap::new(),
            metrics_made: false,
            initialized: false,
            step: 0,
            history: History::default(),
            lost_at: None,
            tune_malloc,
            on_batch_logs: None,
            warned_of_unreported_metrics: false,
        }
    }

    /// `Ok` while the runner has its states; [`Error::StatesLost`] after a training step that
    /// failed without handing them back, or panicked, until `load`, `restore`, `set_states` or
    /// `reset` gives it states again. Every method that runs the model checks this first.
    pub fn check(&self) -> Result<()> {
        self.check_for("Runner::check")
    }

    /// [`Runner::check`] for the operation `op`, which the error names.
    fn check_for(&self, op: &str) -> Result<()> {
        match self.lost_at {
            Some(step) => Err(Error::StatesLost {
                op: op.to_string(),
                step,
                source: None,
            }),
            None => Ok(()),
        }
    }

    /// The runner's loss, metrics, optimizer and module: what its steps receive beside the
    /// states.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The current states.
    pub fn states(&self) -> &States {
        &self.states
    }

    /// Replaces the states (e.g. with loaded ones); the runner counts as initialized.
    pub fn set_states(&mut self, states: States) {
        self.initial_metrics_states = states.metrics_states.clone();
        self.metrics_made = !states.metrics_states.is_empty();
        self.states = states;
        self.initialized = true;
        self.lost_at = None;
    }

    /// Returns the runner to where it was before `init` (Elegy's `reset`): no states, no steps
    /// taken, no history; its model, components and seed stay. The next `fit` or `init`
    /// initializes again, with the same keys as the first time.
    pub fn reset(&mut self) {
        self.states = States::new(self.seed);
        self.initial_metrics_states = TensorMap::new();
        self.metrics_made = false;
        self.initialized = false;
        self.step = 0;
        self.history = History::default();
        self.lost_at = None;
    }

    /// Whether `init` (or `fit`) has created the states.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// The logs of the epochs that led to the current states, by epoch number, across `fit`
    /// calls and checkpoints. A `fit` from an epoch the history already holds (`initial_epoch`
    /// 0 again, as a second `fit` of Keras) replaces the records from that epoch on, so the
    /// numbers keep increasing; each `fit` also returns its own epochs' logs.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Training steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Creates the states from the first `batch_size` samples by running `init_step`. `y` may
    /// be omitted for models used only to predict.
    ///
    /// An initialized runner (after `set_states`, say, or a `load_weights` into it) keeps its
    /// states and gets what they miss that it can make without a step: the optimizer's state for
    /// the parameters, and the metrics' initial state.
    pub fn init(&mut self, x: impl Into<Data>, y: Option<Data>, batch_size: usize) -> Result<()> {
        self.check_for("init")?;
        if self.initialized {
            return self.complete_states();
        }
        let x = x.into();
        let n = checked_len(&x, y.as_ref(), "init")?;
        let first: Vec<usize> = (0..n.min(batch_size.max(1))).collect();
        let xb = x.select(&first)?;
        let yb = y.as_ref().map(|y| y.select(&first)).transpose()?;
        self.init_on_batch(&xb, yb.as_ref(), None, None, false)
    }

    /// `init_step` on one batch, unless initialized; `training` when the states are made to
    /// train on. Callers have checked the runner (`check_for`) under their own name.
    pub(crate) fn init_on_batch(
        &mut self,
        x: &Data,
        y: Option<&Data>,
        sample_weight: Option<&Tensor>,
        class_weight: Option<&Tensor>,
        training: bool,
    ) -> Result<()> {
        if self.initialized {
            return Ok(());
        }
        let states = States::new(self.seed).with_rng(self.step_key(0));
        let states = self
            .model
            .init_step(InitContext {
                x,
                y_true: y,
                sample_weight,
                class_weight,
                states,
                components: &self.components,
                training,
            })
            .map_err(without_states)?;
        self.initial_metrics_states = states.metrics_states.clone();
        self.metrics_made = y.is_some() || training;
        self.states = states;
        self.initialized = true;
        Ok(())
    }

    /// Fills in the optimizer state and the metrics' initial state when the states lack them.
    fn complete_states(&mut self) -> Result<()> {
        if let Some(optimizer) = &self.components.optimizer
            && self.states.optimizer_states.is_empty()
            && !self.states.net_params.is_empty()
        {
            self.states.optimizer_states = optimizer.init(&self.states.net_params)?;
        }
        if !self.metrics_made && !self.components.metrics.is_empty() {
            let initial = self.components.initial_metric_states();
            let mut metrics_states = self.states.metrics_states.clone();
            for (name, value) in initial.iter() {
                if !metrics_states.contains(name) {
                    metrics_states.insert(name, value.clone());
                }
            }
            self.states.metrics_states = metrics_states.clone();
            self.initial_metrics_states = metrics_states;
            self.metrics_made = true;
        }
        Ok(())
    }

    /// Prints a table describing the model (one row per module, or per parameter for models
    /// without one) and returns its rows; initializes the model from `x` first if needed.
    pub fn summary(&mut self, x: impl Into<Data>) -> Result<Vec<SummaryRow>> {
        let rows = self.summary_rows(x)?;
        println!("{}", format_summary(&rows));
        Ok(rows)
    }

    /// The rows of [`Runner::summary`], without printing.
    pub fn summary_rows(&mut self, x: impl Into<Data>) -> Result<Vec<SummaryRow>> {
        let x = x.into();
        self.init(x.clone(), None, 32)?;
        self.model
            .summary_step(SummaryContext {
                x: &x,
                states: self.states.clone(),
                components: &self.components,
            })
            .map_err(without_states)
    }

    fn step_key(&self, step: u64) -> RngKey {
        RngKey::new(self.seed).fold_in(STEP_STREAM).fold_in(step)
    }

    /// The key of the `batch`-th evaluation or prediction step after the runner's current
    /// training step.
    fn eval_key(&self, batch: u64) -> RngKey {
        RngKey::new(self.seed)
            .fold_in(EVAL_STREAM)
            .fold_in(self.step)
            .fold_in(batch)
    }

    /// The key that each pass's shuffle key is folded from (by the pass's number).
    fn shuffle_stream(&self) -> RngKey {
        RngKey::new(self.seed).fold_in(SHUFFLE_STREAM)
    }

    fn require_initialized(&self, op: &str) -> Result<()> {
        self.check_for(op)?;
        if self.initialized {
            Ok(())
        } else {
            Err(Error::NotInitialized {
                op: op.to_string(),
                hint: "call `init` or `fit` first".into(),
            })
        }
    }
}

/// A step's error as the runner's caller sees it: the states the step handed back are the
/// runner's business (it keeps its own, or has taken them back).
pub(crate) fn without_states(error: Error) -> Error {
    error.into_parts().0
}

/// The number of samples of `x` (and `y`, which must agree), checking the data is not empty.
fn checked_len(x: &Data, y: Option<&Data>, op: &str) -> Result<usize> {
    let n = x
        .num_samples()
        .map_err(|e| Error::Data(format!("{op}: x: {e}")))?;
    if n == 0 {
        return Err(Error::Data(format!("{op}: x has no samples")));
    }
    if let Some(y) = y {
        let m = y
            .num_samples()
            .map_err(|e| Error::Data(format!("{op}: y: {e}")))?;
        if m != n {
            return Err(Error::Data(format!(
                "{op}: x has {n} samples but y has {m}; they must have the same length"
            )));
        }
    }
    Ok(n)
}
