//! The dense layer's affine map `x @ kernel + bias` as one op: the product accumulates onto the
//! bias rows (no second pass, no second array), and one backward rule gives all three gradients
//! (the bias's is a column sum, with no broadcast copies of the output's gradient). An
//! activation can follow in the same op, applied in place to the fresh output.

use ndarray::{ArcArray, Array1, ArrayD, ArrayRef, ArrayView2, Axis, CowArray, Ix2, IxDyn};

use super::unary::{relu, relu_slope, sigmoid, sigmoid_slope, tanh_slope};
use super::vector_math::tanh;
use super::{affine_product, column_sums, map_values2, map_values2_with_column_sums, product};

use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// An activation that a dense layer applies to its output in the same op
/// ([`Tensor::linear_activated`], [`Linear::activation`](crate::module::layers::Linear)), as
/// Keras' `Dense(units, activation=...)`. Each one's derivative is a function of its output, so
/// the op keeps the output alone for its gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activation {
    /// None: the affine map itself.
    #[default]
    Identity,
    /// `max(x, 0)`, as [`Tensor::relu`].
    Relu,
    /// `1 / (1 + e^-x)`, as [`Tensor::sigmoid`].
    Sigmoid,
    /// The hyperbolic tangent, as [`Tensor::tanh`].
    Tanh,
}

impl Activation {
    /// Applies the activation to `values` in place, with the standalone op's arithmetic, on this
    /// thread (each part of the product applies it to its own block). One loop per kind,
    /// chosen outside it, so that each compiles to vector code.
    fn apply(self, values: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Relu => values.iter_mut().for_each(|v| *v = relu(*v)),
            Activation::Sigmoid => values.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Tanh => values.iter_mut().for_each(|v| *v = tanh(*v)),
        }
    }

    /// `grad` times the derivative at the inputs that gave the outputs `y`, as the standalone
    /// op's, for row-major slices of one length with `cols` columns; with the sum of each column
    /// of that (the bias's gradient) from the same pass when `sums`.
    fn backward(
        self,
        grad: &[f32],
        y: &[f32],
        cols: usize,
        sums: bool,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        fn pass(
            (grad, y): (&[f32], &[f32]),
            cols: usize,
            sums: bool,
            f: impl Fn(f32, f32) -> f32 + Sync,
        ) -> (Vec<f32>, Option<Vec<f32>>) {
            if sums {
                let (values, sums) = map_values2_with_column_sums((grad, y), cols, f);
                (values, Some(sums))
            } else {
                (map_values2(grad, y, f), None)
            }
        }
        match self {
            Activation::Identity => (grad.to_vec(), sums.then(|| column_sums(grad, cols))),
            Activation::Relu => pass((grad, y), cols, sums, |g, y| g * relu_slope(y)),
            Activation::Sigmoid => pass((grad, y), cols, sums, |g, y| g * sigmoid_slope(y)),
            Activation::Tanh => pass((grad, y), cols, sums, |g, y| g * tanh_slope(y)),
        }
    }
}

struct LinearRule {
    activation: Activation,
    /// The op's output, when an activation needs it for its derivative.
    output: Option<ArcArray<f32, IxDyn>>,
}

impl Backward for LinearRule {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let (x, kernel) = (&inputs[0], &inputs[1]);
        let w = kernel_view(kernel);
        let bias_tracked = inputs.get(2).is_some_and(Tensor::is_tracked);
        // The gradient before the activation, with the bias's gradient (its column sums) from
        // the same pass: in halves on two cores when large.
        let before;
        let mut bias_grad = None;
        let grad = match &self.output {
            Some(y) => {
                // Both are row-major arrays of the op's output shape unless something unusual
                // made them otherwise; then one copy each puts them in that order.
                let (g, ys) = (grad.as_standard_layout(), y.as_standard_layout());
                let (g, ys) = (
                    g.as_slice().expect("standard"),
                    ys.as_slice().expect("standard"),
                );
                let (values, sums) = self.activation.backward(g, ys, w.ncols(), bias_tracked);
                bias_grad = sums;
                before =
                    ArrayD::from_shape_vec(grad.raw_dim(), values).expect("the output's shape");
                &before
            }
            None => grad,
        };
        let g = rows(grad, w.ncols());
        // Transposed views, not copies: `gemm` takes any strides, and BLAS takes
        // transposed contiguous layouts.
        let gx = x.is_tracked().then(|| {
            product(&g.view(), &w.t())
                .into_shape_with_order(IxDyn(x.shape()))
                .expect("the input's element count")
        });
        let gw = kernel
            .is_tracked()
            .then(|| product(&rows(x.array(), w.nrows()).t(), &g.view()).into_dyn());
        let mut grads = vec![gx, gw];
        if let Some(bias) = inputs.get(2) {
            grads.push(bias.is_tracked().then(|| {
                let sums = bias_grad.unwrap_or_else(|| match g.as_slice() {
                    Some(values) => column_sums(values, g.ncols()),
                    None => g.sum_axis(Axis(0)).to_vec(),
                });
                Array1::from(sums).into_dyn()
            }));
        }
        Ok(grads)
    }
}

