//! Matrix multiplication, 2-D and batched (leading axes broadcast like numpy's `matmul`).

use ndarray::{Array3, ArrayD, ArrayView2, Axis, Ix2, IxDyn};

use super::{broadcast_shapes, product, product_into, sum_to_shape};
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

struct MatmulRule;

impl Backward for MatmulRule {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let (a, b) = (&inputs[0], &inputs[1]);
        if a.ndim() == 2 && b.ndim() == 2 {
            let g = as_matrix(grad.view());
            let (av, bv) = (as_matrix(a.view()), as_matrix(b.view()));
            // Transposed views, not copies: `gemm` takes any strides.
            let ga = a.is_tracked().then(|| product(&g, &bv.t()).into_dyn());
            let gb = b.is_tracked().then(|| product(&av.t(), &g).into_dyn());
            return Ok(vec![ga, gb]);
        }
        let ga = a.is_tracked().then(|| {
            let full = batched(grad, &b.view().swapped_last_two());
            sum_to_shape(full, a.shape())
        });
        let gb = b.is_tracked().then(|| {
            let full = batched(&a.view().swapped_last_two(), grad);
            sum_to_shape(full, b.shape())
        });
        Ok(vec![ga, gb])
    }
}

/// Transposing the last two axes of a view, for the batched backward rule.
trait SwapLastTwo {
    fn swapped_last_two(self) -> ArrayD<f32>;
}

impl SwapLastTwo for ndarray::ArrayViewD<'_, f32> {
    fn swapped_last_two(mut self) -> ArrayD<f32> {
        let n = self.ndim();
        self.swap_axes(n - 2, n - 1);
        self.to_owned()
    }
}

fn as_matrix(view: ndarray::ArrayViewD<'_, f32>) -> ArrayView2<'_, f32> {
    view.into_dimensionality::<Ix2>().expect("2-D checked")
}

/// `a @ b` over broadcast leading axes; `a` is `[.., m, k]`, `b` is `[.., k, n]`.
fn batched(a: &ArrayD<f32>, b: &ArrayD<f32>) -> ArrayD<f32> {
    let (ra, rb) = (a.ndim(), b.ndim());
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let batch = broadcast_shapes("matmul", &a.shape()[..ra - 2], &b.shape()[..rb - 2])
        .expect("batch shapes checked");
    let count: usize = batch.iter().product();
    let stacked = |x: &ArrayD<f32>, rows: usize, cols: usize| -> Array3<f32> {
        let mut shape = batch.clone();
        shape.extend([rows, cols]);
        let full = x.broadcast(IxDyn(&shape)).expect("checked");
        // Copies in logical order: a broadcast view has no contiguous layout to reshape.
        Array3::from_shape_vec((count, rows, cols), full.iter().copied().collect())
            .expect("element count matches")
    };
    let (a3, b3) = (stacked(a, m, k), stacked(b, k, n));
    let mut out = Array3::<f32>::zeros((count, m, n));
    for ((a, b), mut c) in a3
        .axis_iter(Axis(0))
        .zip(b3.axis_iter(Axis(0)))
        .zip(out.axis_iter_mut(Axis(0)))
    {
        product_into(&a, &b, 0.0, &mut c);
    }
    let mut shape = batch;
    shape.extend([m, n]);
    out.into_shape_with_order(IxDyn(&shape))
        .expect("contiguous")
}

impl Tensor {
    /// The matrix product. Both operands have at least 2 axes: `[.., m, k] @ [.., k, n]` gives
    /// `[.., m, n]`, with the leading (batch) axes broadcast as in numpy.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::zeros(&[64, 784]);
    /// let w = Tensor::zeros(&[128, 10]);
    /// let err = x.matmul(&w).unwrap_err().to_string();
    /// assert!(err.starts_with("matmul: shapes [64, 784] and [128, 10] do not align (784 != 128)"));
    /// ```
    #[doc(alias("dot", "mm"))]
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self.shape(), other.shape());
        if a.len() < 2 || b.len() < 2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "shapes {a:?} and {b:?}: both operands need at least 2 axes; \
                     make a vector a row with .reshape(&[1, -1]) or a column with .reshape(&[-1, 1])"
                ),
            ));
        }
        let (k1, k2) = (a[a.len() - 1], b[b.len() - 2]);
        if k1 != k2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "shapes {a:?} and {b:?} do not align ({k1} != {k2}); the last axis of the \
                     left operand must equal the second-to-last of the right"
                ),
            ));
        }
        let value = if a.len() == 2 && b.len() == 2 {
            product(&as_matrix(self.view()), &as_matrix(other.view())).into_dyn()
        } else {
            broadcast_shapes("matmul", &a[..a.len() - 2], &b[..b.len() - 2])?;
            batched(&self.to_array(), &other.to_array())
        };
        Ok(Tensor::from_op(value, &[self, other], |_| MatmulRule))
    }
}
