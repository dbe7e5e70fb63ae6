//! The layer library: the usual building blocks of a network, as [`Module`]s whose parameters are
//! created from the first batch's shapes.
//!
//! | family | layers |
//! |---|---|
//! | dense | [`Linear`], [`Mlp`] |
//! | convolution and pooling | [`Conv1D`] (causal, dilated), [`Conv2D`], [`Conv2DTranspose`], [`DepthwiseConv2D`], [`SeparableConv2D`], [`MaxPool2D`], [`AvgPool2D`], [`GlobalAveragePooling`], [`Flatten`] |
//! | normalization | [`BatchNorm`], [`LayerNorm`], [`RmsNorm`], [`GroupNorm`] |
//! | positions | [`PositionEmbedding`] (learned), [`SinusoidalPositionEncoding`] (fixed) |
//! | regularization | [`Dropout`] |
//! | reshaping | [`Flatten`], [`Reshape`], [`Permute`], [`RepeatVector`], [`ZeroPadding2D`], [`Cropping2D`], [`UpSampling2D`] |
//! | lookup | [`Embedding`] (with `mask_zero`, Keras' padding mask) |
//! | recurrent | [`SimpleRnn`], [`Lstm`], [`Gru`], [`Bidirectional`] (options: [`RecurrentOptions`]); [`Masking`] marks padding steps for them |
//! | attention | [`MultiHeadAttention`] |
//! | branching | [`Residual`], [`Branches`] (merged by [`Merge`]: add, multiply, average, concatenate), [`Identity`] |
//! | activations | [`Relu`], [`Gelu`], [`Sigmoid`], [`Tanh`], [`Softmax`], [`LeakyRelu`], [`Elu`] |
//!
//! Layers are descriptions (sizes, initializers), so one value can be reused, and the same layer
//! called twice in a parent gets two sets of parameters (`linear`, `linear_1`). Every layer has a
//! `named` builder that gives it its own name in parameter paths instead (see [`Named`]).
//! Defaults follow Keras: kernels start Glorot-uniform, biases at zero.
//!
//! ```
//! use elegy_core::module::layers::{Dropout, Linear, Relu};
//! use elegy_core::module::{ModuleContext, Sequential};
//! use elegy_core::{RngKey, Tensor, TensorMap};
//!
//! let model = Sequential::new()
//!     .layer(Linear::new(16))
//!     .layer(Relu)
//!     .layer(Dropout::new(0.2))
//!     .layer(Linear::new(3).named("logits"));
//! let empty = TensorMap::new();
//! let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
//! let y = ctx.call(&model, &Tensor::ones(&[4, 8]))?;
//! assert_eq!(y.shape(), &[4, 3]);
//! let (params, _, _) = ctx.finish();
//! let names: Vec<&str> = params.names().collect();
//! assert_eq!(
//!     names,
//!     [
//!         "sequential/linear/bias",
//!         "sequential/linear/kernel",
//!         "sequential/logits/bias",
//!         "sequential/logits/kernel",
//!     ]
//! );
//! # Ok::<(), elegy_core::Error>(())
//! ```

mod activation;
mod attention;
mod conv;
mod conv1d;
mod conv_variants;
mod dropout;
mod embedding;
mod group_norm;
mod linear;
mod masking;
mod merge;
mod mlp;
mod norm;
mod pool;
mod position;
mod recurrent;
mod reshaping;
mod rms_norm;
mod shape;

pub use activation::{Elu, Gelu, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use attention::MultiHeadAttention;
pub use conv::Conv2D;
pub use conv_variants::{Conv2DTranspose, DepthwiseConv2D, SeparableConv2D};
pub use conv1d::{Conv1D, Padding1d};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use group_norm::GroupNorm;
pub use linear::Linear;
pub use masking::Masking;
pub use merge::{Branches, Identity, Merge, Residual};
pub use mlp::Mlp;
pub use norm::{BatchNorm, LayerNorm};
pub use pool::{AvgPool2D, GlobalAveragePooling, MaxPool2D};
pub use position::{PositionEmbedding, SinusoidalPositionEncoding};
pub use recurrent::{Bidirectional, Gru, Lstm, RecurrentOptions, Reversible, SimpleRnn};
pub use reshaping::{Cropping2D, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D};
pub use rms_norm::RmsNorm;
pub use shape::Flatten;

use super::{Module, ModuleContext};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A module under a name of its own: parameter paths and summaries use `name` instead of the
/// automatic `linear`, `linear_1`, ... Every layer's `named` builder makes one; wrap modules of
/// your own with [`Named::new`].
///
/// ```
/// use elegy_core::module::layers::{Linear, Named, Relu};
/// use elegy_core::module::Module;
/// let out = Linear::new(10).named("logits");
/// assert_eq!((out.kind(), out.name()), ("Linear", Some("logits")));
/// let act: Named<Relu> = Named::new("hidden_activation", Relu);
/// assert_eq!(act.module, Relu);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Named<M> {
    /// The name, one segment of a path (`logits` in `sequential/logits/kernel`).
    pub name: String,
    /// The module named.
    pub module: M,
}

