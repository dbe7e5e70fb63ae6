//! Element-wise ops of one tensor: arithmetic with a scalar, powers, logs and activations.
//!
//! Each is a forward function `f(x)` and a derivative `f'(x, y)` that may use the input `x` or
//! the output `y = f(x)`, whichever is cheaper (sigmoid's is `y (1 - y)`).

use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

use super::{map_values, map_values3, vector_math};
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The backward rule of an element-wise op: `grad * derivative(x, y)`.
struct ElementwiseRule<D> {
    name: &'static str,
    input: ArcArray<f32, IxDyn>,
    output: ArcArray<f32, IxDyn>,
    derivative: D,
}

impl<D: Fn(f32, f32) -> f32 + Send + Sync> Backward for ElementwiseRule<D> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        let d = &self.derivative;
        let slices = (
            grad.as_slice(),
            self.input.as_slice(),
            self.output.as_slice(),
        );
        if let (Some(g), Some(x), Some(y)) = slices
            && grad.shape() == self.input.shape()
        {
            let values = map_values3((g, x, y), |g, x, y| g * d(x, y));
            let g = ArrayD::from_shape_vec(grad.raw_dim(), values).expect("the gradient's shape");
            return Ok(vec![Some(g)]);
        }
        let g = Zip::from(grad)
            .and(&self.input)
            .and(&self.output)
            .map_collect(|&g, &x, &y| g * d(x, y));
        Ok(vec![Some(g)])
    }
}

impl Tensor {
    /// `forward` on each element, differentiated by `derivative(x, y)`.
    fn elementwise(
        &self,
        name: &'static str,
        forward: impl Fn(f32) -> f32 + Sync,
        derivative: impl Fn(f32, f32) -> f32 + Send + Sync + 'static,
    ) -> Tensor {
        let view = self.view();
        let value = match view.as_slice() {
            Some(x) => ArrayD::from_shape_vec(view.raw_dim(), map_values(x, forward))
                .expect("the input's shape"),
            None => view.mapv(forward),
        };
        Tensor::from_op(value, &[self], |output| ElementwiseRule {
            name,
            input: self.array().clone(),
            output: output.clone(),
            derivative,
        })
    }

    /// `-self`.
    #[doc(alias = "negative")]
    pub fn neg(&self) -> Tensor {
        self.elementwise("neg", |x| -x, |_, _| -1.0)
    }

