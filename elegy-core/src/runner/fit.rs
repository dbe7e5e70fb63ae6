//! Training: `fit` over arrays and `fit_dataset` over a stream share one loop over epochs and
//! batches (arrays are a [`Dataset`] too); `train_on_batch` takes one step.

use std::collections::BTreeMap;

use super::accumulate::LogAccumulator;
use super::checks::{
    check_batch_size, check_sample_weight, check_validation_split, check_weights,
    split_for_validation,
};
use super::drive::{drive, finite};
use super::hooks::LoopPosition;
use super::origin::Origin;
use super::unreported::LoggingStep;
use super::{FitOptions, History, Runner, checked_len};
use crate::callbacks::Progress;
use crate::callbacks::{Callback, LogValues};
use crate::data::{Arrays, Batch, Batches, Data, Dataset, IntoTargets, check_finite};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::optimizers::{self, LEARNING_RATE};
use crate::step::{Logs, States, StepContext};
use crate::tensor::Tensor;

impl<M: Model> Runner<M> {
    /// Trains on `x` and `y` for `options.epochs` epochs and returns the logs of each (also
    /// appended to [`Runner::history`]). Initializes the model from the first batch if needed.
    ///
    /// `y` may be [`NoTargets`](crate::NoTargets), for a model trained without labels (an
    /// autoencoder whose loss reads `x`, a GAN with its own `train_step`): a step's `y_true:
    /// Option<..>` is then `None`, and a step, loss or metric that needs targets fails on the
    /// first batch, before any update, with [`Error::MissingInput`] naming the input and who
    /// needed it. `validation_split` then holds out inputs alone.
    ///
    /// Each epoch's logs are its batches' logs (sample-weighted means of batch values, the last
    /// value of running ones such as metrics), the validation logs prefixed `val_`, and
    /// `learning_rate`, as Keras writes it: the rate of the epoch's last training step, read
    /// just before that step. It is what the runner's optimizer reports
    /// ([`Optimizer::learning_rate`](crate::optimizers::Optimizer::learning_rate): with a
    /// constant rate, the base rate in the optimizer state, so the rate the epoch trained with
    /// whatever `ReduceLrOnPlateau` or `LearningRateScheduler` did; with a schedule, the
    /// schedule's value at that step), or, for a runner without an optimizer, the base rate the
    /// states keep under `learning_rate`, if any. A step that logs `learning_rate` itself is
    /// logged as it says. Keras' `optimizer.learning_rate` with a schedule is the *next* step's
    /// rate; this is the last one's, so that the log says what was used.
    ///
    /// Callbacks may add logs of their own in `on_epoch_end`; see
    /// [`Callback::on_epoch_end`] for which callbacks and records see them.
    pub fn fit(
        &mut self,
        x: impl Into<Data>,
        y: impl IntoTargets,
        options: FitOptions,
    ) -> Result<History> {
        // Data-parallel: a rank that fails or panics stops the others rather than leaving them
        // waiting for it.
        let _guard = self.abort_on_panic();
        let result = self.fit_here(x.into(), y.into_targets(), options);
        self.abort_on_failure(result)
    }

    /// [`Runner::fit`] on this rank.
    fn fit_here(&mut self, x: Data, y: Option<Data>, mut options: FitOptions) -> Result<History> {
        self.check_for("fit")?;
        check_batch_size("fit", options.batch_size)?;
        check_validation_split("fit", options.validation_split)?;
        let n = checked_len(&x, y.as_ref(), "fit")?;
        let sample_weight = options.sample_weight.take();
        check_sample_weight("fit", sample_weight.as_ref(), n)?;
        check_finite(&x, "fit: x", 0)?;
        if let Some(y) = &y {
            check_finite(y, "fit: y", 0)?;
        }
        let given = options.validation_data.take();
        let ((x, y, sample_weight), validation) = match given {
            Some(given) => ((x, y, sample_weight), validation_arrays(given, &options)?),
            None => {
                let (train, validation) =
                    split_for_validation(x, y, sample_weight, options.validation_split)?;
                let batch_size = options.batch_size;
                // Held out from the end of `x`: its samples follow the training ones there.
                let held_out_from = train.0.num_samples()?;
                let validation = validation
                    .map(|(x, y, w)| Arrays::new(x, y, w, batch_size).part_of("x", held_out_from));
                (train, validation)
            }
        };
        let mut arrays = Arrays::new(x, y, sample_weight, options.batch_size);
        if let Some(steps) = options.steps_per_epoch {
            arrays = arrays.with_steps_per_epoch(steps);
        }
        if options.shuffle {
            arrays = arrays.shuffled(self.shuffle_stream());
        }
        // Checked whole above: the batches need no check of their own.
        let origin = Origin::arrays("fit", &arrays);
        self.train_epochs(&mut arrays, origin, validation, options)
    }

