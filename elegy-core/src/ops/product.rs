//! The matrix-product engine: `a @ b` on views of any strides, single-threaded `gemm` (or
//! OpenBLAS with the `blas` feature) on pieces of the output, and the dense layer's fused
//! `activate(a @ b + bias)`.
//!
//! A large product is cut along the longer side of its output (rows or columns, never the
//! summed axis) into pieces fixed by its shape alone, which the executor's threads share: every
//! thread count computes each output value the same way, to the bit. (`gemm`'s blocking of the
//! summed axis depends on the shape of the piece it is given, so the cut must not follow the
//! thread count.)
//!
//! Products run single-threaded inside each piece. matrixmultiply's own threading, measured
//! before the switch to `gemm`, split every product over all cores and waited on each split;
//! on two cores it made the benchmark MLP's products slower than one thread. OpenBLAS's threads
//! did better, but still 10% worse than halves on two threads, per epoch at batch 64. With
//! `blas`, when the environment sets OpenBLAS's number of threads, OpenBLAS splits the products
//! instead.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

#[cfg(not(feature = "blas"))]
use super::cpu_features::in_wide_vectors;
#[cfg(not(feature = "blas"))]
use super::elementwise::MAP_SPLIT_FROM;
#[cfg(not(feature = "blas"))]
use crate::exec::{for_each_chunk, for_each_piece, items_per_piece};

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

/// How a product is cut into pieces: along the columns of its output when it has at least as
/// many columns as rows, else along the rows, at multiples of 16 (one AVX-512 register of
/// `f32`), so that the operand every piece reads in full is the smaller one. Fixed by the shape
/// alone (see the module's notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cut {
    /// Whether the columns are cut (else the rows).
    columns: bool,
    /// The length of the cut side.
    side: usize,
    pieces: usize,
}

/// Products of at least this many multiply-adds are cut: below it the hand-off costs about
/// what another core saves.
const SPLIT_FROM: usize = 1 << 21;

/// Multiply-adds a piece is given, at least, beyond the first cut in two.
const PIECE_WORK: usize = 1 << 23;

/// The fewest rows or columns a piece has beyond the first cut in two. Each piece repacks the
/// operand it reads in full, a cost against its work of about 1 in its side's length: at 128 a
/// few percent, where the two halves measured on two cores for the benchmark MLP (sides of 128
/// to 500) paid about 1%. The benchmark MLP's 256-wide layers stay in halves; wider layers and
/// longer batches are cut in more.
const PIECE_SIDE: usize = 128;

/// The most pieces a product is cut into.
const MAX_PIECES: usize = 16;

impl Cut {
    /// The cut of an `m x k` by `k x n` product: in two halves from [`SPLIT_FROM`]
    /// multiply-adds and 32 rows or columns, in more (a power of two) when each piece keeps
    /// [`PIECE_WORK`] and [`PIECE_SIDE`].
    fn of(m: usize, k: usize, n: usize) -> Cut {
        let columns = n >= m;
        let side = m.max(n);
        let work = m.saturating_mul(n).saturating_mul(k);
        let pieces = if work < SPLIT_FROM || side < 32 {
            1
        } else {
            let most = (work / PIECE_WORK)
                .min(side / PIECE_SIDE)
                .clamp(2, MAX_PIECES);
            1 << most.ilog2()
        };
        Cut {
            columns,
            side,
            pieces,
        }
    }

    /// The first row or column of piece `i` (`i == pieces` gives the side's length).
    fn start(&self, i: usize) -> usize {
        if i >= self.pieces {
            self.side
        } else {
            self.side * i / self.pieces / 16 * 16
        }
    }
}

/// Products through OpenBLAS, cut like the default build's: OpenBLAS's own threads split the
/// benchmark MLP's products less well (an epoch at batch 64 took 10% longer).
#[cfg(feature = "blas")]
mod blas {
    use std::sync::{Mutex, OnceLock, PoisonError};

    use ndarray::linalg::general_mat_mul;
    use ndarray::{ArrayView2, ArrayViewMut2, Axis, s};

    use super::Cut;
    use crate::exec::for_each_piece;

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

