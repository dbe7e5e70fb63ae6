//! Layers that move values without computing new ones, as Keras' reshaping layers: [`Reshape`],
//! [`Permute`], [`RepeatVector`], [`ZeroPadding2D`], [`Cropping2D`] and [`UpSampling2D`]. Each
//! keeps axis 0, the batch.

use super::{check_rank, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::Tensor;

/// Each sample reshaped to `shape` (the batch axis kept), one entry of which may be -1 for
/// "what is left", as Keras' `Reshape`.
///
/// ```
/// use elegy_core::module::layers::Reshape;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, false, false, RngKey::new(0));
/// let rows = ctx.call(&Reshape::new(&[8, -1]), &Tensor::zeros(&[5, 64]))?;
/// assert_eq!(rows.shape(), &[5, 8, 8]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reshape {
    /// The shape of each sample.
    pub shape: Vec<isize>,
}

impl Reshape {
    /// Samples reshaped to `shape` (one entry may be -1).
    pub fn new(shape: &[isize]) -> Reshape {
        Reshape {
            shape: shape.to_vec(),
        }
    }
}

impl Module for Reshape {
    fn kind(&self) -> &'static str {
        "Reshape"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        let Some(&batch) = x.shape().first() else {
            return Err(Error::shape(
                "Reshape",
                format!("{} takes [batch, ..], got a scalar", layer_at(ctx)),
            ));
        };
        let mut shape = vec![batch as isize];
        shape.extend(&self.shape);
        x.reshape(&shape).map_err(|e| {
            Error::shape(
                "Reshape",
                format!(
                    "{} cannot make samples of shape {:?} into {:?}: {e}",
                    layer_at(ctx),
                    &x.shape()[1..],
                    self.shape
                ),
            )
        })
    }
}

/// The axes of each sample reordered, as Keras' `Permute`: `dims` numbers them from 1 (axis 0
/// is the batch and stays), so `Permute::new(&[2, 1])` swaps the two axes of `[batch, a, b]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permute {
    /// The new order of the sample axes, counted from 1.
    pub dims: Vec<usize>,
}

impl Permute {
    /// Sample axes in the order `dims` (from 1).
    pub fn new(dims: &[usize]) -> Permute {
        Permute {
            dims: dims.to_vec(),
        }
    }
}

impl Module for Permute {
    fn kind(&self) -> &'static str {
        "Permute"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank(
            "Permute",
            ctx,
            x,
            self.dims.len() + 1,
            "[batch, ..] with one sample axis per entry of dims",
        )?;
        let mut axes = vec![0];
        axes.extend(&self.dims);
        x.permute(&axes)
    }
}

/// `[batch, features]` repeated `n` times along a new axis: `[batch, n, features]`, as Keras'
/// `RepeatVector` (the bridge from an encoder's vector to a decoder's sequence).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatVector {
    /// How many times.
    pub n: usize,
}

impl RepeatVector {
    /// `n` repetitions.
    pub fn new(n: usize) -> RepeatVector {
        RepeatVector { n }
    }
}

impl Module for RepeatVector {
    fn kind(&self) -> &'static str {
        "RepeatVector"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("RepeatVector", ctx, x, 2, "[batch, features]")?;
        let (batch, features) = (x.shape()[0], x.shape()[1]);
        x.unsqueeze(1)?.broadcast_to(&[batch, self.n, features])
    }
}

/// Rows of zeros above and below, and columns left and right, of NHWC images, as Keras'
/// `ZeroPadding2D` with `((top, bottom), (left, right))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroPadding2D {
    /// Rows added `(above, below)`.
    pub rows: (usize, usize),
    /// Columns added `(left, right)`.
    pub columns: (usize, usize),
}

impl ZeroPadding2D {
    /// `rows` added above and below, `columns` left and right.
    pub fn new(rows: (usize, usize), columns: (usize, usize)) -> ZeroPadding2D {
        ZeroPadding2D { rows, columns }
    }
}

impl Module for ZeroPadding2D {
    fn kind(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("ZeroPadding2D", ctx, x, 4, super::conv::NHWC)?;
        let [n, h, w, c] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
        let (top, bottom) = self.rows;
        let (left, right) = self.columns;
        let wide = Tensor::concat(
            &[
                Tensor::zeros(&[n, h, left, c]),
                x.clone(),
                Tensor::zeros(&[n, h, right, c]),
            ],
            2,
        )?;
        let width = left + w + right;
        Tensor::concat(
            &[
                Tensor::zeros(&[n, top, width, c]),
                wide,
                Tensor::zeros(&[n, bottom, width, c]),
            ],
            1,
        )
    }
}

/// Rows cut from the top and bottom, and columns from the left and right, of NHWC images, as
/// Keras' `Cropping2D` with `((top, bottom), (left, right))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cropping2D {
    /// Rows cut `(above, below)`.
    pub rows: (usize, usize),
    /// Columns cut `(left, right)`.
    pub columns: (usize, usize),
}

impl Cropping2D {
    /// `rows` cut above and below, `columns` left and right.
    pub fn new(rows: (usize, usize), columns: (usize, usize)) -> Cropping2D {
        Cropping2D { rows, columns }
    }
}

impl Module for Cropping2D {
    fn kind(&self) -> &'static str {
        "Cropping2D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("Cropping2D", ctx, x, 4, super::conv::NHWC)?;
        let (h, w) = (x.shape()[1], x.shape()[2]);
        let (top, bottom) = self.rows;
        let (left, right) = self.columns;
        if top + bottom >= h || left + right >= w {
            return Err(Error::shape(
                "Cropping2D",
                format!(
                    "{} cuts {top} + {bottom} rows and {left} + {right} columns from images of \
                     {h} x {w}; at least one row and column must be left",
                    layer_at(ctx)
                ),
            ));
        }
        x.slice(1, top, h - bottom)?.slice(2, left, w - right)
    }
}

/// NHWC images enlarged by repeating each row `size.0` times and each column `size.1` times,
/// as Keras' `UpSampling2D` with its default nearest interpolation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpSampling2D {
    /// Repetitions of each `(row, column)`.
    pub size: (usize, usize),
}

impl UpSampling2D {
    /// Rows repeated `size.0` times, columns `size.1` times.
    pub fn new(size: (usize, usize)) -> UpSampling2D {
        UpSampling2D { size }
    }
}

impl Module for UpSampling2D {
    fn kind(&self) -> &'static str {
        "UpSampling2D"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_rank("UpSampling2D", ctx, x, 4, super::conv::NHWC)?;
        let [n, h, w, c] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
        let (sh, sw) = self.size;
        let as_isize = |dims: &[usize]| dims.iter().map(|&d| d as isize).collect::<Vec<_>>();
        x.reshape(&as_isize(&[n, h, 1, w, 1, c]))?
            .broadcast_to(&[n, h, sh, w, sw, c])?
            .reshape(&as_isize(&[n, h * sh, w * sw, c]))
    }
}