    /// Trains on the batches of `dataset` (inputs, targets and optional sample weights) for
    /// `options.epochs` epochs: a pass over the dataset per epoch, or `options.steps_per_epoch`
    /// batches of it. The dataset decides batching and shuffling, so `batch_size`, `shuffle`,
    /// `validation_split` and `sample_weight` of the options do not apply (the last two are
    /// errors); validate with `validation_data`.
    ///
    /// An uninitialized runner initializes from the first batch of the first epoch, which is
    /// then trained on in its place, so a stream that cannot restart loses nothing.
    pub fn fit_dataset(
        &mut self,
        dataset: &mut dyn Dataset,
        mut options: FitOptions,
    ) -> Result<History> {
        self.check_for("fit_dataset")?;
        if options.validation_split > 0.0 || options.sample_weight.is_some() {
            return Err(Error::invalid(
                "fit_dataset",
                "validation_split and sample_weight do not apply to a dataset: pass \
                 validation_data, and put sample weights in the dataset's batches",
            ));
        }
        let validation = match options.validation_data.take() {
            Some(given) => validation_arrays(given, &options)?,
            None => None,
        };
        self.train_epochs(dataset, Origin::stream("fit_dataset"), validation, options)
    }

    /// The epochs of `fit` and `fit_dataset` over the batches of `dataset`, each checked for
    /// non-finite values when they come from a stream (arrays were checked whole), validated
    /// on `validation`.
    fn train_epochs(
        &mut self,
        dataset: &mut dyn Dataset,
        origin: Origin,
        validation: Option<Arrays>,
        options: FitOptions,
    ) -> Result<History> {
        // Data-parallel: a rank that fails or panics stops the others rather than leaving them
        // waiting for it.
        let _guard = self.abort_on_panic();
        let result = self.train_epochs_here(dataset, origin, validation, options);
        self.abort_on_failure(result)
    }

    /// [`Runner::train_epochs`] on this rank.
    fn train_epochs_here(
        &mut self,
        dataset: &mut dyn Dataset,
        origin: Origin,
        validation: Option<Arrays>,
        options: FitOptions,
    ) -> Result<History> {
        if options.validation_freq == 0 {
            return Err(Error::invalid("fit", "validation_freq must be at least 1"));
        }
        if let Some(weights) = &options.class_weight {
            check_weights("fit", "class_weight", "class", weights, 0)?;
        }
        if options.steps_per_epoch == Some(0) {
            return Err(Error::invalid("fit", "steps_per_epoch must be at least 1"));
        }
        let (initial_epoch, epochs) = (options.initial_epoch, options.epochs);
        let prefetch = dataset.prefetch();
        // Batches per epoch as far as known (a stream's length is not).
        let steps = options
            .steps_per_epoch
            .or(dataset.batches_per_epoch())
            .unwrap_or(0);
        let check_batches = origin.is_stream();
        let mut run = FitRun::new(options, validation, steps, origin, self.is_chief());

        // The first epoch's batches. An uninitialized runner initializes from the first of them
        // (before any hook, so that callbacks see the model's states from the start), which is
        // then trained on in its place: a one-shot stream cannot give it twice.
        {
            let mut batches = batches_of(dataset, initial_epoch, check_batches)?;
            if !self.initialized {
                let first = batches
                    .next()
                    .ok_or_else(|| Error::Data("fit: the data or dataset is empty".into()))??;
                let shard = self.shard(first.clone())?.batch;
                self.init_on_batch(
                    &shard.x,
                    shard.y.as_ref(),
                    shard.sample_weight.as_ref(),
                    run.class_weight.as_ref(),
                    true,
                )
                .map_err(|e| run.origin.place(e, Some(initial_epoch), 0, 0))?;
                batches = Box::new(std::iter::once(Ok(first)).chain(batches));
            }
            // Data-parallel: every rank starts from rank 0's model.
            self.take_root_states()?;
            let at = run.at(initial_epoch);
            self.with_callbacks(&mut run.callbacks, at, &mut run.stop, |cb, ctx| {
                cb.on_train_begin(ctx)
            })?;
            if initial_epoch < epochs && !run.stop {
                run.epoch(self, initial_epoch, batches, prefetch)?;
            }
        }
        for epoch in initial_epoch + 1..epochs {
            if run.stop {
                break;
            }
            let batches = batches_of(dataset, epoch, check_batches)?;
            run.epoch(self, epoch, batches, prefetch)?;
        }
        let (at, logs) = (run.at(run.last_epoch), std::mem::take(&mut run.last_logs));
        self.with_callbacks(&mut run.callbacks, at, &mut run.stop, |cb, ctx| {
            cb.on_train_end(ctx, &logs)
        })?;
        Ok(run.history)
    }