    /// `c = a @ b + beta c`, in pieces on the executor when large (see [`Cut`]).
    pub(super) fn product_into(
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        beta: f32,
        c: &mut ArrayViewMut2<'_, f32>,
    ) {
        let cut = Cut::of(a.nrows(), a.ncols(), b.ncols());
        if !ours_to_cut() || cut.pieces == 1 {
            return general_mat_mul(1.0, a, b, beta, c);
        }
        let axis = if cut.columns { Axis(1) } else { Axis(0) };
        let mut blocks = Vec::with_capacity(cut.pieces);
        let mut rest = c.view_mut();
        for i in 0..cut.pieces {
            let (block, after) = rest.split_at(axis, cut.start(i + 1) - cut.start(i));
            blocks.push(Mutex::new(Some(block)));
            rest = after;
        }
        for_each_piece(cut.pieces, |i| {
            let block = blocks[i]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let Some(mut block) = block else { return };
            let (first, last) = (cut.start(i), cut.start(i + 1));
            if cut.columns {
                general_mat_mul(1.0, a, &b.slice(s![.., first..last]), beta, &mut block);
            } else {
                general_mat_mul(1.0, &a.slice(s![first..last, ..]), b, beta, &mut block);
            }
        });
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

// SAFETY: an `Out` is shared among the executor's threads only to compute disjoint blocks of
// the matrix, which nothing else touches until the loop returns.
#[cfg(not(feature = "blas"))]
unsafe impl Send for Out {}
#[cfg(not(feature = "blas"))]
unsafe impl Sync for Out {}

#[cfg(not(feature = "blas"))]
impl Out {
    /// The matrix from row `row` and column `col` of this one on.
    ///
    /// # Safety
    /// The element must lie within the matrix.
    unsafe fn at(self, row: usize, col: usize) -> Out {
        let offset = row as isize * self.row_stride + col as isize * self.col_stride;
        // SAFETY: within the matrix, as the caller promises.
        Out {
            ptr: unsafe { self.ptr.offset(offset) },
            ..self
        }
    }
}

/// `out = a @ b + beta out`, in pieces on the executor when large (see [`Cut`]).
///
/// # Safety
/// `out` must address a matrix of `a.nrows() x b.ncols()` valid, non-aliasing elements that
/// nothing else accesses during the call; with `beta = 0` they may be uninitialized.
#[cfg(not(feature = "blas"))]
unsafe fn product_raw(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, beta: f32, out: Out) {
    // SAFETY: each block is a disjoint part of `out`, as the caller promised for the whole.
    unsafe { in_blocks(a, b, out, |a, b, out, _| sgemm(a, b, beta, out)) }
}

/// Runs `block(a_rows, b_cols, out_block, first_column)` on the whole product, or on each of
/// its pieces on the executor when large, cut as [`Cut`] describes.
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
    use ndarray::s;
    let cut = Cut::of(a.nrows(), a.ncols(), b.ncols());
    if cut.pieces == 1 {
        return block(a, b, out, 0);
    }
    for_each_piece(cut.pieces, |i| {
        let (first, last) = (cut.start(i), cut.start(i + 1));
        // The pieces are disjoint row or column ranges of `out`.
        if cut.columns {
            // SAFETY: column `first` of `out` is within its columns.
            let part = unsafe { out.at(0, first) };
            block(a, &b.slice(s![.., first..last]), part, first);
        } else {
            // SAFETY: row `first` of `out` is within its rows.
            let part = unsafe { out.at(first, 0) };
            block(&a.slice(s![first..last, ..]), b, part, 0);
        }
    });
}

/// `activate(a @ b + bias)`, the bias added to every row, as a new row-major matrix. In the
/// default build each piece of the product (see [`Cut`]) fills its
/// block with the bias, adds its share of the product onto it and applies `activate` to its
/// rows' pieces while they are in cache: no pass over the whole output after the product, no
/// second hand-off between threads. An uncut product with a large output (a short inner axis)
/// is activated afterwards instead, in blocks of rows shared among threads. With `blas`, the bias is written, the product
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
        let in_blocks_too = Cut::of(m, k, n).pieces > 1 || m * n < MAP_SPLIT_FROM;
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
                let rows = items_per_piece(m, n, MAP_SPLIT_FROM);
                for_each_chunk(values, rows * n, |_, part| {
                    in_wide_vectors(|| activate(part))
                });
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

    use super::{Cut, affine_product, product, product_into};
    use crate::exec::with_num_threads;

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
        // operands, each past the size where products are cut into pieces.
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
    fn products_are_the_same_bits_for_every_thread_count() {
        // Cut in two, in four (columns), in eight (rows), and a dense layer's fused product.
        let cases = [
            (64, 784, 256),
            (128, 256, 1024),
            (1024, 512, 256),
            (300, 100, 70),
        ];
        for (m, k, n) in cases {
            let (a, b) = (matrix(m, k, 0.5), matrix(k, n, 1.5));
            let bias: Vec<f32> = (0..n).map(|j| (j as f32 * 0.3).cos()).collect();
            let run = || {
                let relu = |part: &mut [f32]| part.iter_mut().for_each(|v| *v = v.max(0.0));
                (
                    product(&a.view(), &b.view()),
                    product(&b.t(), &a.t()),
                    affine_product(&a.view(), &b.view(), Some(&bias), relu),
                )
            };
            let one = with_num_threads(1, run);
            for threads in [2, 3, 8] {
                assert!(
                    with_num_threads(threads, run) == one,
                    "{m}x{k}x{n}, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn cuts_follow_the_shape_in_whole_registers_and_cover_the_side() {
        assert_eq!(Cut::of(64, 100, 64).pieces, 1, "too little work");
        assert_eq!(Cut::of(16, 1 << 20, 16).pieces, 1, "too narrow");
        assert_eq!(Cut::of(64, 256, 256).pieces, 2);
        for (m, k, n) in [
            (64, 784, 256),
            (256, 784, 256),
            (784, 256, 256),
            (4096, 512, 4096),
        ] {
            let cut = Cut::of(m, k, n);
            assert!(cut.pieces.is_power_of_two() && cut.pieces <= super::MAX_PIECES);
            assert_eq!(cut.columns, n >= m);
            assert_eq!((cut.start(0), cut.start(cut.pieces)), (0, m.max(n)));
            for i in 1..cut.pieces {
                assert!(cut.start(i).is_multiple_of(16) && cut.start(i) > cut.start(i - 1));
            }
        }
    }
}
