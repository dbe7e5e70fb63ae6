//! Both cores for the engine's heavy loops: a second thread ([`join`]) for element-wise work
//! (optimizer updates) and the matrix products every op uses, which between jobs works on a
//! background task handed to it in pieces ([`run_when_idle`]: the next batch's gathering).
//!
//! Products run single-threaded, on the `gemm` crate (or OpenBLAS with the `blas` feature), and
//! a large one is cut in two halves computed at once on this thread and the second.
//! (matrixmultiply's own threading, measured before the switch to `gemm`, split every product
//! over all cores and waited on each split; on two cores it made the benchmark MLP's products
//! slower than one thread. OpenBLAS's threads did better, but still 10% worse than the halves,
//! per epoch at batch 64.) With `blas`, when
//! the environment sets OpenBLAS's number of threads, OpenBLAS splits the products instead.

use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Runs `a` on this thread and `b` on a second one at the same time, and returns when both are
/// done (a panic in either is resumed here, after both). Both run here, one after the other, on
/// a single core, or when the second thread is already taken (by another thread's `join`, or
/// from inside `a`).
pub(crate) fn join<A: FnOnce(), B: FnOnce() + Send>(a: A, b: B) {
    let Some(worker) = worker() else {
        a();
        b();
        return;
    };
    let _taken = match worker.taken.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => {
            a();
            b();
            return;
        }
    };
    let mut b = Some(b);
    let mut run_b = || {
        if let Some(b) = b.take() {
            b();
        }
    };
    let task: &mut (dyn FnMut() + Send + '_) = &mut run_b;
    // SAFETY: only the lifetime changes. The worker calls `task` only until it sets `done`, and
    // `Done` below does not let this frame (which owns `run_b`) end before `done` is set, even
    // when `a` panics.
    let task: *mut (dyn FnMut() + Send + 'static) = unsafe { std::mem::transmute(task) };
    let job = Job {
        task,
        done: AtomicBool::new(false),
        panic: Mutex::new(None),
    };
    worker
        .slot
        .store(&job as *const Job as *mut Job, Ordering::Release);
    worker.thread.unpark();
    let waiting = Done(&job);
    let a_result = catch_unwind(AssertUnwindSafe(a));
    drop(waiting);
    let b_panic = job.panic.lock().map_or(None, |mut p| p.take());
    if let Err(panic) = a_result {
        resume_unwind(panic);
    }
    if let Some(panic) = b_panic {
        resume_unwind(panic);
    }
}

/// How long the second thread polls for the next job before it sleeps. Waking a sleeping
/// thread took about 20 us on the benchmark machine (a VM), as long as half a product of the
/// benchmark MLP, and the products of one step come less than that apart.
const POLL_FOR: Duration = Duration::from_micros(300);

/// A job for the second thread; it lives in the frame of the `join` that posted it.
struct Job {
    task: *mut (dyn FnMut() + Send + 'static),
    done: AtomicBool,
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

/// Waits for the second thread to finish a job (also while unwinding from a panic in `a`).
struct Done<'a>(&'a Job);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let mut spins = 0u32;
        while !self.0.done.load(Ordering::Acquire) {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// The second thread: where a job is posted, its handle to wake it, and who has it.
struct Worker {
    slot: AtomicPtr<Job>,
    thread: Thread,
    taken: Mutex<()>,
    /// Work to do in pieces between jobs (see [`run_when_idle`]).
    background: Mutex<Option<Arc<dyn Pieces>>>,
}

/// Work that can be done in small pieces, by whichever thread asks first: the second thread
/// between jobs, and the thread that needs the result, which finishes what is left.
pub(crate) trait Pieces: Send + Sync {
    /// Does one piece; `false` when none was left to do.
    fn piece(&self) -> bool;
}

/// Hands `task` to the second thread to work on, a piece at a time, while it waits for jobs
/// (replacing any task it was given before). Nothing happens on a single core: the owner of
/// the task does all of it when it needs the result.
pub(crate) fn run_when_idle(task: Arc<dyn Pieces>) {
    if let Some(worker) = worker()
        && let Ok(mut background) = worker.background.lock()
    {
        *background = Some(task);
        worker.thread.unpark();
    }
}

/// The second thread, started on first use, when the machine has two cores or more.
fn worker() -> Option<&'static Worker> {
    static WORKER: OnceLock<Option<&'static Worker>> = OnceLock::new();
    *WORKER.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores < 2 {
            return None;
        }
        let (sender, receiver) = std::sync::mpsc::channel::<&'static Worker>();
        let thread = std::thread::Builder::new()
            .name("elegy-worker".into())
            .spawn(move || {
                if let Ok(worker) = receiver.recv() {
                    work(worker);
                }
            })
            .ok()?;
        let worker: &'static Worker = Box::leak(Box::new(Worker {
            slot: AtomicPtr::new(null_mut()),
            thread: thread.thread().clone(),
            taken: Mutex::new(()),
            background: Mutex::new(None),
        }));
        sender.send(worker).ok()?;
        Some(worker)
    })
}