    /// One training step on one batch (initializing first if needed); returns its logs.
    ///
    /// A step that fails (a batch the model refuses) changes nothing when it hands back the
    /// states it was given, as the default steps do (and a step of the model's own does with
    /// [`Error::with_states`]): the runner keeps its parameters and goes on from them. A step
    /// that fails without handing them back, or panics, takes them with it: the runner is then
    /// uninitialized and refuses every call ([`Error::StatesLost`]) until it has states again
    /// (`load` a checkpoint, `restore`, `set_states`, or `reset` then `init`).
    pub fn train_on_batch(
        &mut self,
        x: impl Into<Data>,
        y: impl IntoTargets,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into_targets());
        checked_len(&x, y.as_ref(), "train_on_batch")?;
        self.check_for("train_on_batch")?;
        // Data-parallel: the batch is the ranks' together; this rank trains on its shard.
        let shard = self.shard(Batch {
            x,
            y,
            sample_weight: None,
        })?;
        let b = &shard.batch;
        let was_initialized = self.initialized;
        self.init_on_batch(&b.x, b.y.as_ref(), b.sample_weight.as_ref(), None, true)?;
        if !was_initialized {
            self.take_root_states()?;
        }
        if let Some(dp) = self.parallel() {
            dp.set_share(shard.local, shard.global);
        }
        let w = b.sample_weight.as_ref();
        let logs = self.train_batch("train_on_batch", &b.x, b.y.as_ref(), w, None)?;
        let mut accumulator = LogAccumulator::default();
        accumulator.add(&logs, shard.local);
        self.global_logs(&accumulator)
    }

    /// The learning rate the next training step will use, for the `learning_rate` log (see
    /// [`Runner::fit`]).
    fn next_learning_rate(&self) -> Option<f32> {
        let state = &self.states.optimizer_states;
        match &self.components.optimizer {
            Some(optimizer) => optimizer.learning_rate(state),
            None => state.get(LEARNING_RATE).and_then(|t| t.item().ok()),
        }
    }

    /// One training step. The states move into the step rather than being cloned: parameters
    /// and optimizer moments then have one owner, and the optimizer updates them in place. A
    /// step that fails hands them back in its error (the default steps do), and the runner goes
    /// on from them; one that fails without them, or panics, leaves the runner without states,
    /// refusing every call until it gets them again ([`Error::StatesLost`]).
    fn train_batch(
        &mut self,
        op: &'static str,
        x: &Data,
        y: Option<&Data>,
        sample_weight: Option<&Tensor>,
        class_weight: Option<&Tensor>,
    ) -> Result<Logs> {
        if self.tune_malloc {
            super::retain_freed_memory();
        }
        let step = self.step.checked_add(1).ok_or_else(|| {
            Error::invalid(op, "the runner's step count is at its maximum (u64::MAX)")
        })?;
        // States handed back by a failing step are taken only if their optimizer has not counted
        // an update since: an override that updated once and then failed hands back states half
        // a step on, which the runner's step count and keys no longer match.
        let given_count = optimizers::step_count(&self.states.optimizer_states).ok();
        let rng = self.states.rng;
        let key = self.rank_key(self.step_key(step));
        let states = std::mem::take(&mut self.states).with_rng(key);
        // Until the step returns, the runner holds no states: a panic in it leaves it so.
        self.lost_at = Some(step);
        self.initialized = false;
        let out = self.model.train_step(StepContext {
            x,
            y_true: y,
            sample_weight,
            class_weight,
            states,
            components: &self.components,
            initializing: false,
            training: true,
        });
        let failed = match out {
            Ok(out) => {
                self.states = out.states;
                self.step = step;
                self.lost_at = None;
                self.initialized = true;
                // Data-parallel: moving statistics are each rank's; keep the model one.
                self.average_net_states()?;
                return Ok(out.logs);
            }
            Err(e) => e,
        };
        match failed.into_parts() {
            (error, Some(states))
                if optimizers::step_count(&states.optimizer_states).ok() == given_count =>
            {
                // Exactly the states it had: the key too.
                self.states = states.with_rng(rng);
                self.lost_at = None;
                self.initialized = true;
                Err(error)
            }
            (error, _) => {
                self.states = States::new(self.seed);
                Err(Error::StatesLost {
                    op: op.to_string(),
                    step,
                    source: Some(Box::new(error)),
                })
            }
        }
    }
}

