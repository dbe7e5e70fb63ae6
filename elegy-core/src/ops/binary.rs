//! Element-wise ops of two tensors, with numpy broadcasting.

use ndarray::{ArrayD, Zip};

use super::{broadcast_shapes, sum_to_shape};
use crate::autodiff::{Backward, InputGrads};
use crate::error::Result;
use crate::tensor::Tensor;

/// `f` applied element by element to `a` and `b` broadcast together.
fn zip_map(a: &Tensor, b: &Tensor, shape: &[usize], f: impl Fn(f32, f32) -> f32) -> ArrayD<f32> {
    if a.shape() == b.shape() {
        return Zip::from(&a.view())
            .and(&b.view())
            .map_collect(|&x, &y| f(x, y));
    }
    let av = a.view();
    let bv = b.view();
    let av = av.broadcast(shape).expect("broadcast shape checked");
    let bv = bv.broadcast(shape).expect("broadcast shape checked");
    Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y))
}

/// The gradient of input `which` (0 or 1): `d(g, a, b)` at each output element, summed back to
/// the input's shape; `None` when that input is not tracked.
fn input_grad(
    which: usize,
    grad: &ArrayD<f32>,
    inputs: &[Tensor],
    d: impl Fn(f32, f32, f32) -> f32,
) -> Option<ArrayD<f32>> {
    let (a, b) = (&inputs[0], &inputs[1]);
    if !inputs[which].is_tracked() {
        return None;
    }
    let (av, bv) = (a.view(), b.view());
    let g = Zip::from(grad)
        .and_broadcast(&av)
        .and_broadcast(&bv)
        .map_collect(|&g, &x, &y| d(g, x, y));
    Some(sum_to_shape(g, inputs[which].shape()))
}

macro_rules! binary_op {
    ($(#[$doc:meta])* $name:ident, $rule:ident, $op:literal,
     forward: $f:expr, da: $da:expr, db: $db:expr) => {
        struct $rule;

        impl Backward for $rule {
            fn name(&self) -> &'static str {
                $op
            }
            fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
                Ok(vec![input_grad(0, grad, inputs, $da), input_grad(1, grad, inputs, $db)])
            }
        }

        impl Tensor {
            $(#[$doc])*
            pub fn $name(&self, other: &Tensor) -> Result<Tensor> {
                let shape = broadcast_shapes($op, self.shape(), other.shape())?;
                let value = zip_map(self, other, &shape, $f);
                Ok(Tensor::from_op(value, &[self, other], |_| $rule))
            }
        }
    };
}

binary_op!(
    /// `self + other`, broadcasting.
    #[doc(alias = "plus")]
    add, AddRule, "add",
    forward: |x, y| x + y, da: |g, _, _| g, db: |g, _, _| g
);
binary_op!(
    /// `self - other`, broadcasting.
    #[doc(alias("subtract", "minus"))]
    sub, SubRule, "sub",
    forward: |x, y| x - y, da: |g, _, _| g, db: |g, _, _| -g
);
binary_op!(
    /// `self * other` element by element, broadcasting.
    #[doc(alias = "multiply")]
    mul, MulRule, "mul",
    forward: |x, y| x * y, da: |g, _, y| g * y, db: |g, x, _| g * x
);
binary_op!(
    /// `self / other` element by element, broadcasting.
    #[doc(alias("divide", "true_divide"))]
    div, DivRule, "div",
    forward: |x, y| x / y, da: |g, _, y| g / y, db: |g, x, y| -g * x / (y * y)
);
binary_op!(
    /// `self` raised to `other` element by element, broadcasting (`self` must be positive where
    /// the gradient with respect to `other` is wanted).
    pow, PowRule, "pow",
    forward: |x: f32, y| x.powf(y),
    da: |g, x: f32, y| if y == 0.0 { 0.0 } else { g * y * x.powf(y - 1.0) },
    db: |g, x: f32, y| if x > 0.0 { g * x.powf(y) * x.ln() } else { 0.0 }
);
binary_op!(
    /// The larger of `self` and `other` element by element (NaN where either is, as in
    /// NumPy and PyTorch); ties share the gradient equally.
    maximum, MaximumRule, "maximum",
    forward: |x: f32, y: f32| if x.is_nan() || y.is_nan() { f32::NAN } else { x.max(y) },
    da: |g, x, y| if x > y { g } else if x == y { 0.5 * g } else { 0.0 },
    db: |g, x, y| if y > x { g } else if x == y { 0.5 * g } else { 0.0 }
);
binary_op!(
    /// The smaller of `self` and `other` element by element (NaN where either is, as in
    /// NumPy and PyTorch); ties share the gradient equally.
    minimum, MinimumRule, "minimum",
    forward: |x: f32, y: f32| if x.is_nan() || y.is_nan() { f32::NAN } else { x.min(y) },
    da: |g, x, y| if x < y { g } else if x == y { 0.5 * g } else { 0.0 },
    db: |g, x, y| if y < x { g } else if x == y { 0.5 * g } else { 0.0 }
);
