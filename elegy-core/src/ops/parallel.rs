//! Both cores for the engine's heavy loops: a second thread for element-wise work (optimizer
//! updates) and the matrix products every op uses.
//!
//! Without the `blas` feature, products run on matrixmultiply, single-threaded, and a large one
//! is cut in two halves computed at once on this thread and a sibling. (matrixmultiply's own
//! threading splits every product over all cores and waits on each split; on two cores it made
//! the benchmark MLP's products slower than one thread.) With `blas`, OpenBLAS threads itself.

use std::sync::OnceLock;

use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use thread_tree::ThreadTree;

/// A pool of two threads, this one and a sibling (`pool.top().join(a, b)` runs `a` here and
/// `b` there), when the machine has two cores or more.
pub(crate) fn second_thread() -> Option<&'static ThreadTree> {
    static POOL: OnceLock<Option<Box<ThreadTree>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores > 1).then(|| ThreadTree::new_with_level(1))
    })
    .as_deref()
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
        ndarray::linalg::general_mat_mul(1.0, a, b, 0.0, &mut c);
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
    ndarray::linalg::general_mat_mul(1.0, a, b, beta, c);
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
#[cfg(not(feature = "blas"))]
const SPLIT_FROM: usize = 1 << 21;

/// `out = a @ b + beta out`, halves on two threads when large; the longer of `out`'s sides is
/// cut (a multiple of 8, matrixmultiply's kernel width, on each side), so that the operand
/// both halves read in full is the smaller one.
///
/// # Safety
/// `out` must address a matrix of `a.nrows() x b.ncols()` valid, non-aliasing elements that
/// nothing else accesses during the call; with `beta = 0` they may be uninitialized.
#[cfg(not(feature = "blas"))]
unsafe fn product_raw(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, beta: f32, out: Out) {
    use ndarray::{Axis, s};
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let pool = second_thread().filter(|_| m * n * k >= SPLIT_FROM && m.max(n) >= 16);
    let Some(pool) = pool else {
        // SAFETY: as the caller promised.
        return unsafe { sgemm(a, b, beta, out) };
    };
    if n >= m {
        let mid = n / 2 / 8 * 8;
        let (b0, b1) = b.view().split_at(Axis(1), mid);
        // SAFETY: column `mid` of `out` is within its n columns.
        let right = Out {
            ptr: unsafe { out.ptr.offset(mid as isize * out.col_stride) },
            ..out
        };
        pool.top().join(
            // SAFETY: the halves are disjoint column ranges of `out`.
            move |_| unsafe { sgemm(a, &b0, beta, out) },
            move |_| unsafe { sgemm(a, &b1, beta, right) },
        );
    } else {
        let mid = m / 2 / 8 * 8;
        let (a0, a1) = (a.slice(s![..mid, ..]), a.slice(s![mid.., ..]));
        // SAFETY: row `mid` of `out` is within its m rows.
        let lower = Out {
            ptr: unsafe { out.ptr.offset(mid as isize * out.row_stride) },
            ..out
        };
        pool.top().join(
            // SAFETY: the halves are disjoint row ranges of `out`.
            move |_| unsafe { sgemm(&a0, b, beta, out) },
            move |_| unsafe { sgemm(&a1, b, beta, lower) },
        );
    }
}

/// matrixmultiply's single-threaded sgemm on views of any strides.
///
/// # Safety
/// As [`product_raw`].
#[cfg(not(feature = "blas"))]
unsafe fn sgemm(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, beta: f32, out: Out) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let (sa, sb) = (a.strides(), b.strides());
    // SAFETY: the views give valid pointers and strides for their shapes; `out` as promised.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa[0],
            sa[1],
            b.as_ptr(),
            sb[0],
            sb[1],
            beta,
            out.ptr,
            out.row_stride,
            out.col_stride,
        );
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayView2, s};

    use super::{product, product_into};

    fn matrix(rows: usize, cols: usize, seed: f32) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * cols + j) as f32 * 0.37 + seed).sin()
        })
    }

    /// The product in f64, element by element.
    fn reference(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols())
                .map(|l| a[[i, l]] as f64 * b[[l, j]] as f64)
                .sum()
        })
    }

    fn assert_close(actual: &Array2<f32>, expected: &Array2<f64>) {
        assert_eq!(actual.dim(), expected.dim());
        for (a, e) in actual.iter().zip(expected) {
            assert!(
                (*a as f64 - e).abs() <= 1e-4 * (1.0 + e.abs()),
                "{a} != {e}"
            );
        }
    }

    #[test]
    fn products_large_enough_to_split_match_the_definition() {
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
        assert_close(
            &out,
            &(reference(&a.view(), &b.view()) + start.mapv(f64::from)),
        );
    }
}
