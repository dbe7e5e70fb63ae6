//! The loops: `fit`, `evaluate`, `predict`, and one batch at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::accumulate::LogAccumulator;
use super::progress::{Progress, format_logs};
use super::{
    Callback, CallbackContext, EvaluateOptions, FitOptions, History, PredictOptions, Runner,
    checked_len, without_states,
};
use crate::data::{Batch, Batches, Data, Dataset, PendingRows, check_finite};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::optimizers;
use crate::step::{PredContext, States, StepContext};
use crate::tensor::{RngKey, Tensor};

/// Keys of evaluation and prediction steps come from their own stream.
const EVAL_STREAM: u64 = 3;

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
        let validation_split = options.validation_split;
        if !(0.0..1.0).contains(&validation_split) {
            return Err(Error::invalid(
                "fit",
                format!("validation_split {validation_split} must be in [0, 1)"),
            ));
        }
        let n = checked_len(&x, Some(&y), "fit")?;
        let sample_weight = options.sample_weight.take();
        check_sample_weight("fit", sample_weight.as_ref(), n)?;
        check_finite(&x, "fit: x", 0)?;
        check_finite(&y, "fit: y", 0)?;

        // Keras takes the validation split from the end, before shuffling.
        let (x, y, sample_weight) = if options.validation_data.is_none() && validation_split > 0.0 {
            let split = ((n as f64) * (1.0 - validation_split as f64)) as usize;
            if split == 0 || split == n {
                return Err(Error::Data(format!(
                    "fit: validation_split {validation_split} of {n} samples leaves \
                     {split} for training and {} for validation; both need at least one",
                    n - split
                )));
            }
            let (head, tail): (Vec<usize>, Vec<usize>) =
                ((0..split).collect(), (split..n).collect());
            let sw = select_weights(sample_weight.as_ref(), &head)?;
            options.validation_data = Some((x.select(&tail)?, y.select(&tail)?));
            (x.select(&head)?, y.select(&head)?, sw)
        } else {
            (x, y, sample_weight)
        };
        let n = x.num_samples()?;
        let batches_per_pass = n.div_ceil(options.batch_size);
        let steps = options.steps_per_epoch.unwrap_or(batches_per_pass);
        let arrays = ArraySource {
            x,
            y,
            sample_weight,
            batch_size: options.batch_size,
            shuffle: options.shuffle,
            steps,
        };
        self.train_epochs(TrainSource::Arrays(Box::new(arrays)), options)
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
        self.train_epochs(TrainSource::Stream(dataset), options)
    }

    /// The epochs of `fit` and `fit_dataset`.
    fn train_epochs(
        &mut self,
        mut source: TrainSource<'_>,
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
        if let Some((vx, vy)) = &validation_data {
            checked_len(vx, Some(vy), "fit (validation_data)")?;
            check_finite(vx, "fit: validation x", 0)?;
            check_finite(vy, "fit: validation y", 0)?;
        }
        // Batches per epoch as far as known (a stream's length is not).
        let steps = match &source {
            TrainSource::Arrays(a) => a.steps,
            TrainSource::Stream(_) => steps_per_epoch.unwrap_or(0),
        };

        if !self.initialized {
            // Before any hook, so that callbacks see the model's states from the start.
            let first = match &mut source {
                TrainSource::Arrays(a) => a.epoch(self, initial_epoch).next(),
                TrainSource::Stream(ds) => ds.batches(initial_epoch)?.next(),
            }
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
            let (batches, prefetch) = match &mut source {
                TrainSource::Arrays(a) => (a.epoch(self, epoch), 0),
                TrainSource::Stream(ds) => {
                    let prefetch = ds.prefetch();
                    (finite(ds.batches(epoch)?, "fit"), prefetch)
                }
            };
            let limit = steps_per_epoch.unwrap_or(usize::MAX);
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
            if let (TrainSource::Stream(_), Some(steps), false) = (&source, steps_per_epoch, stop)
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
            if let (Some((vx, vy)), true) = (&validation_data, validate) {
                let val = self.evaluate_data(vx, vy, None, batch_size, &mut callbacks)?;
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

    /// The logs of `test_step` over `x` and `y` (sample-weighted means and final metric values),
    /// starting from fresh metric state.
    pub fn evaluate(
        &mut self,
        x: impl Into<Data>,
        y: impl Into<Data>,
        mut options: EvaluateOptions,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into());
        check_batch_size("evaluate", options.batch_size)?;
        let n = checked_len(&x, Some(&y), "evaluate")?;
        check_sample_weight("evaluate", options.sample_weight.as_ref(), n)?;
        self.require_initialized("evaluate")?;
        check_finite(&x, "evaluate: x", 0)?;
        check_finite(&y, "evaluate: y", 0)?;
        let logs = self.evaluate_data(
            &x,
            &y,
            options.sample_weight.as_ref(),
            options.batch_size,
            &mut options.callbacks,
        )?;
        if options.verbose > 0 {
            println!("{}", format_logs(&logs));
        }
        Ok(logs)
    }

    /// The predictions of `pred_step` over `x`, batch by batch, joined along axis 0.
    pub fn predict(&mut self, x: impl Into<Data>, options: PredictOptions) -> Result<Data> {
        let x = x.into();
        let PredictOptions {
            batch_size,
            mut callbacks,
        } = options;
        check_batch_size("predict", batch_size)?;
        let n = checked_len(&x, None, "predict")?;
        self.require_initialized("predict")?;
        check_finite(&x, "predict: x", 0)?;
        let batches = in_order(n, batch_size, &x, None, None);
        self.predict_batches(batches, 0, &mut callbacks)
    }

    /// `pred_step` over `batches`, joined along axis 0.
    fn predict_batches(
        &self,
        batches: Batches<'_>,
        prefetch: usize,
        callbacks: &mut [Box<dyn Callback>],
    ) -> Result<Data> {
        for cb in callbacks.iter_mut() {
            cb.on_predict_begin()?;
        }
        let mut parts = Vec::new();
        drive(batches, prefetch, usize::MAX, |batch, b| {
            for cb in callbacks.iter_mut() {
                cb.on_predict_batch_begin(batch)?;
            }
            parts.push(self.predict_batch(&b.x, batch as u64)?);
            for cb in callbacks.iter_mut() {
                cb.on_predict_batch_end(batch)?;
            }
            Ok(true)
        })?;
        if parts.is_empty() {
            return Err(Error::Data("predict: there were no batches".into()));
        }
        for cb in callbacks.iter_mut() {
            cb.on_predict_end()?;
        }
        Data::concat(&parts)
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

    /// `test_step` on one batch, from fresh metric state; returns its logs.
    pub fn test_on_batch(
        &mut self,
        x: impl Into<Data>,
        y: impl Into<Data>,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into());
        let n = checked_len(&x, Some(&y), "test_on_batch")?;
        self.require_initialized("test_on_batch")?;
        check_finite(&x, "test_on_batch: x", 0)?;
        check_finite(&y, "test_on_batch: y", 0)?;
        self.evaluate_data(&x, &y, None, n, &mut Vec::new())
    }

    /// `pred_step` on one batch.
    pub fn predict_on_batch(&mut self, x: impl Into<Data>) -> Result<Data> {
        let x = x.into();
        checked_len(&x, None, "predict_on_batch")?;
        self.require_initialized("predict_on_batch")?;
        self.predict_batch(&x, 0)
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
    ) -> Result<crate::step::Logs> {
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

    fn predict_batch(&self, x: &Data, batch: u64) -> Result<Data> {
        let states = self.states.clone().with_rng(self.eval_key(batch));
        let out = self
            .model
            .pred_step(PredContext {
                x,
                states,
                components: &self.components,
                initializing: false,
                training: false,
            })
            .map_err(without_states)?;
        Ok(out.y_pred)
    }

    fn evaluate_data(
        &self,
        x: &Data,
        y: &Data,
        sample_weight: Option<&Tensor>,
        batch_size: usize,
        callbacks: &mut [Box<dyn Callback>],
    ) -> Result<BTreeMap<String, f32>> {
        let batches = in_order(x.num_samples()?, batch_size, x, Some(y), sample_weight);
        self.evaluate_batches(batches, 0, callbacks)
    }

    /// `test_step` over `batches` from fresh metric state; the logs over all of them.
    fn evaluate_batches(
        &self,
        batches: Batches<'_>,
        prefetch: usize,
        callbacks: &mut [Box<dyn Callback>],
    ) -> Result<BTreeMap<String, f32>> {
        for cb in callbacks.iter_mut() {
            cb.on_test_begin()?;
        }
        let mut states = self.states.clone();
        states.metrics_states = self.initial_metrics_states.clone();
        let mut accumulator = LogAccumulator::default();
        let mut seen = 0;
        drive(batches, prefetch, usize::MAX, |batch, b| {
            for cb in callbacks.iter_mut() {
                cb.on_test_batch_begin(batch)?;
            }
            let n = b.num_samples()?;
            let y = b
                .y
                .as_ref()
                .ok_or_else(|| Error::Data(format!("evaluate: batch {batch} has no targets")))?;
            seen += n;
            let out = self
                .model
                .test_step(StepContext {
                    x: &b.x,
                    y_true: Some(y),
                    sample_weight: b.sample_weight.as_ref(),
                    class_weight: None,
                    states: std::mem::take(&mut states).with_rng(self.eval_key(batch as u64)),
                    components: &self.components,
                    initializing: false,
                    training: false,
                })
                .map_err(without_states)?;
            states = out.states;
            accumulator.add(&out.logs, n);
            let running = accumulator.values();
            for cb in callbacks.iter_mut() {
                cb.on_test_batch_end(batch, &running)?;
            }
            Ok(true)
        })?;
        if seen == 0 {
            return Err(Error::Data("evaluate: there were no batches".into()));
        }
        let logs = accumulator.values();
        for cb in callbacks.iter_mut() {
            cb.on_test_end(&logs)?;
        }
        Ok(logs)
    }

    /// The logs of `test_step` over the batches of `dataset` (which must hold targets), from
    /// fresh metric state. Initializes the model from the first batch if needed.
    pub fn evaluate_dataset(&mut self, dataset: &mut dyn Dataset) -> Result<BTreeMap<String, f32>> {
        self.check_for("evaluate_dataset")?;
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
            )?;
        }
        let prefetch = dataset.prefetch();
        let batches = finite(dataset.batches(0)?, "evaluate");
        self.evaluate_batches(batches, prefetch, &mut Vec::new())
    }

    /// The predictions of `pred_step` over the batches of `dataset` (targets, if any, are
    /// ignored), joined along axis 0.
    pub fn predict_dataset(&mut self, dataset: &mut dyn Dataset) -> Result<Data> {
        self.require_initialized("predict_dataset")?;
        let prefetch = dataset.prefetch();
        let batches = finite(dataset.batches(0)?, "predict");
        self.predict_batches(batches, prefetch, &mut Vec::new())
    }

    fn eval_key(&self, batch: u64) -> RngKey {
        RngKey::new(self.seed)
            .fold_in(EVAL_STREAM)
            .fold_in(self.step)
            .fold_in(batch)
    }

    /// Calls `hook` on every callback with a context over the runner's states.
    fn with_callbacks(
        &mut self,
        callbacks: &mut [Box<dyn Callback>],
        position: LoopPosition,
        stop: &mut bool,
        mut hook: impl FnMut(&mut dyn Callback, &mut CallbackContext<'_>) -> Result<()>,
    ) -> Result<()> {
        if callbacks.is_empty() {
            return Ok(());
        }
        let mut ctx = CallbackContext {
            states: &mut self.states,
            components: &self.components,
            history: &self.history,
            stop_training: *stop,
            epoch: position.epoch,
            epochs: position.epochs,
            steps_per_epoch: position.steps_per_epoch,
            step: self.step,
            seed: self.seed,
        };
        for cb in callbacks.iter_mut() {
            hook(cb.as_mut(), &mut ctx)?;
        }
        *stop = ctx.stop_training;
        Ok(())
    }
}

/// Where the training batches of `fit` and `fit_dataset` come from.
enum TrainSource<'d> {
    Arrays(Box<ArraySource>),
    Stream(&'d mut dyn Dataset),
}

/// In-memory training data, batched by the loop.
struct ArraySource {
    x: Data,
    y: Data,
    sample_weight: Option<Tensor>,
    batch_size: usize,
    shuffle: bool,
    /// Batches per epoch; more than one pass cycles through reshuffled passes.
    steps: usize,
}

impl ArraySource {
    /// The batches of `epoch`, in the runner's seeded order. The epochs are one stream of
    /// batches over passes through the data, cut every `steps` batches: an epoch shorter than a
    /// pass goes on where the last one stopped (as in Keras), a longer one into the next pass.
    /// Pass `p` has its own order, so a resumed run (`initial_epoch`) meets the same batches.
    fn epoch<M: Model>(&self, runner: &Runner<M>, epoch: usize) -> Batches<'_> {
        let n = self.x.num_samples().unwrap_or(0);
        let per_pass = n.div_ceil(self.batch_size).max(1);
        let first = epoch.saturating_mul(self.steps);
        // Each pass's order when it is first needed: a batch and the next one are at most one
        // pass apart, so two are kept (steps_per_epoch may ask for any number of passes).
        let (shuffle_stream, shuffle) = (runner.shuffle_stream(), self.shuffle);
        let mut orders: Vec<(usize, Arc<Vec<usize>>)> = Vec::with_capacity(2);
        let mut order = move |pass: usize| -> Arc<Vec<usize>> {
            if let Some((_, order)) = orders.iter().find(|(p, _)| *p == pass) {
                return order.clone();
            }
            let key = shuffle_stream.fold_in(pass as u64);
            let order = Arc::new(pass_order(n, key, shuffle));
            if orders.len() == 2 {
                orders.remove(0);
            }
            orders.push((pass, order.clone()));
            order
        };
        let batch_size = self.batch_size;
        let rows = move |b: usize| {
            let b = first.saturating_add(b);
            let (pass, within) = (b / per_pass, b % per_pass);
            (
                pass,
                within * batch_size..((within + 1) * batch_size).min(n),
            )
        };
        // The inputs of the next batch, being gathered while this one trains.
        let mut next: Option<Arc<PendingRows>> = None;
        Box::new((0..self.steps).map(move |b| {
            let (pass, range) = rows(b);
            let pass_order = order(pass);
            let idx = &pass_order[range];
            let x = match next.take() {
                Some(pending) => Data::Tensor(pending.finish()),
                None => self.x.select(idx)?,
            };
            if b + 1 < self.steps {
                let (pass, range) = rows(b + 1);
                next = PendingRows::start(&self.x, &order(pass)[range]);
            }
            batch_of(x, Some(&self.y), self.sample_weight.as_ref(), idx)
        }))
    }
}

