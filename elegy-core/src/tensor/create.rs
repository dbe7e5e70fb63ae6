//! Constructors of constant tensors.

use ndarray::{ArrayD, IxDyn};

use super::Tensor;
use crate::error::{Error, Result};

impl Tensor {
    /// A tensor of `shape` from values in row-major order.
    #[doc(alias("array", "asarray", "tensor"))]
    pub fn from_vec(values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        let expected = crate::ops::checked_len("from_vec", shape)?;
        if values.len() != expected {
            return Err(Error::shape(
                "from_vec",
                format!(
                    "{} values cannot fill shape {shape:?}, which holds {expected}",
                    values.len()
                ),
            ));
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), values).expect("length checked");
        Ok(Tensor::new(array))
    }

    /// A scalar: shape `[]`.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::new(ndarray::arr0(value))
    }

    /// Every element `value`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::new(ArrayD::from_elem(IxDyn(shape), value))
    }

    /// Every element 0.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// Every element 1.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Zeros of this tensor's shape (untracked).
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape())
    }

    /// Ones of this tensor's shape (untracked).
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape())
    }

    /// `0, 1, ..., n - 1` as a vector.
    pub fn arange(n: usize) -> Tensor {
        Tensor::new(ndarray::Array1::from_iter((0..n).map(|i| i as f32)))
    }
}
