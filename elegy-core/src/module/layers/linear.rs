//! [`Linear`]: the dense layer.

use super::{check_min_rank, check_size};
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::ops::Activation;
use crate::tensor::{Initializer, Tensor};

/// A dense (fully connected) layer: `x @ kernel + bias` over the last axis of `x`, which may
/// have any leading axes (`[.., in] -> [.., units]`), then an optional [`Activation`] in the
/// same op; Keras' `Dense`. `Linear::new(64).activation(Activation::Relu)` gives the values of
/// `Linear::new(64)` then the `Relu` layer, in less time and memory.
///
/// Parameters: `kernel` `[in, units]` (Glorot-uniform) and `bias` `[units]` (zeros), `in` taken
/// from the first batch.
///
/// ```
/// use elegy_core::module::layers::Linear;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{Initializer, RngKey, Tensor, TensorMap};
///
/// let layer = Linear::new(3).kernel_init(Initializer::Ones).bias_init(Initializer::Constant(0.5));
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
/// let y = ctx.call(&layer, &Tensor::ones(&[2, 5, 4]))?;
/// assert_eq!(y.shape(), &[2, 5, 3]);
/// assert!(y.to_vec().iter().all(|&v| v == 4.5));
/// let (params, _, _) = ctx.finish();
/// assert_eq!(params.require("linear/kernel")?.shape(), &[4, 3]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    /// Output features.
    pub units: usize,
    /// Whether to add a bias.
    pub use_bias: bool,
    /// How the kernel starts.
    pub kernel_init: Initializer,
    /// How the bias starts.
    pub bias_init: Initializer,
    /// Applied to the output in the same op; none by default.
    pub activation: Activation,
}

impl Linear {
    /// `units` output features, with a bias, Keras' initializers.
    pub fn new(units: usize) -> Linear {
        Linear {
            units,
            use_bias: true,
            kernel_init: Initializer::GlorotUniform,
            bias_init: Initializer::Zeros,
            activation: Activation::Identity,
        }
    }

    /// With or without the bias.
    pub fn use_bias(mut self, use_bias: bool) -> Linear {
        self.use_bias = use_bias;
        self
    }

    /// With the kernel starting from `init`.
    pub fn kernel_init(mut self, init: Initializer) -> Linear {
        self.kernel_init = init;
        self
    }

    /// With the bias starting from `init`.
    pub fn bias_init(mut self, init: Initializer) -> Linear {
        self.bias_init = init;
        self
    }

    /// With `activation` applied to the output, in the same op.
    pub fn activation(mut self, activation: Activation) -> Linear {
        self.activation = activation;
        self
    }
}

impl Module for Linear {
    fn kind(&self) -> &'static str {
        "Linear"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("Linear", ctx, x, 1, "[.., features]")?;
        check_size("Linear", ctx, "units", self.units)?;
        let features = x.shape()[x.ndim() - 1];
        let kernel = ctx.param("kernel", &[features, self.units], self.kernel_init)?;
        let bias = if self.use_bias {
            Some(ctx.param("bias", &[self.units], self.bias_init)?)
        } else {
            None
        };
        // One op over all leading axes at once: a single product onto the bias rows.
        x.linear_activated(&kernel, bias.as_ref(), self.activation)
    }
}
