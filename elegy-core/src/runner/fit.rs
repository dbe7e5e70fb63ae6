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
use super::{FitOptions, History, Runner, checked_len};
use crate::callbacks::Progress;
use crate::data::{Arrays, Batches, Data, Dataset, check_finite};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::optimizers;
use crate::step::{Logs, States, StepContext};
use crate::tensor::Tensor;

impl<M: Model> Runner<M> {
    /// Trains on `x` and `y` for `options.epochs` epochs and returns the logs of each (also
    /// appended to [`Runner::history`]). Initializes the model from the first batch if needed.
    pub fn fit(
        &mut self,
        x: impl Into<Data>,
        y: impl Into<Data>,
        mut options: FitOptions,
    ) -> Result<History> {
        self.check_for("fit")?;
        let (x, y) = (x.into(), y.into());
        check_batch_size("fit", options.batch_size)?;
        check_validation_split("fit", options.validation_split)?;
        let n = checked_len(&x, Some(&y), "fit")?;
        let sample_weight = options.sample_weight.take();
        check_sample_weight("fit", sample_weight.as_ref(), n)?;
        check_finite(&x, "fit: x", 0)?;
        check_finite(&y, "fit: y", 0)?;
        let (x, y, sample_weight) = if options.validation_data.is_none() {
            let (train, validation) =
                split_for_validation(x, y, sample_weight, options.validation_split)?;
            options.validation_data = validation;
            train
        } else {
            (x, y, sample_weight)
        };
        let mut arrays = Arrays::new(x, Some(y), sample_weight, options.batch_size);
        if let Some(steps) = options.steps_per_epoch {
            arrays = arrays.with_steps_per_epoch(steps);
        }
        if options.shuffle {
            arrays = arrays.shuffled(self.shuffle_stream());
        }
        // Checked whole above: the batches need no check of their own.
        self.train_epochs(&mut arrays, false, options)
    }

    /// Trains on the batches of `dataset` (inputs, targets and optional sample weights) for
    /// `options.epochs` epochs: a pass over the dataset per epoch, or `options.steps_per_epoch`
    /// batches of it. The dataset decides batching and shuffling, so `batch_size`, `shuffle`,
    /// `validation_split` and `sample_weight` of the options do not apply (the last two are
    /// errors); validate with `validation_data`.
    pub fn fit_dataset(
        &mut self,
        dataset: &mut dyn Dataset,
        options: FitOptions,
    ) -> Result<History> {
        self.check_for("fit_dataset")?;
        if options.validation_split > 0.0 || options.sample_weight.is_some() {
            return Err(Error::invalid(
                "fit_dataset",
                "validation_split and sample_weight do not apply to a dataset: pass \
                 validation_data, and put sample weights in the dataset's batches",
            ));
        }
        self.train_epochs(dataset, true, options)
    }