/// The order of the `n` samples in one pass over them: shuffled by the pass's `key`, or as
/// they are.
fn pass_order(n: usize, key: RngKey, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        use rand::seq::SliceRandom;
        order.shuffle(&mut key.rng());
    }
    order
}

/// Calls `each(index, batch)` on up to `limit` batches until it returns `false`. With `prefetch`
/// above 0 the batches are produced on a scoped background thread, at most `prefetch` ahead; an
/// error from either side ends both (the producer stops when its receiver is gone), so nothing
/// hangs.
fn drive(
    batches: Batches<'_>,
    prefetch: usize,
    limit: usize,
    mut each: impl FnMut(usize, Batch) -> Result<bool>,
) -> Result<()> {
    if prefetch == 0 {
        for (i, batch) in batches.take(limit).enumerate() {
            if !each(i, batch?)? {
                break;
            }
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(prefetch);
        scope.spawn(move || {
            for batch in batches.take(limit) {
                let failed = batch.is_err();
                if sender.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        for (i, batch) in receiver.iter().enumerate() {
            if !each(i, batch?)? {
                break;
            }
        }
        Ok(())
    })
}

/// Where a `fit` is, for callbacks.
#[derive(Clone, Copy)]
struct LoopPosition {
    epoch: usize,
    epochs: usize,
    steps_per_epoch: usize,
}

fn check_batch_size(op: &'static str, batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::invalid(op, "batch_size must be at least 1"));
    }
    Ok(())
}

fn check_sample_weight(op: &'static str, weights: Option<&Tensor>, n: usize) -> Result<()> {
    match weights {
        Some(w) if w.shape() != [n] => Err(Error::shape(
            op,
            format!(
                "sample_weight has shape {:?}; it needs one weight per sample: [{n}]",
                w.shape()
            ),
        )),
        Some(w) => check_weights(op, "sample_weight", "sample", w, 0),
        None => Ok(()),
    }
}

/// An error unless every weight is finite and not negative: a NaN would spread to every
/// parameter, and a negative weight turns descent into ascent, both without a word otherwise.
/// `first` is the index of the first weight in its stream; `each` names what a weight is for.
fn check_weights(
    op: &'static str,
    what: &str,
    each: &str,
    weights: &Tensor,
    first: usize,
) -> Result<()> {
    let view = weights.view();
    match view
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        Some((i, w)) => Err(Error::invalid(
            op,
            format!(
                "{what} holds {w} for {each} {}; weights must be finite and not negative",
                first + i
            ),
        )),
        None => Ok(()),
    }
}

/// `batches`, each checked for non-finite values as it passes: streamed data is checked as it
/// comes, in-memory arrays once where they enter. Errors name `op` and the sample's index in the
/// stream.
fn finite<'a>(batches: Batches<'a>, op: &'static str) -> Batches<'a> {
    let mut seen = 0;
    Box::new(batches.map(move |batch| {
        let batch = batch?;
        check_finite(&batch.x, &format!("{op}: x"), seen)?;
        if let Some(y) = &batch.y {
            check_finite(y, &format!("{op}: y"), seen)?;
        }
        if let Some(w) = &batch.sample_weight {
            check_weights(op, "a batch's sample_weight", "sample", w, seen)?;
        }
        seen += batch.x.num_samples()?;
        Ok(batch)
    }))
}

/// The samples at `idx` of in-memory inputs, targets and weights, as one batch.
fn select_batch(
    x: &Data,
    y: Option<&Data>,
    sample_weight: Option<&Tensor>,
    idx: &[usize],
) -> Result<Batch> {
    batch_of(x.select(idx)?, y, sample_weight, idx)
}

/// The batch of inputs `x` (the samples at `idx`, already gathered) with their targets and
/// weights.
fn batch_of(
    x: Data,
    y: Option<&Data>,
    sample_weight: Option<&Tensor>,
    idx: &[usize],
) -> Result<Batch> {
    Ok(Batch {
        x,
        y: y.map(|y| y.select(idx)).transpose()?,
        sample_weight: select_weights(sample_weight, idx)?,
    })
}

/// The `n` samples of in-memory data in order, `batch_size` at a time (the last batch may be
/// smaller).
fn in_order<'a>(
    n: usize,
    batch_size: usize,
    x: &'a Data,
    y: Option<&'a Data>,
    sample_weight: Option<&'a Tensor>,
) -> Batches<'a> {
    Box::new((0..n).step_by(batch_size).map(move |start| {
        let idx: Vec<usize> = (start..(start + batch_size).min(n)).collect();
        select_batch(x, y, sample_weight, &idx)
    }))
}

fn select_weights(weights: Option<&Tensor>, idx: &[usize]) -> Result<Option<Tensor>> {
    weights
        .map(|w| Ok(Tensor::new(w.view().select(ndarray::Axis(0), idx))))
        .transpose()
}
