//! Ops that move values without computing new ones: reshape, axes, slices, joins.
//!
//! Every result is in row-major order, because other ops may regroup their inputs' memory
//! directly. When the row-major result is a window of the input's storage it shares that storage
//! and no element is copied: `reshape` and `flatten` of a row-major input, `unsqueeze`,
//! `squeeze`, and `slice` along the leading axis (or any slice that stays contiguous).
//! `permute`, `transpose`, other slices, `broadcast_to`, `concat` and `stack` copy. Every
//! gradient these ops return is a fresh row-major array.

use ndarray::{ArcArray, ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use super::{normalize_axis, sum_to_shape};
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A row-major copy of `view`, whatever its strides.
fn standard(view: ArrayViewD<'_, f32>) -> ArrayD<f32> {
    view.as_standard_layout().into_owned()
}

/// `value` itself when it is in row-major order (however it shares storage), else a row-major
/// copy.
///
/// Strided views (a transpose, an inner slice) are not handed out as tensor values: several ops
/// regroup their inputs' memory with `into_shape_with_order`, which needs row-major order.
fn row_major(value: ArcArray<f32, IxDyn>) -> ArcArray<f32, IxDyn> {
    if value.is_standard_layout() {
        value
    } else {
        standard(value.view()).into_shared()
    }
}

/// `value` with `shape` (same element count) in row-major order: sharing its storage when
/// `value` is already row-major, a copy otherwise.
fn reshaped(value: &ArcArray<f32, IxDyn>, shape: &[usize]) -> ArcArray<f32, IxDyn> {
    row_major(value.clone())
        .into_shape_with_order(IxDyn(shape))
        .expect("row-major with the same element count")
}

/// The rule of every op that only regroups the row-major sequence of values (reshape, flatten,
/// squeeze, unsqueeze): the gradient is regrouped back.
struct ReshapeRule {
    name: &'static str,
}

impl Backward for ReshapeRule {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let g = standard(grad.view())
            .into_shape_with_order(IxDyn(inputs[0].shape()))
            .expect("same element count");
        Ok(vec![Some(g)])
    }
}

struct PermuteRule {
    name: &'static str,
    /// The permutation that undoes the forward one.
    inverse: Vec<usize>,
}

impl Backward for PermuteRule {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        let g = grad.view().permuted_axes(IxDyn(&self.inverse));
        Ok(vec![Some(standard(g))])
    }
}

struct BroadcastRule;

impl Backward for BroadcastRule {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        Ok(vec![Some(sum_to_shape(grad.clone(), inputs[0].shape()))])
    }
}

struct SliceRule {
    axis: usize,
    start: usize,
    end: usize,
}

impl Backward for SliceRule {
    fn name(&self) -> &'static str {
        "slice"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let mut g = ArrayD::zeros(inputs[0].shape());
        g.slice_axis_mut(Axis(self.axis), Slice::from(self.start..self.end))
            .assign(grad);
        Ok(vec![Some(g)])
    }
}

struct ConcatRule {
    axis: usize,
}

impl Backward for ConcatRule {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let mut start = 0;
        Ok(inputs
            .iter()
            .map(|input| {
                let end = start + input.shape()[self.axis];
                let part = grad.slice_axis(Axis(self.axis), Slice::from(start..end));
                start = end;
                input.is_tracked().then(|| standard(part))
            })
            .collect())
    }
}

struct StackRule {
    axis: usize,
}

impl Backward for StackRule {
    fn name(&self) -> &'static str {
        "stack"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        Ok(inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                input
                    .is_tracked()
                    .then(|| standard(grad.index_axis(Axis(self.axis), i)))
            })
            .collect())
    }
}

