//! Numpy broadcasting: the shape two operands combine to, and the reverse (summing a gradient
//! back down to an operand's shape).

use ndarray::{ArrayD, Axis};

use crate::error::{Error, Result};

/// The shape `a` and `b` broadcast to under numpy's rules: align trailing axes; each pair must be
/// equal or contain a 1.
pub(crate) fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let ndim = a.len().max(b.len());
    let padded = |s: &[usize], i: usize| {
        let offset = ndim - s.len();
        if i < offset { 1 } else { s[i - offset] }
    };
    (0..ndim)
        .map(|i| match (padded(a, i), padded(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(Error::shape(
                op,
                format!(
                    "shapes {a:?} and {b:?} do not broadcast: axis {i} of the aligned shapes is \
                     {x} against {y}; each pair of trailing axes must be equal or 1"
                ),
            )),
        })
        .collect()
}

/// Sums `grad` over the axes that broadcasting added or stretched, giving an array of `shape`.
pub(crate) fn sum_to_shape(grad: ArrayD<f32>, shape: &[usize]) -> ArrayD<f32> {
    if grad.shape() == shape {
        return grad;
    }
    let mut grad = grad;
    while grad.ndim() > shape.len() {
        grad = grad.sum_axis(Axis(0));
    }
    for (axis, &size) in shape.iter().enumerate() {
        if size == 1 && grad.shape()[axis] != 1 {
            grad = grad.sum_axis(Axis(axis)).insert_axis(Axis(axis));
        }
    }
    grad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_like_numpy() {
        assert_eq!(
            broadcast_shapes("t", &[4, 1, 3], &[5, 1]).unwrap(),
            vec![4, 5, 3]
        );
        assert_eq!(broadcast_shapes("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        let err = broadcast_shapes("add", &[2, 3], &[4])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("add: shapes [2, 3] and [4] do not broadcast"),
            "{err}"
        );
    }

    #[test]
    fn gradient_sums_back_over_broadcast_axes() {
        let g = ArrayD::ones(vec![4, 5, 3]);
        assert_eq!(
            sum_to_shape(g.clone(), &[5, 1]),
            ArrayD::from_elem(vec![5, 1], 12.0)
        );
        assert_eq!(sum_to_shape(g, &[]), ndarray::arr0(60.0).into_dyn());
    }
}