/// `validation_data` as the arrays `fit` validates on, checked.
fn validation_arrays(given: Batch, options: &FitOptions) -> Result<Option<Arrays>> {
    let Batch {
        x,
        y,
        sample_weight,
    } = given;
    let n = checked_len(&x, y.as_ref(), "fit (validation_data)")?;
    check_sample_weight("fit (validation_data)", sample_weight.as_ref(), n)?;
    check_finite(&x, "fit: validation x", 0)?;
    if let Some(y) = &y {
        check_finite(y, "fit: validation y", 0)?;
    }
    let arrays = Arrays::new(x, y, sample_weight, options.batch_size).part_of("validation_data", 0);
    Ok(Some(arrays))
}

/// The batches of `dataset` for `epoch`, each checked for non-finite values when `check`.
fn batches_of(dataset: &mut dyn Dataset, epoch: usize, check: bool) -> Result<Batches<'_>> {
    let batches = dataset.batches(epoch)?;
    Ok(if check {
        finite(batches, "fit")
    } else {
        batches
    })
}

/// One `fit` under way: its options as the epochs use them, and what it has recorded.
struct FitRun {
    callbacks: Vec<Box<dyn Callback>>,
    class_weight: Option<Tensor>,
    validation: Option<Arrays>,
    /// Where the training batches come from, for errors about one of their samples.
    origin: Origin,
    validation_freq: usize,
    initial_epoch: usize,
    epochs: usize,
    /// Batches per epoch as far as known, for callbacks (0: not known).
    steps: usize,
    steps_per_epoch: Option<usize>,
    stop: bool,
    /// This fit's epochs.
    history: History,
    /// Whether the runner's records from `initial_epoch` on were dropped: only once this fit
    /// has an epoch to put there, so that a fit that fails first leaves history and states
    /// matching.
    forgotten: bool,
    last_logs: LogValues,
    last_epoch: usize,
}

impl FitRun {
    fn new(
        options: FitOptions,
        validation: Option<Arrays>,
        steps: usize,
        origin: Origin,
        chief: bool,
    ) -> FitRun {
        let mut callbacks = options.callbacks;
        // Data-parallel: only rank 0 shows progress.
        if let (Some(progress), true) = (Progress::for_verbosity(options.verbose), chief) {
            // First, so that an epoch's line comes before what other callbacks print about it.
            callbacks.insert(0, Box::new(progress));
        }
        FitRun {
            callbacks,
            class_weight: options.class_weight,
            validation,
            origin,
            validation_freq: options.validation_freq,
            initial_epoch: options.initial_epoch,
            epochs: options.epochs,
            steps,
            steps_per_epoch: options.steps_per_epoch,
            stop: false,
            history: History::default(),
            forgotten: false,
            last_logs: LogValues::new(),
            last_epoch: options.initial_epoch,
        }
    }

    fn at(&self, epoch: usize) -> LoopPosition {
        LoopPosition {
            epoch,
            epochs: self.epochs,
            steps_per_epoch: self.steps,
        }
    }