impl Tensor {
    /// The same values (in row-major order) with a new shape; one axis may be `-1`, inferred
    /// from the others. Shares the input's storage (the input is row-major unless made from a
    /// strided `ndarray` array).
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::zeros(&[4, 8, 8]);
    /// assert_eq!(x.reshape(&[4, -1])?.shape(), &[4, 64]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "view")]
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = infer_shape(self.shape(), shape)?;
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let value = reshaped(self.array(), &shape);
        Ok(Tensor::from_op(value, &[self], |_| ReshapeRule {
            name: "reshape",
        }))
    }

    /// The axes reordered: axis `i` of the result is axis `axes[i]` of `self` (numpy's
    /// `transpose(x, axes)`, torch's `permute`).
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let images = Tensor::zeros(&[8, 28, 28, 3]); // NHWC
    /// assert_eq!(images.permute(&[0, 3, 1, 2])?.shape(), &[8, 3, 28, 28]); // NCHW
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "transpose")]
    pub fn permute(&self, axes: &[usize]) -> Result<Tensor> {
        let ndim = self.ndim();
        let inverse = inverse_permutation(axes, ndim).ok_or_else(|| {
            Error::invalid(
                "permute",
                format!(
                    "axes {axes:?} are not a permutation of 0..{ndim} for a tensor of shape {:?}; \
                     name every axis exactly once",
                    self.shape()
                ),
            )
        })?;
        let value = row_major(self.array().clone().permuted_axes(IxDyn(axes)));
        Ok(Tensor::from_op(value, &[self], |_| PermuteRule {
            name: "permute",
            inverse,
        }))
    }

    /// The last two axes swapped (the matrix transpose, batched over any leading axes).
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// assert_eq!(x.transpose()?.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "T")]
    pub fn transpose(&self) -> Result<Tensor> {
        let ndim = self.ndim();
        if ndim < 2 {
            return Err(Error::invalid(
                "transpose",
                format!(
                    "needs at least 2 axes, got shape {:?}; make a vector a row with \
                     .reshape(&[1, -1]) or a column with .reshape(&[-1, 1])",
                    self.shape()
                ),
            ));
        }
        let mut value = self.array().clone();
        value.swap_axes(ndim - 2, ndim - 1);
        let value = row_major(value);
        // Swapping the last two axes is its own inverse.
        let mut inverse: Vec<usize> = (0..ndim).collect();
        inverse.swap(ndim - 2, ndim - 1);
        Ok(Tensor::from_op(value, &[self], |_| PermuteRule {
            name: "transpose",
            inverse,
        }))
    }

    /// The values repeated to `shape` under numpy's broadcasting rules: axes are aligned from the
    /// end, and each axis of `self` must equal the target's or be 1 (missing leading axes count
    /// as 1). The gradient sums back over the repeated axes.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let bias = Tensor::from(vec![1.0, 2.0]);
    /// assert_eq!(bias.broadcast_to(&[2, 2])?.to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "expand")]
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        super::checked_len("broadcast_to", shape)?;
        let own = self.shape();
        let bad = |why: String| {
            Error::shape(
                "broadcast_to",
                format!(
                    "cannot broadcast shape {own:?} to {shape:?}: {why}; each axis of the tensor \
                     (aligned from the end) must equal the target's or be 1"
                ),
            )
        };
        if own.len() > shape.len() {
            return Err(bad(format!(
                "the target has {} axes, fewer than the tensor's {}",
                shape.len(),
                own.len()
            )));
        }
        let offset = shape.len() - own.len();
        for (axis, &size) in own.iter().enumerate() {
            let target = shape[offset + axis];
            if size != target && size != 1 {
                return Err(bad(format!(
                    "axis {axis} has size {size} where the target has {target}"
                )));
            }
        }
        let value = standard(
            self.view()
                .broadcast(IxDyn(shape))
                .expect("broadcast checked"),
        );
        Ok(Tensor::from_op(value, &[self], |_| BroadcastRule))
    }

    /// The entries `start..end` (half-open, step 1) along `axis` (negative counts from the
    /// end). Shares the input's storage when the slice is contiguous (always along axis 0 of a
    /// row-major input). The gradient is the output's gradient placed back in zeros of the
    /// input's shape.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3])?;
    /// assert_eq!(x.slice(-1, 1, 3)?.to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "narrow")]
    pub fn slice(&self, axis: isize, start: usize, end: usize) -> Result<Tensor> {
        let axis = normalize_axis("slice", axis, self.ndim())?;
        let size = self.shape()[axis];
        if start > end || end > size {
            return Err(Error::invalid(
                "slice",
                format!(
                    "range {start}..{end} does not fit axis {axis} of size {size} (shape {:?}); \
                     need start <= end <= {size}",
                    self.shape()
                ),
            ));
        }
        let mut value = self.array().clone();
        value.slice_axis_inplace(Axis(axis), Slice::from(start..end));
        let value = row_major(value);
        Ok(Tensor::from_op(value, &[self], |_| SliceRule {
            axis,
            start,
            end,
        }))
    }

    /// The tensors joined along an existing `axis` (negative counts from the end); their shapes
    /// must agree on every other axis. Each input's gradient is its part of the output's.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let a = Tensor::zeros(&[2, 3]);
    /// let b = Tensor::ones(&[2, 1]);
    /// assert_eq!(Tensor::concat(&[a, b], 1)?.shape(), &[2, 4]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias("concatenate", "cat"))]
    pub fn concat(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| {
            Error::invalid(
                "concat",
                "got no tensors; pass at least one (joining nothing has no shape)",
            )
        })?;
        let axis = normalize_axis("concat", axis, first.ndim())?;
        for (i, t) in tensors.iter().enumerate().skip(1) {
            let agrees = t.ndim() == first.ndim()
                && (0..first.ndim()).all(|a| a == axis || t.shape()[a] == first.shape()[a]);
            if !agrees {
                return Err(Error::shape(
                    "concat",
                    format!(
                        "tensor {i} has shape {:?} but tensor 0 has shape {:?}; every shape must \
                         match tensor 0's except along axis {axis}",
                        t.shape(),
                        first.shape()
                    ),
                ));
            }
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = tensors.iter().map(|t| t.shape()[axis]).sum();
        let mut value = ArrayD::zeros(shape);
        let mut start = 0;
        for t in tensors {
            let end = start + t.shape()[axis];
            value
                .slice_axis_mut(Axis(axis), Slice::from(start..end))
                .assign(&t.view());
            start = end;
        }
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(Tensor::from_op(value, &inputs, |_| ConcatRule { axis }))
    }

    /// The tensors, all of one shape, joined along a new `axis` (negative counts from the end of
    /// the result, so `-1` appends an axis). Each input's gradient is its slice of the output's.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let rows = vec![Tensor::zeros(&[3]), Tensor::ones(&[3])];
    /// assert_eq!(Tensor::stack(&rows, 0)?.shape(), &[2, 3]);
    /// assert_eq!(Tensor::stack(&rows, -1)?.shape(), &[3, 2]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn stack(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| {
            Error::invalid(
                "stack",
                "got no tensors; pass at least one (stacking nothing has no shape)",
            )
        })?;
        let axis = normalize_axis("stack", axis, first.ndim() + 1)?;
        if let Some((i, t)) = tensors
            .iter()
            .enumerate()
            .find(|(_, t)| t.shape() != first.shape())
        {
            return Err(Error::shape(
                "stack",
                format!(
                    "tensor {i} has shape {:?} but tensor 0 has shape {:?}; stacked tensors must \
                     all have the same shape",
                    t.shape(),
                    first.shape()
                ),
            ));
        }
        let mut shape = first.shape().to_vec();
        shape.insert(axis, tensors.len());
        let mut value = ArrayD::zeros(shape);
        for (i, t) in tensors.iter().enumerate() {
            value.index_axis_mut(Axis(axis), i).assign(&t.view());
        }
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(Tensor::from_op(value, &inputs, |_| StackRule { axis }))
    }

    /// A new axis of size 1 at `axis` of the result (negative counts from the end of the result,
    /// so `-1` appends it). Shares the input's storage.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::zeros(&[2, 3]);
    /// assert_eq!(x.unsqueeze(0)?.shape(), &[1, 2, 3]);
    /// assert_eq!(x.unsqueeze(-1)?.shape(), &[2, 3, 1]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias("expand_dims", "newaxis"))]
    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let axis = normalize_axis("unsqueeze", axis, self.ndim() + 1)?;
        let value = row_major(self.array().clone().insert_axis(Axis(axis)));
        Ok(Tensor::from_op(value, &[self], |_| ReshapeRule {
            name: "unsqueeze",
        }))
    }

    /// `axis` removed; it must have size 1 (negative counts from the end). Shares the input's
    /// storage.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let column = Tensor::zeros(&[5, 1]);
    /// assert_eq!(column.squeeze(-1)?.shape(), &[5]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn squeeze(&self, axis: isize) -> Result<Tensor> {
        let axis = normalize_axis("squeeze", axis, self.ndim())?;
        let size = self.shape()[axis];
        if size != 1 {
            return Err(Error::shape(
                "squeeze",
                format!(
                    "axis {axis} of shape {:?} has size {size}, not 1; only an axis of size 1 can \
                     be removed (reduce it with .sum or pick entries with .slice instead)",
                    self.shape()
                ),
            ));
        }
        let value = row_major(self.array().clone().index_axis_move(Axis(axis), 0));
        Ok(Tensor::from_op(value, &[self], |_| ReshapeRule {
            name: "squeeze",
        }))
    }

    /// Axis 0 kept and the others merged, in row-major order: `[n, a, b, ..] -> [n, a * b * ..]`
    /// (a vector `[n]` becomes `[n, 1]`). The input of a dense layer after a convolution.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let feature_maps = Tensor::zeros(&[32, 16, 7, 7]);
    /// assert_eq!(feature_maps.flatten()?.shape(), &[32, 784]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn flatten(&self) -> Result<Tensor> {
        let Some((&n, rest)) = self.shape().split_first() else {
            return Err(Error::shape(
                "flatten",
                "needs at least 1 axis (the batch) but got a scalar; make it a vector with \
                 .reshape(&[1])",
            ));
        };
        let shape = [n, rest.iter().product()];
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let value = reshaped(self.array(), &shape);
        Ok(Tensor::from_op(value, &[self], |_| ReshapeRule {
            name: "flatten",
        }))
    }
}

/// The permutation that undoes `axes`, or `None` when `axes` is not a permutation of `0..ndim`.
fn inverse_permutation(axes: &[usize], ndim: usize) -> Option<Vec<usize>> {
    if axes.len() != ndim {
        return None;
    }
    let mut inverse = vec![None; ndim];
    for (i, &axis) in axes.iter().enumerate() {
        match inverse.get_mut(axis) {
            Some(slot @ None) => *slot = Some(i),
            _ => return None, // out of range, or named twice
        }
    }
    inverse.into_iter().collect()
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
    let known = requested
        .iter()
        .filter(|&&d| d >= 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d as usize))
        .ok_or_else(|| bad("the sizes multiply to more elements than memory can hold"))?;
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
