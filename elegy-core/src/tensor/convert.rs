//! Conversions between [`Tensor`] and plain Rust and `ndarray` values.

use ndarray::{Array, ArrayD, Dimension};

use super::Tensor;
use crate::error::{Error, Result};

impl<D: Dimension> From<Array<f32, D>> for Tensor {
    /// Takes the array without copying.
    fn from(value: Array<f32, D>) -> Tensor {
        Tensor::new(value)
    }
}

impl From<f32> for Tensor {
    /// A scalar (shape `[]`).
    fn from(value: f32) -> Tensor {
        Tensor::scalar(value)
    }
}

impl From<Vec<f32>> for Tensor {
    /// A vector (shape `[len]`).
    fn from(values: Vec<f32>) -> Tensor {
        Tensor::new(ndarray::Array1::from(values))
    }
}

impl From<&[f32]> for Tensor {
    /// A vector (shape `[len]`), copied.
    fn from(values: &[f32]) -> Tensor {
        Tensor::from(values.to_vec())
    }
}

impl From<Tensor> for ArrayD<f32> {
    /// The values; copies only when the storage is shared.
    fn from(tensor: Tensor) -> ArrayD<f32> {
        tensor.into_array()
    }
}

/// Integer labels (class indices) become exact `f32` values: every integer up to 2^24 is exact.
macro_rules! from_integer_array {
    ($($int:ty),*) => {$(
        impl<D: Dimension> From<Array<$int, D>> for Tensor {
            /// Integer labels as exact `f32` values.
            fn from(labels: Array<$int, D>) -> Tensor {
                Tensor::new(labels.mapv(|v| v as f32))
            }
        }
        impl From<Vec<$int>> for Tensor {
            /// Integer labels as an exact `f32` vector.
            fn from(labels: Vec<$int>) -> Tensor {
                Tensor::from(ndarray::Array1::from(labels))
            }
        }
    )*};
}
from_integer_array!(u8, u16, u32, u64, usize, i8, i16, i32, i64);

impl Tensor {
    /// The values as indices (class labels, rows), checking that each is a non-negative integer.
    ///
    /// `op` names the caller in the error, e.g. `"one_hot"`.
    pub fn to_indices(&self, op: &'static str) -> Result<Vec<usize>> {
        self.view()
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v >= 0.0 && v.fract() == 0.0 && v < 16_777_216.0 {
                    Ok(v as usize)
                } else {
                    Err(Error::invalid(
                        op,
                        format!(
                            "index {v} at flat position {i} is not a non-negative integer; \
                             indices (class labels, rows of a table) count 0, 1, 2, ..."
                        ),
                    ))
                }
            })
            .collect()
    }
}
