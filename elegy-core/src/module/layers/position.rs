//! Position information for sequence models: [`PositionEmbedding`] (learned) and
//! [`SinusoidalPositionEncoding`] (fixed), each added to its input.

use super::{check_min_rank, check_size, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// A learned embedding per position, added to the input `[batch, positions, features]`: a table
/// `embeddings [max_length, features]` whose first `positions` rows are added to every sample.
///
/// As keras_hub's `PositionEmbedding`, but adding the table to its input rather than returning
/// it alone (what every use of it does next), so it fits in a [`crate::module::Sequential`].
/// Sequences longer than `max_length` are an error. The table starts Glorot-uniform, as
/// keras_hub's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionEmbedding {
    /// The longest sequence it takes.
    pub max_length: usize,
    /// How the table starts.
    pub init: Initializer,
}

impl PositionEmbedding {
    /// A table for sequences of up to `max_length` positions.
    pub fn new(max_length: usize) -> PositionEmbedding {
        PositionEmbedding {
            max_length,
            init: Initializer::GlorotUniform,
        }
    }
}

impl Module for PositionEmbedding {
    fn kind(&self) -> &'static str {
        "PositionEmbedding"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank(
            "PositionEmbedding",
            ctx,
            x,
            3,
            "[batch, positions, features]",
        )?;
        check_size("PositionEmbedding", ctx, "max_length", self.max_length)?;
        let (positions, features) = (x.shape()[x.ndim() - 2], x.shape()[x.ndim() - 1]);
        check_length("PositionEmbedding", ctx, positions, self.max_length)?;
        let table = ctx.param("embeddings", &[self.max_length, features], self.init)?;
        x.add(&table.slice(0, 0, positions)?)
    }
}

/// The fixed sinusoids of "Attention is all you need" added to the input `[batch, positions,
/// features]`: feature `2i` of position `p` gets `sin(p / 10000^(2i / features))` and feature
/// `2i + 1` its cosine (interleaved as in the paper; keras_hub's `SinePositionEncoding` is the
/// same). No parameters; any length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SinusoidalPositionEncoding {
    /// The longest wavelength, 10000 by default.
    pub max_wavelength: f32,
}

impl Default for SinusoidalPositionEncoding {
    fn default() -> SinusoidalPositionEncoding {
        SinusoidalPositionEncoding {
            max_wavelength: 10_000.0,
        }
    }
}

impl Module for SinusoidalPositionEncoding {
    fn kind(&self) -> &'static str {
        "SinusoidalPositionEncoding"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank(
            "SinusoidalPositionEncoding",
            ctx,
            x,
            3,
            "[batch, positions, features]",
        )?;
        let (positions, features) = (x.shape()[x.ndim() - 2], x.shape()[x.ndim() - 1]);
        let mut table = Vec::with_capacity(positions * features);
        for p in 0..positions {
            for f in 0..features {
                let pair = (f / 2 * 2) as f32;
                let angle = p as f32 / self.max_wavelength.powf(pair / features as f32);
                table.push(if f % 2 == 0 { angle.sin() } else { angle.cos() });
            }
        }
        x.add(&Tensor::from_vec(table, &[positions, features])?)
    }
}

fn check_length(
    kind: &'static str,
    ctx: &ModuleContext<'_>,
    positions: usize,
    max_length: usize,
) -> Result<()> {
    if positions <= max_length {
        return Ok(());
    }
    Err(Error::shape(
        kind,
        format!(
            "{} was given {positions} positions but has a table for {max_length}; build it \
             with a max_length of at least the longest sequence",
            layer_at(ctx)
        ),
    ))
}