impl<M: Module> Named<M> {
    /// `module` under `name`.
    pub fn new(name: impl Into<String>, module: M) -> Named<M> {
        Named {
            name: name.into(),
            module,
        }
    }
}

impl<M: Module> Module for Named<M> {
    fn kind(&self) -> &'static str {
        self.module.kind()
    }

    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }

    // The caller already opened this module's scope under `name`: run the module in it directly.
    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        self.module.forward(x, ctx)
    }

    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        self.module.forward_data(x, ctx)
    }
}

/// The `named` builder of each layer.
macro_rules! named_builders {
    ($($layer:ident),* $(,)?) => {
        $(
            impl $layer {
                /// This layer under its own name in parameter paths and summaries, instead of
                /// the automatic one (see [`Named`]).
                pub fn named(self, name: impl Into<String>) -> Named<$layer> {
                    Named::new(name, self)
                }
            }
        )*
    };
}

named_builders!(
    Linear,
    Mlp,
    Conv2D,
    Conv1D,
    Conv2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
    MaxPool2D,
    AvgPool2D,
    GlobalAveragePooling,
    Flatten,
    Reshape,
    Permute,
    RepeatVector,
    ZeroPadding2D,
    Cropping2D,
    UpSampling2D,
    Dropout,
    BatchNorm,
    LayerNorm,
    Embedding,
    MultiHeadAttention,
    Identity,
    RmsNorm,
    GroupNorm,
    SimpleRnn,
    Lstm,
    Gru,
    PositionEmbedding,
    SinusoidalPositionEncoding,
    Relu,
    Gelu,
    Sigmoid,
    Tanh,
    Softmax,
    LeakyRelu,
    Elu,
    Masking,
);

/// `Ok` when `x` has at least `min` axes; otherwise an error naming the layer, where it is and
/// the shape, and saying what the layer takes (`takes`, e.g. "[batch, .., features]").
fn check_min_rank(
    kind: &'static str,
    ctx: &ModuleContext<'_>,
    x: &Tensor,
    min: usize,
    takes: &str,
) -> Result<()> {
    if x.ndim() >= min {
        Ok(())
    } else {
        Err(rank_error(kind, ctx, x, takes))
    }
}

/// `Ok` when `x` has exactly `rank` axes; otherwise an error as [`check_min_rank`]'s.
fn check_rank(
    kind: &'static str,
    ctx: &ModuleContext<'_>,
    x: &Tensor,
    rank: usize,
    takes: &str,
) -> Result<()> {
    if x.ndim() == rank {
        Ok(())
    } else {
        Err(rank_error(kind, ctx, x, takes))
    }
}

fn rank_error(kind: &'static str, ctx: &ModuleContext<'_>, x: &Tensor, takes: &str) -> Error {
    let axes = match x.ndim() {
        1 => "1 axis".to_string(),
        n => format!("{n} axes"),
    };
    Error::shape(
        kind,
        format!(
            "{} got input of shape {:?} ({axes}), but {kind} takes {takes}",
            layer_at(ctx),
            x.shape(),
        ),
    )
}

/// "layer `sequential/linear`", or "the layer" when run outside any scope.
fn layer_at(ctx: &ModuleContext<'_>) -> String {
    let path = ctx.path();
    if path.is_empty() {
        "the layer".to_string()
    } else {
        format!("layer `{path}`")
    }
}

/// `Ok` when a size of a layer's configuration (`what`, e.g. "units") is at least 1.
fn check_size(kind: &'static str, ctx: &ModuleContext<'_>, what: &str, size: usize) -> Result<()> {
    if size > 0 {
        Ok(())
    } else {
        Err(Error::invalid(
            kind,
            format!("{} has {what} 0; it must be at least 1", layer_at(ctx)),
        ))
    }
}
