//! Gathering the next batch's rows while the current one trains: the copy is handed, in
//! pieces of a few rows, to the executor's workers for the moments they wait between jobs, and the
//! loop finishes whatever is left when it needs the batch. A shuffled batch is far apart in a
//! large training set, so its copy waits on main memory; done this way, that wait mostly
//! overlaps the step before.

use std::any::Any;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ndarray::{ArcArray, ArrayD, IxDyn};

use super::Data;
use super::data::copy_rows;
use crate::exec::{Pieces, run_when_idle};
use crate::tensor::Tensor;

/// Rows per piece: a few microseconds of copying, so that a job posted to the workers meanwhile
/// does not wait long.
const ROWS_PER_PIECE: usize = 8;

/// The rows at `indices` of one contiguous tensor, being copied.
pub(crate) struct PendingRows {
    source: ArcArray<f32, IxDyn>,
    indices: Vec<usize>,
    row: usize,
    /// The gathered values; taken out whole when every piece is finished.
    out: UnsafeCell<Vec<MaybeUninit<f32>>>,
    /// The start of `out`'s buffer, which never moves: pieces write through it.
    start: *mut MaybeUninit<f32>,
    pieces: usize,
    /// Pieces handed out so far (some may not be finished).
    claimed: AtomicUsize,
    /// Pieces whose rows are written (or that panicked on a worker).
    finished: AtomicUsize,
    /// The panic of a piece on a worker, resumed by [`PendingRows::finish`].
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `out` is written only in disjoint pieces (through `start`), each by the one thread that
// claimed it, and taken only after every piece is finished; everything else is immutable or
// atomic.
unsafe impl Sync for PendingRows {}
// SAFETY: as above; the buffer behind `start` belongs to `out`, which moves with the value.
unsafe impl Send for PendingRows {}

impl Pieces for PendingRows {
    fn piece(&self) -> bool {
        let piece = self.claimed.fetch_add(1, Ordering::Relaxed);
        if piece >= self.pieces {
            return false;
        }
        let first = piece * ROWS_PER_PIECE;
        let last = (first + ROWS_PER_PIECE).min(self.indices.len());
        let values = self
            .source
            .as_slice()
            .expect("contiguous, checked at the start");
        // SAFETY: this piece's rows of the buffer belong to this call alone (the claim above),
        // and the buffer is not taken until every piece is finished.
        let part = unsafe {
            std::slice::from_raw_parts_mut(
                self.start.add(first * self.row),
                (last - first) * self.row,
            )
        };
        copy_rows(values, self.row, &self.indices[first..last], part);
        self.finished.fetch_add(1, Ordering::Release);
        true
    }

    fn panicked(&self, panic: Box<dyn Any + Send>) {
        let mut slot = self.panic.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(panic);
        self.finished.fetch_add(1, Ordering::Release);
    }
}

impl PendingRows {
    /// Starts copying the rows of `data` at `indices` on the executor's idle workers;
    /// `None` unless `data` is one contiguous tensor of at least 2 axes and every index is in
    /// range: the caller then gathers the rows itself.
    pub(crate) fn start(data: &Data, indices: &[usize]) -> Option<Arc<PendingRows>> {
        let Data::Tensor(tensor) = data else {
            return None;
        };
        let source = tensor.array().clone();
        let n = *source.shape().first()?;
        // Out-of-range indices are left to `select`, which reports them: a piece must not
        // panic on a worker (its panic would only surface at `finish`).
        let out_of_range = indices.iter().any(|&i| i >= n);
        if source.ndim() < 2 || source.is_empty() || source.as_slice().is_none() || out_of_range {
            return None;
        }
        let row = source.len() / n;
        let mut out = Vec::with_capacity(indices.len() * row);
        // SAFETY: `MaybeUninit` needs no initialization.
        unsafe { out.set_len(indices.len() * row) };
        let start = out.as_mut_ptr();
        let pending = Arc::new(PendingRows {
            source,
            indices: indices.to_vec(),
            row,
            out: UnsafeCell::new(out),
            start,
            pieces: indices.len().div_ceil(ROWS_PER_PIECE),
            claimed: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            panic: Mutex::new(None),
        });
        run_when_idle(pending.clone());
        Some(pending)
    }

