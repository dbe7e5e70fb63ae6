//! Data-parallel training: every rank holds the whole model, trains on its shard of each
//! batch, and the gradients are summed across ranks before each update, as Keras'
//! distribution strategies, PyTorch's DDP and Horovod do.
//!
//! Turning it on is one line: `Runner::new(model)...data_parallel(group).build()?`, where the
//! group is a [`Collective`]: [`SingleProcess`] (the default, which costs nothing),
//! [`ThreadGroup`] ranks on threads of one process (what the tests run), or, with the cargo
//! feature `mpi`, `Mpi::world()` over the processes `mpirun` started. The model, its steps and
//! the callbacks do not change.
//!
//! # The rules
//! - **Sharding.** Every rank draws the same batches (the same seeded shuffle), and takes its
//!   contiguous part of each: with `N` ranks and a batch of `B` samples, rank `r` takes
//!   `B / N` samples, one more for the first `B % N` ranks, so the shards of a batch differ by
//!   at most one sample and together are the batch. Streams ([`crate::data::Dataset`]) are read
//!   whole by every rank and sharded the same way, so they must give every rank the same
//!   batches (the same files, the same seed).
//! - **Exactness.** A rank's gradient (of its shard's loss, a mean over its `b` samples, as the
//!   default `sum_over_batch_size` reduction makes it) is scaled by `b / B` and the ranks'
//!   scaled gradients summed: that is the gradient of the batch's mean loss, so training equals
//!   one process at batch `B` up to float summation order (and with one rank, bit for bit).
//!   This holds for losses that are means over the batch (every loss's default reduction); a
//!   loss with `Reduction::Sum` is summed over the batch and should not be used here, since its
//!   gradients would be scaled down by `b / B`.
//! - **A shard with no sample** (a last batch smaller than the number of ranks) trains on the
//!   batch's first sample with weight 0: it adds nothing to the gradient, the loss or any
//!   weighted metric, and keeps the rank in step with the others.
//! - **Identical ranks.** Before training, every rank takes rank 0's parameters, model states
//!   and optimizer state (after checking that all ranks' have the same names and shapes), and
//!   after each step the model states (such as batch normalization's moving statistics, which
//!   each rank computes on its shard) are averaged across ranks, so that the model is the same
//!   everywhere. Batch statistics used *within* a step are each rank's own shard's (as PyTorch's
//!   `BatchNorm` under DDP without `SyncBatchNorm`). Random keys (dropout) are folded with the
//!   rank, so shards do not share masks.
//! - **Global logs.** Epoch logs are over all ranks' samples: means of batch values are summed
//!   with their sample counts across ranks, metric states (sums, counts, confusion counts) are
//!   summed across ranks before each metric's result, and every rank then holds rank 0's logs
//!   exactly, so that callbacks decide alike everywhere. Batch-end logs (the progress line) are
//!   each rank's own. `evaluate` and the validation are sharded and reduced the same way.
//!   Metric states are summed: right for every metric of [`crate::metrics`]; a metric of your
//!   own whose state is not a sum is not global.
//! - **Callbacks** run on every rank (so that those that change states, such as
//!   `ReduceLrOnPlateau`, change them alike); those with side effects (progress display,
//!   `ModelCheckpoint`, `CsvLogger`, `TensorBoard`) act on rank 0 only
//!   ([`CallbackContext::is_chief`](crate::callbacks::CallbackContext::is_chief) tells a
//!   callback of your own). A stop asked for on any rank (EarlyStopping, TerminateOnNaN,
//!   Ctrl-C) stops every rank after the same batch.
//! - **Saving.** [`Runner::save`](crate::Runner::save) writes on rank 0 only, then waits for
//!   every rank (call it on all of them); load on every rank. A resumed data-parallel `fit`
//!   equals an uninterrupted one.
//! - **Failure.** A rank whose `fit` or `evaluate` fails (an error, bad data on its shard, a
//!   panic) aborts the group: it returns its own error, and every other rank returns
//!   [`Error::Distributed`] naming it, never waiting for it (with MPI, the job ends).
//! - **Prediction** is not sharded: every rank predicts every sample and returns all of the
//!   predictions, in order.
//! - **Threads.** With several ranks on a machine, each rank's compute threads are the cores
//!   divided among them (see [`crate::num_threads`]).

mod collective;
#[cfg(feature = "mpi")]
mod mpi;
mod shard;
mod threads;

pub use collective::{Collective, SingleProcess};
#[cfg(feature = "mpi")]
pub use mpi::Mpi;
pub use threads::{ThreadGroup, ThreadRank};

pub(crate) use shard::{Shard, shard_batch};

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// A runner's data-parallel setting: its group, and the share of the current batch that this
/// rank's shard holds (what its gradients are scaled by). Cheap to clone.
#[derive(Clone)]
pub struct DataParallel {
    group: Arc<dyn Collective>,
    /// This rank's samples in the current batch, and the batch's samples.
    share: Arc<Mutex<(usize, usize)>>,
}

impl std::fmt::Debug for DataParallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("rank", &self.rank())
            .field("world_size", &self.world_size())
            .finish()
    }
}

impl DataParallel {
    /// Data-parallel training over `group`.
    pub fn new(group: impl Collective + 'static) -> DataParallel {
        DataParallel {
            group: Arc::new(group),
            share: Arc::new(Mutex::new((1, 1))),
        }
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.group.rank()
    }

    /// The number of ranks.
    pub fn world_size(&self) -> usize {
        self.group.world_size()
    }

