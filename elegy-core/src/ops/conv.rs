//! 2-D convolution over NHWC images, as im2col followed by one matrix product, and the sliding
//! window geometry (padding, strides, dilation) that pooling shares. im2col and col2im run in
//! pieces of whole samples on the executor.

use ndarray::{Array2, ArrayD, ArrayView2, IxDyn};

use super::elementwise::MAP_SPLIT_FROM;
use super::product;
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::exec::{for_each_chunk, items_per_piece};
use crate::tensor::Tensor;

/// How a sliding window treats the borders of its input, as in TensorFlow and Keras.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Padding {
    /// No padding: only windows that lie wholly inside the input, so the output shrinks.
    #[default]
    Valid,
    /// Enough zero padding that the output has `ceil(input / stride)` rows and columns. When the
    /// padding of an axis is odd, the extra row (column) goes at the bottom (right).
    Same,
    /// Given amounts of padding on each side.
    Explicit {
        /// Rows added above.
        top: usize,
        /// Rows added below.
        bottom: usize,
        /// Columns added on the left.
        left: usize,
        /// Columns added on the right.
        right: usize,
    },
}

/// Options of [`Tensor::conv2d`]; `..Default::default()` fills in stride 1, [`Padding::Valid`]
/// and no dilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Steps between windows, `(rows, columns)`.
    pub stride: (usize, usize),
    /// How the borders are padded.
    pub padding: Padding,
    /// Spacing between the kernel's taps, `(rows, columns)`; 1 is an ordinary convolution.
    pub dilation: (usize, usize),
}

impl Default for Conv2dOptions {
    fn default() -> Conv2dOptions {
        Conv2dOptions {
            stride: (1, 1),
            padding: Padding::Valid,
            dilation: (1, 1),
        }
    }
}

/// Where a 2-D sliding window goes over one input: every op that slides a window over rows and
/// columns (convolution, pooling) resolves its options into this once.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window2d {
    /// Rows and columns of the input.
    pub input: (usize, usize),
    /// Taps of the window, `(rows, columns)`, before dilation.
    pub size: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    /// Padding above and on the left; what lies below and on the right follows from `output`.
    pub pad: (usize, usize),
    /// Rows and columns of the output.
    pub output: (usize, usize),
}

impl Window2d {
    /// The geometry of `op`, or an error naming the option that cannot work.
    pub(super) fn new(
        op: &'static str,
        input: (usize, usize),
        size: (usize, usize),
        stride: (usize, usize),
        dilation: (usize, usize),
        padding: Padding,
    ) -> Result<Window2d> {
        for (name, (a, b)) in [("window", size), ("stride", stride), ("dilation", dilation)] {
            if a == 0 || b == 0 {
                return Err(Error::invalid(
                    op,
                    format!("{name} ({a}, {b}) has a zero; both must be at least 1"),
                ));
            }
        }
        let span = |taps: usize, dilation: usize| (taps - 1) * dilation + 1;
        let spans = (span(size.0, dilation.0), span(size.1, dilation.1));
        let (pad_rows, pad_cols) = match padding {
            Padding::Valid => ((0, 0), (0, 0)),
            Padding::Same => (
                same_padding(input.0, spans.0, stride.0),
                same_padding(input.1, spans.1, stride.1),
            ),
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => ((top, bottom), (left, right)),
        };
        let padded = (
            input.0 + pad_rows.0 + pad_rows.1,
            input.1 + pad_cols.0 + pad_cols.1,
        );
        if padded.0 < spans.0 || padded.1 < spans.1 {
            let dilated = if dilation == (1, 1) {
                String::new()
            } else {
                format!(
                    " (spanning {}x{} with dilation {dilation:?})",
                    spans.0, spans.1
                )
            };
            return Err(Error::shape(
                op,
                format!(
                    "the {}x{} window{dilated} is larger than the {}x{} input padded to {}x{} \
                     ({padding:?}); use Padding::Same or a smaller window",
                    size.0, size.1, input.0, input.1, padded.0, padded.1
                ),
            ));
        }
        Ok(Window2d {
            input,
            size,
            stride,
            dilation,
            pad: (pad_rows.0, pad_cols.0),
            output: (
                (padded.0 - spans.0) / stride.0 + 1,
                (padded.1 - spans.1) / stride.1 + 1,
            ),
        })
    }

    /// The input row under tap `tap` of output row `out`, or `None` in the padding.
    #[inline]
    pub(super) fn row(&self, out: usize, tap: usize) -> Option<usize> {
        (out * self.stride.0 + tap * self.dilation.0)
            .checked_sub(self.pad.0)
            .filter(|&r| r < self.input.0)
    }