    /// The epochs of `fit` and `fit_dataset` over the batches of `dataset`, each checked for
    /// non-finite values when `check_batches` (streams; arrays were checked whole).
    fn train_epochs(
        &mut self,
        dataset: &mut dyn Dataset,
        check_batches: bool,
        options: FitOptions,
    ) -> Result<History> {
        let FitOptions {
            epochs,
            batch_size,
            validation_data,
            validation_freq,
            initial_epoch,
            steps_per_epoch,
            class_weight,
            verbose,
            mut callbacks,
            ..
        } = options;
        if validation_freq == 0 {
            return Err(Error::invalid("fit", "validation_freq must be at least 1"));
        }
        if let Some(weights) = &class_weight {
            check_weights("fit", "class_weight", "class", weights, 0)?;
        }
        if steps_per_epoch == Some(0) {
            return Err(Error::invalid("fit", "steps_per_epoch must be at least 1"));
        }
        if let Some(progress) = Progress::for_verbosity(verbose) {
            // First, so that an epoch's line comes before what other callbacks print about it.
            callbacks.insert(0, Box::new(progress));
        }
        let mut validation = match validation_data {
            Some((vx, vy)) => {
                checked_len(&vx, Some(&vy), "fit (validation_data)")?;
                check_finite(&vx, "fit: validation x", 0)?;
                check_finite(&vy, "fit: validation y", 0)?;
                Some(Arrays::new(vx, Some(vy), None, batch_size))
            }
            None => None,
        };
        // Batches per epoch as far as known (a stream's length is not).
        let steps = steps_per_epoch.or(dataset.batches_per_epoch()).unwrap_or(0);
        let limit = steps_per_epoch.unwrap_or(usize::MAX);

        if !self.initialized {
            // Before any hook, so that callbacks see the model's states from the start.
            let first = batches_of(dataset, initial_epoch, check_batches)?
                .next()
                .ok_or_else(|| Error::Data("fit: the data or dataset is empty".into()))??;
            let y = first.y.as_ref().ok_or_else(|| {
                Error::Data("fit: the first batch has no targets; fit needs x and y".into())
            })?;
            self.init_on_batch(
                &first.x,
                Some(y),
                first.sample_weight.as_ref(),
                class_weight.as_ref(),
            )?;
        }

        // The runner's records from `initial_epoch` on are replaced, but only once this fit has
        // an epoch to put there: a fit that fails first leaves history and states matching.
        let mut forgotten = false;
        let mut history = History::default();
        let mut stop = false;
        let mut last_logs = BTreeMap::new();
        let mut last_epoch = initial_epoch;
        let at = |epoch| LoopPosition {
            epoch,
            epochs,
            steps_per_epoch: steps,
        };
        self.with_callbacks(&mut callbacks, at(initial_epoch), &mut stop, |cb, ctx| {
            cb.on_train_begin(ctx)
        })?;
        for epoch in initial_epoch..epochs {
            if stop {
                break;
            }
            self.with_callbacks(&mut callbacks, at(epoch), &mut stop, |cb, ctx| {
                cb.on_epoch_begin(epoch, ctx)
            })?;
            self.states.metrics_states = self.initial_metrics_states.clone();
            let mut accumulator = LogAccumulator::default();
            let prefetch = dataset.prefetch();
            let batches = batches_of(dataset, epoch, check_batches)?;
            let (mut seen, mut batches_run) = (0usize, 0usize);
            drive(batches, prefetch, limit, |batch, b| {
                let n = b.num_samples()?;
                seen += n;
                batches_run += 1;
                let y = b.y.as_ref().ok_or_else(|| {
                    Error::Data(format!(
                        "fit: batch {batch} has no targets; fit needs x and y"
                    ))
                })?;
                self.with_callbacks(&mut callbacks, at(epoch), &mut stop, |cb, ctx| {
                    cb.on_train_batch_begin(batch, ctx)
                })?;
                let logs = self.train_batch(
                    "fit",
                    &b.x,
                    y,
                    b.sample_weight.as_ref(),
                    class_weight.as_ref(),
                )?;
                accumulator.add(&logs, n);
                let running = accumulator.values();
                self.with_callbacks(&mut callbacks, at(epoch), &mut stop, |cb, ctx| {
                    cb.on_train_batch_end(batch, ctx, &running)
                })?;
                Ok(!stop)
            })?;
            if seen == 0 {
                return Err(Error::Data(format!(
                    "fit: epoch {epoch} had no batches; the data or dataset is empty"
                )));
            }
            if let (Some(steps), false) = (steps_per_epoch, stop)
                && batches_run < steps
            {
                // Keras stops training here with a warning; an epoch shorter than asked for is
                // not to pass unnoticed.
                return Err(Error::Data(format!(
                    "fit_dataset: the dataset's pass for epoch {epoch} gave {batches_run} of \
                     the {steps} batches steps_per_epoch asks for; make it \
                     yield at least steps_per_epoch batches a pass, or leave steps_per_epoch \
                     unset for one pass an epoch (the epochs trained so far are in the \
                     runner's history)"
                )));
            }
            let mut logs = accumulator.values();
            let validate = (epoch + 1 - initial_epoch) % validation_freq == 0;
            if let (Some(validation), true) = (&mut validation, validate) {
                let batches = validation.batches(0)?;
                let val =
                    self.evaluate_batches(batches, 0, &mut callbacks, at(epoch), &mut stop)?;
                logs.extend(val.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
            }
            history.record(epoch, &logs);
            if !forgotten {
                self.history.forget_from(initial_epoch);
                forgotten = true;
            }
            self.history.record(epoch, &logs);
            self.with_callbacks(&mut callbacks, at(epoch), &mut stop, |cb, ctx| {
                cb.on_epoch_end(epoch, ctx, &logs)
            })?;
            last_logs = logs;
            last_epoch = epoch;
        }
        self.with_callbacks(&mut callbacks, at(last_epoch), &mut stop, |cb, ctx| {
            cb.on_train_end(ctx, &last_logs)
        })?;
        Ok(history)
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
        y: impl Into<Data>,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into());
        checked_len(&x, Some(&y), "train_on_batch")?;
        self.check_for("train_on_batch")?;
        self.init_on_batch(&x, Some(&y), None, None)?;
        let logs = self.train_batch("train_on_batch", &x, &y, None, None)?;
        Ok(logs.values())
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
        y: &Data,
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
        let states = std::mem::take(&mut self.states).with_rng(self.step_key(step));
        // Until the step returns, the runner holds no states: a panic in it leaves it so.
        self.lost_at = Some(step);
        self.initialized = false;
        let out = self.model.train_step(StepContext {
            x,
            y_true: Some(y),
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

/// The batches of `dataset` for `epoch`, each checked for non-finite values when `check`.
fn batches_of(dataset: &mut dyn Dataset, epoch: usize, check: bool) -> Result<Batches<'_>> {
    let batches = dataset.batches(epoch)?;
    Ok(if check {
        finite(batches, "fit")
    } else {
        batches
    })
}
