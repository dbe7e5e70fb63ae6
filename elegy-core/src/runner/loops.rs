//! The loops: `fit`, `evaluate`, `predict`, and one batch at a time.

use std::collections::BTreeMap;

use super::accumulate::LogAccumulator;
use super::progress::{Progress, format_logs};
use super::{
    Callback, CallbackContext, EvaluateOptions, FitOptions, History, PredictOptions, Runner,
    checked_len,
};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::step::{PredContext, StepContext};
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
        options: FitOptions,
    ) -> Result<History> {
        let FitOptions {
            epochs,
            batch_size,
            shuffle,
            validation_split,
            validation_data,
            validation_freq,
            initial_epoch,
            steps_per_epoch,
            sample_weight,
            class_weight,
            verbose,
            mut callbacks,
        } = options;
        let (x, y) = (x.into(), y.into());
        if let Some(progress) = Progress::for_verbosity(verbose) {
            // First, so that an epoch's line comes before what other callbacks print about it.
            callbacks.insert(0, Box::new(progress));
        }
        check_batch_size("fit", batch_size)?;
        if !(0.0..1.0).contains(&validation_split) {
            return Err(Error::invalid(
                "fit",
                format!("validation_split {validation_split} must be in [0, 1)"),
            ));
        }
        if validation_freq == 0 {
            return Err(Error::invalid("fit", "validation_freq must be at least 1"));
        }
        let n = checked_len(&x, Some(&y), "fit")?;
        check_sample_weight("fit", sample_weight.as_ref(), n)?;

        // Keras takes the validation split from the end, before shuffling.
        let (train, validation) = match validation_data {
            Some((vx, vy)) => {
                checked_len(&vx, Some(&vy), "fit (validation_data)")?;
                ((x, y, sample_weight), Some((vx, vy)))
            }
            None if validation_split > 0.0 => {
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
                let sw = sample_weight
                    .map(|w| {
                        Data::from(w)
                            .select(&head)
                            .and_then(|d| d.as_tensor("sample_weight").cloned())
                    })
                    .transpose()?;
                (
                    (x.select(&head)?, y.select(&head)?, sw),
                    Some((x.select(&tail)?, y.select(&tail)?)),
                )
            }
            None => ((x, y, sample_weight), None),
        };
        let (x, y, sample_weight) = train;
        let n = x.num_samples()?;

        let batches_per_pass = n.div_ceil(batch_size);
        let steps = steps_per_epoch.unwrap_or(batches_per_pass);
        if steps == 0 {
            return Err(Error::invalid("fit", "steps_per_epoch must be at least 1"));
        }
        if !self.initialized {
            let first: Vec<usize> = (0..batch_size.min(n)).collect();
            let sw = select_weights(sample_weight.as_ref(), &first)?;
            self.init_on_batch(
                &x.select(&first)?,
                Some(&y.select(&first)?),
                sw.as_ref(),
                class_weight.as_ref(),
            )?;
        }

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
            let mut order = self.epoch_order(n, epoch, 0, shuffle);
            let mut accumulator = LogAccumulator::default();
            for batch in 0..steps {
                // Past one pass (steps_per_epoch larger than the data), start a new pass.
                let pass = batch / batches_per_pass;
                let within = batch % batches_per_pass;
                if within == 0 && pass > 0 {
                    order = self.epoch_order(n, epoch, pass as u64, shuffle);
                }
                let idx = &order[within * batch_size..((within + 1) * batch_size).min(n)];
                self.with_callbacks(&mut callbacks, at(epoch), &mut stop, |cb, ctx| {
                    cb.on_train_batch_begin(batch, ctx)
                })?;
                let (xb, yb) = (x.select(idx)?, y.select(idx)?);
                let swb = select_weights(sample_weight.as_ref(), idx)?;
                let logs = self.train_batch(&xb, &yb, swb.as_ref(), class_weight.as_ref())?;
                accumulator.add(&logs, idx.len());
                let running = accumulator.values();
                self.with_callbacks(&mut callbacks, at(epoch), &mut stop, |cb, ctx| {
                    cb.on_train_batch_end(batch, ctx, &running)
                })?;
                if stop {
                    break;
                }
            }
            let mut logs = accumulator.values();
            let validate = (epoch + 1 - initial_epoch) % validation_freq == 0;
            if let (Some((vx, vy)), true) = (&validation, validate) {
                let val = self.evaluate_data(vx, vy, None, batch_size, &mut callbacks)?;
                logs.extend(val.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
            }
            history.record(epoch, &logs);
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
        options: EvaluateOptions,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into());
        check_batch_size("evaluate", options.batch_size)?;
        let n = checked_len(&x, Some(&y), "evaluate")?;
        check_sample_weight("evaluate", options.sample_weight.as_ref(), n)?;
        self.require_initialized("evaluate")?;
        let logs = self.evaluate_data(
            &x,
            &y,
            options.sample_weight.as_ref(),
            options.batch_size,
            &mut Vec::new(),
        )?;
        if options.verbose > 0 {
            println!("{}", format_logs(&logs));
        }
        Ok(logs)
    }

    /// The predictions of `pred_step` over `x`, batch by batch, joined along axis 0.
    pub fn predict(&mut self, x: impl Into<Data>, options: PredictOptions) -> Result<Data> {
        let x = x.into();
        check_batch_size("predict", options.batch_size)?;
        let n = checked_len(&x, None, "predict")?;
        self.require_initialized("predict")?;
        let mut parts = Vec::with_capacity(n.div_ceil(options.batch_size));
        for (batch, start) in (0..n).step_by(options.batch_size).enumerate() {
            let idx: Vec<usize> = (start..(start + options.batch_size).min(n)).collect();
            parts.push(self.predict_batch(&x.select(&idx)?, batch as u64)?);
        }
        Data::concat(&parts)
    }

    /// One training step on one batch (initializing first if needed); returns its logs.
    pub fn train_on_batch(
        &mut self,
        x: impl Into<Data>,
        y: impl Into<Data>,
    ) -> Result<BTreeMap<String, f32>> {
        let (x, y) = (x.into(), y.into());
        checked_len(&x, Some(&y), "train_on_batch")?;
        self.init_on_batch(&x, Some(&y), None, None)?;
        let logs = self.train_batch(&x, &y, None, None)?;
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
        self.evaluate_data(&x, &y, None, n, &mut Vec::new())
    }

    /// `pred_step` on one batch.
    pub fn predict_on_batch(&mut self, x: impl Into<Data>) -> Result<Data> {
        let x = x.into();
        checked_len(&x, None, "predict_on_batch")?;
        self.require_initialized("predict_on_batch")?;
        self.predict_batch(&x, 0)
    }

    fn train_batch(
        &mut self,
        x: &Data,
        y: &Data,
        sample_weight: Option<&Tensor>,
        class_weight: Option<&Tensor>,
    ) -> Result<crate::step::Logs> {
        let states = self.states.clone().with_rng(self.step_key(self.step + 1));
        let out = self.model.train_step(StepContext {
            x,
            y_true: Some(y),
            sample_weight,
            class_weight,
            states,
            initializing: false,
            training: true,
        })?;
        self.states = out.states.with_components(self.components.clone());
        self.step += 1;
        Ok(out.logs)
    }

    fn predict_batch(&self, x: &Data, batch: u64) -> Result<Data> {
        let states = self.states.clone().with_rng(self.eval_key(batch));
        let out = self.model.pred_step(PredContext {
            x,
            states,
            initializing: false,
            training: false,
        })?;
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
        let n = x.num_samples()?;
        let mut states = self.states.clone();
        states.metrics_states = self.initial_metrics_states.clone();
        let mut accumulator = LogAccumulator::default();
        for (batch, start) in (0..n).step_by(batch_size).enumerate() {
            let idx: Vec<usize> = (start..(start + batch_size).min(n)).collect();
            let (xb, yb) = (x.select(&idx)?, y.select(&idx)?);
            let swb = select_weights(sample_weight, &idx)?;
            let out = self.model.test_step(StepContext {
                x: &xb,
                y_true: Some(&yb),
                sample_weight: swb.as_ref(),
                class_weight: None,
                states: states.with_rng(self.eval_key(batch as u64)),
                initializing: false,
                training: false,
            })?;
            states = out.states.with_components(self.components.clone());
            accumulator.add(&out.logs, idx.len());
            let running = accumulator.values();
            for cb in callbacks.iter_mut() {
                cb.on_test_batch_end(batch, &running)?;
            }
        }
        Ok(accumulator.values())
    }

    /// The sample order of one pass: a seeded permutation, or `0..n`.
    fn epoch_order(&self, n: usize, epoch: usize, pass: u64, shuffle: bool) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        if shuffle {
            use rand::seq::SliceRandom;
            let key = self.shuffle_key(epoch).fold_in(pass);
            order.shuffle(&mut key.rng());
        }
        order
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
        self.states = std::mem::take(&mut self.states).with_components(self.components.clone());
        Ok(())
    }
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
        _ => Ok(()),
    }
}

fn select_weights(weights: Option<&Tensor>, idx: &[usize]) -> Result<Option<Tensor>> {
    weights
        .map(|w| Ok(Tensor::new(w.view().select(ndarray::Axis(0), idx))))
        .transpose()
}
