//! Ops that move values without computing new ones: reshape, axes, slices, joins.

use ndarray::{ArrayD, IxDyn};

use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

struct ReshapeRule;

impl Backward for ReshapeRule {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let g = grad
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(IxDyn(inputs[0].shape()))
            .expect("same element count");
        Ok(vec![Some(g)])
    }
}

impl Tensor {
    /// The same values (in row-major order) with a new shape; one axis may be `-1`, inferred
    /// from the others.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::zeros(&[4, 8, 8]);
    /// assert_eq!(x.reshape(&[4, -1])?.shape(), &[4, 64]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = infer_shape(self.shape(), shape)?;
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let value = self
            .view()
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(IxDyn(&shape))
            .expect("element count checked");
        Ok(Tensor::from_op(value, &[self], |_| ReshapeRule))
    }
}

/// `requested` with its `-1` resolved, checked to hold as many elements as `current`.
fn infer_shape(current: &[usize], requested: &[isize]) -> Result<Vec<usize>> {
    let total: usize = current.iter().product();
    let bad = |why: &str| {
        Error::shape(
            "reshape",
            format!("cannot reshape {current:?} ({total} elements) into {requested:?}: {why}"),
        )
    };
    let unknown: Vec<usize> = (0..requested.len())
        .filter(|&i| requested[i] == -1)
        .collect();
    if unknown.len() > 1 {
        return Err(bad("at most one axis may be -1"));
    }
    if requested.iter().any(|&d| d < -1) {
        return Err(bad(
            "sizes must be non-negative, or -1 for one inferred axis",
        ));
    }
    let known: usize = requested
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let mut shape: Vec<usize> = requested.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(&i) = unknown.first() {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(bad("the other sizes do not divide the element count"));
        }
        shape[i] = total / known;
    } else if known != total {
        return Err(bad("the element counts differ"));
    }
    Ok(shape)
}
