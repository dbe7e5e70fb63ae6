//! Ops that pick entries by index (`index_select`, `take`, `gather`), choose between tensors by
//! a mask (`where_cond`), and build masks and one-hot codes.
//!
//! Indices given as tensors are `f32` values holding non-negative integers (see
//! [`Tensor::to_indices`]). Picking ops pass the gradient back by scatter-adding it to the
//! entries that were picked, so an entry picked twice receives both gradients. Indices and masks
//! are constants: no gradient flows to them.

use ndarray::{ArcArray, ArrayD, ArrayViewD, Axis, IxDyn, Zip};

use super::{broadcast_shapes, normalize_axis, sum_to_shape};
use crate::autodiff::{Backward, InputGrads, NotDifferentiable};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The multi-axis position of the `flat`-th element (row-major) of an array of `shape`, for
/// error messages.
fn position(shape: &[usize], flat: usize) -> Vec<usize> {
    let mut rest = flat;
    let mut position = vec![0; shape.len()];
    for (slot, &size) in position.iter_mut().zip(shape).rev() {
        *slot = rest % size.max(1);
        rest /= size.max(1);
    }
    position
}

/// The first index not below `bound`, with its position in `indices`.
fn first_out_of_range(indices: &[usize], bound: usize) -> Option<(usize, usize)> {
    indices
        .iter()
        .copied()
        .enumerate()
        .find(|&(_, index)| index >= bound)
}

/// The entries `indices` of `x` along `axis`, in row-major order (ndarray's `select` may
/// return other strides).
fn select(x: ArrayViewD<'_, f32>, axis: usize, indices: &[usize]) -> ArrayD<f32> {
    let mut shape = x.shape().to_vec();
    shape[axis] = indices.len();
    let mut out = ArrayD::zeros(shape);
    for (i, &index) in indices.iter().enumerate() {
        out.index_axis_mut(Axis(axis), i)
            .assign(&x.index_axis(Axis(axis), index));
    }
    out
}

/// Rows `indices` of `grad` (along `axis`) added into zeros of `shape`: the backward of picking
/// entries `indices` along `axis`.
fn scatter_add(
    grad: ArrayViewD<'_, f32>,
    axis: usize,
    indices: &[usize],
    shape: &[usize],
) -> ArrayD<f32> {
    let mut out = ArrayD::zeros(shape);
    for (i, &index) in indices.iter().enumerate() {
        let mut row = out.index_axis_mut(Axis(axis), index);
        row += &grad.index_axis(Axis(axis), i);
    }
    out
}

struct IndexSelectRule {
    axis: usize,
    indices: Vec<usize>,
}

impl Backward for IndexSelectRule {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let g = scatter_add(grad.view(), self.axis, &self.indices, inputs[0].shape());
        Ok(vec![Some(g)])
    }
}

struct TakeRule {
    /// The indices, flattened.
    indices: Vec<usize>,
}

impl Backward for TakeRule {
    fn name(&self) -> &'static str {
        "take"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let table = inputs[0].shape();
        // One row of the gradient per index, as in the forward.
        let mut rows = vec![self.indices.len()];
        rows.extend_from_slice(&table[1..]);
        let grad = grad.to_shape(IxDyn(&rows)).expect("same element count");
        Ok(vec![Some(scatter_add(
            grad.view(),
            0,
            &self.indices,
            table,
        ))])
    }
}

struct GatherRule {
    axis: usize,
    index: ArrayD<usize>,
}

impl Backward for GatherRule {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let axis = Axis(self.axis);
        let mut out = ArrayD::zeros(inputs[0].shape());
        Zip::from(out.lanes_mut(axis))
            .and(grad.lanes(axis))
            .and(self.index.lanes(axis))
            .for_each(|mut out, grad, index| {
                for (&g, &i) in grad.iter().zip(index) {
                    out[i] += g;
                }
            });
        Ok(vec![Some(out)])
    }
}