/// `a` (any shape `[.., last]`) as a matrix with `last` columns: a view when its layout allows,
/// else a copy in logical order.
fn rows(a: &ArrayRef<f32, IxDyn>, last: usize) -> CowArray<'_, f32, Ix2> {
    let count = a
        .len()
        .checked_div(last)
        .unwrap_or_else(|| a.shape()[..a.ndim() - 1].iter().product());
    a.to_shape((count, last))
        .expect("the element count matches")
}

fn kernel_view(kernel: &Tensor) -> ArrayView2<'_, f32> {
    kernel
        .view()
        .into_dimensionality::<Ix2>()
        .expect("2-D checked")
}

impl Tensor {
    /// `self @ kernel + bias` over the last axis of `self`: `[.., in]` with a kernel
    /// `[in, out]` and an optional bias `[out]` gives `[.., out]`. The same values as
    /// `matmul` then `add`, in one op (one pass over the output, one backward rule).
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let kernel = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2])?;
    /// let bias = Tensor::from(vec![10.0, 20.0]);
    /// assert_eq!(x.linear(&kernel, Some(&bias))?.to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
    /// let err = x.linear(&Tensor::zeros(&[3, 5]), None).unwrap_err().to_string();
    /// assert!(err.starts_with("linear: input [2, 2] and kernel [3, 5] do not align (2 != 3)"));
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn linear(&self, kernel: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        self.linear_activated(kernel, bias, Activation::Identity)
    }

    /// `activation(self @ kernel + bias)`: [`Tensor::linear`] with an activation applied in
    /// place to its output, in the same op. The same values as `linear` then the activation's
    /// own op, with one array and one pass fewer each way.
    ///
    /// ```
    /// use elegy_core::{Activation, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, -2.0], &[1, 2])?;
    /// let kernel = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2])?;
    /// let y = x.linear_activated(&kernel, None, Activation::Relu)?;
    /// assert_eq!(y.to_vec(), vec![1.0, 0.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn linear_activated(
        &self,
        kernel: &Tensor,
        bias: Option<&Tensor>,
        activation: Activation,
    ) -> Result<Tensor> {
        let (x, k) = (self.shape(), kernel.shape());
        if self.ndim() == 0 || kernel.ndim() != 2 {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {x:?} and kernel {k:?}: the input needs at least 1 axis ([.., in]) and \
                     the kernel exactly 2 ([in, out])"
                ),
            ));
        }
        let features = x[x.len() - 1];
        if features != k[0] {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {x:?} and kernel {k:?} do not align ({features} != {}); the input's \
                     last axis must equal the kernel's first",
                    k[0]
                ),
            ));
        }
        let units = k[1];
        if let Some(b) = bias
            && b.shape() != [units]
        {
            return Err(Error::shape(
                "linear",
                format!(
                    "bias {:?} does not fit kernel {k:?}; the bias needs shape [{units}]",
                    b.shape()
                ),
            ));
        }
        let x2 = rows(self.array(), features);
        let w = kernel_view(kernel);
        let bias_row = bias.map(|b| b.view().iter().copied().collect::<Vec<f32>>());
        let product = affine_product(&x2.view(), &w, bias_row.as_deref(), |part| {
            activation.apply(part)
        });
        let mut shape = x.to_vec();
        *shape.last_mut().expect("at least 1 axis") = units;
        let value = product
            .into_shape_with_order(IxDyn(&shape))
            .expect("rows x units elements");
        let inputs: Vec<&Tensor> = std::iter::once(self).chain([kernel]).chain(bias).collect();
        Ok(Tensor::from_op(value, &inputs, |output| LinearRule {
            activation,
            output: (activation != Activation::Identity).then(|| output.clone()),
        }))
    }
}