    /// The input column under tap `tap` of output column `out`, or `None` in the padding.
    #[inline]
    pub(super) fn col(&self, out: usize, tap: usize) -> Option<usize> {
        (out * self.stride.1 + tap * self.dilation.1)
            .checked_sub(self.pad.1)
            .filter(|&c| c < self.input.1)
    }
}

/// `(before, after)` padding of one axis for [`Padding::Same`]: TensorFlow's rule.
fn same_padding(size: usize, span: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = (out.saturating_sub(1) * stride + span).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// `[n, h, w, c]` of an NHWC tensor, or an error saying what `op` expected.
pub(super) fn nhwc(op: &'static str, x: &Tensor) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(x.shape()).map_err(|_| {
        Error::shape(
            op,
            format!(
                "input of shape {:?} has {} axes, but {op} takes NHWC input [batch, height, \
                 width, channels]; add a batch axis of 1 to a single image with reshape",
                x.shape(),
                x.ndim()
            ),
        )
    })
}

/// The patches of an NHWC input (`x` in row-major order): one row per output position, holding
/// the window's taps in `(row, column, channel)` order, with zeros where the window lies in the
/// padding. `[n * oh * ow, kh * kw * c]`.
fn im2col(x: &[f32], n: usize, c: usize, win: &Window2d) -> Array2<f32> {
    let ((h, w), (kh, kw), (oh, ow)) = (win.input, win.size, win.output);
    let width = kh * kw * c;
    let mut patches = Array2::<f32>::zeros((n * oh * ow, width));
    if width == 0 {
        return patches;
    }
    let rows_per_sample = oh * ow;
    let samples = items_per_piece(n, rows_per_sample * width, MAP_SPLIT_FROM);
    let values = patches.as_slice_mut().expect("fresh array is contiguous");
    // Pieces of whole samples: each writes its own rows.
    for_each_chunk(values, samples * rows_per_sample * width, |i, part| {
        let first = i * samples * rows_per_sample;
        for (r, row) in part.chunks_exact_mut(width).enumerate() {
            let r = first + r;
            let (b, oy, ox) = (r / (oh * ow), r / ow % oh, r % ow);
            for ki in 0..kh {
                let Some(iy) = win.row(oy, ki) else { continue };
                for kj in 0..kw {
                    let Some(ix) = win.col(ox, kj) else { continue };
                    let src = ((b * h + iy) * w + ix) * c;
                    let dst = (ki * kw + kj) * c;
                    row[dst..dst + c].copy_from_slice(&x[src..src + c]);
                }
            }
        }
    });
    patches
}

/// The inverse gather of [`im2col`]: each patch entry added back onto the input cell it came
/// from (cells under several windows collect several), dropping entries in the padding.
fn col2im(patches: ArrayView2<'_, f32>, n: usize, c: usize, win: &Window2d) -> ArrayD<f32> {
    let ((h, w), (kh, kw), (oh, ow)) = (win.input, win.size, win.output);
    let mut image = vec![0.0f32; n * h * w * c];
    let width = kh * kw * c;
    let patches = patches.as_standard_layout();
    let all = patches.as_slice().expect("standard layout");
    let (rows_per_sample, image_len) = (oh * ow, h * w * c);
    if width > 0 && image_len > 0 {
        let samples = items_per_piece(n, rows_per_sample * width, MAP_SPLIT_FROM);
        // Pieces of whole samples: a sample's patches add only onto its own image, in the
        // same order whoever runs the piece.
        for_each_chunk(&mut image, samples * image_len, |i, part| {
            let (first_sample, first_row) = (i * samples, i * samples * rows_per_sample);
            let rows = part.len() / image_len * rows_per_sample;
            let mine = &all[first_row * width..(first_row + rows) * width];
            for (r, row) in mine.chunks_exact(width).enumerate() {
                let r = first_row + r;
                let (b, oy, ox) = (r / (oh * ow) - first_sample, r / ow % oh, r % ow);
                for ki in 0..kh {
                    let Some(iy) = win.row(oy, ki) else { continue };
                    for kj in 0..kw {
                        let Some(ix) = win.col(ox, kj) else { continue };
                        let dst = ((b * h + iy) * w + ix) * c;
                        let src = (ki * kw + kj) * c;
                        for (d, s) in part[dst..dst + c].iter_mut().zip(&row[src..src + c]) {
                            *d += s;
                        }
                    }
                }
            }
        });
    }
    ArrayD::from_shape_vec(IxDyn(&[n, h, w, c]), image).expect("sized to the input")
}