struct WhereRule {
    mask: ArcArray<f32, IxDyn>,
}

impl Backward for WhereRule {
    fn name(&self) -> &'static str {
        "where_cond"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let mask = self
            .mask
            .broadcast(grad.raw_dim())
            .expect("mask broadcasts to the output");
        let part = |input: &Tensor, keep_where: bool| {
            input.is_tracked().then(|| {
                let g = Zip::from(grad)
                    .and(&mask)
                    .map_collect(|&g, &m| if (m != 0.0) == keep_where { g } else { 0.0 });
                sum_to_shape(g, input.shape())
            })
        };
        Ok(vec![part(&inputs[0], true), part(&inputs[1], false)])
    }
}

impl Tensor {
    /// The entries at `indices` along `axis` (negative counts from the end), in that order;
    /// indices may repeat. The gradient adds each output entry's gradient back to the entry it
    /// was picked from.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?;
    /// assert_eq!(x.index_select(0, &[2, 0, 2])?.to_vec(), vec![4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "take")]
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Tensor> {
        let axis = normalize_axis("index_select", axis, self.ndim())?;
        let size = self.shape()[axis];
        if let Some((i, index)) = first_out_of_range(indices, size) {
            return Err(Error::invalid(
                "index_select",
                format!(
                    "index {index} at position {i} is out of range for axis {axis} of size \
                     {size} (shape {:?}); indices must be below {size}",
                    self.shape()
                ),
            ));
        }
        let value = select(self.view(), axis, indices);
        Ok(Tensor::from_op(value, &[self], |_| IndexSelectRule {
            axis,
            indices: indices.to_vec(),
        }))
    }

    /// An embedding lookup: row `i` of `self` (along axis 0) for each index `i` of `indices`, so
    /// the result has shape `indices.shape ++ self.shape[1..]`. `indices` holds non-negative
    /// integers as `f32` and gets no gradient; the table's gradient adds up every row's uses.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let table = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0], &[3, 2])?;
    /// let tokens = Tensor::from_vec(vec![2.0, 0.0, 1.0, 2.0], &[2, 2])?;
    /// let embedded = table.take(&tokens)?;
    /// assert_eq!(embedded.shape(), &[2, 2, 2]);
    /// assert_eq!(embedded.to_vec(), vec![2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "embedding_lookup")]
    pub fn take(&self, indices: &Tensor) -> Result<Tensor> {
        let Some(&rows) = self.shape().first() else {
            return Err(Error::shape(
                "take",
                "the table is a scalar; it needs at least 1 axis (its rows), e.g. shape \
                 [vocabulary, features]",
            ));
        };
        let flat = indices.to_indices("take")?;
        if let Some((i, index)) = first_out_of_range(&flat, rows) {
            return Err(Error::invalid(
                "take",
                format!(
                    "index {index} at position {:?} of the indices is out of range for a table \
                     of {rows} rows (shape {:?}); indices must be below {rows}",
                    position(indices.shape(), i),
                    self.shape()
                ),
            ));
        }
        let mut shape = indices.shape().to_vec();
        shape.extend_from_slice(&self.shape()[1..]);
        let value = select(self.view(), 0, &flat)
            .into_shape_with_order(IxDyn(&shape))
            .expect("row-major with the same element count");
        Ok(Tensor::from_op(value, &[self], |_| TakeRule {
            indices: flat,
        }))
    }

