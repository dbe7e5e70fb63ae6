//! The executor: runs the pieces of a parallel loop on the calling thread and the pool's
//! workers ([`for_each_piece`], [`join`], [`for_each_chunk`]), and background tasks on idle
//! workers ([`run_when_idle`]). Ops and the data pipeline both sit on it.
//!
//! How many threads take part is [`num_threads`]'s to say. Whoever runs a piece, its result is
//! the same: callers cut their work by shapes alone, never by the thread count, wherever the
//! cut could change a rounding.

mod pool;
mod threads;

use std::sync::{Mutex, PoisonError};

pub(crate) use pool::{Pieces, run_when_idle};
pub use threads::{num_threads, set_num_threads, with_num_threads};

/// Calls `piece(i)` for every `i` in `0..pieces`, on up to [`num_threads`] threads at once (this
/// one included), in no particular order, and returns when all are done. Every piece runs even
/// when another panics; the first panic is resumed here after all are done, and the executor
/// stays usable.
pub(crate) fn for_each_piece(pieces: usize, piece: impl Fn(usize) + Sync) {
    pool::run(pieces, num_threads(), piece);
}

/// Runs `a` and `b` at the same time when a second thread is free, and returns when both are
/// done; a panic in either is resumed here, after both.
pub(crate) fn join<A: FnOnce() + Send, B: FnOnce() + Send>(a: A, b: B) {
    fn take<T>(cell: &Mutex<Option<T>>) -> Option<T> {
        cell.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
    let (a, b) = (Mutex::new(Some(a)), Mutex::new(Some(b)));
    for_each_piece(2, |i| {
        if i == 0 {
            if let Some(a) = take(&a) {
                a();
            }
        } else if let Some(b) = take(&b) {
            b();
        }
    });
}

/// Parts of a loop's data, each taken by the one piece it belongs to.
type Claims<T> = Vec<Mutex<Option<T>>>;

/// Calls `f(i, chunk)` for the chunks of `values` of `len` values each (the last may be
/// shorter), `i` counting chunks from 0, as pieces of [`for_each_piece`].
pub(crate) fn for_each_chunk<T: Send>(
    values: &mut [T],
    len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if values.len() <= len {
        // One chunk (or none): no hand-off to prepare.
        if !values.is_empty() {
            f(0, values);
        }
        return;
    }
    let chunks: Claims<&mut [T]> = values
        .chunks_mut(len.max(1))
        .map(|chunk| Mutex::new(Some(chunk)))
        .collect();
    for_each_piece(chunks.len(), |i| {
        let chunk = chunks[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(chunk) = chunk {
            f(i, chunk);
        }
    });
}

/// [`for_each_chunk`] over two slices at once: chunk `i` is `len_a` values of `a` and `len_b`
/// of `b`; both must have the same number of chunks.
pub(crate) fn for_each_chunk2<T: Send, U: Send>(
    (a, len_a): (&mut [T], usize),
    (b, len_b): (&mut [U], usize),
    f: impl Fn(usize, &mut [T], &mut [U]) + Sync,
) {
    let chunks: Claims<(&mut [T], &mut [U])> = a
        .chunks_mut(len_a.max(1))
        .zip(b.chunks_mut(len_b.max(1)))
        .map(|pair| Mutex::new(Some(pair)))
        .collect();
    for_each_piece(chunks.len(), |i| {
        let pair = chunks[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((a, b)) = pair {
            f(i, a, b);
        }
    });
}

/// How many items go in each piece when `items` of `cost` each are shared among the threads,
/// for work whose result does not depend on the cut (copies, element-wise maps): one piece per
/// thread, or a single piece when the whole is below `min_cost`.
pub(crate) fn items_per_piece(items: usize, cost: usize, min_cost: usize) -> usize {
    let threads = num_threads();
    if threads <= 1 || items.saturating_mul(cost) < min_cost {
        return items.max(1);
    }
    items.div_ceil(threads).max(1)
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{Pieces, for_each_chunk, for_each_piece, join, run_when_idle, with_num_threads};

    const COUNTS: [usize; 4] = [1, 2, 3, 8];

    #[test]
    fn every_piece_runs_exactly_once_whatever_the_thread_count() {
        for threads in COUNTS {
            let runs: Vec<AtomicUsize> = (0..100).map(|_| AtomicUsize::new(0)).collect();
            with_num_threads(threads, || {
                for_each_piece(runs.len(), |i| {
                    runs[i].fetch_add(1, Ordering::Relaxed);
                })
            });
            assert!(
                runs.iter().all(|r| r.load(Ordering::Relaxed) == 1),
                "{threads}"
            );
        }
    }

    #[test]
    fn join_runs_both_halves_also_nested() {
        for threads in COUNTS {
            let (mut a, mut b, mut c) = (0, 0, 0);
            with_num_threads(threads, || {
                join(|| join(|| a += 1, || b += 1), || c += 1);
            });
            assert_eq!((a, b, c), (1, 1, 1));
        }
    }

    #[test]
    fn chunks_cover_the_slice_with_their_indices() {
        let mut values = vec![0usize; 103];
        with_num_threads(3, || {
            for_each_chunk(&mut values, 10, |i, chunk| {
                chunk.iter_mut().for_each(|v| *v = i);
            })
        });
        assert!(values.iter().enumerate().all(|(j, &v)| v == j / 10));
    }

    #[test]
    fn a_panic_in_either_half_reaches_the_caller_after_both() {
        for threads in COUNTS {
            with_num_threads(threads, || {
                let mut other_ran = false;
                let caught = catch_unwind(AssertUnwindSafe(|| {
                    join(|| other_ran = true, || panic!("second half"))
                }));
                assert!(caught.is_err() && other_ran);
                let caught = catch_unwind(|| join(|| panic!("first half"), || ()));
                assert!(caught.is_err());
                let mut after = 0;
                join(|| after += 1, || ());
                assert_eq!(after, 1, "join still works after a panic");
            });
        }
    }

    #[test]
    fn a_panicking_piece_hands_its_payload_to_the_caller_and_later_loops_run() {
        for threads in COUNTS {
            let caught = with_num_threads(threads, || {
                catch_unwind(|| {
                    for_each_piece(50, |i| {
                        if i == 17 {
                            std::panic::panic_any(i);
                        }
                    })
                })
            });
            let payload = caught.expect_err("piece 17 panicked");
            assert_eq!(payload.downcast_ref::<usize>(), Some(&17));
            let ran = AtomicUsize::new(0);
            let caught = with_num_threads(threads, || {
                catch_unwind(AssertUnwindSafe(|| {
                    for_each_piece(50, |i| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        assert!(i != 3, "piece 3");
                    })
                }))
            });
            assert!(caught.is_err());
            assert_eq!(ran.swap(0, Ordering::Relaxed), 50, "every piece ran");
            with_num_threads(threads, || {
                for_each_piece(50, |_| {
                    ran.fetch_add(1, Ordering::Relaxed);
                })
            });
            assert_eq!(ran.load(Ordering::Relaxed), 50);
        }
    }

    /// A background task whose every piece panics; it records the report.
    struct Failing {
        reported: AtomicUsize,
    }

    impl Pieces for Failing {
        fn piece(&self) -> bool {
            panic!("background piece");
        }
        fn panicked(&self, _: Box<dyn std::any::Any + Send>) {
            self.reported.fetch_add(1, Ordering::Release);
        }
    }

    #[test]
    fn a_panicking_background_piece_is_reported_to_its_task_and_the_workers_go_on() {
        // Workers exist once a loop of two threads has run.
        with_num_threads(2, || for_each_piece(2, |_| ()));
        let task = Arc::new(Failing {
            reported: AtomicUsize::new(0),
        });
        run_when_idle(task.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while task.reported.load(Ordering::Acquire) == 0 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        // Another test's loop may hold the workers a while; the report comes when they are free.
        assert_eq!(task.reported.load(Ordering::Acquire), 1);
        let (mut a, mut b) = (0, 0);
        with_num_threads(2, || join(|| a += 1, || b += 1));
        assert_eq!((a, b), (1, 1));
    }
}
