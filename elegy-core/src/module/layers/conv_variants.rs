//! Convolutions built from [`Tensor::conv2d`]: [`Conv2DTranspose`], [`DepthwiseConv2D`] and
//! [`SeparableConv2D`], as Keras' layers of those names. They compose the op (zero insertion and
//! a flipped kernel; one product per input channel), so their gradients are its own; the
//! depthwise ones run a product per channel, which is slow for many channels.

use super::{check_rank, check_size, conv::NHWC, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::ops::{Conv2dOptions, Padding};
use crate::tensor::{Initializer, Tensor};

fn dims(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&d| d as isize).collect()
}

/// `kernel` reversed along `axis` (a few slices joined back to front).
fn reversed(kernel: &Tensor, axis: usize) -> Result<Tensor> {
    let n = kernel.shape()[axis];
    let parts = (0..n)
        .rev()
        .map(|i| kernel.slice(axis as isize, i, i + 1))
        .collect::<Result<Vec<_>>>()?;
    Tensor::concat(&parts, axis as isize)
}

/// `x [n, h, w, c]` with `s - 1` zero rows (columns) between its rows (columns).
fn spread_out(x: &Tensor, (sh, sw): (usize, usize)) -> Result<Tensor> {
    let [n, h, w, c] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    if (sh, sw) == (1, 1) {
        return Ok(x.clone());
    }
    let cells = x.reshape(&dims(&[n, h, 1, w, 1, c]))?;
    let cells = Tensor::concat(&[cells, Tensor::zeros(&[n, h, sh - 1, w, 1, c])], 2)?;
    let cells = Tensor::concat(&[cells, Tensor::zeros(&[n, h, sh, w, sw - 1, c])], 4)?;
    cells
        .reshape(&dims(&[n, h * sh, w * sw, c]))?
        .slice(1, 0, (h - 1) * sh + 1)?
        .slice(2, 0, (w - 1) * sw + 1)
}

/// The transposed convolution (the gradient of a convolution with respect to its input, often
/// called deconvolution), as Keras' `Conv2DTranspose`: NHWC `[n, h, w, c_in] -> [n, oh, ow,
/// filters]`, with `oh = (h - 1) * stride + kernel` under [`Padding::Valid`] and `h * stride`
/// under [`Padding::Same`] (cropping as Keras crops). Plus a bias per filter.
///
/// Parameters, as Keras': `kernel [kh, kw, filters, c_in]` (Glorot-uniform), `bias [filters]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv2DTranspose {
    /// Output channels.
    pub filters: usize,
    /// Rows and columns of the kernel.
    pub kernel_size: (usize, usize),
    /// The upsampling factor `(rows, columns)`.
    pub stride: (usize, usize),
    /// [`Padding::Valid`] or [`Padding::Same`].
    pub padding: Padding,
    /// Whether to add a bias per filter.
    pub use_bias: bool,
}

impl Conv2DTranspose {
    /// `filters` output channels from `kernel_size` windows; stride 1, valid, a bias.
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Conv2DTranspose {
        Conv2DTranspose {
            filters,
            kernel_size,
            stride: (1, 1),
            padding: Padding::Valid,
            use_bias: true,
        }
    }

    /// Upsampling by `stride`.
    pub fn stride(mut self, stride: (usize, usize)) -> Conv2DTranspose {
        self.stride = stride;
        self
    }

    /// With `padding` (valid or same).
    pub fn padding(mut self, padding: Padding) -> Conv2DTranspose {
        self.padding = padding;
        self
    }
}

impl Module for Conv2DTranspose {
    fn kind(&self) -> &'static str {
        "Conv2DTranspose"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("Conv2DTranspose", ctx, x, 4, NHWC)?;
        check_size("Conv2DTranspose", ctx, "filters", self.filters)?;
        let (kh, kw) = self.kernel_size;
        let (sh, sw) = self.stride;
        for (what, size) in [
            ("kernel rows", kh),
            ("kernel columns", kw),
            ("stride", sh.min(sw)),
        ] {
            check_size("Conv2DTranspose", ctx, what, size)?;
        }
        let c_in = x.shape()[3];
        let kernel = ctx.param(
            "kernel",
            &[kh, kw, self.filters, c_in],
            Initializer::GlorotUniform,
        )?;
        // The transposed convolution is the full convolution of the spread-out input with the
        // kernel turned half a turn, its channels swapped.
        let turned = reversed(&reversed(&kernel, 0)?, 1)?.permute(&[0, 1, 3, 2])?;
        // Rows (columns) cropped from the full output: none when valid; down to h * stride when
        // same, the odd one at the end, as Keras crops.
        let crop = |k: usize, s: usize| -> Result<(usize, usize)> {
            match self.padding {
                Padding::Valid => Ok((0, 0)),
                Padding::Same => {
                    let total = k.saturating_sub(s);
                    Ok((total / 2, total.div_ceil(2)))
                }
                Padding::Explicit { .. } => Err(Error::invalid(
                    "Conv2DTranspose",
                    format!(
                        "{} takes valid or same padding, not explicit amounts",
                        layer_at(ctx)
                    ),
                )),
            }
        };
        if self.padding == Padding::Same && (kh < sh || kw < sw) {
            return Err(Error::invalid(
                "Conv2DTranspose",
                format!(
                    "{}: same padding with a kernel {:?} smaller than the stride {:?} is not \
                     supported; use a kernel at least as large as the stride",
                    layer_at(ctx),
                    self.kernel_size,
                    self.stride
                ),
            ));
        }
        let ((top, bottom), (left, right)) = (crop(kh, sh)?, crop(kw, sw)?);
        let options = Conv2dOptions {
            padding: Padding::Explicit {
                top: kh - 1 - top,
                bottom: kh - 1 - bottom,
                left: kw - 1 - left,
                right: kw - 1 - right,
            },
            ..Default::default()
        };
        let y = spread_out(x, self.stride)?.conv2d(&turned, &options)?;
        if !self.use_bias {
            return Ok(y);
        }
        y.add(&ctx.param("bias", &[self.filters], Initializer::Zeros)?)
    }
}

