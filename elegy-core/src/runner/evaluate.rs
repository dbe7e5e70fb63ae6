//! Evaluation: `evaluate` over arrays, `evaluate_dataset` over a stream and `fit`'s validation
//! share one loop over batches; `test_on_batch` evaluates one.

use std::collections::BTreeMap;

use super::accumulate::LogAccumulator;
use super::checks::{check_batch_size, check_sample_weight};
use super::drive::{drive, finite};
use super::hooks::LoopPosition;
use super::origin::Origin;
use super::unreported::LoggingStep;
use super::{EvaluateOptions, Runner, checked_len, without_states};
use crate::callbacks::progress::format_logs;
use crate::callbacks::{Callback, LogValues};
use crate::data::{Arrays, Batches, Data, Dataset, IntoTargets, check_finite};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::step::StepContext;

impl<M: Model> Runner<M> {
    /// The logs of `test_step` over `x` and `y` (sample-weighted means and final metric values),
    /// starting from fresh metric state. The states each step returns are the runner's
    /// afterwards (metric state included). `y` may be [`NoTargets`](crate::NoTargets) for a
    /// model whose steps and losses do not need them (see [`Runner::fit`]).
    pub fn evaluate(
        &mut self,
        x: impl Into<Data>,
        y: impl IntoTargets,
        options: EvaluateOptions,
    ) -> Result<BTreeMap<String, f32>> {
        // Data-parallel: a rank that fails or panics stops the others rather than leaving them
        // waiting for it.
        let _guard = self.abort_on_panic();
        let result = self.evaluate_here(x.into(), y.into_targets(), options);
        self.abort_on_failure(result)
    }

    /// [`Runner::evaluate`] on this rank.
    fn evaluate_here(
        &mut self,
        x: Data,
        y: Option<Data>,
        mut options: EvaluateOptions,
    ) -> Result<BTreeMap<String, f32>> {
        check_batch_size("evaluate", options.batch_size)?;
        let n = checked_len(&x, y.as_ref(), "evaluate")?;
        check_sample_weight("evaluate", options.sample_weight.as_ref(), n)?;
        self.require_initialized("evaluate")?;
        check_finite(&x, "evaluate: x", 0)?;
        if let Some(y) = &y {
            check_finite(y, "evaluate: y", 0)?;
        }
        let mut arrays = Arrays::new(x, y, options.sample_weight, options.batch_size);
        let position = LoopPosition::outside_fit(arrays.batches_per_epoch());
        let origin = Origin::arrays("evaluate", &arrays);
        let batches = arrays.batches(0)?;
        let callbacks = &mut options.callbacks;
        let logs = self.evaluate_batches(batches, &origin, 0, callbacks, position, &mut false)?;
        if options.verbose > 0 && self.is_chief() {
            println!("{}", format_logs(&logs));
        }
        Ok(logs)
    }

    /// The logs of `test_step` over the batches of `dataset`, from fresh metric state. Batches
    /// without targets are given to the steps as they are (see [`Runner::fit`]). Initializes the model from the first batch if needed.
    pub fn evaluate_dataset(&mut self, dataset: &mut dyn Dataset) -> Result<BTreeMap<String, f32>> {
        self.check_for("evaluate_dataset")?;
        let origin = Origin::stream("evaluate_dataset");
        if !self.initialized {
            let first = dataset
                .batches(0)?
                .next()
                .ok_or_else(|| Error::Data("evaluate_dataset: the dataset is empty".into()))??;
            self.init_on_batch(
                &first.x,
                first.y.as_ref(),
                first.sample_weight.as_ref(),
                None,
                false,
            )
            .map_err(|e| origin.place(e, None, 0, 0))?;
        }
        let prefetch = dataset.prefetch();
        let position = LoopPosition::outside_fit(dataset.batches_per_epoch());
        let batches = finite(dataset.batches(0)?, "evaluate");
        self.evaluate_batches(
            batches,
            &origin,
            prefetch,
            &mut Vec::new(),
            position,
            &mut false,
        )
    }

