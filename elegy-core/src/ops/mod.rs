//! The differentiable operations on [`crate::Tensor`], each file one family with its forward
//! computation and its backward rule side by side.

mod attention;
mod binary;
mod broadcast;
mod conv;
mod cpu_features;
mod crossentropy;
mod dropout;
mod elementwise;
mod index;
mod linear;
mod lstm_cell;
mod matmul;
mod operators;
mod pool;
mod product;
mod reduce;
mod shape;
mod softmax;
mod unary;
mod vector_math;

pub(crate) use broadcast::{broadcast_shapes, sum_to_shape};
pub use conv::{Conv2dOptions, Padding};
pub(crate) use cpu_features::in_wide_vectors;
pub(crate) use elementwise::{
    column_sums, map_values, map_values2, map_values2_with_column_sums, map_values3,
};
pub use linear::Activation;
pub use pool::Pool2dOptions;
pub(crate) use product::{affine_product, product, product_into};

use ndarray::{ArrayD, ArrayViewD, Axis};

use crate::error::{Error, Result};

/// The element count of `shape`, or an error naming `op` when it cannot be held in memory (its
/// product overflows, or its bytes pass `isize::MAX`, ndarray's limit).
pub(crate) fn checked_len(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / std::mem::size_of::<f32>())
        .ok_or_else(|| {
            Error::shape(
                op,
                format!("shape {shape:?} has more elements than memory can hold; check its sizes"),
            )
        })
}

/// `axis` (negative counts from the end, as in numpy) as an index below `ndim`.
pub(crate) fn normalize_axis(op: &'static str, axis: isize, ndim: usize) -> Result<usize> {
    let resolved = if axis < 0 { axis + ndim as isize } else { axis };
    if resolved < 0 || resolved >= ndim as isize {
        return Err(Error::invalid(
            op,
            format!(
                "axis {axis} is out of range for a tensor with {ndim} axes (valid: {} to {})",
                -(ndim as isize),
                ndim as isize - 1
            ),
        ));
    }
    Ok(resolved as usize)
}

/// `axes` normalized, sorted and checked for repeats; empty means every axis.
pub(crate) fn normalize_axes(op: &'static str, axes: &[isize], ndim: usize) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..ndim).collect());
    }
    let mut resolved = axes
        .iter()
        .map(|&axis| normalize_axis(op, axis, ndim))
        .collect::<Result<Vec<_>>>()?;
    resolved.sort_unstable();
    if resolved.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::invalid(
            op,
            format!("axes {axes:?} name an axis twice"),
        ));
    }
    Ok(resolved)
}

/// A reduction's result with its reduced axes (size 1, listed ascending) dropped; no copy, any
/// layout.
pub(crate) fn drop_axes(kept: ArrayD<f32>, axes: &[usize]) -> ArrayD<f32> {
    axes.iter()
        .rev()
        .fold(kept, |a, &axis| a.index_axis_move(Axis(axis), 0))
}

/// The gradient of a reduction's result with the reduced axes back as size 1 (`kept` is the
/// shape with them), so it broadcasts against the input; no copy, any layout.
pub(crate) fn restore_axes<'a>(
    grad: ArrayViewD<'a, f32>,
    axes: &[usize],
    kept: &[usize],
) -> ArrayViewD<'a, f32> {
    if grad.shape() == kept {
        return grad;
    }
    axes.iter().fold(grad, |g, &axis| g.insert_axis(Axis(axis)))
}