    /// The group's collective operations.
    pub fn group(&self) -> &dyn Collective {
        &*self.group
    }

    /// Whether there is more than one rank (only then is there anything to do).
    pub(crate) fn is_parallel(&self) -> bool {
        self.world_size() > 1
    }

    /// Sets the share of the batch this rank trains on next.
    pub(crate) fn set_share(&self, local: usize, global: usize) {
        *self.share.lock().unwrap_or_else(|e| e.into_inner()) = (local, global.max(1));
    }

    /// The gradients of the whole batch from this rank's (of its shard): each rank's multiplied
    /// by its number of samples in the batch, summed over the ranks, and divided by the
    /// batch's samples. The same on every rank, bit for bit.
    pub fn reduce_gradients(&self, grads: &TensorMap) -> Result<TensorMap> {
        if !self.is_parallel() {
            return Ok(grads.clone());
        }
        let (local, global) = *self.share.lock().unwrap_or_else(|e| e.into_inner());
        // Scaled by whole counts and divided once after the sum: fewer roundings than scaling
        // by the fraction `local / global`, which few batch sizes make exact.
        let mut flat = flatten(grads);
        if local == 0 {
            // An empty shard's stand-in sample adds nothing, even a non-finite gradient.
            flat.iter_mut().for_each(|g| *g = 0.0);
        } else {
            flat.iter_mut().for_each(|g| *g *= local as f32);
        }
        self.group.all_reduce_sum(&mut flat)?;
        let global = global as f32;
        flat.iter_mut().for_each(|g| *g /= global);
        unflatten(grads, &flat)
    }

    /// `map` as rank `root` has it (every rank's must have the same names and shapes).
    pub(crate) fn broadcast_map(&self, map: &TensorMap, root: usize) -> Result<TensorMap> {
        let mut flat = flatten(map);
        self.group.broadcast(&mut flat, root)?;
        unflatten(map, &flat)
    }

    /// The element-wise mean of `map` over the ranks.
    pub(crate) fn average_map(&self, map: &TensorMap) -> Result<TensorMap> {
        if map.is_empty() {
            return Ok(map.clone());
        }
        let mut flat = flatten(map);
        self.group.all_reduce_sum(&mut flat)?;
        let n = self.world_size() as f32;
        flat.iter_mut().for_each(|v| *v /= n);
        unflatten(map, &flat)
    }

    /// The element-wise sum of `map` over the ranks.
    pub(crate) fn sum_map(&self, map: &TensorMap) -> Result<TensorMap> {
        let mut flat = flatten(map);
        self.group.all_reduce_sum(&mut flat)?;
        unflatten(map, &flat)
    }

    /// Whether `flag` holds on any rank.
    pub(crate) fn any(&self, flag: bool) -> Result<bool> {
        let mut v = [if flag { 1.0 } else { 0.0 }];
        self.group.all_reduce_sum_f64(&mut v)?;
        Ok(v[0] > 0.0)
    }

    /// Checks that every rank's `map` has rank 0's names and shapes, so that collectives over
    /// it line up; `what` names it in the error.
    pub(crate) fn check_same_structure(&self, map: &TensorMap, what: &str) -> Result<()> {
        let signature = structure_signature(map);
        let mut root = signature;
        let mut as_f32 = root.map(|v| v as f32);
        // Each part of the signature is below 2^24, so exact in an f32.
        self.group.broadcast(&mut as_f32, 0)?;
        root = as_f32.map(|v| v as u32);
        let differs = self.any(root != signature)?;
        if differs {
            return Err(Error::Distributed {
                rank: self.rank(),
                message: format!(
                    "the {what} differ between ranks (names or shapes): every rank must build \
                     the same model on batches of the same shape"
                ),
            });
        }
        Ok(())
    }

    /// Aborts the group after this rank failed with `error` (unless the error is another
    /// rank's failure reaching this one).
    pub(crate) fn abort_on(&self, error: &Error) {
        if self.is_parallel() && !matches!(error, Error::Distributed { .. }) {
            self.group.abort(&format!("rank {}: {error}", self.rank()));
        }
    }
}

/// The values of `map`'s tensors, one after another in name order.
fn flatten(map: &TensorMap) -> Vec<f32> {
    let mut flat = Vec::with_capacity(map.num_elements());
    for (_, t) in map.iter() {
        flat.extend(t.view().iter());
    }
    flat
}

/// `flat` cut back into tensors shaped as `like`'s.
fn unflatten(like: &TensorMap, flat: &[f32]) -> Result<TensorMap> {
    let mut out = TensorMap::new();
    let mut at = 0;
    for (name, t) in like.iter() {
        let n = t.len();
        out.insert(
            name,
            Tensor::from_vec(flat[at..at + n].to_vec(), t.shape())?,
        );
        at += n;
    }
    Ok(out)
}

/// A fingerprint of `map`'s names and shapes: the number of tensors, of elements, and a hash
/// of the names and shapes, each below 2^24.
fn structure_signature(map: &TensorMap) -> [u32; 3] {
    // FNV-1a: stable across processes and builds, unlike std's hasher.
    let mut hash: u32 = 0x811c_9dc5;
    let mut mix = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= b as u32;
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    for (name, t) in map.iter() {
        mix(name.as_bytes());
        for &d in t.shape() {
            mix(&(d as u64).to_le_bytes());
        }
    }
    let mask = (1 << 24) - 1;
    [
        map.len() as u32 & mask,
        map.num_elements() as u32 & mask,
        hash & mask,
    ]
}
