//! Reverse-mode automatic differentiation: the graph that tracked ops record, and the walk back
//! from a scalar loss that turns it into gradients.
//!
//! Each op that sees a tracked input stores a [`Node`]: its inputs and a [`Backward`] rule that
//! maps the gradient of the op's output to gradients of its inputs. Nodes are numbered in the order
//! they are created, and an op's inputs always exist before it does, so walking nodes from the
//! highest number down visits every node after all the nodes that use it.

mod grad;

pub use grad::{grad, value_and_grad};

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The gradient of each input of an op, in the order of its inputs; `None` where nothing flows
/// (an untracked input, or one the rule skips because it is not tracked).
pub(crate) type InputGrads = Vec<Option<ArrayD<f32>>>;

/// How one op passes the gradient of its output back to its inputs.
pub(crate) trait Backward: Send + Sync {
    /// The op's name, for error messages.
    fn name(&self) -> &'static str;

    /// Gradients of the inputs given `grad`, the gradient of the output (which has the output's
    /// shape). Each returned gradient has its input's shape.
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads>;
}

/// One recorded op: what it was applied to and how to differentiate it.
pub(crate) struct Node {
    pub(crate) id: u64,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) rule: Box<dyn Backward>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Node {
    pub(crate) fn new(inputs: Vec<Tensor>, rule: Box<dyn Backward>) -> Node {
        Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inputs,
            rule,
        }
    }
}

/// The rule of a tracked leaf: gradients stop here.
pub(crate) struct Leaf;

impl Backward for Leaf {
    fn name(&self) -> &'static str {
        "leaf"
    }
    fn backward(&self, _: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        Ok(Vec::new())
    }
}

/// The rule of an op that has no gradient (rounding, class indices): asking for one is an
/// error, never a silent zero.
pub(crate) struct NotDifferentiable(pub &'static str);

impl Backward for NotDifferentiable {
    fn name(&self) -> &'static str {
        self.0
    }
    fn backward(&self, _: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        Err(Error::BackwardNotSupported { op: self.0 })
    }
}
