//! [`Arrays`]: data that sits in memory, as a [`Dataset`], so that the loops have one path for
//! arrays and streams alike.

use std::ops::Range;
use std::sync::Arc;

use crate::data::{Batch, Batches, Data, Dataset, PendingRows};
use crate::error::Result;
use crate::tensor::{RngKey, Tensor};

/// In-memory inputs, targets and sample weights, cut into batches of `batch_size` along axis 0.
///
/// The epochs are one stream of batches over passes through the data, cut every
/// `steps_per_epoch` batches (one pass by default): an epoch shorter than a pass goes on where the
/// last one stopped (as in Keras), a longer one into the next pass. Each pass has its own order,
/// shuffled by the pass's key when shuffling (so a resumed run, `initial_epoch`, meets the same
/// batches), or the samples' own order. While a batch trains, the next batch's inputs are
/// gathered in the background.
pub(crate) struct Arrays {
    x: Data,
    y: Option<Data>,
    sample_weight: Option<Tensor>,
    batch_size: usize,
    /// The key each pass's shuffle key is folded from (by the pass's number), when shuffling.
    shuffle: Option<RngKey>,
    steps_per_epoch: usize,
    /// What the samples are part of, for messages (`x`, `validation_data`).
    source: &'static str,
    /// The index there of the first sample (validation held out from the end of `x`).
    first_index: usize,
}

/// Which samples each batch of [`Arrays`] holds: the one place that decides it, for the batches
/// and for messages that name a batch's samples.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SampleOrder {
    n: usize,
    batch_size: usize,
    steps_per_epoch: usize,
    /// The key each pass's shuffle key is folded from, when shuffling.
    shuffle: Option<RngKey>,
    /// What the samples are part of, and the index there of the first.
    source: &'static str,
    first_index: usize,
}

impl Arrays {
    /// `n` samples (checked by the caller to agree across `x`, `y` and the weights) in order,
    /// one pass an epoch.
    pub(crate) fn new(
        x: Data,
        y: Option<Data>,
        sample_weight: Option<Tensor>,
        batch_size: usize,
    ) -> Arrays {
        let mut arrays = Arrays {
            x,
            y,
            sample_weight,
            batch_size: batch_size.max(1),
            shuffle: None,
            steps_per_epoch: 0,
            source: "x",
            first_index: 0,
        };
        arrays.steps_per_epoch = arrays.batches_per_pass();
        arrays
    }

    /// These arrays with each pass shuffled by a key folded from `key` and the pass's number.
    pub(crate) fn shuffled(mut self, key: RngKey) -> Arrays {
        self.shuffle = Some(key);
        self
    }

    /// These arrays as the samples from `first_index` on of `source` (the held-out end of `x`,
    /// or `validation_data`), as messages name them.
    pub(crate) fn part_of(mut self, source: &'static str, first_index: usize) -> Arrays {
        self.source = source;
        self.first_index = first_index;
        self
    }

    /// Which samples each batch holds.
    pub(crate) fn sample_order(&self) -> SampleOrder {
        SampleOrder {
            n: self.num_samples(),
            batch_size: self.batch_size,
            steps_per_epoch: self.steps_per_epoch,
            shuffle: self.shuffle,
            source: self.source,
            first_index: self.first_index,
        }
    }

    /// These arrays with epochs of `steps` batches instead of one pass.
    pub(crate) fn with_steps_per_epoch(mut self, steps: usize) -> Arrays {
        self.steps_per_epoch = steps;
        self
    }

    /// Batches in one pass: the last one may be smaller.
    fn batches_per_pass(&self) -> usize {
        self.num_samples().div_ceil(self.batch_size).max(1)
    }

    fn num_samples(&self) -> usize {
        self.x.num_samples().unwrap_or(0)
    }
}

impl Dataset for Arrays {
    fn batches(&mut self, epoch: usize) -> Result<Batches<'_>> {
        let order = self.sample_order();
        let steps = self.steps_per_epoch;
        let first = epoch.saturating_mul(steps);
        // Each pass's order when it is first needed: a batch and the next one are at most one
        // pass apart, so two are kept (steps_per_epoch may ask for any number of passes).
        let mut orders: Vec<(usize, Arc<Vec<usize>>)> = Vec::with_capacity(2);
        let mut order_of = move |pass: usize| -> Arc<Vec<usize>> {
            if let Some((_, order)) = orders.iter().find(|(p, _)| *p == pass) {
                return order.clone();
            }
            let made = Arc::new(order.pass_order(pass));
            if orders.len() == 2 {
                orders.remove(0);
            }
            orders.push((pass, made.clone()));
            made
        };
        let rows = move |b: usize| order.rows(first.saturating_add(b));
        let this = &*self;
        // The inputs of the next batch, being gathered while this one trains.
        let mut next: Option<Arc<PendingRows>> = None;
        Ok(Box::new((0..steps).map(move |b| {
            let (pass, range) = rows(b);
            let pass_order = order_of(pass);
            let idx = &pass_order[range];
            let x = match next.take() {
                Some(pending) => Data::Tensor(pending.finish()),
                None => this.x.select(idx)?,
            };
            if b + 1 < steps {
                let (pass, range) = rows(b + 1);
                next = PendingRows::start(&this.x, &order_of(pass)[range]);
            }
            Ok(Batch {
                x,
                y: this.y.as_ref().map(|y| y.select(idx)).transpose()?,
                sample_weight: select_weights(this.sample_weight.as_ref(), idx),
            })
        })))
    }

    fn batches_per_epoch(&self) -> Option<usize> {
        Some(self.steps_per_epoch)
    }
}

impl SampleOrder {
    /// The pass that batch number `b` (counting over all epochs) belongs to, and its rows in
    /// that pass's order.
    fn rows(&self, b: usize) -> (usize, Range<usize>) {
        let per_pass = self.n.div_ceil(self.batch_size).max(1);
        let (pass, within) = (b / per_pass, b % per_pass);
        let start = within * self.batch_size;
        (pass, start..(start + self.batch_size).min(self.n))
    }

    /// The order of the samples in pass `pass`: shuffled by the pass's key, or as they are.
    fn pass_order(&self, pass: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n).collect();
        if let Some(key) = self.shuffle {
            use rand::seq::SliceRandom;
            order.shuffle(&mut key.fold_in(pass as u64).rng());
        }
        order
    }

    /// The index in [`SampleOrder::source`] of sample `i` of batch `batch` of `epoch`.
    pub(crate) fn index_of(&self, epoch: usize, batch: usize, i: usize) -> Option<usize> {
        let (pass, range) = self.rows(epoch.saturating_mul(self.steps_per_epoch) + batch);
        let row = range
            .start
            .checked_add(i)
            .filter(|row| range.contains(row))?;
        Some(self.first_index + self.pass_order(pass)[row])
    }

    /// What the samples are part of (`x`, `validation_data`).
    pub(crate) fn source(&self) -> &'static str {
        self.source
    }
}

/// The weights of the samples at `idx`.
pub(crate) fn select_weights(weights: Option<&Tensor>, idx: &[usize]) -> Option<Tensor> {
    weights.map(|w| Tensor::new(w.view().select(ndarray::Axis(0), idx)))
}
