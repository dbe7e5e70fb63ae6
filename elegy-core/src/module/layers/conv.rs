//! [`Conv2D`]: the 2-D convolution layer over NHWC images.

use super::{check_rank, check_size};
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::ops::{Conv2dOptions, Padding};
use crate::tensor::{Initializer, Tensor};

/// NHWC, as the rank errors of the image layers say it.
pub(super) const NHWC: &str = "NHWC images [batch, height, width, channels]; add a batch axis \
                               of 1 to a single image, or a channel axis of 1 to grey images, \
                               with reshape";

/// A 2-D convolution of NHWC images `[n, h, w, c_in] -> [n, oh, ow, filters]` plus a bias per
/// filter, as Keras' `Conv2D` without the activation (see [`Tensor::conv2d`] for the geometry).
///
/// Parameters: `kernel` `[kh, kw, c_in, filters]` (Glorot-uniform) and `bias` `[filters]`
/// (zeros), `c_in` taken from the first batch.
///
/// ```
/// use elegy_core::module::layers::Conv2D;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{Padding, RngKey, Tensor, TensorMap};
///
/// let layer = Conv2D::new(8, (3, 3)).stride((2, 2)).padding(Padding::Same);
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
/// let y = ctx.call(&layer, &Tensor::ones(&[2, 28, 28, 1]))?;
/// assert_eq!(y.shape(), &[2, 14, 14, 8]);
/// let (params, _, _) = ctx.finish();
/// assert_eq!(params.require("conv2d/kernel")?.shape(), &[3, 3, 1, 8]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv2D {
    /// Output channels.
    pub filters: usize,
    /// Rows and columns of the kernel.
    pub kernel_size: (usize, usize),
    /// Steps between windows, `(rows, columns)`.
    pub stride: (usize, usize),
    /// How the borders are padded.
    pub padding: Padding,
    /// Spacing between the kernel's taps, `(rows, columns)`.
    pub dilation: (usize, usize),
    /// Whether to add a bias per filter.
    pub use_bias: bool,
    /// How the kernel starts.
    pub kernel_init: Initializer,
    /// How the bias starts.
    pub bias_init: Initializer,
}

impl Conv2D {
    /// `filters` output channels from `kernel_size` windows; stride 1, [`Padding::Valid`], no
    /// dilation, a bias, Keras' initializers.
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Conv2D {
        let defaults = Conv2dOptions::default();
        Conv2D {
            filters,
            kernel_size,
            stride: defaults.stride,
            padding: defaults.padding,
            dilation: defaults.dilation,
            use_bias: true,
            kernel_init: Initializer::GlorotUniform,
            bias_init: Initializer::Zeros,
        }
    }

    /// With steps of `stride` between windows.
    pub fn stride(mut self, stride: (usize, usize)) -> Conv2D {
        self.stride = stride;
        self
    }

    /// With `padding` at the borders.
    pub fn padding(mut self, padding: Padding) -> Conv2D {
        self.padding = padding;
        self
    }

    /// With the kernel's taps `dilation` apart.
    pub fn dilation(mut self, dilation: (usize, usize)) -> Conv2D {
        self.dilation = dilation;
        self
    }

    /// With or without the bias.
    pub fn use_bias(mut self, use_bias: bool) -> Conv2D {
        self.use_bias = use_bias;
        self
    }

    /// With the kernel starting from `init`.
    pub fn kernel_init(mut self, init: Initializer) -> Conv2D {
        self.kernel_init = init;
        self
    }

    /// With the bias starting from `init`.
    pub fn bias_init(mut self, init: Initializer) -> Conv2D {
        self.bias_init = init;
        self
    }

    /// The options of the convolution op.
    pub fn options(&self) -> Conv2dOptions {
        Conv2dOptions {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
        }
    }
}

impl Module for Conv2D {
    fn kind(&self) -> &'static str {
        "Conv2D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("Conv2D", ctx, x, 4, NHWC)?;
        check_size("Conv2D", ctx, "filters", self.filters)?;
        let (kh, kw) = self.kernel_size;
        check_size("Conv2D", ctx, "kernel rows", kh)?;
        check_size("Conv2D", ctx, "kernel columns", kw)?;
        let c_in = x.shape()[3];
        let kernel = ctx.param("kernel", &[kh, kw, c_in, self.filters], self.kernel_init)?;
        let y = x.conv2d(&kernel, &self.options())?;
        if !self.use_bias {
            return Ok(y);
        }
        let bias = ctx.param("bias", &[self.filters], self.bias_init)?;
        y.add(&bias)
    }
}
