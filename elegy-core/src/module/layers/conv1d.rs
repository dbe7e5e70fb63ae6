//! [`Conv1D`]: the 1-D convolution layer over sequences `[batch, time, channels]`, with Keras'
//! causal padding.

use super::{check_rank, check_size};
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::ops::{Conv2dOptions, Padding};
use crate::tensor::{Initializer, Tensor};

/// How [`Conv1D`] pads the time axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Padding1d {
    /// None: only windows wholly inside the sequence.
    #[default]
    Valid,
    /// Enough zeros that the output has `ceil(time / stride)` steps (the odd one at the end).
    Same,
    /// `(kernel - 1) * dilation` zeros before the sequence and none after, so that output `t`
    /// sees inputs up to `t` only (WaveNet's, Keras' `"causal"`).
    Causal,
}

/// A 1-D convolution of sequences `[batch, time, channels] -> [batch, steps, filters]` plus a
/// bias per filter, as Keras' `Conv1D` without the activation. Computed by the 2-D convolution
/// over a height of 1.
///
/// Parameters, as Keras': `kernel [kernel_size, channels, filters]` (Glorot-uniform) and `bias
/// [filters]` (zeros).
///
/// ```
/// use elegy_core::module::layers::{Conv1D, Padding1d};
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let layer = Conv1D::new(8, 3).padding(Padding1d::Causal).dilation(2);
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
/// assert_eq!(ctx.call(&layer, &Tensor::ones(&[2, 20, 4]))?.shape(), &[2, 20, 8]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv1D {
    /// Output channels.
    pub filters: usize,
    /// Taps of the kernel.
    pub kernel_size: usize,
    /// Steps between windows.
    pub stride: usize,
    /// How the time axis is padded.
    pub padding: Padding1d,
    /// Spacing between the kernel's taps; 1 is an ordinary convolution.
    pub dilation: usize,
    /// Whether to add a bias per filter.
    pub use_bias: bool,
    /// How the kernel starts.
    pub kernel_init: Initializer,
    /// How the bias starts.
    pub bias_init: Initializer,
}

impl Conv1D {
    /// `filters` output channels from windows of `kernel_size` steps; stride 1, valid padding,
    /// no dilation, a bias, Keras' initializers.
    pub fn new(filters: usize, kernel_size: usize) -> Conv1D {
        Conv1D {
            filters,
            kernel_size,
            stride: 1,
            padding: Padding1d::Valid,
            dilation: 1,
            use_bias: true,
            kernel_init: Initializer::GlorotUniform,
            bias_init: Initializer::Zeros,
        }
    }

    /// With `stride` steps between windows.
    pub fn stride(mut self, stride: usize) -> Conv1D {
        self.stride = stride;
        self
    }

    /// With the time axis padded as `padding` says.
    pub fn padding(mut self, padding: Padding1d) -> Conv1D {
        self.padding = padding;
        self
    }

    /// With the kernel's taps `dilation` apart.
    pub fn dilation(mut self, dilation: usize) -> Conv1D {
        self.dilation = dilation;
        self
    }

    /// With or without the bias.
    pub fn use_bias(mut self, use_bias: bool) -> Conv1D {
        self.use_bias = use_bias;
        self
    }
}

impl Module for Conv1D {
    fn kind(&self) -> &'static str {
        "Conv1D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank(
            "Conv1D",
            ctx,
            x,
            3,
            "sequences [batch, time, channels]; add a channel axis of 1 with reshape",
        )?;
        check_size("Conv1D", ctx, "filters", self.filters)?;
        check_size("Conv1D", ctx, "kernel_size", self.kernel_size)?;
        let (batch, time, channels) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let kernel = ctx.param(
            "kernel",
            &[self.kernel_size, channels, self.filters],
            self.kernel_init,
        )?;
        let padding = match self.padding {
            Padding1d::Valid => Padding::Valid,
            Padding1d::Same => Padding::Same,
            Padding1d::Causal => Padding::Explicit {
                top: 0,
                bottom: 0,
                left: (self.kernel_size - 1) * self.dilation,
                right: 0,
            },
        };
        let options = Conv2dOptions {
            stride: (1, self.stride),
            padding,
            dilation: (1, self.dilation),
        };
        let as_image = x.reshape(&[batch as isize, 1, time as isize, channels as isize])?;
        let kernel = kernel.reshape(&[
            1,
            self.kernel_size as isize,
            channels as isize,
            self.filters as isize,
        ])?;
        let y = as_image.conv2d(&kernel, &options)?;
        let steps = y.shape()[2];
        let y = y.reshape(&[batch as isize, steps as isize, self.filters as isize])?;
        if !self.use_bias {
            return Ok(y);
        }
        let bias = ctx.param("bias", &[self.filters], self.bias_init)?;
        y.add(&bias)
    }
}
