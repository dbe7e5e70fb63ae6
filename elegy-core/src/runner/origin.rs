//! [`Origin`]: where a loop's batches come from, so that an error about one sample of a batch
//! (a label that is no class) names the sample of the data, not its place in the batch.
//!
//! The rule: for arrays (`fit`, `evaluate`, `test_on_batch`, and `fit`'s validation) the error
//! names the sample's index in what the user passed (`x`, or `validation_data`), shuffled or
//! not, with the loop, epoch and batch; for a stream (`fit_dataset`, `evaluate_dataset`) it
//! names the batch, the sample in it, and the sample's position in the pass.

use crate::data::{Arrays, SampleOrder};
use crate::error::Error;

/// Where the batches of one loop come from, and which loop it is.
pub(super) struct Origin {
    /// The loop, as messages name it (`fit`, `evaluate`, `fit (validation)`).
    during: &'static str,
    /// The arrays' order of samples, or `None` for a stream.
    arrays: Option<SampleOrder>,
}

impl Origin {
    /// The batches of `arrays`, in the loop `during`.
    pub(super) fn arrays(during: &'static str, arrays: &Arrays) -> Origin {
        Origin {
            during,
            arrays: Some(arrays.sample_order()),
        }
    }

    /// The batches of a stream, in the loop `during`.
    pub(super) fn stream(during: &'static str) -> Origin {
        Origin {
            during,
            arrays: None,
        }
    }

    /// Whether the batches come from a stream (which the loops check as they pass; arrays are
    /// checked whole where they enter).
    pub(super) fn is_stream(&self) -> bool {
        self.arrays.is_none()
    }

    /// `error`, from the step on batch `batch` of `epoch` (`None` outside `fit`'s training)
    /// whose first sample is the pass's `first`-th, naming the data's own sample.
    pub(super) fn place(
        &self,
        error: Error,
        epoch: Option<usize>,
        batch: usize,
        first: usize,
    ) -> Error {
        let during = match epoch {
            Some(epoch) => format!("{}, epoch {epoch}", self.during),
            None => self.during.to_string(),
        };
        error.placing_sample(|i| {
            let arrays = self.arrays.as_ref();
            let index = arrays.and_then(|order| order.index_of(epoch.unwrap_or(0), batch, i));
            match (arrays, index) {
                (Some(order), Some(index)) => (
                    index,
                    format!(" of {} ({during}, batch {batch})", order.source()),
                ),
                _ => (
                    i,
                    format!(
                        " of batch {batch} ({during}; sample {} of the pass)",
                        first + i
                    ),
                ),
            }
        })
    }
}