    /// `self + s` for a scalar `s`.
    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.elementwise("add_scalar", move |x| x + s, |_, _| 1.0)
    }

    /// `self - s` for a scalar `s`.
    pub fn sub_scalar(&self, s: f32) -> Tensor {
        self.elementwise("sub_scalar", move |x| x - s, |_, _| 1.0)
    }

    /// `s - self` for a scalar `s`.
    pub fn rsub_scalar(&self, s: f32) -> Tensor {
        self.elementwise("rsub_scalar", move |x| s - x, |_, _| -1.0)
    }

    /// `self * s` for a scalar `s`.
    pub fn mul_scalar(&self, s: f32) -> Tensor {
        self.elementwise("mul_scalar", move |x| x * s, move |_, _| s)
    }

    /// `self / s` for a scalar `s`.
    pub fn div_scalar(&self, s: f32) -> Tensor {
        self.elementwise("div_scalar", move |x| x / s, move |_, _| 1.0 / s)
    }

    /// `s / self` for a scalar `s`.
    pub fn rdiv_scalar(&self, s: f32) -> Tensor {
        self.elementwise("rdiv_scalar", move |x| s / x, move |x, _| -s / (x * x))
    }

    /// `self` raised to the scalar power `p`.
    #[doc(alias("pow", "power"))]
    pub fn powf(&self, p: f32) -> Tensor {
        self.elementwise(
            "powf",
            move |x| x.powf(p),
            move |x, _| if p == 0.0 { 0.0 } else { p * x.powf(p - 1.0) },
        )
    }

    /// `self * self`.
    pub fn square(&self) -> Tensor {
        self.elementwise("square", |x| x * x, |x, _| 2.0 * x)
    }

    /// `1 / self`.
    #[doc(alias = "reciprocal")]
    pub fn recip(&self) -> Tensor {
        self.elementwise("recip", |x| 1.0 / x, |_, y| -y * y)
    }

    /// `e^self`.
    pub fn exp(&self) -> Tensor {
        self.elementwise("exp", vector_math::exp, |_, y| y)
    }

    /// The natural logarithm.
    pub fn log(&self) -> Tensor {
        self.elementwise("log", f32::ln, |x, _| 1.0 / x)
    }

    /// `ln(1 + self)`, accurate near 0.
    pub fn log1p(&self) -> Tensor {
        self.elementwise("log1p", f32::ln_1p, |x, _| 1.0 / (1.0 + x))
    }

    /// The square root.
    pub fn sqrt(&self) -> Tensor {
        self.elementwise("sqrt", f32::sqrt, |_, y| 0.5 / y)
    }

    /// The absolute value (gradient 0 at 0).
    #[doc(alias = "absolute")]
    pub fn abs(&self) -> Tensor {
        self.elementwise("abs", f32::abs, |x, _| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }

    /// `max(self, 0)` (gradient 0 at 0; NaN stays NaN).
    pub fn relu(&self) -> Tensor {
        self.elementwise("relu", relu, |x, _| relu_slope(x))
    }

    /// `x` where positive, `alpha * x` elsewhere.
    pub fn leaky_relu(&self, alpha: f32) -> Tensor {
        self.elementwise(
            "leaky_relu",
            move |x| if x > 0.0 { x } else { alpha * x },
            move |x, _| if x > 0.0 { 1.0 } else { alpha },
        )
    }

    /// `x` where positive, `alpha * (e^x - 1)` elsewhere.
    pub fn elu(&self, alpha: f32) -> Tensor {
        self.elementwise(
            "elu",
            move |x| if x > 0.0 { x } else { alpha * x.exp_m1() },
            move |x, y| if x > 0.0 { 1.0 } else { y + alpha },
        )
    }

    /// The Gaussian error linear unit, exact: `x * Phi(x)` (PyTorch's and Keras' default).
    pub fn gelu(&self) -> Tensor {
        const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
        let inv_sqrt_2pi = 1.0 / (2.0 * std::f32::consts::PI).sqrt();
        self.elementwise(
            "gelu",
            |x| 0.5 * x * (1.0 + libm::erff(x * FRAC_1_SQRT_2)),
            move |x, _| {
                0.5 * (1.0 + libm::erff(x * FRAC_1_SQRT_2))
                    + x * inv_sqrt_2pi * (-0.5 * x * x).exp()
            },
        )
    }

    /// The Gaussian error linear unit, tanh approximation (JAX's default).
    pub fn gelu_tanh(&self) -> Tensor {
        const C: f32 = 0.797_884_6; // sqrt(2 / pi)
        self.elementwise(
            "gelu_tanh",
            |x| 0.5 * x * (1.0 + (C * (x + 0.044_715 * x * x * x)).tanh()),
            |x, _| {
                let t = (C * (x + 0.044_715 * x * x * x)).tanh();
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * C * (1.0 + 3.0 * 0.044_715 * x * x)
            },
        )
    }

    /// `1 / (1 + e^-self)`, stable for large negative inputs.
    #[doc(alias = "expit")]
    pub fn sigmoid(&self) -> Tensor {
        self.elementwise("sigmoid", sigmoid, |_, y| sigmoid_slope(y))
    }

    /// The hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        self.elementwise("tanh", vector_math::tanh, |_, y| tanh_slope(y))
    }

    /// `ln(1 + e^self)`, stable for inputs of any size.
    pub fn softplus(&self) -> Tensor {
        self.elementwise(
            "softplus",
            |x| x.max(0.0) + (-x.abs()).exp().ln_1p(),
            |x, _| sigmoid(x),
        )
    }

    /// `ln(sigmoid(self))`, stable for inputs of any size.
    pub fn log_sigmoid(&self) -> Tensor {
        self.elementwise(
            "log_sigmoid",
            |x| x.min(0.0) - (-x.abs()).exp().ln_1p(),
            |x, _| sigmoid(-x),
        )
    }

    /// Each element limited to `[min, max]`; the gradient is 0 where a bound applies.
    #[doc(alias = "clip")]
    pub fn clamp(&self, min: f32, max: f32) -> Result<Tensor> {
        if min > max || min.is_nan() || max.is_nan() {
            return Err(Error::invalid(
                "clamp",
                format!("bounds [{min}, {max}] are empty; pass min <= max"),
            ));
        }
        Ok(self.elementwise(
            "clamp",
            move |x| x.clamp(min, max),
            move |x, _| (x >= min && x <= max) as u8 as f32,
        ))
    }
}

/// `max(x, 0)`: the standalone op's and the dense op's activation alike. NaN stays NaN (as in
/// PyTorch and JAX), so that a diverging layer shows in the loss instead of going quiet.
pub(crate) fn relu(x: f32) -> f32 {
    if x <= 0.0 { 0.0 } else { x }
}

/// The derivative of [`relu`] at `x` (0 at 0), also read off its output: positive where `x` is.
pub(crate) fn relu_slope(x_or_y: f32) -> f32 {
    (x_or_y > 0.0) as u8 as f32
}

/// The derivative of [`sigmoid`] at the input that gave the output `y`.
pub(crate) fn sigmoid_slope(y: f32) -> f32 {
    y * (1.0 - y)
}

/// The derivative of `tanh` at the input that gave the output `y`.
pub(crate) fn tanh_slope(y: f32) -> f32 {
    1.0 - y * y
}

/// The logistic function, computed without overflow, in code that vectorizes.
pub(crate) use super::vector_math::sigmoid;
