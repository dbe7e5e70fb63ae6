//! [`Collective`]: the operations data-parallel training needs from the processes it runs on.

use crate::error::Result;

/// A group of ranks that train one model together: each knows its rank and the group's size,
/// and all of them call the same collective operations in the same order.
///
/// Every operation is *collective*: it returns on a rank once every rank has called it, and
/// a rank that calls something else meanwhile is a bug that hangs or fails the group. The
/// runner keeps to that; a step that calls [`Components::reduce_gradients`] must be run by
/// every rank.
///
/// **Rules every implementation keeps.**
/// - A sum is the same on every rank, bit for bit, and the same for the same inputs at every
///   call: the ranks' contributions are added in rank order (0, 1, 2, ...), so that the
///   parameters of all ranks stay identical and a run can be repeated exactly.
/// - After [`Collective::abort`] on any rank, every pending and later operation of every rank
///   fails with [`Error::Distributed`](crate::Error::Distributed) naming the rank that
///   aborted (or, for MPI, the job ends): a rank that fails never leaves the others waiting.
///
/// [`Components::reduce_gradients`]: crate::step::Components::reduce_gradients
pub trait Collective: Send + Sync {
    /// This process's (or thread's) rank, from 0.
    fn rank(&self) -> usize;

    /// How many ranks the group has.
    fn world_size(&self) -> usize;

    /// Replaces `values` on every rank by their sum over the ranks, element by element.
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()>;

    /// [`Collective::all_reduce_sum`] in `f64`: for the sums behind logs and metrics.
    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()>;

    /// Replaces `values` on every rank by rank `root`'s.
    fn broadcast(&self, values: &mut [f32], root: usize) -> Result<()>;

    /// Returns once every rank has called it.
    fn barrier(&self) -> Result<()>;

    /// Tells the group that this rank failed with `message`: every rank's pending and later
    /// operations fail instead of waiting for this one.
    fn abort(&self, message: &str);
}

/// The default group: this process alone. Every operation returns at once and changes
/// nothing, so a runner that is not data-parallel pays nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn world_size(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _values: &mut [f32]) -> Result<()> {
        Ok(())
    }

    fn all_reduce_sum_f64(&self, _values: &mut [f64]) -> Result<()> {
        Ok(())
    }

    fn broadcast(&self, _values: &mut [f32], _root: usize) -> Result<()> {
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }

    fn abort(&self, _message: &str) {}
}

/// A shared group is a group: the same rank handed to several runners (one after another, as a
/// resumed training does).
impl<C: Collective + ?Sized> Collective for std::sync::Arc<C> {
    fn rank(&self) -> usize {
        (**self).rank()
    }

    fn world_size(&self) -> usize {
        (**self).world_size()
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        (**self).all_reduce_sum(values)
    }

    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()> {
        (**self).all_reduce_sum_f64(values)
    }

    fn broadcast(&self, values: &mut [f32], root: usize) -> Result<()> {
        (**self).broadcast(values, root)
    }

    fn barrier(&self) -> Result<()> {
        (**self).barrier()
    }

    fn abort(&self, message: &str) {
        (**self).abort(message)
    }
}
