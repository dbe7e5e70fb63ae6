//! [`Mlp`]: a stack of dense layers with an activation between them.

use std::fmt;
use std::sync::Arc;

use super::{Dropout, Linear, Relu, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::ops::Activation;
use crate::tensor::{Initializer, Tensor};

/// A multi-layer perceptron: one [`Linear`] layer per size, each but the last followed by the
/// activation ([`Relu`] unless set; inside the dense layer's own op when the activation has an
/// [`Activation`] form, as [`Relu`], `Sigmoid` and `Tanh` do) and, if set, [`Dropout`]. The
/// output is the last layer's, with no activation: logits, for a loss `from_logits`.
///
/// Parameter paths are those of its layers: `mlp/linear/kernel`, `mlp/linear_1/kernel`, ...
///
/// ```
/// use elegy_core::module::layers::{Mlp, Tanh};
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let mlp = Mlp::new(&[32, 32, 10]).activation(Tanh).dropout(0.1);
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
/// assert_eq!(ctx.call(&mlp, &Tensor::ones(&[4, 64]))?.shape(), &[4, 10]);
/// let (params, _, _) = ctx.finish();
/// assert_eq!(params.require("mlp/linear_2/kernel")?.shape(), &[32, 10]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Mlp {
    /// Output features of each layer, the last being the network's.
    pub sizes: Vec<usize>,
    /// Applied after every layer but the last.
    pub activation: Arc<dyn Module>,
    /// The rate of a [`Dropout`] after every activation, if any.
    pub dropout: Option<f32>,
    /// Whether the layers add a bias.
    pub use_bias: bool,
    /// How the layers' kernels start.
    pub kernel_init: Initializer,
    /// How the layers' biases start.
    pub bias_init: Initializer,
}

impl Mlp {
    /// Layers of `sizes` output features, [`Relu`] between them, no dropout, Keras' [`Linear`]
    /// defaults.
    pub fn new(sizes: &[usize]) -> Mlp {
        let linear = Linear::new(0);
        Mlp {
            sizes: sizes.to_vec(),
            activation: Arc::new(Relu),
            dropout: None,
            use_bias: linear.use_bias,
            kernel_init: linear.kernel_init,
            bias_init: linear.bias_init,
        }
    }

    /// With `activation` between the layers.
    pub fn activation(mut self, activation: impl Module + 'static) -> Mlp {
        self.activation = Arc::new(activation);
        self
    }

    /// With dropout of `rate` after every activation.
    pub fn dropout(mut self, rate: f32) -> Mlp {
        self.dropout = Some(rate);
        self
    }

    /// With or without biases.
    pub fn use_bias(mut self, use_bias: bool) -> Mlp {
        self.use_bias = use_bias;
        self
    }

    /// With the kernels starting from `init`.
    pub fn kernel_init(mut self, init: Initializer) -> Mlp {
        self.kernel_init = init;
        self
    }

    /// With the biases starting from `init`.
    pub fn bias_init(mut self, init: Initializer) -> Mlp {
        self.bias_init = init;
        self
    }
}

impl fmt::Debug for Mlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mlp")
            .field("sizes", &self.sizes)
            .field("activation", &self.activation.kind())
            .field("dropout", &self.dropout)
            .field("use_bias", &self.use_bias)
            .field("kernel_init", &self.kernel_init)
            .field("bias_init", &self.bias_init)
            .finish()
    }
}

impl Module for Mlp {
    fn kind(&self) -> &'static str {
        "Mlp"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        let Some((last, hidden)) = self.sizes.split_last() else {
            return Err(Error::invalid(
                "Mlp",
                format!(
                    "{} has no layer sizes; give at least one, e.g. Mlp::new(&[64, 10])",
                    layer_at(ctx)
                ),
            ));
        };
        let linear = |units, activation| Linear {
            units,
            use_bias: self.use_bias,
            kernel_init: self.kernel_init,
            bias_init: self.bias_init,
            activation,
        };
        // An activation the dense op can apply runs inside it (same values, one pass fewer).
        let fused = self.activation.as_activation();
        let mut h = x.clone();
        for &units in hidden {
            h = ctx.call(&linear(units, fused.unwrap_or_default()), &h)?;
            if fused.is_none() {
                h = ctx.call(self.activation.as_ref(), &h)?;
            }
            if let Some(rate) = self.dropout {
                h = ctx.call(&Dropout::new(rate), &h)?;
            }
        }
        ctx.call(&linear(*last, Activation::Identity), &h)
    }
}