/// A kernel `[kh, kw, c_in, c_out]` as the matrix `[kh * kw * c_in, c_out]` that multiplies
/// patches.
fn kernel_matrix(kernel: &Tensor) -> Array2<f32> {
    let shape = kernel.shape();
    let rows = shape[0] * shape[1] * shape[2];
    kernel
        .view()
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((rows, shape[3]))
        .expect("element count kept")
}

/// The backward rule of `conv2d`: the kernel's gradient is `patchesᵀ · g`, the input's is
/// `g · Kᵀ` scattered back by [`col2im`].
///
/// The patches are rebuilt here instead of being kept from the forward pass: they are `kh * kw`
/// times the size of the input, too much memory to hold for every layer of a network.
struct Conv2dRule {
    window: Window2d,
}

impl Backward for Conv2dRule {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let (x, kernel) = (&inputs[0], &inputs[1]);
        let [n, _, _, c_in] = nhwc("conv2d", x)?;
        let c_out = kernel.shape()[3];
        let (oh, ow) = self.window.output;
        let grad = grad.as_standard_layout();
        let g = grad
            .view()
            .into_shape_with_order((n * oh * ow, c_out))
            .expect("output is [n, oh, ow, c_out]");
        let grad_x = x.is_tracked().then(|| {
            let patch_grads = product(&g, &kernel_matrix(kernel).t());
            col2im(patch_grads.view(), n, c_in, &self.window)
        });
        let grad_kernel = kernel.is_tracked().then(|| {
            let x = x.view();
            let x = x.as_standard_layout();
            let patches = im2col(
                x.as_slice().expect("standard layout"),
                n,
                c_in,
                &self.window,
            );
            product(&patches.t(), &g)
                .into_shape_with_order(IxDyn(kernel.shape()))
                .expect("element count kept")
        });
        Ok(vec![grad_x, grad_kernel])
    }
}

impl Tensor {
    /// The 2-D convolution (strictly, cross-correlation, as in every deep-learning framework) of
    /// NHWC images `[n, h, w, c_in]` with an HWIO kernel `[kh, kw, c_in, c_out]`, giving
    /// `[n, oh, ow, c_out]`. Add a bias afterwards with a broadcasting [`Tensor::add`].
    ///
    /// ```
    /// use elegy_core::{Conv2dOptions, Padding, Tensor};
    /// let images = Tensor::ones(&[2, 28, 28, 1]);
    /// let kernel = Tensor::ones(&[3, 3, 1, 8]);
    /// let same = Conv2dOptions { stride: (2, 2), padding: Padding::Same, ..Default::default() };
    /// assert_eq!(images.conv2d(&kernel, &same)?.shape(), &[2, 14, 14, 8]);
    /// let valid = images.conv2d(&kernel, &Conv2dOptions::default())?;
    /// assert_eq!(valid.shape(), &[2, 26, 26, 8]);
    /// assert_eq!(valid.to_vec()[0], 9.0);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    ///
    /// Shapes that do not fit are errors:
    ///
    /// ```
    /// use elegy_core::{Conv2dOptions, Tensor};
    /// let images = Tensor::zeros(&[2, 8, 8, 3]);
    /// let kernel = Tensor::zeros(&[3, 3, 4, 16]);
    /// let err = images.conv2d(&kernel, &Conv2dOptions::default()).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "conv2d: input [2, 8, 8, 3] has 3 channels but kernel [3, 3, 4, 16] expects 4"
    /// );
    /// ```
    pub fn conv2d(&self, kernel: &Tensor, options: &Conv2dOptions) -> Result<Tensor> {
        let [n, h, w, c_in] = nhwc("conv2d", self)?;
        let Ok([kh, kw, k_in, c_out]) = <[usize; 4]>::try_from(kernel.shape()) else {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "kernel of shape {:?} has {} axes, but conv2d takes an HWIO kernel \
                     [height, width, in_channels, out_channels]",
                    kernel.shape(),
                    kernel.ndim()
                ),
            ));
        };
        if k_in != c_in {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "input {:?} has {c_in} channels but kernel {:?} expects {k_in}",
                    self.shape(),
                    kernel.shape()
                ),
            ));
        }
        let window = Window2d::new(
            "conv2d",
            (h, w),
            (kh, kw),
            options.stride,
            options.dilation,
            options.padding,
        )?;
        let x = self.view();
        let x = x.as_standard_layout();
        let patches = im2col(x.as_slice().expect("standard layout"), n, c_in, &window);
        let (oh, ow) = window.output;
        let value = product(&patches.view(), &kernel_matrix(kernel).view())
            .into_shape_with_order(IxDyn(&[n, oh, ow, c_out]))
            .expect("one row per output position");
        Ok(Tensor::from_op(value, &[self, kernel], |_| Conv2dRule {
            window,
        }))
    }
}