    /// The gathered rows: copies what the workers have not, then waits for the pieces they may
    /// be copying (and resumes the panic of one that panicked there).
    pub(crate) fn finish(&self) -> Tensor {
        while self.piece() {}
        while self.finished.load(Ordering::Acquire) < self.pieces {
            std::hint::spin_loop();
        }
        if let Some(panic) = self
            .panic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            std::panic::resume_unwind(panic);
        }
        // SAFETY: every piece is finished (the acquire above pairs with their release), so
        // nothing writes `out` any more; later `piece` calls return before touching it.
        let out = std::mem::take(unsafe { &mut *self.out.get() });
        let mut out = std::mem::ManuallyDrop::new(out);
        // SAFETY: the pieces wrote every value, and `MaybeUninit<f32>` has `f32`'s layout; the
        // buffer changes owner, from `out` (not dropped) to `values`.
        let values = unsafe {
            Vec::from_raw_parts(out.as_mut_ptr().cast::<f32>(), out.len(), out.capacity())
        };
        let mut shape = self.source.shape().to_vec();
        shape[0] = self.indices.len();
        Tensor::new(ArrayD::from_shape_vec(shape, values).expect("whole rows"))
    }
}

#[cfg(test)]
mod tests {
    use super::PendingRows;
    use crate::data::Data;
    use crate::tensor::Tensor;

    #[test]
    fn gathered_rows_match_select_whoever_copies_them() {
        let (n, row) = (300, 5);
        let x = Tensor::from_vec((0..n * row).map(|v| v as f32).collect(), &[n, row]).unwrap();
        let data = Data::from(&x);
        for count in [1, 8, 13, 200] {
            let idx: Vec<usize> = (0..count).map(|i| (i * 7919) % n).collect();
            let pending = PendingRows::start(&data, &idx).expect("one contiguous tensor");
            // Give the workers a moment to take some pieces, then finish the rest here.
            std::thread::yield_now();
            let rows = pending.finish();
            let expected = data.select(&idx).unwrap();
            assert_eq!(rows.view(), expected.as_tensor("x").unwrap().view());
        }
    }

    #[test]
    fn a_piece_that_panicked_on_a_worker_makes_finish_panic_instead_of_waiting() {
        use crate::exec::Pieces;
        let x = Tensor::ones(&[64, 3]);
        let pending = PendingRows::start(&Data::from(&x), &[1; 40]).expect("contiguous");
        // What a worker does when its piece panics: the piece is claimed, then reported.
        pending
            .claimed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pending.panicked(Box::new("copy failed"));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pending.finish()));
        let payload = caught.expect_err("the panic is resumed");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"copy failed"));
    }

    #[test]
    fn only_one_contiguous_tensor_of_rows_is_gathered_in_the_background() {
        let x = Tensor::ones(&[4, 3]);
        let pair = Data::Tuple(vec![Data::from(&x), Data::from(&x)]);
        assert!(PendingRows::start(&pair, &[0, 1]).is_none());
        assert!(
            PendingRows::start(&Data::from(&x), &[0, 4]).is_none(),
            "4 is out of range"
        );
        // Column-major rows are not slices; a vector has no rows.
        let columns = ndarray::Array2::<f32>::ones((3, 4))
            .reversed_axes()
            .into_dyn();
        assert!(PendingRows::start(&Data::from(Tensor::new(columns)), &[0]).is_none());
        assert!(PendingRows::start(&Data::from(Tensor::from(vec![1.0, 2.0])), &[0]).is_none());
    }
}