/// The second thread's loop: poll for a job for a while, then sleep until one is posted.
fn work(worker: &'static Worker) {
    loop {
        let mut polled_since = Instant::now();
        let mut spins = 0u32;
        let job = loop {
            let job = worker.slot.swap(null_mut(), Ordering::Acquire);
            if !job.is_null() {
                break job;
            }
            // Between jobs, a piece of the background task, if any; polling (and sleeping) only
            // once there is none.
            let task = worker.background.try_lock().ok().and_then(|b| b.clone());
            if let Some(task) = task {
                if task.piece() {
                    polled_since = Instant::now();
                    continue;
                }
                if let Ok(mut background) = worker.background.try_lock()
                    && background.as_ref().is_some_and(|b| Arc::ptr_eq(b, &task))
                {
                    *background = None;
                }
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) {
                std::hint::spin_loop();
            } else if polled_since.elapsed() > POLL_FOR {
                std::thread::park();
            } else {
                // Reading the clock and yielding every 64 polls: cheap, and polite to other
                // processes on this core.
                std::thread::yield_now();
            }
        };
        // SAFETY: the posting `join` keeps the job alive until `done` is set, and its task
        // is called by this thread only.
        let job = unsafe { &*job };
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.task)() }));
        if let Err(panic) = result
            && let Ok(mut slot) = job.panic.lock()
        {
            *slot = Some(panic);
        }
        // The last touch of the job: `join` may return and free it right after.
        job.done.store(true, Ordering::Release);
    }
}

/// `f` of each value of `x`, as a new vector; in two halves on two threads when long.
pub(crate) fn map_values(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    fill_in_halves(x.len(), |out, start| {
        for (o, &x) in out.iter_mut().zip(&x[start..]) {
            o.write(f(x));
        }
    })
}

/// `f(a[i], b[i])` for two slices of one length, as a new vector; in two halves on two threads
/// when long.
pub(crate) fn map_values2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(
        a.len(),
        b.len(),
        "map_values2: lengths checked by the caller"
    );
    fill_in_halves(a.len(), |out, start| {
        for (o, (&a, &b)) in out.iter_mut().zip(a[start..].iter().zip(&b[start..])) {
            o.write(f(a, b));
        }
    })
}

/// `f(a[i], b[i], c[i])` for three slices of one length, as a new vector; in two halves on two
/// threads when long.
pub(crate) fn map_values3(
    (a, b, c): (&[f32], &[f32], &[f32]),
    f: impl Fn(f32, f32, f32) -> f32 + Sync,
) -> Vec<f32> {
    assert!(
        a.len() == b.len() && b.len() == c.len(),
        "map_values3: lengths checked by the caller"
    );
    fill_in_halves(a.len(), |out, start| {
        let ins = a[start..].iter().zip(&b[start..]).zip(&c[start..]);
        for (o, ((&a, &b), &c)) in out.iter_mut().zip(ins) {
            o.write(f(a, b, c));
        }
    })
}