/// One `[kh, kw]` filter per input channel and multiplier (channel `c`'s `m`-th output is
/// channel `c * depth_multiplier + m`), as Keras' `DepthwiseConv2D`, plus a bias per output
/// channel.
///
/// Parameters, as Keras': `kernel [kh, kw, c_in, depth_multiplier]` (Glorot-uniform), `bias
/// [c_in * depth_multiplier]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthwiseConv2D {
    /// Rows and columns of each filter.
    pub kernel_size: (usize, usize),
    /// Outputs per input channel.
    pub depth_multiplier: usize,
    /// Stride, padding and dilation, as [`Tensor::conv2d`]'s.
    pub options: Conv2dOptions,
    /// Whether to add a bias per output channel.
    pub use_bias: bool,
}

impl DepthwiseConv2D {
    /// Filters of `kernel_size`, one per channel; stride 1, valid, a bias.
    pub fn new(kernel_size: (usize, usize)) -> DepthwiseConv2D {
        DepthwiseConv2D {
            kernel_size,
            depth_multiplier: 1,
            options: Conv2dOptions::default(),
            use_bias: true,
        }
    }

    /// `multiplier` outputs per input channel.
    pub fn depth_multiplier(mut self, multiplier: usize) -> DepthwiseConv2D {
        self.depth_multiplier = multiplier;
        self
    }

    /// With `padding`.
    pub fn padding(mut self, padding: Padding) -> DepthwiseConv2D {
        self.options.padding = padding;
        self
    }
}

/// Channel by channel: `x [n, h, w, c]` with `kernel [kh, kw, c, m]` to `[n, oh, ow, c * m]`.
fn depthwise(x: &Tensor, kernel: &Tensor, options: &Conv2dOptions) -> Result<Tensor> {
    let channels = x.shape()[3];
    let per_channel = (0..channels)
        .map(|c| {
            x.slice(3, c, c + 1)?
                .conv2d(&kernel.slice(2, c, c + 1)?, options)
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::concat(&per_channel, 3)
}

impl Module for DepthwiseConv2D {
    fn kind(&self) -> &'static str {
        "DepthwiseConv2D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("DepthwiseConv2D", ctx, x, 4, NHWC)?;
        check_size(
            "DepthwiseConv2D",
            ctx,
            "depth_multiplier",
            self.depth_multiplier,
        )?;
        let (kh, kw) = self.kernel_size;
        let c_in = x.shape()[3];
        let kernel = ctx.param(
            "kernel",
            &[kh, kw, c_in, self.depth_multiplier],
            Initializer::GlorotUniform,
        )?;
        let y = depthwise(x, &kernel, &self.options)?;
        if !self.use_bias {
            return Ok(y);
        }
        let bias = ctx.param("bias", &[c_in * self.depth_multiplier], Initializer::Zeros)?;
        y.add(&bias)
    }
}

/// A depthwise convolution then a 1x1 one across channels, as Keras' `SeparableConv2D`: far
/// fewer parameters than a full convolution of the same window.
///
/// Parameters, as Keras': `depthwise_kernel [kh, kw, c_in, depth_multiplier]`,
/// `pointwise_kernel [1, 1, c_in * depth_multiplier, filters]` (both Glorot-uniform), `bias
/// [filters]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeparableConv2D {
    /// Output channels.
    pub filters: usize,
    /// Rows and columns of the depthwise filters.
    pub kernel_size: (usize, usize),
    /// Depthwise outputs per input channel.
    pub depth_multiplier: usize,
    /// Stride, padding and dilation of the depthwise step.
    pub options: Conv2dOptions,
    /// Whether to add a bias per filter.
    pub use_bias: bool,
}

impl SeparableConv2D {
    /// `filters` outputs from `kernel_size` depthwise windows; multiplier 1, stride 1, valid.
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> SeparableConv2D {
        SeparableConv2D {
            filters,
            kernel_size,
            depth_multiplier: 1,
            options: Conv2dOptions::default(),
            use_bias: true,
        }
    }

    /// With `padding` for the depthwise step.
    pub fn padding(mut self, padding: Padding) -> SeparableConv2D {
        self.options.padding = padding;
        self
    }
}

impl Module for SeparableConv2D {
    fn kind(&self) -> &'static str {
        "SeparableConv2D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("SeparableConv2D", ctx, x, 4, NHWC)?;
        check_size("SeparableConv2D", ctx, "filters", self.filters)?;
        check_size(
            "SeparableConv2D",
            ctx,
            "depth_multiplier",
            self.depth_multiplier,
        )?;
        let (kh, kw) = self.kernel_size;
        let c_in = x.shape()[3];
        let mid = c_in * self.depth_multiplier;
        let depthwise_kernel = ctx.param(
            "depthwise_kernel",
            &[kh, kw, c_in, self.depth_multiplier],
            Initializer::GlorotUniform,
        )?;
        let pointwise = ctx.param(
            "pointwise_kernel",
            &[1, 1, mid, self.filters],
            Initializer::GlorotUniform,
        )?;
        let y = depthwise(x, &depthwise_kernel, &self.options)?.linear_activated(
            &pointwise.reshape(&dims(&[mid, self.filters]))?,
            None,
            crate::Activation::Identity,
        )?;
        if !self.use_bias {
            return Ok(y);
        }
        y.add(&ctx.param("bias", &[self.filters], Initializer::Zeros)?)
    }
}