    /// `out[p] = self[p with its axis-th coordinate replaced by index[p]]`: numpy's
    /// `take_along_axis`, torch's `gather`. `index` holds non-negative integers as `f32`, has as
    /// many axes as `self` and the same size on every axis but `axis`; the result has `index`'s
    /// shape. The gradient adds back to the entries picked; `index` gets none.
    ///
    /// Picking each row's log-probability of its sparse label:
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let logp = Tensor::from_vec(vec![-0.1, -2.3, -3.0, -1.2, -0.4, -2.0], &[2, 3])?;
    /// let labels = Tensor::from(vec![0u8, 1]);
    /// let picked = logp.gather(1, &labels.reshape(&[-1, 1])?)?;
    /// assert_eq!(picked.to_vec(), vec![-0.1, -0.4]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias = "take_along_axis")]
    pub fn gather(&self, axis: isize, index: &Tensor) -> Result<Tensor> {
        let axis = normalize_axis("gather", axis, self.ndim())?;
        if index.ndim() != self.ndim() {
            return Err(Error::shape(
                "gather",
                format!(
                    "index of shape {:?} has {} axes but the tensor of shape {:?} has {}; give \
                     index one axis per tensor axis (for one label per row: \
                     labels.reshape(&[-1, 1]))",
                    index.shape(),
                    index.ndim(),
                    self.shape(),
                    self.ndim()
                ),
            ));
        }
        if let Some(d) =
            (0..self.ndim()).find(|&d| d != axis && index.shape()[d] != self.shape()[d])
        {
            return Err(Error::shape(
                "gather",
                format!(
                    "index of shape {:?} and tensor of shape {:?} differ on axis {d} ({} != {}); \
                     index must match the tensor on every axis but the gathered axis {axis}",
                    index.shape(),
                    self.shape(),
                    index.shape()[d],
                    self.shape()[d]
                ),
            ));
        }
        let flat = index.to_indices("gather")?;
        let size = self.shape()[axis];
        if let Some((i, picked)) = first_out_of_range(&flat, size) {
            return Err(Error::invalid(
                "gather",
                format!(
                    "index {picked} at position {:?} is out of range for axis {axis} of size \
                     {size} (tensor shape {:?}); indices must be below {size}",
                    position(index.shape(), i),
                    self.shape()
                ),
            ));
        }
        let index = ArrayD::from_shape_vec(IxDyn(index.shape()), flat).expect("same length");
        let ax = Axis(axis);
        let mut value = ArrayD::zeros(index.shape());
        // Lanes along the axis pair up one to one: the other axes have equal sizes.
        Zip::from(value.lanes_mut(ax))
            .and(self.view().lanes(ax))
            .and(index.lanes(ax))
            .for_each(|mut out, source, index| {
                for (out, &i) in out.iter_mut().zip(index) {
                    *out = source[i];
                }
            });
        Ok(Tensor::from_op(value, &[self], |_| GatherRule {
            axis,
            index,
        }))
    }

    /// `on_true` where `mask` is nonzero (NaN counts as nonzero), `on_false` elsewhere; the three broadcast together.
    /// Gradients flow to `on_true` and `on_false` (each summed back to its own shape); the mask
    /// is a constant and gets none.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from(vec![-2.0, 0.5, 3.0]);
    /// let clipped = Tensor::where_cond(&x.gt(&Tensor::scalar(1.0))?, &Tensor::scalar(1.0), &x)?;
    /// assert_eq!(clipped.to_vec(), vec![-2.0, 0.5, 1.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias("where", "select"))]
    pub fn where_cond(mask: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        let shape = broadcast_shapes("where_cond", mask.shape(), on_true.shape())
            .and_then(|s| broadcast_shapes("where_cond", &s, on_false.shape()))
            .map_err(|_| {
                Error::shape(
                    "where_cond",
                    format!(
                        "mask {:?}, on_true {:?} and on_false {:?} do not broadcast together; \
                         aligned from the end, each axis must be equal or 1 across the three",
                        mask.shape(),
                        on_true.shape(),
                        on_false.shape()
                    ),
                )
            })?;
        let shape = IxDyn(&shape);
        let value = Zip::from(mask.view().broadcast(shape.clone()).expect("checked"))
            .and(on_true.view().broadcast(shape.clone()).expect("checked"))
            .and(on_false.view().broadcast(shape).expect("checked"))
            .map_collect(|&m, &t, &f| if m != 0.0 { t } else { f });
        Ok(Tensor::from_op(value, &[on_true, on_false], |_| {
            WhereRule {
                mask: mask.array().clone(),
            }
        }))
    }

