//! Running a loop over batches: in order on the caller's thread, or with the next batches
//! produced on a background thread (a dataset's prefetch); and checking streamed batches as
//! they pass.

use super::checks::check_weights;
use crate::data::{Batch, Batches, check_finite};
use crate::error::Result;

/// Calls `each(index, batch)` on up to `limit` batches until it returns `false`. With `prefetch`
/// above 0 the batches are produced on a scoped background thread, at most `prefetch` ahead; an
/// error from either side ends both (the producer stops when its receiver is gone), so nothing
/// hangs, and a panic in the producer is resumed on the caller's thread with its own payload.
pub(super) fn drive(
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
        let producer = scope.spawn(move || {
            for batch in batches.take(limit) {
                let failed = batch.is_err();
                if sender.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        let mut consumed = || -> Result<()> {
            for (i, batch) in receiver.iter().enumerate() {
                if !each(i, batch?)? {
                    break;
                }
            }
            Ok(())
        };
        let result = consumed();
        // The receiver is gone: a producer still running stops at its next send. A panic in
        // it (the dataset's own code) reaches the caller with its own payload, not as "a
        // scoped thread panicked".
        drop(receiver);
        if let Err(payload) = producer.join() {
            std::panic::resume_unwind(payload);
        }
        result
    })
}

/// `batches`, each checked for non-finite values as it passes: streamed data is checked as it
/// comes, in-memory arrays once where they enter. Errors name `op` and the sample's index in the
/// stream.
pub(super) fn finite<'a>(batches: Batches<'a>, op: &'static str) -> Batches<'a> {
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
