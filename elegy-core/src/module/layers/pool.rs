//! Pooling layers over NHWC images: [`MaxPool2D`], [`AvgPool2D`], [`GlobalAveragePooling`].

use super::check_rank;
use super::conv::NHWC;
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::ops::{Padding, Pool2dOptions};
use crate::tensor::Tensor;

macro_rules! pool_layer {
    ($(#[$doc:meta])* $layer:ident, $kind:literal, $op:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $layer {
            /// Rows and columns of each window.
            pub window: (usize, usize),
            /// Steps between windows, `(rows, columns)`; `None` steps by the window.
            pub stride: Option<(usize, usize)>,
            /// How the borders are padded (padded cells never count).
            pub padding: Padding,
        }

        impl Default for $layer {
            /// 2x2 windows that tile the input, [`Padding::Valid`], as in Keras.
            fn default() -> $layer {
                $layer::new((2, 2))
            }
        }

        impl $layer {
            /// Windows of `window` rows and columns that tile the input (the stride is the
            /// window), [`Padding::Valid`].
            pub fn new(window: (usize, usize)) -> $layer {
                $layer {
                    window,
                    stride: None,
                    padding: Padding::Valid,
                }
            }

            /// With steps of `stride` between windows.
            pub fn stride(mut self, stride: (usize, usize)) -> $layer {
                self.stride = Some(stride);
                self
            }

            /// With `padding` at the borders.
            pub fn padding(mut self, padding: Padding) -> $layer {
                self.padding = padding;
                self
            }

            /// The options of the pooling op.
            pub fn options(&self) -> Pool2dOptions {
                Pool2dOptions {
                    window: self.window,
                    stride: self.stride,
                    padding: self.padding,
                }
            }
        }

        impl Module for $layer {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
                check_rank($kind, ctx, x, 4, NHWC)?;
                x.$op(&self.options())
            }
        }
    };
}

pool_layer!(
    /// The largest value of each window, channel by channel: `[n, h, w, c] -> [n, oh, ow, c]`
    /// (see [`Tensor::max_pool2d`]).
    ///
    /// ```
    /// use elegy_core::module::layers::MaxPool2D;
    /// use elegy_core::module::ModuleContext;
    /// use elegy_core::{RngKey, Tensor, TensorMap};
    /// let empty = TensorMap::new();
    /// let mut ctx = ModuleContext::new(&empty, &empty, false, false, RngKey::new(0));
    /// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4, 1])?;
    /// let y = ctx.call(&MaxPool2D::default(), &x)?;
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    MaxPool2D, "MaxPool2D", max_pool2d
);

pool_layer!(
    /// The mean of each window, channel by channel: `[n, h, w, c] -> [n, oh, ow, c]` (see
    /// [`Tensor::avg_pool2d`]).
    ///
    /// ```
    /// use elegy_core::module::layers::AvgPool2D;
    /// use elegy_core::module::ModuleContext;
    /// use elegy_core::{RngKey, Tensor, TensorMap};
    /// let empty = TensorMap::new();
    /// let mut ctx = ModuleContext::new(&empty, &empty, false, false, RngKey::new(0));
    /// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4, 1])?;
    /// let y = ctx.call(&AvgPool2D::default(), &x)?;
    /// assert_eq!(y.to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    AvgPool2D, "AvgPool2D", avg_pool2d
);

/// The mean over rows and columns of NHWC images, one value per channel:
/// `[n, h, w, c] -> [n, c]` (Keras' `GlobalAveragePooling2D`). The usual bridge from
/// convolutions to a classifier head.
///
/// ```
/// use elegy_core::module::layers::GlobalAveragePooling;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, false, false, RngKey::new(0));
/// let y = ctx.call(&GlobalAveragePooling, &Tensor::ones(&[2, 7, 7, 16]))?;
/// assert_eq!(y.shape(), &[2, 16]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAveragePooling;

impl Module for GlobalAveragePooling {
    fn kind(&self) -> &'static str {
        "GlobalAveragePooling"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("GlobalAveragePooling", ctx, x, 4, NHWC)?;
        x.mean(&[1, 2], false)
    }
}
