//! [`Tensor`]: f32 values over an n-dimensional `ndarray` array, with an optional place on the
//! autodiff graph.

mod convert;
mod create;
mod display;
mod map;
mod random;

pub use map::TensorMap;
pub use random::{FanMode, Initializer, RngKey};

use std::sync::Arc;

use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};

use crate::autodiff::{Backward, Leaf, Node};
use crate::error::{Error, Result};

/// An n-dimensional array of `f32`, cheap to clone (the storage is shared), that can be tracked
/// for reverse-mode differentiation.
///
/// Untracked tensors (data, predictions, evaluation) record nothing: an op on them costs only its
/// arithmetic. An op with at least one tracked input records how to differentiate itself, so that
/// [`crate::grad`] can walk back from a scalar loss.
///
/// ```
/// use elegy_core::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// let b = a.matmul(&a)?;
/// assert_eq!(b.to_vec(), vec![7.0, 10.0, 15.0, 22.0]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    value: ArcArray<f32, IxDyn>,
    node: Option<Arc<Node>>,
}

impl Tensor {
    /// A tensor that owns `value` (any dimension) without copying it. Untracked.
    pub fn new<D: ndarray::Dimension>(value: ndarray::Array<f32, D>) -> Tensor {
        Tensor {
            value: value.into_dyn().into_shared(),
            node: None,
        }
    }

    /// The result of an op: tracked when any input is, and then recorded with the backward rule
    /// that `backward` builds from the output (called only in that case, so untracked code pays
    /// nothing). `value` may be a shared array, so that movement ops can return views of their
    /// input's storage.
    pub(crate) fn from_op<B: Backward + 'static>(
        value: impl Into<ArcArray<f32, IxDyn>>,
        inputs: &[&Tensor],
        backward: impl FnOnce(&ArcArray<f32, IxDyn>) -> B,
    ) -> Tensor {
        let value = value.into();
        let node = inputs.iter().any(|t| t.is_tracked()).then(|| {
            Arc::new(Node::new(
                inputs.iter().map(|&t| t.clone()).collect(),
                Box::new(backward(&value)),
            ))
        });
        Tensor { value, node }
    }

    /// A tracked leaf holding `value`: gradients can be taken with respect to it.
    pub fn param<D: ndarray::Dimension>(value: ndarray::Array<f32, D>) -> Tensor {
        Tensor::new(value).tracked()
    }

    /// A new tracked leaf sharing this tensor's values (no copy). Gradients taken with respect to
    /// the result do not flow further back into `self`'s graph.
    #[doc(alias = "requires_grad")]
    pub fn tracked(&self) -> Tensor {
        Tensor {
            value: self.value.clone(),
            node: Some(Arc::new(Node::new(Vec::new(), Box::new(Leaf)))),
        }
    }

    /// The same values, cut from the graph: nothing flows back through the result.
    #[doc(alias = "stop_gradient")]
    pub fn detach(&self) -> Tensor {
        Tensor {
            value: self.value.clone(),
            node: None,
        }
    }

    /// Whether this tensor is on the autodiff graph (a tracked leaf or the result of an op on one).
    pub fn is_tracked(&self) -> bool {
        self.node.is_some()
    }

    pub(crate) fn node(&self) -> Option<&Arc<Node>> {
        self.node.as_ref()
    }

    /// The size of each axis.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.value.ndim()
    }

    /// The number of elements.
    #[doc(alias("size", "numel"))]
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// A read-only view of the values, without copying.
    pub fn view(&self) -> ArrayViewD<'_, f32> {
        self.value.view()
    }

    /// The shared array itself (cheap: the storage is reference counted).
    pub fn array(&self) -> &ArcArray<f32, IxDyn> {
        &self.value
    }

    /// The values as an owned array; copies only when the storage is shared.
    pub fn into_array(self) -> ArrayD<f32> {
        self.value.into_owned()
    }

    /// The values as an owned array (a copy).
    #[doc(alias = "numpy")]
    pub fn to_array(&self) -> ArrayD<f32> {
        self.value.to_owned()
    }

    /// The values in logical (row-major) order.
    #[doc(alias = "tolist")]
    pub fn to_vec(&self) -> Vec<f32> {
        self.value.iter().copied().collect()
    }

    /// The single value of a tensor with one element (a scalar loss, say).
    pub fn item(&self) -> Result<f32> {
        match self.value.len() {
            1 => Ok(*self.value.iter().next().expect("one element")),
            _ => Err(Error::shape(
                "item",
                format!(
                    "tensor of shape {:?} has {} elements, not 1; reduce it with .sum_all() or .mean_all()",
                    self.shape(),
                    self.len()
                ),
            )),
        }
    }

    /// The values as an array of dimension `D` (e.g. `ndarray::Ix2`), sharing storage.
    pub fn to_dimensionality<D: ndarray::Dimension>(&self) -> Result<ArcArray<f32, D>> {
        self.value.clone().into_dimensionality::<D>().map_err(|_| {
            Error::shape(
                "to_dimensionality",
                format!(
                    "tensor of shape {:?} has {} axes, not {:?}",
                    self.shape(),
                    self.ndim(),
                    D::NDIM
                ),
            )
        })
    }
}

impl PartialEq for Tensor {
    /// Equal shapes and values; whether either is tracked does not matter.
    fn eq(&self, other: &Tensor) -> bool {
        self.value == other.value
    }
}
