//! Element-wise kernels over contiguous values, on the executor's threads when long: maps of
//! one, two or three inputs, and column sums (alone, or fused with a map).
//!
//! A map gives the same values however it is cut, so it is cut by the thread count. A sum is
//! not: column sums are taken over blocks of rows fixed by the shape alone, then the blocks'
//! sums are added in order, so that every thread count gives the same bits.

use std::mem::MaybeUninit;

use super::cpu_features::in_wide_vectors;
use crate::exec::{for_each_chunk, for_each_chunk2, items_per_piece};

/// Element-wise loops of at least this many values are shared among threads (and column sums
/// cut into blocks): below it the hand-off costs about what another core saves.
pub(super) const MAP_SPLIT_FROM: usize = 1 << 13;

/// Values per block of rows of a column sum (whole rows, at least one).
const SUM_BLOCK: usize = MAP_SPLIT_FROM / 2;

/// `f` of each value of `x`, as a new vector.
pub(crate) fn map_values(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    fill(x.len(), |out, start| {
        for (o, &x) in out.iter_mut().zip(&x[start..]) {
            o.write(f(x));
        }
    })
}

/// `f(a[i], b[i])` for two slices of one length, as a new vector.
pub(crate) fn map_values2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(
        a.len(),
        b.len(),
        "map_values2: lengths checked by the caller"
    );
    fill(a.len(), |out, start| {
        for (o, (&a, &b)) in out.iter_mut().zip(a[start..].iter().zip(&b[start..])) {
            o.write(f(a, b));
        }
    })
}

/// `f(a[i], b[i], c[i])` for three slices of one length, as a new vector.
pub(crate) fn map_values3(
    (a, b, c): (&[f32], &[f32], &[f32]),
    f: impl Fn(f32, f32, f32) -> f32 + Sync,
) -> Vec<f32> {
    assert!(
        a.len() == b.len() && b.len() == c.len(),
        "map_values3: lengths checked by the caller"
    );
    fill(a.len(), |out, start| {
        let ins = a[start..].iter().zip(&b[start..]).zip(&c[start..]);
        for (o, ((&a, &b), &c)) in out.iter_mut().zip(ins) {
            o.write(f(a, b, c));
        }
    })
}

/// `f(a[i], b[i])` for two row-major matrices of `cols` columns (as slices of one length), as a
/// new vector, with the sum of each column of that result: one pass over the values. The sums
/// are taken block by block as [`column_sums`] takes them, so that both give the same sums for
/// the same values.
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
    let block = block_rows(a.len(), cols) * cols;
    let blocks = a.len().div_ceil(block).max(1);
    let mut out = Vec::with_capacity(a.len());
    let spare = &mut out.spare_capacity_mut()[..a.len()];
    let mut partial = vec![0.0f32; blocks * cols];
    for_each_chunk2((spare, block), (&mut partial, cols), |i, out, sums| {
        let start = i * block;
        let rows = a[start..]
            .chunks_exact(cols)
            .zip(b[start..].chunks_exact(cols));
        in_wide_vectors(|| {
            for (out, (a, b)) in out.chunks_exact_mut(cols).zip(rows) {
                for ((o, s), (&a, &b)) in out.iter_mut().zip(sums.iter_mut()).zip(a.iter().zip(b)) {
                    let v = f(a, b);
                    o.write(v);
                    *s += v;
                }
            }
        })
    });
    // SAFETY: the blocks cover every row, and each wrote every value of its rows.
    unsafe { out.set_len(a.len()) };
    (out, add_in_order(partial, cols))
}

/// The sum of each column of a row-major matrix of `cols` columns, block by block of rows (as
/// [`map_values2_with_column_sums`] sums).
pub(crate) fn column_sums(a: &[f32], cols: usize) -> Vec<f32> {
    assert!(
        a.len().is_multiple_of(cols.max(1)) && (cols > 0 || a.is_empty()),
        "column_sums: shapes checked by the caller"
    );
    if cols == 0 {
        return Vec::new();
    }
    let block = block_rows(a.len(), cols) * cols;
    let blocks = a.len().div_ceil(block).max(1);
    let mut partial = vec![0.0f32; blocks * cols];
    for_each_chunk(&mut partial, cols, |i, sums| {
        let values = &a[(i * block).min(a.len())..((i + 1) * block).min(a.len())];
        in_wide_vectors(|| {
            for row in values.chunks_exact(cols) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
        })
    });
    add_in_order(partial, cols)
}

/// Rows per block of a column sum over `len` values in rows of `cols`: all of them when short,
/// else about [`SUM_BLOCK`] values' worth. Fixed by the shape alone.
fn block_rows(len: usize, cols: usize) -> usize {
    let rows = len / cols;
    if len < MAP_SPLIT_FROM {
        rows.max(1)
    } else {
        (SUM_BLOCK / cols).clamp(1, rows.max(1))
    }
}

/// The blocks' sums (`cols` each, in block order) added up in that order.
fn add_in_order(partial: Vec<f32>, cols: usize) -> Vec<f32> {
    let mut blocks = partial.chunks_exact(cols);
    let mut sums = blocks.next().map_or_else(Vec::new, <[f32]>::to_vec);
    for block in blocks {
        sums.iter_mut().zip(block).for_each(|(s, t)| *s += t);
    }
    sums
}

/// A vector of `len` values written by `fill(part, start)`, which must write every value of
/// `part`, the values from `start` on; shared among threads when long (in whole cache lines).
fn fill(len: usize, fill: impl Fn(&mut [MaybeUninit<f32>], usize) + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    let piece = items_per_piece(len, 1, MAP_SPLIT_FROM).next_multiple_of(16);
    for_each_chunk(spare, piece, |i, part| {
        in_wide_vectors(|| fill(part, i * piece))
    });
    // SAFETY: `fill` wrote every value of every part, as it must.
    unsafe { out.set_len(len) };
    out
}

#[cfg(test)]
mod tests {
    use super::{column_sums, map_values, map_values2_with_column_sums, map_values3};
    use crate::exec::with_num_threads;

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
    fn column_sums_match_sums_in_f64_and_the_fused_pass_gives_the_same_sums() {
        // Short (one block), long (several blocks of rows), one wide row, and no columns.
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
    fn column_sums_are_the_same_bits_for_every_thread_count() {
        let (rows, cols) = (1000, 37);
        let a: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.71).sin()).collect();
        let one = with_num_threads(1, || column_sums(&a, cols));
        for threads in [2, 3, 8] {
            assert_eq!(with_num_threads(threads, || column_sums(&a, cols)), one);
            let fused = with_num_threads(threads, || {
                map_values2_with_column_sums((&a, &a), cols, |x, _| x).1
            });
            assert_eq!(fused, one, "{threads} threads");
        }
    }
}
