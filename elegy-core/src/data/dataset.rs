//! [`Dataset`]: anything that yields batches, epoch after epoch.

use crate::data::Batch;
use crate::error::Result;

/// The batches of one pass over a dataset. `Send`, so the loops can load the next batches on a
/// background thread while the current one trains.
pub type Batches<'a> = Box<dyn Iterator<Item = Result<Batch>> + Send + 'a>;

/// A source of batches for `fit_dataset`, `evaluate_dataset` and `predict_dataset`: a stream, a
/// generator, a file reader. [`crate::data::Loader`] builds one from a closure, with shuffling,
/// batching and prefetching.
pub trait Dataset: Send {
    /// The batches of the pass for `epoch` (counting from 0; a dataset that shuffles seeds its
    /// order with it).
    fn batches(&mut self, epoch: usize) -> Result<Batches<'_>>;

    /// How many batches the loops may load ahead on a background thread (0: none).
    fn prefetch(&self) -> usize {
        0
    }

    /// The number of batches of each pass, when known before it runs: progress displays and
    /// callbacks (`CallbackContext::steps_per_epoch`) show it. `None` by default.
    fn batches_per_epoch(&self) -> Option<usize> {
        None
    }
}
