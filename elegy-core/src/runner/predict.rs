//! Prediction: `predict` over arrays and `predict_dataset` over a stream share one loop over
//! batches; `predict_on_batch` predicts one.

use super::drive::{drive, finite};
use super::hooks::LoopPosition;
use super::{PredictOptions, Runner, checked_len, without_states};
use crate::callbacks::Callback;
use crate::data::{Arrays, Batches, Data, Dataset, check_finite};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::step::PredContext;

impl<M: Model> Runner<M> {
    /// The predictions of `pred_step` over `x`, batch by batch, joined along axis 0. The states
    /// each step returns are the runner's afterwards.
    pub fn predict(&mut self, x: impl Into<Data>, options: PredictOptions) -> Result<Data> {
        let x = x.into();
        let PredictOptions {
            batch_size,
            mut callbacks,
        } = options;
        super::checks::check_batch_size("predict", batch_size)?;
        checked_len(&x, None, "predict")?;
        self.require_initialized("predict")?;
        check_finite(&x, "predict: x", 0)?;
        let mut arrays = Arrays::new(x, None, None, batch_size);
        let position = LoopPosition::outside_fit(arrays.batches_per_epoch());
        self.predict_batches(arrays.batches(0)?, 0, &mut callbacks, position)
    }

    /// The predictions of `pred_step` over the batches of `dataset` (targets, if any, are
    /// ignored), joined along axis 0.
    pub fn predict_dataset(&mut self, dataset: &mut dyn Dataset) -> Result<Data> {
        self.require_initialized("predict_dataset")?;
        let prefetch = dataset.prefetch();
        let position = LoopPosition::outside_fit(dataset.batches_per_epoch());
        let batches = finite(dataset.batches(0)?, "predict");
        self.predict_batches(batches, prefetch, &mut Vec::new(), position)
    }

    /// `pred_step` on one batch.
    pub fn predict_on_batch(&mut self, x: impl Into<Data>) -> Result<Data> {
        let x = x.into();
        checked_len(&x, None, "predict_on_batch")?;
        self.require_initialized("predict_on_batch")?;
        self.predict_batch(&x, 0)
    }

    /// `pred_step` over `batches`, joined along axis 0.
    fn predict_batches(
        &mut self,
        batches: Batches<'_>,
        prefetch: usize,
        callbacks: &mut [Box<dyn Callback>],
        position: LoopPosition,
    ) -> Result<Data> {
        let mut stop = false;
        self.with_callbacks(callbacks, position, &mut stop, |cb, ctx| {
            cb.on_predict_begin(ctx)
        })?;
        let mut parts = Vec::new();
        drive(batches, prefetch, usize::MAX, |batch, b| {
            self.with_callbacks(callbacks, position, &mut stop, |cb, ctx| {
                cb.on_predict_batch_begin(batch, ctx)
            })?;
            parts.push(self.predict_batch(&b.x, batch as u64)?);
            self.with_callbacks(callbacks, position, &mut stop, |cb, ctx| {
                cb.on_predict_batch_end(batch, ctx)
            })?;
            Ok(true)
        })?;
        if parts.is_empty() {
            return Err(Error::Data("predict: there were no batches".into()));
        }
        self.with_callbacks(callbacks, position, &mut stop, |cb, ctx| {
            cb.on_predict_end(ctx)
        })?;
        Data::concat(&parts)
    }

    /// `pred_step` on the `batch`-th batch of a prediction; the states it returns are the
    /// runner's, and one that fails or panics leaves the runner's as they were.
    fn predict_batch(&mut self, x: &Data, batch: u64) -> Result<Data> {
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
        self.states = out.states;
        Ok(out.y_pred)
    }
}