    /// `test_step` on one batch; returns the logs of the batches evaluated so far this way.
    /// Initializes the model from this batch if needed (as `train_on_batch` and
    /// `evaluate_dataset` do).
    ///
    /// As in Elegy, consecutive calls accumulate: metrics stream on from the state the last call
    /// left and the loss logs are means over all the batches, until [`Runner::reset_metrics`]
    /// (or another loop, `fit` or `evaluate`, which start from fresh metric state). For Keras'
    /// `test_on_batch(x, y, reset_metrics=True)`, call `reset_metrics()` first.
    pub fn test_on_batch(
        &mut self,
        x: impl Into<Data>,
        y: impl IntoTargets,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into_targets());
        let n = checked_len(&x, y.as_ref(), "test_on_batch")?;
        self.check_for("test_on_batch")?;
        // Checked before anything runs on it, initialization included.
        check_finite(&x, "test_on_batch: x", 0)?;
        if let Some(y) = &y {
            check_finite(y, "test_on_batch: y", 0)?;
        }
        // The arrays share the tensors of `x` and `y`.
        let mut arrays = Arrays::new(x.clone(), y.clone(), None, n);
        let origin = Origin::arrays("test_on_batch", &arrays);
        self.init_on_batch(&x, y.as_ref(), None, None, false)
            .map_err(|e| origin.place(e, None, 0, 0))?;
        let position = LoopPosition::outside_fit(Some(1));
        let (fresh, mut accumulator) = match self.on_batch_logs.take() {
            Some(accumulator) => (false, accumulator),
            None => (true, LogAccumulator::default()),
        };
        let batches = arrays.batches(0)?;
        let evaluation = Evaluation {
            fresh,
            accumulator: &mut accumulator,
            origin: &origin,
        };
        self.evaluate_batches_into(
            batches,
            0,
            &mut Vec::new(),
            position,
            &mut false,
            evaluation,
        )?;
        let logs = self.global_logs(&accumulator)?;
        self.on_batch_logs = Some(accumulator);
        Ok(logs)
    }

    /// Ends a series of [`Runner::test_on_batch`] calls: the metric state goes back to what every
    /// evaluation starts from, and the next call's logs are its own.
    pub fn reset_metrics(&mut self) {
        self.on_batch_logs = None;
        self.states.metrics_states = self.initial_metrics_states.clone();
    }

    /// `test_step` over `batches` from fresh metric state; the logs over all of them. The
    /// states each step returns are the runner's; a step that fails leaves them as they were
    /// before it.
    pub(super) fn evaluate_batches(
        &mut self,
        batches: Batches<'_>,
        origin: &Origin,
        prefetch: usize,
        callbacks: &mut [Box<dyn Callback>],
        position: LoopPosition,
        stop: &mut bool,
    ) -> Result<LogValues> {
        let mut accumulator = LogAccumulator::default();
        let evaluation = Evaluation {
            fresh: true,
            accumulator: &mut accumulator,
            origin,
        };
        self.evaluate_batches_into(batches, prefetch, callbacks, position, stop, evaluation)?;
        self.global_logs(&accumulator)
    }

    /// [`Runner::evaluate_batches`], adding the logs to `evaluation`'s accumulator, from fresh
    /// metric state when it says so.
    fn evaluate_batches_into(
        &mut self,
        batches: Batches<'_>,
        prefetch: usize,
        callbacks: &mut [Box<dyn Callback>],
        position: LoopPosition,
        stop: &mut bool,
        evaluation: Evaluation<'_>,
    ) -> Result<()> {
        self.with_callbacks(callbacks, position, stop, |cb, ctx| cb.on_test_begin(ctx))?;
        if evaluation.fresh {
            // Another loop ends a series of `test_on_batch` calls.
            self.on_batch_logs = None;
            self.states.metrics_states = self.initial_metrics_states.clone();
        }
        let (accumulator, origin) = (evaluation.accumulator, evaluation.origin);
        let mut seen = 0;
        drive(batches, prefetch, usize::MAX, |batch, b| {
            self.with_callbacks(callbacks, position, stop, |cb, ctx| {
                cb.on_test_batch_begin(batch, ctx)
            })?;
            // Data-parallel: this rank's shard of the batch (the batch itself alone).
            let shard = self.shard(b)?;
            let (b, n) = (shard.batch, shard.local);
            seen += shard.global;
            let first_sample = seen - shard.global + shard.offset;
            // A copy sharing every tensor: a step that fails or panics leaves the runner's.
            let states = self.states.clone().with_rng(self.eval_key(batch as u64));
            let out = self
                .model
                .test_step(StepContext {
                    x: &b.x,
                    y_true: b.y.as_ref(),
                    sample_weight: b.sample_weight.as_ref(),
                    class_weight: None,
                    states,
                    components: &self.components,
                    initializing: false,
                    training: false,
                })
                .map_err(|e| origin.place(without_states(e), None, batch, first_sample))?;
            self.states = out.states;
            accumulator.add(&out.logs, n);
            let running = accumulator.values();
            self.with_callbacks(callbacks, position, stop, |cb, ctx| {
                cb.on_test_batch_end(batch, ctx, &running)
            })?;
            Ok(true)
        })?;
        if seen == 0 {
            return Err(Error::Data("evaluate: there were no batches".into()));
        }
        let logs = self.global_logs(accumulator)?;
        self.warn_of_unreported_metrics(LoggingStep::Test, &logs);
        self.with_callbacks(callbacks, position, stop, |cb, ctx| {
            cb.on_test_end(ctx, &logs)
        })
    }
}

/// How an evaluation adds up: from fresh metric state or on from the runner's, into which logs;
/// and where its batches come from.
struct Evaluation<'a> {
    fresh: bool,
    accumulator: &'a mut LogAccumulator,
    origin: &'a Origin,
}
