//! The worker threads: started on first use (as many as the largest thread count asked for,
//! less the calling thread), they poll for a job for a while after each one before they sleep,
//! and between jobs work on a background task in pieces.
//!
//! Waking a sleeping thread took about 20 us on the benchmark VM, as long as half a product of
//! the benchmark MLP, and the products of one step come less than that apart: hence the polling.
//! Rayon's `join` and an in-place scope, measured against this in one run (3 alternated rounds
//! of `bench_mlp`), made the epoch 50-65% longer at batch 64 and 20-45% at batch 256: its idle
//! workers go to sleep sooner.
//!
//! One job at a time: [`run`] posts the job and the caller works on it too, so it finishes even
//! if no worker ever comes. A call made while another thread's job holds the workers, or from
//! inside a piece, runs all its pieces on its own thread, in order.
//!
//! The executor's tests were run under ThreadSanitizer (nightly `-Zsanitizer=thread`, the
//! executor's files alone in a scratch crate; std uninstrumented): no report in the job,
//! claim, busy or sleep protocol. (Its reports were in libtest's channel, and an `Arc` drop,
//! whose fence it does not model.)

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long a worker polls for the next job before it sleeps (see the module's notes).
const POLL_FOR: Duration = Duration::from_micros(300);

/// Work that can be done in small pieces, by whichever thread asks first: the workers between
/// jobs, and the thread that needs the result, which finishes what is left.
pub(crate) trait Pieces: Send + Sync {
    /// Does one piece; `false` when none was left to do.
    fn piece(&self) -> bool;

    /// Called on a worker with the payload of a panic in [`Pieces::piece`] (the piece was
    /// claimed and will never be finished there): the task must count the piece as done, so that
    /// its owner does not wait for it, and hand the panic to the owner. The task is dropped from
    /// the workers afterwards.
    fn panicked(&self, panic: Box<dyn Any + Send>);
}

/// A posted job: `pieces` calls of `call(data, i)`, `i` in `0..pieces`, each exactly once.
/// It lives in the frame of the [`run`] that posted it, which does not return before every
/// piece is done and no worker looks at the job any more.
struct Job {
    /// Calls the closure behind `data` (whose type `call` was made for) with a piece's index.
    call: unsafe fn(*const (), usize),
    data: *const (),
    pieces: usize,
    /// The next piece to hand out.
    next: AtomicUsize,
    /// Pieces finished (also by a panic).
    done: AtomicUsize,
    /// Workers that have joined; at most `max_helpers` may.
    helpers: AtomicUsize,
    max_helpers: usize,
    /// The first panicking piece's payload.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job {
    /// Claims and runs pieces until none is left; never unwinds.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.pieces {
                return;
            }
            // SAFETY: `data` is the closure `call` was instantiated for, alive until every
            // piece is done, and piece `i` is not done before this call returns.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { (self.call)(self.data, i) }));
            if let Err(panic) = result {
                let mut first = self.panic.lock().unwrap_or_else(PoisonError::into_inner);
                first.get_or_insert(panic);
            }
            // Release: the piece's writes are visible to the caller once it sees the count.
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// The workers and what they share with callers.
struct Pool {
    /// Whether a caller's job holds the workers.
    taken: AtomicBool,
    /// Bumped for every posted job: workers poll this.
    epoch: AtomicUsize,
    /// The posted job, or null.
    current: AtomicPtr<Job>,
    /// Workers that may be reading `current`'s job: its caller waits for none before returning.
    busy: AtomicUsize,
    /// Workers asleep, or about to be: a caller wakes them when it posts a job.
    sleepers: AtomicUsize,
    /// The workers' handles, to wake them; their count only grows.
    workers: Mutex<Vec<Thread>>,
    started: AtomicUsize,
    /// Work to do in pieces between jobs (see [`run_when_idle`]).
    background: Mutex<Option<Arc<dyn Pieces>>>,
}

static POOL: Pool = Pool {
    taken: AtomicBool::new(false),
    epoch: AtomicUsize::new(0),
    current: AtomicPtr::new(null_mut()),
    busy: AtomicUsize::new(0),
    sleepers: AtomicUsize::new(0),
    workers: Mutex::new(Vec::new()),
    started: AtomicUsize::new(0),
    background: Mutex::new(None),
};

/// Calls `piece(i)` for every `i` in `0..pieces`, on this thread and up to `threads - 1`
/// workers at once, and returns when all are done. Every piece runs even when one panics; the
/// first panic's payload is resumed here once all are done, and the workers carry on with later
/// jobs.
pub(crate) fn run<F: Fn(usize) + Sync>(pieces: usize, threads: usize, piece: F) {
    let threads = threads.min(pieces);
    if threads <= 1 || !take() {
        return in_order(pieces, piece);
    }
    let _release = Release;
    start_workers(threads - 1);
    let job = Job {
        call: call::<F>,
        data: (&raw const piece).cast(),
        pieces,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        helpers: AtomicUsize::new(0),
        max_helpers: threads - 1,
        panic: Mutex::new(None),
    };
    POOL.current
        .store(&job as *const Job as *mut Job, Ordering::SeqCst);
    POOL.epoch.fetch_add(1, Ordering::SeqCst);
    if POOL.sleepers.load(Ordering::SeqCst) > 0 {
        wake_workers();
    }
    job.work();
    wait_until(|| job.done.load(Ordering::Acquire) == pieces);
    // No worker may join from now on; wait for those that may still be looking at the job.
    POOL.current.store(null_mut(), Ordering::SeqCst);
    wait_until(|| POOL.busy.load(Ordering::SeqCst) == 0);
    let panic = job
        .panic
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(panic) = panic {
        resume_unwind(panic);
    }
}

/// The pieces one after the other on this thread, each even when one before it panicked (as on
/// several threads); the first panic is resumed after the last piece.
fn in_order(pieces: usize, piece: impl Fn(usize)) {
    let mut first = None;
    for i in 0..pieces {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| piece(i))) {
            first.get_or_insert(panic);
        }
    }
    if let Some(panic) = first {
        resume_unwind(panic);
    }
}