/// `f(a[i], b[i])` for two row-major matrices of `cols` columns (as slices of one length), as a
/// new vector, with the sum of each column of that result: one pass over the values, in two
/// halves of rows on two threads when long. Each half sums its rows in order and the second
/// half's sums are added to the first's, as [`column_sums`] does, so that both give the same
/// sums for the same values.
pub(crate) fn map_values2_with_column_sums(
    (a, b): (&[f32], &[f32]),
    cols: usize,
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> (Vec<f32>, Vec<f32>) {
    assert!(
        a.len() == b.len() && a.len().is_multiple_of(cols.max(1)) && (cols > 0 || a.is_empty()),
        "map_values2_with_column_sums: shapes checked by the caller"
    );
    if cols == 0 {
        return (Vec::new(), Vec::new());
    }
    let part = |out: &mut [MaybeUninit<f32>], start: usize, sums: &mut [f32]| {
        let rows = a[start..]
            .chunks_exact(cols)
            .zip(b[start..].chunks_exact(cols));
        for (out, (a, b)) in out.chunks_exact_mut(cols).zip(rows) {
            for ((o, s), (&a, &b)) in out.iter_mut().zip(sums.iter_mut()).zip(a.iter().zip(b)) {
                let v = f(a, b);
                o.write(v);
                *s += v;
            }
        }
    };
    let mut out = Vec::with_capacity(a.len());
    let spare = &mut out.spare_capacity_mut()[..a.len()];
    let mut sums = vec![0.0f32; cols];
    let mid = split_row(a.len(), cols);
    if mid > 0 {
        let (first, second) = spare.split_at_mut(mid);
        let mut second_sums = vec![0.0f32; cols];
        join(
            || in_wide_vectors(|| part(first, 0, &mut sums)),
            || in_wide_vectors(|| part(second, mid, &mut second_sums)),
        );
        sums.iter_mut().zip(&second_sums).for_each(|(s, t)| *s += t);
    } else {
        in_wide_vectors(|| part(spare, 0, &mut sums));
    }
    // SAFETY: the parts cover every row, and `part` wrote every value of its rows.
    unsafe { out.set_len(a.len()) };
    (out, sums)
}

/// The sum of each column of a row-major matrix of `cols` columns, in two halves of rows on two
/// threads when long, as [`map_values2_with_column_sums`] sums.
pub(crate) fn column_sums(a: &[f32], cols: usize) -> Vec<f32> {
    assert!(
        a.len().is_multiple_of(cols.max(1)) && (cols > 0 || a.is_empty()),
        "column_sums: shapes checked by the caller"
    );
    if cols == 0 {
        return Vec::new();
    }
    let part = |values: &[f32], sums: &mut [f32]| {
        for row in values.chunks_exact(cols) {
            sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
    };
    let mut sums = vec![0.0f32; cols];
    let mid = split_row(a.len(), cols);
    if mid > 0 {
        let (first, second) = a.split_at(mid);
        let mut second_sums = vec![0.0f32; cols];
        join(
            || in_wide_vectors(|| part(first, &mut sums)),
            || in_wide_vectors(|| part(second, &mut second_sums)),
        );
        sums.iter_mut().zip(&second_sums).for_each(|(s, t)| *s += t);
    } else {
        in_wide_vectors(|| part(a, &mut sums));
    }
    sums
}

/// Where a matrix of `len` values in rows of `cols` is cut in two for two threads: the index of
/// its middle row's first value, or 0 when it is too short to be worth cutting.
fn split_row(len: usize, cols: usize) -> usize {
    if len >= MAP_SPLIT_FROM {
        len / cols / 2 * cols
    } else {
        0
    }
}

/// Element-wise loops of at least this many values run in two halves: below it the hand-off
/// costs about what the second core saves.
const MAP_SPLIT_FROM: usize = 1 << 13;

/// A vector of `len` values written by `fill(part, start)`, which must write every value of
/// `part`, the values from `start` on; in two halves on two threads when long.
fn fill_in_halves(len: usize, fill: impl Fn(&mut [MaybeUninit<f32>], usize) + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    if len >= MAP_SPLIT_FROM {
        // Whole cache lines on each side.
        let mid = len / 2 / 16 * 16;
        let (first, second) = spare.split_at_mut(mid);
        join(
            || in_wide_vectors(|| fill(first, 0)),
            || in_wide_vectors(|| fill(second, mid)),
        );
    } else {
        in_wide_vectors(|| fill(spare, 0));
    }
    // SAFETY: `fill` wrote every value of both parts, as it must.
    unsafe { out.set_len(len) };
    out
}

/// Runs `body` compiled for the widest vectors the CPU has (AVX-512, else AVX2 with FMA, else
/// the baseline): the element-wise loop it calls is inlined into it and vectorized at that
/// width. Without this, loops compile for the baseline x86-64 target, 4 values wide.
#[inline(always)]
pub(crate) fn in_wide_vectors<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, as just checked.
            return unsafe { avx512(body) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, as just checked.
            return unsafe { avx2(body) };
        }
    }
    body()
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// `a @ b` as a new matrix (row-major), for views of any strides.
pub(crate) fn product(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f32> {
    assert_eq!(
        a.ncols(),
        b.nrows(),
        "product: shapes checked by the caller"
    );
    let (m, n) = (a.nrows(), b.ncols());
    #[cfg(not(feature = "blas"))]
    {
        let mut c = Array2::<f32>::uninit((m, n));
        let out = Out {
            ptr: c.as_mut_ptr().cast::<f32>(),
            row_stride: n as isize,
            col_stride: 1,
        };
        // SAFETY: `out` covers exactly the m x n elements of `c`, and with beta = 0 every one
        // is written, none read.
        unsafe {
            product_raw(a, b, 0.0, out);
            c.assume_init()
        }
    }
    #[cfg(feature = "blas")]
    {
        let mut c = Array2::<f32>::zeros((m, n));
        blas::product_into(a, b, 0.0, &mut c.view_mut());
        c
    }
}

/// `c = a @ b + beta c`.
pub(crate) fn product_into(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    beta: f32,
    c: &mut ArrayViewMut2<'_, f32>,
) {
    assert_eq!(
        (a.nrows(), a.ncols(), b.ncols()),
        (c.nrows(), b.nrows(), c.ncols()),
        "product_into: shapes checked by the caller"
    );
    #[cfg(not(feature = "blas"))]
    {
        let out = Out {
            ptr: c.as_mut_ptr(),
            row_stride: c.strides()[0],
            col_stride: c.strides()[1],
        };
        // SAFETY: `out` is `c` itself, exclusively borrowed and of the product's shape.
        unsafe { product_raw(a, b, beta, out) }
    }
    #[cfg(feature = "blas")]
    blas::product_into(a, b, beta, c);
}

/// Products through OpenBLAS, cut in two like the default build's: OpenBLAS's own threads split
/// the benchmark MLP's products less well (an epoch at batch 64 took 10% longer).
#[cfg(feature = "blas")]
mod blas {
    use std::sync::OnceLock;

    use ndarray::linalg::general_mat_mul;
    use ndarray::{ArrayView2, ArrayViewMut2, Axis};

    use super::{SPLIT_FROM, join};

    unsafe extern "C" {
        fn openblas_set_num_threads(threads: std::ffi::c_int);
    }

    /// Whether products are ours to cut: OpenBLAS is set to one thread, unless the environment
    /// chose its number of threads (then OpenBLAS splits them, as told).
    fn ours_to_cut() -> bool {
        static OURS: OnceLock<bool> = OnceLock::new();
        *OURS.get_or_init(|| {
            let chosen = [
                "OPENBLAS_NUM_THREADS",
                "GOTO_NUM_THREADS",
                "OMP_NUM_THREADS",
            ]
            .iter()
            .any(|var| std::env::var_os(var).is_some());
            if !chosen {
                // SAFETY: OpenBLAS's documented call; any count of 1 or more is valid.
                unsafe { openblas_set_num_threads(1) };
            }
            !chosen
        })
    }

    /// `c = a @ b + beta c`, halves on two threads when large (see `product_raw`).
    pub(super) fn product_into(
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        beta: f32,
        c: &mut ArrayViewMut2<'_, f32>,
    ) {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        if !ours_to_cut() || m * n * k < SPLIT_FROM || m.max(n) < 16 {
            return general_mat_mul(1.0, a, b, beta, c);
        }
        if n >= m {
            let mid = n / 2 / 8 * 8;
            let (b0, b1) = b.view().split_at(Axis(1), mid);
            let (mut c0, mut c1) = c.view_mut().split_at(Axis(1), mid);
            join(
                || general_mat_mul(1.0, a, &b0, beta, &mut c0),
                || general_mat_mul(1.0, a, &b1, beta, &mut c1),
            );
        } else {
            let mid = m / 2 / 8 * 8;
            let (a0, a1) = a.view().split_at(Axis(0), mid);
            let (mut c0, mut c1) = c.view_mut().split_at(Axis(0), mid);
            join(
                || general_mat_mul(1.0, &a0, b, beta, &mut c0),
                || general_mat_mul(1.0, &a1, b, beta, &mut c1),
            );
        }
    }
}

/// Where a product goes: a matrix of `f32` given by its first element and strides.
#[cfg(not(feature = "blas"))]
#[derive(Clone, Copy)]
struct Out {
    ptr: *mut f32,
    row_stride: isize,
    col_stride: isize,
}

// SAFETY: an `Out` is only handed to another thread for a part of the matrix that no other
// thread touches until the join returns.
#[cfg(not(feature = "blas"))]
unsafe impl Send for Out {}

/// Products of at least this many multiply-adds are cut in two: below it the hand-off costs
/// about what the second core saves.
const SPLIT_FROM: usize = 1 << 21;

/// `out = a @ b + beta out`, halves on two threads when large; the longer of `out`'s sides is
/// cut (a multiple of 16, one AVX-512 register of `f32`, on each side), so that the operand
/// both halves read in full is the smaller one.
///
/// # Safety
/// `out` must address a matrix of `a.nrows() x b.ncols()` valid, non-aliasing elements that
/// nothing else accesses during the call; with `beta = 0` they may be uninitialized.
#[cfg(not(feature = "blas"))]
unsafe fn product_raw(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, beta: f32, out: Out) {
    // SAFETY: each block is a disjoint part of `out`, as the caller promised for the whole.
    unsafe { in_blocks(a, b, out, |a, b, out, _| sgemm(a, b, beta, out)) }
}

/// Runs `block(a_rows, b_cols, out_block, first_column)` on the whole product, or on two halves
/// on two threads when large, cut as [`product_raw`] describes.
///
/// # Safety
/// `out` as for [`product_raw`]; `block` may only touch its own block of `out`.
#[cfg(not(feature = "blas"))]
unsafe fn in_blocks(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    out: Out,
    block: impl Fn(&ArrayView2<'_, f32>, &ArrayView2<'_, f32>, Out, usize) + Sync,
) {
    use ndarray::{Axis, s};
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if !is_cut(m, k, n) {
        return block(a, b, out, 0);
    }
    let block = &block;
    if n >= m {
        let mid = n / 2 / 16 * 16;
        let (b0, b1) = b.view().split_at(Axis(1), mid);
        // SAFETY: column `mid` of `out` is within its n columns.
        let right = Out {
            ptr: unsafe { out.ptr.offset(mid as isize * out.col_stride) },
            ..out
        };
        // The halves are disjoint column ranges of `out`.
        join(
            move || block(a, &b0, out, 0),
            move || block(a, &b1, right, mid),
        );
    } else {
        let mid = m / 2 / 16 * 16;
        let (a0, a1) = (a.slice(s![..mid, ..]), a.slice(s![mid.., ..]));
        // SAFETY: row `mid` of `out` is within its m rows.
        let lower = Out {
            ptr: unsafe { out.ptr.offset(mid as isize * out.row_stride) },
            ..out
        };
        // The halves are disjoint row ranges of `out`.
        join(
            move || block(&a0, b, out, 0),
            move || block(&a1, b, lower, 0),
        );
    }
}

/// Whether an `m x k` by `k x n` product is cut in two for two threads.
#[cfg(not(feature = "blas"))]
fn is_cut(m: usize, k: usize, n: usize) -> bool {
    m * n * k >= SPLIT_FROM && m.max(n) >= 32
}

/// `activate(a @ b + bias)`, the bias added to every row, as a new row-major matrix. In the
/// default build each part of the product (a half on each of two threads when large) fills its
/// block with the bias, adds its share of the product onto it and applies `activate` to its
/// rows' pieces while they are in cache: no pass over the whole output after the product, no
/// second hand-off between threads. An uncut product with a large output (a short inner axis)
/// is activated in two halves afterwards instead. With `blas`, the bias is written, the product
/// added and the activation applied in three passes.
pub(crate) fn affine_product(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    bias: Option<&[f32]>,
    activate: impl Fn(&mut [f32]) + Sync,
) -> Array2<f32> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert!(
        k == b.nrows() && bias.is_none_or(|bias| bias.len() == n),
        "affine_product: shapes checked by the caller"
    );
    let beta = if bias.is_some() { 1.0 } else { 0.0 };
    #[cfg(not(feature = "blas"))]
    let c = {
        // Cut products activate their blocks; an uncut one does so itself only when small.
        let in_blocks_too = is_cut(m, k, n) || m * n < MAP_SPLIT_FROM;
        let mut c = Array2::<f32>::uninit((m, n));
        let out = Out {
            ptr: c.as_mut_ptr().cast::<f32>(),
            row_stride: n as isize,
            col_stride: 1,
        };
        let block = |a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, out: Out, first: usize| {
            let (rows, cols) = (a.nrows(), b.ncols());
            // SAFETY: row `r` of the block lies inside `c` (r < rows); its `cols` values are
            // contiguous (the output is row-major), and only this block touches them.
            let row = |r: usize| unsafe { out.ptr.offset(r as isize * out.row_stride) };
            if let Some(bias) = bias {
                // SAFETY: `cols` values of the block's row `r` from `bias[first..]`, in range.
                (0..rows).for_each(|r| unsafe {
                    std::ptr::copy_nonoverlapping(bias.as_ptr().add(first), row(r), cols)
                });
            }
            // SAFETY: the block of `c`, initialized above when beta is 1.
            unsafe { sgemm(a, b, beta, out) };
            if in_blocks_too {
                // SAFETY: the row's values, all written by the product now.
                in_wide_vectors(|| {
                    (0..rows).for_each(|r| {
                        activate(unsafe { std::slice::from_raw_parts_mut(row(r), cols) })
                    })
                });
            }
        };
        // SAFETY: `out` covers exactly the m x n elements of `c`; each block writes all of its
        // own (the bias, or the product with beta = 0) before reading any.
        unsafe {
            in_blocks(a, b, out, block);
            let mut c = c.assume_init();
            if !in_blocks_too {
                let values = c.as_slice_mut().expect("row-major");
                let (first, second) = values.split_at_mut(split_row(values.len(), n.max(1)));
                join(
                    || in_wide_vectors(|| activate(first)),
                    || in_wide_vectors(|| activate(second)),
                );
            }
            c
        }
    };
    #[cfg(feature = "blas")]
    let c = {
        let mut c = match bias {
            Some(bias) => Array2::from_shape_fn((m, n), |(_, j)| bias[j]),
            None => Array2::zeros((m, n)),
        };
        blas::product_into(a, b, beta, &mut c.view_mut());
        activate(c.as_slice_mut().expect("row-major"));
        c
    };
    c
}

/// One single-threaded product on views of any strides, by the `gemm` crate (AVX-512 kernels
/// where the CPU has them, AVX2/FMA or plain code elsewhere, chosen at run time). On the
/// benchmark machine (AMD EPYC, AVX-512) it made the benchmark MLP's epoch 15-18% shorter than
/// matrixmultiply, which repacks both operands on every call.
///
/// # Safety
/// As [`product_raw`].
#[cfg(not(feature = "blas"))]
unsafe fn sgemm(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, beta: f32, out: Out) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let (sa, sb) = (a.strides(), b.strides());
    if n < NARROW && m >= 4 * NARROW && sa[0] == 1 && out.row_stride != 1 {
        return unsafe { narrow(a, b, beta, out) };
    }
    // gemm computes `dst = alpha dst + beta lhs rhs` and reads `dst` only when told to: ours is
    // `out = beta out + a b`, and with beta = 0 `out` may be uninitialized.
    // SAFETY: the views give valid pointers and strides for their shapes; `out` as promised.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.ptr,
            out.col_stride,
            out.row_stride,
            beta != 0.0,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            beta,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Outputs with fewer columns than this, from a column-major `a`, are computed column-major.
#[cfg(not(feature = "blas"))]
const NARROW: usize = 16;

/// A tall, narrow product (a small layer's kernel gradient, `x^T g` with few columns) from a
/// column-major `a`: gemm's kernels run along columns, so it is computed into a column-major
/// buffer, then copied into `out`. At the benchmark MLP's 256 x 256 x 10 that took 6 us
/// instead of 16.
///
/// # Safety
/// As [`product_raw`].
#[cfg(not(feature = "blas"))]
unsafe fn narrow(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, beta: f32, out: Out) {
    let (m, n) = (a.nrows(), b.ncols());
    let mut columns = vec![0.0f32; m * n];
    let buffer = Out {
        ptr: columns.as_mut_ptr(),
        row_stride: 1,
        col_stride: m as isize,
    };
    // SAFETY: `buffer` covers the m x n values of `columns`, column-major; `out` as promised.
    unsafe {
        sgemm(a, b, 0.0, buffer);
        for (j, column) in columns.chunks_exact(m).enumerate() {
            for (i, &value) in column.iter().enumerate() {
                let target = out
                    .ptr
                    .offset(i as isize * out.row_stride + j as isize * out.col_stride);
                *target = if beta == 0.0 {
                    value
                } else {
                    beta * *target + value
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayView2, s};

    use super::{
        affine_product, column_sums, join, map_values, map_values2_with_column_sums, map_values3,
        product, product_into,
    };

    fn matrix(rows: usize, cols: usize, seed: f32) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * cols + j) as f32 * 0.37 + seed).sin()
        })
    }

    /// The product by ndarray's `dot`: one matrixmultiply call, nothing cut (and fast in debug
    /// builds, where dependencies are optimized).
    fn reference(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f32> {
        a.dot(b)
    }

    fn assert_close(actual: &Array2<f32>, expected: &Array2<f32>) {
        assert_eq!(actual.dim(), expected.dim());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() <= 1e-4 * (1.0 + e.abs()), "{a} != {e}");
        }
    }

    #[test]
    fn products_large_enough_to_split_match_one_uncut_product() {
        // Wide (cut between columns), tall (cut between rows), and transposed and strided
        // operands, each past the size where the halves go to two threads.
        let wide = (matrix(64, 256, 0.0), matrix(256, 130, 1.0));
        let tall = (matrix(300, 100, 2.0), matrix(100, 70, 3.0));
        let strided = (matrix(100, 90, 4.0), matrix(200, 260, 5.0));
        let cases = [
            (wide.0.view(), wide.1.view()),
            (tall.0.view(), tall.1.view()),
            (tall.1.t(), tall.0.t()),
            (strided.0.t(), strided.1.slice(s![..;2, ..;-1])),
        ];
        for (a, b) in cases {
            assert_close(&product(&a, &b), &reference(&a, &b));
        }
    }

    #[test]
    fn product_into_adds_onto_the_output_with_beta() {
        let (a, b) = (matrix(300, 100, 6.0), matrix(100, 70, 7.0));
        let start = matrix(300, 70, 8.0);
        let mut out = start.clone();
        product_into(&a.view(), &b.view(), 1.0, &mut out.view_mut());
        assert_close(&out, &(reference(&a.view(), &b.view()) + start));
    }

    #[test]
    fn narrow_products_of_a_transposed_operand_match_and_add_with_beta() {
        // `x^T g` with 10 columns: computed column-major, then copied (or added) into place.
        let (x, g) = (matrix(70, 200, 10.0), matrix(70, 10, 11.0));
        let expected = reference(&x.t(), &g.view());
        assert_close(&product(&x.t(), &g.view()), &expected);
        let start = matrix(200, 10, 12.0);
        let mut out = start.clone();
        product_into(&x.t(), &g.view(), 1.0, &mut out.view_mut());
        assert_close(&out, &(expected + start));
    }

    #[test]
    fn an_empty_inner_axis_gives_zeros_or_leaves_the_output() {
        let (a, b) = (Array2::<f32>::zeros((40, 0)), Array2::<f32>::zeros((0, 50)));
        assert_eq!(
            product(&a.view(), &b.view()),
            Array2::<f32>::zeros((40, 50))
        );
        let start = matrix(40, 50, 9.0);
        let mut out = start.clone();
        product_into(&a.view(), &b.view(), 1.0, &mut out.view_mut());
        assert_eq!(out, start);
    }

    #[test]
    fn element_wise_maps_match_a_plain_loop_on_both_sides_of_the_split() {
        for len in [0, 7, super::MAP_SPLIT_FROM - 1, super::MAP_SPLIT_FROM + 37] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = a.iter().map(|v| v * 2.0 - 0.5).collect();
            let c: Vec<f32> = a.iter().map(|v| v.cos()).collect();
            let one = map_values(&a, |x| x.max(0.0) * 3.0);
            assert_eq!(one, a.iter().map(|x| x.max(0.0) * 3.0).collect::<Vec<_>>());
            let three = map_values3((&a, &b, &c), |x, y, z| x * y - z);
            let expected: Vec<f32> = (0..len).map(|i| a[i] * b[i] - c[i]).collect();
            assert_eq!(three, expected);
        }
    }

    #[test]
    fn affine_products_match_the_product_then_the_bias_then_the_activation() {
        // Uncut, cut between columns, cut between rows, uncut with a large output (activated in
        // halves afterwards); with and without a bias.
        for (m, k, n) in [(5, 7, 3), (64, 256, 130), (300, 100, 70), (4096, 1, 8)] {
            let (a, b) = (matrix(m, k, 0.5), matrix(k, n, 1.5));
            let bias: Vec<f32> = (0..n).map(|j| (j as f32 * 0.3).cos()).collect();
            let relu = |part: &mut [f32]| part.iter_mut().for_each(|v| *v = v.max(0.0));
            let product = reference(&a.view(), &b.view());
            let with_bias = affine_product(&a.view(), &b.view(), Some(&bias), relu);
            let expected = (&product + &ndarray::aview1(&bias)).mapv(|v| v.max(0.0));
            assert_close(&with_bias, &expected);
            let without = affine_product(&a.view(), &b.view(), None, |_| {});
            assert_close(&without, &product);
        }
    }

    #[test]
    fn column_sums_match_sums_in_f64_and_the_fused_pass_gives_the_same_sums() {
        // Short (one thread), long (two halves of rows), one wide row, and no columns.
        for (rows, cols) in [(3, 5), (300, 70), (1, 20_000), (0, 0), (4, 0)] {
            let a: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.71).sin()).collect();
            let b: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.13).cos()).collect();
            let sums = column_sums(&a, cols);
            assert_eq!(sums.len(), cols);
            for (j, &sum) in sums.iter().enumerate() {
                let exact: f64 = (0..rows).map(|i| a[i * cols + j] as f64).sum();
                assert!(
                    (sum as f64 - exact).abs() <= 1e-4 * rows as f64,
                    "column {j}"
                );
            }
            let (product, fused_sums) = map_values2_with_column_sums((&b, &a), cols, |b, a| a * b);
            let expected: Vec<f32> = a.iter().zip(&b).map(|(a, b)| a * b).collect();
            assert_eq!(product, expected);
            assert_eq!(fused_sums, column_sums(&expected, cols), "{rows} x {cols}");
        }
    }

    #[test]
    fn join_runs_both_halves_also_nested() {
        let (mut a, mut b, mut c) = (0, 0, 0);
        join(|| join(|| a += 1, || b += 1), || c += 1);
        assert_eq!((a, b, c), (1, 1, 1));
    }

    #[test]
    fn a_panic_in_either_half_reaches_the_caller_after_both() {
        let mut other_ran = false;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            join(|| other_ran = true, || panic!("second half"))
        }));
        assert!(caught.is_err() && other_ran);
        let caught = std::panic::catch_unwind(|| join(|| panic!("first half"), || ()));
        assert!(caught.is_err());
        let mut after = 0;
        join(|| after += 1, || ());
        assert_eq!(after, 1, "join still works after a panic");
    }
}
