//! Activation functions as layers, for stacks like [`Sequential`](crate::module::Sequential).
//!
//! Inside a module of your own, call the functions on [`Tensor`] directly instead:
//! [`Tensor::relu`], [`Tensor::gelu`] (and [`Tensor::gelu_tanh`]), [`Tensor::sigmoid`],
//! [`Tensor::tanh`], [`Tensor::softmax`], [`Tensor::leaky_relu`], [`Tensor::elu`]. These layers
//! have no parameters.

use super::check_min_rank;
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::ops::Activation;
use crate::tensor::Tensor;

macro_rules! activation {
    ($(#[$doc:meta])* $layer:ident, $kind:literal, |$x:ident| $body:expr $(, $fused:expr)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $layer;

        impl Module for $layer {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn forward(&self, $x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
                Ok($body)
            }

            $(
                fn as_activation(&self) -> Option<Activation> {
                    Some($fused)
                }
            )?
        }
    };
}

activation!(
    /// `max(x, 0)` element by element ([`Tensor::relu`]).
    ///
    /// ```
    /// use elegy_core::module::layers::{Linear, Relu};
    /// use elegy_core::module::Sequential;
    /// let hidden = Sequential::new().layer(Linear::new(64)).layer(Relu);
    /// assert_eq!(hidden.len(), 2);
    /// ```
    Relu, "Relu", |x| x.relu(), Activation::Relu
);

activation!(
    /// The Gaussian error linear unit, exact, element by element ([`Tensor::gelu`]), as
    /// Keras' and PyTorch's default.
    Gelu, "Gelu", |x| x.gelu()
);

activation!(
    /// `1 / (1 + e^-x)` element by element ([`Tensor::sigmoid`]).
    Sigmoid, "Sigmoid", |x| x.sigmoid(), Activation::Sigmoid
);

activation!(
    /// The hyperbolic tangent element by element ([`Tensor::tanh`]).
    Tanh, "Tanh", |x| x.tanh(), Activation::Tanh
);

/// The softmax over the last axis ([`Tensor::softmax`]): each row becomes probabilities. For
/// training with a cross-entropy, prefer logits and a loss `from_logits`, which is more stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax;

impl Module for Softmax {
    fn kind(&self) -> &'static str {
        "Softmax"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("Softmax", ctx, x, 1, "[.., classes]")?;
        x.softmax(-1)
    }
}

/// `x` where positive, `alpha * x` elsewhere ([`Tensor::leaky_relu`]); Keras' default slope is
/// 0.3.
///
/// ```
/// use elegy_core::module::layers::LeakyRelu;
/// assert_eq!(LeakyRelu::default().alpha, 0.3);
/// assert_eq!(LeakyRelu::new(0.01).alpha, 0.01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope below 0.
    pub alpha: f32,
}

impl LeakyRelu {
    /// With slope `alpha` below 0.
    pub fn new(alpha: f32) -> LeakyRelu {
        LeakyRelu { alpha }
    }
}

impl Default for LeakyRelu {
    /// Keras' slope, 0.3.
    fn default() -> LeakyRelu {
        LeakyRelu::new(0.3)
    }
}

impl Module for LeakyRelu {
    fn kind(&self) -> &'static str {
        "LeakyRelu"
    }

    fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
        Ok(x.leaky_relu(self.alpha))
    }
}

/// `x` where positive, `alpha * (e^x - 1)` elsewhere ([`Tensor::elu`]); `alpha` is 1 by
/// default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// The value approached as `x` goes to minus infinity is `-alpha`.
    pub alpha: f32,
}

impl Elu {
    /// With `alpha` as the (negated) limit below 0.
    pub fn new(alpha: f32) -> Elu {
        Elu { alpha }
    }
}

impl Default for Elu {
    /// `alpha` 1, as in Keras.
    fn default() -> Elu {
        Elu::new(1.0)
    }
}

impl Module for Elu {
    fn kind(&self) -> &'static str {
        "Elu"
    }

    fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
        Ok(x.elu(self.alpha))
    }
}