/// Calls the `F` behind `data` with `i`.
///
/// # Safety
/// `data` must point to a live `F`.
unsafe fn call<F: Fn(usize) + Sync>(data: *const (), i: usize) {
    // SAFETY: as the caller promises.
    let piece = unsafe { &*data.cast::<F>() };
    piece(i);
}

/// Takes the workers for this thread's job; `false` when another job has them.
fn take() -> bool {
    POOL.taken
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

/// Hands the workers back when the job is over (also when its caller unwinds).
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        POOL.taken.store(false, Ordering::Release);
    }
}

/// Spins until `ready()`, yielding the core every 64 checks (a worker may be waiting for it).
fn wait_until(ready: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

fn wake_workers() {
    let workers = POOL.workers.lock().unwrap_or_else(PoisonError::into_inner);
    workers.iter().for_each(Thread::unpark);
}

/// Starts workers until there are `count` (fewer if the system refuses threads: the caller
/// then does more of the pieces itself).
fn start_workers(count: usize) {
    if POOL.started.load(Ordering::Acquire) >= count {
        return;
    }
    let mut workers = POOL.workers.lock().unwrap_or_else(PoisonError::into_inner);
    while workers.len() < count {
        let spawned = std::thread::Builder::new()
            .name(format!("elegy-worker-{}", workers.len() + 1))
            .spawn(work);
        match spawned {
            Ok(handle) => workers.push(handle.thread().clone()),
            Err(_) => break,
        }
    }
    POOL.started.store(workers.len(), Ordering::Release);
}

/// Hands `task` to the workers to work on, a piece at a time, while they wait for jobs
/// (replacing any task they were given before). Nothing happens before a parallel loop has
/// started workers: the owner of the task does all of it when it needs the result.
pub(crate) fn run_when_idle(task: Arc<dyn Pieces>) {
    if POOL.started.load(Ordering::Acquire) == 0 {
        return;
    }
    *POOL
        .background
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(task);
    wake_workers();
}

/// A worker's loop: join each posted job; between jobs, pieces of the background task; poll
/// for a while after the last of either, then sleep until woken.
fn work() {
    let mut seen = POOL.epoch.load(Ordering::SeqCst);
    let mut polled_since = Instant::now();
    let mut spins = 0u32;
    loop {
        let epoch = POOL.epoch.load(Ordering::Acquire);
        if epoch != seen {
            seen = epoch;
            join_posted_job();
            polled_since = Instant::now();
            continue;
        }
        if background_piece() {
            polled_since = Instant::now();
            continue;
        }
        spins = spins.wrapping_add(1);
        if !spins.is_multiple_of(64) {
            std::hint::spin_loop();
        } else if polled_since.elapsed() > POLL_FOR {
            // Announce the sleep before the last look at the epoch: a caller posting after
            // that look sees the announcement and wakes this thread (an unpark before the park
            // makes the park return at once).
            POOL.sleepers.fetch_add(1, Ordering::SeqCst);
            if POOL.epoch.load(Ordering::SeqCst) == seen && !has_background() {
                std::thread::park();
            }
            POOL.sleepers.fetch_sub(1, Ordering::SeqCst);
            polled_since = Instant::now();
        } else {
            // Reading the clock and yielding every 64 polls: cheap, and polite to other
            // processes on this core.
            std::thread::yield_now();
        }
    }
}

/// Works on the posted job, if any is still posted and has room for another helper.
fn join_posted_job() {
    // `busy` is raised before `current` is read, and the caller clears `current` before it
    // checks `busy` (all SeqCst): either this thread sees null, or the caller waits for it.
    POOL.busy.fetch_add(1, Ordering::SeqCst);
    let job = POOL.current.load(Ordering::SeqCst);
    if !job.is_null() {
        // SAFETY: the job's caller keeps it alive while `busy` counts this thread.
        let job = unsafe { &*job };
        if job.helpers.fetch_add(1, Ordering::Relaxed) < job.max_helpers {
            job.work();
        }
    }
    POOL.busy.fetch_sub(1, Ordering::SeqCst);
}

fn has_background() -> bool {
    POOL.background
        .try_lock()
        .map_or(true, |task| task.is_some())
}

/// One piece of the background task; `false` when there is none (then the task is dropped).
/// A panicking piece is reported to its task, which is dropped too.
fn background_piece() -> bool {
    let Some(task) = POOL.background.try_lock().ok().and_then(|b| b.clone()) else {
        return false;
    };
    match catch_unwind(AssertUnwindSafe(|| task.piece())) {
        Ok(true) => true,
        Ok(false) => {
            drop_background(&task);
            false
        }
        Err(panic) => {
            drop_background(&task);
            // A panic in the report itself must not end the worker either.
            let _ = catch_unwind(AssertUnwindSafe(|| task.panicked(panic)));
            false
        }
    }
}

/// Drops `task` from the workers unless another task replaced it already.
fn drop_background(task: &Arc<dyn Pieces>) {
    let mut background = POOL
        .background
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if background.as_ref().is_some_and(|b| Arc::ptr_eq(b, task)) {
        *background = None;
    }
}