    /// Epoch `epoch` over `batches`: its hooks, its training steps, its validation and its
    /// record.
    fn epoch<M: Model>(
        &mut self,
        runner: &mut Runner<M>,
        epoch: usize,
        batches: Batches<'_>,
        prefetch: usize,
    ) -> Result<()> {
        let at = self.at(epoch);
        runner.with_callbacks(&mut self.callbacks, at, &mut self.stop, |cb, ctx| {
            cb.on_epoch_begin(epoch, ctx)
        })?;
        runner.on_batch_logs = None;
        runner.states.metrics_states = runner.initial_metrics_states.clone();
        let mut accumulator = LogAccumulator::default();
        let mut rate = None;
        let (mut seen, mut batches_run) = (0usize, 0usize);
        let limit = self.steps_per_epoch.unwrap_or(usize::MAX);
        drive(batches, prefetch, limit, |batch, b| {
            // Data-parallel: this rank's shard of the batch (the batch itself alone).
            let shard = runner.shard(b)?;
            let (b, n) = (shard.batch, shard.local);
            seen += shard.global;
            batches_run += 1;
            // Where this rank's samples start in the epoch, for errors about one of them.
            let first_sample = seen - shard.global + shard.offset;
            runner.with_callbacks(&mut self.callbacks, at, &mut self.stop, |cb, ctx| {
                cb.on_train_batch_begin(batch, ctx)
            })?;
            let weights = b.sample_weight.as_ref();
            let class_weight = self.class_weight.as_ref();
            rate = runner.next_learning_rate();
            if let Some(dp) = runner.parallel() {
                dp.set_share(n, shard.global);
            }
            let logs = runner
                .train_batch("fit", &b.x, b.y.as_ref(), weights, class_weight)
                .map_err(|e| self.origin.place(e, Some(epoch), batch, first_sample))?;
            accumulator.add(&logs, n);
            let mut running = accumulator.values();
            if let Some(rate) = rate {
                running.entry(LEARNING_RATE.to_string()).or_insert(rate);
            }
            runner.with_callbacks(&mut self.callbacks, at, &mut self.stop, |cb, ctx| {
                cb.on_train_batch_end(batch, ctx, &running)
            })?;
            self.stop = runner.agree_to_stop(self.stop)?;
            Ok(!self.stop)
        })?;
        if seen == 0 {
            return Err(Error::Data(format!(
                "fit: epoch {epoch} had no batches; the data or dataset is empty"
            )));
        }
        if let (Some(steps), false) = (self.steps_per_epoch, self.stop)
            && batches_run < steps
        {
            // Keras stops training here with a warning; an epoch shorter than asked for is not
            // to pass unnoticed.
            return Err(Error::Data(format!(
                "fit_dataset: the dataset's pass for epoch {epoch} gave {batches_run} of the \
                 {steps} batches steps_per_epoch asks for; make it yield at least \
                 steps_per_epoch batches a pass, or leave steps_per_epoch unset for one pass an \
                 epoch (the epochs trained so far are in the runner's history)"
            )));
        }
        let mut logs = runner.global_logs(&accumulator)?;
        runner.warn_of_unreported_metrics(LoggingStep::Train, &logs);
        if let Some(rate) = rate {
            logs.entry(LEARNING_RATE.to_string()).or_insert(rate);
        }
        let validate = (epoch + 1 - self.initial_epoch).is_multiple_of(self.validation_freq);
        if let (Some(validation), true) = (&mut self.validation, validate) {
            let origin = Origin::arrays("fit (validation)", validation);
            let batches = validation.batches(0)?;
            let (callbacks, stop) = (&mut self.callbacks, &mut self.stop);
            let val = runner.evaluate_batches(batches, &origin, 0, callbacks, at, stop)?;
            logs.extend(val.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
        }
        if !self.forgotten {
            runner.history.forget_from(self.initial_epoch);
            self.forgotten = true;
        }
        runner.history.record(epoch, &logs);
        runner.epoch_end_callbacks(&mut self.callbacks, at, &mut self.stop, &mut logs)?;
        self.stop = runner.agree_to_stop(self.stop)?;
        self.history.record(epoch, &logs);
        self.last_logs = logs;
        self.last_epoch = epoch;
        Ok(())
    }
}