    /// Class labels as one-hot rows: shape `labels.shape ++ [num_classes]`, with a 1 at each
    /// label's class. Labels are non-negative integers (as `f32`) below `num_classes`. There is
    /// no gradient with respect to labels: asking for one through this op is an error.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let labels = Tensor::from(vec![2u8, 0]);
    /// let onehot = Tensor::one_hot(&labels, 3)?;
    /// assert_eq!(onehot.shape(), &[2, 3]);
    /// assert_eq!(onehot.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    #[doc(alias("to_categorical", "eye"))]
    pub fn one_hot(labels: &Tensor, num_classes: usize) -> Result<Tensor> {
        let flat = labels.to_indices("one_hot")?;
        if let Some((i, label)) = first_out_of_range(&flat, num_classes) {
            let largest = flat.iter().max().copied().unwrap_or(label);
            return Err(Error::invalid(
                "one_hot",
                format!(
                    "label {label} at position {:?} is not below num_classes {num_classes}; \
                     labels must be 0..{num_classes} (the largest here is {largest}, which needs \
                     num_classes {})",
                    position(labels.shape(), i),
                    largest + 1
                ),
            ));
        }
        let mut shape = labels.shape().to_vec();
        shape.push(num_classes);
        super::checked_len("one_hot", &shape)?;
        let mut value = ndarray::Array2::<f32>::zeros((flat.len(), num_classes));
        for (mut row, &label) in value.rows_mut().into_iter().zip(&flat) {
            row[label] = 1.0;
        }
        let value = value
            .into_shape_with_order(IxDyn(&shape))
            .expect("row-major with the same element count");
        Ok(Tensor::from_op(value, &[labels], |_| {
            NotDifferentiable("one_hot")
        }))
    }
}

/// Element-wise `test(a, b)` of `a` and `b` broadcast together, as an untracked 0/1 mask.
fn compare(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    test: impl Fn(f32, f32) -> bool,
) -> Result<Tensor> {
    let shape = IxDyn(&broadcast_shapes(op, a.shape(), b.shape())?);
    let (av, bv) = (a.view(), b.view());
    let av = av
        .broadcast(shape.clone())
        .expect("broadcast shape checked");
    let bv = bv.broadcast(shape).expect("broadcast shape checked");
    let value = Zip::from(&av)
        .and(&bv)
        .map_collect(|&x, &y| if test(x, y) { 1.0 } else { 0.0 });
    // A step function has no useful gradient: the mask is a constant, not on the graph.
    Ok(Tensor::new(value))
}

macro_rules! comparison {
    ($(#[$doc:meta])* $name:ident, $test:expr) => {
        impl Tensor {
            $(#[$doc])*
            ///
            /// The two broadcast together. The result is an untracked mask of 0s and 1s: masks are
            /// constants, and no gradient flows through them.
            pub fn $name(&self, other: &Tensor) -> Result<Tensor> {
                compare(stringify!($name), self, other, $test)
            }
        }
    };
}

comparison!(
    /// 1 where `self > other`, else 0 (NaN compares false).
    #[doc(alias = "greater")]
    gt, |x, y| x > y
);
comparison!(
    /// 1 where `self >= other`, else 0 (NaN compares false).
    #[doc(alias = "greater_equal")]
    ge, |x, y| x >= y
);
comparison!(
    /// 1 where `self < other`, else 0 (NaN compares false).
    #[doc(alias = "less")]
    lt, |x, y| x < y
);
comparison!(
    /// 1 where `self <= other`, else 0 (NaN compares false).
    #[doc(alias = "less_equal")]
    le, |x, y| x <= y
);
comparison!(
    /// 1 where `self == other`, else 0 (NaN compares false). Unlike `==` on tensors, which
    /// compares whole tensors to one `bool`.
    #[doc(alias = "equal")]
    eq, |x, y| x == y
);
