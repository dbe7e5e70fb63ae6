//! [`Embedding`]: a learned vector per integer index.

use super::check_size;
use crate::data::Data;
use crate::error::Result;
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// A table of `vocab_size` learned vectors of `dim` values, looked up by index: indices of any
/// shape (non-negative integers stored as `f32`) give `indices.shape ++ [dim]` (see
/// [`Tensor::take`]). The indices get no gradient; a row used several times in a batch gets the
/// sum of its uses' gradients.
///
/// Parameter: `embeddings` `[vocab_size, dim]`, uniform in `[-0.05, 0.05)` as in Keras.
///
/// ```
/// use elegy_core::module::layers::Embedding;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let layer = Embedding::new(1000, 16);
/// let tokens = Tensor::from_vec(vec![3.0, 14.0, 15.0, 92.0, 65.0, 35.0], &[2, 3])?;
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
/// assert_eq!(ctx.call(&layer, &tokens)?.shape(), &[2, 3, 16]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Embedding {
    /// Number of rows: indices lie in `0..vocab_size`.
    pub vocab_size: usize,
    /// Values per row.
    pub dim: usize,
    /// How the table starts.
    pub init: Initializer,
    /// Whether index 0 is padding, as Keras' `mask_zero`: the output is then a map of
    /// `sequence` (the embeddings) and `mask` (`[batch, time]`, 1 where the index is not 0),
    /// which a recurrent layer right after it takes (masked steps leave its state as it was).
    pub mask_zero: bool,
}

impl Embedding {
    /// A table of `vocab_size` rows of `dim` values, uniform in `[-0.05, 0.05)` at first.
    pub fn new(vocab_size: usize, dim: usize) -> Embedding {
        Embedding {
            vocab_size,
            dim,
            init: Initializer::Uniform {
                low: -0.05,
                high: 0.05,
            },
            mask_zero: false,
        }
    }

    /// With index 0 as padding, masked for the recurrent layer after it (Keras' `mask_zero`;
    /// see [`Embedding::mask_zero`](Embedding#structfield.mask_zero)).
    ///
    /// ```
    /// use elegy_core::module::layers::{Embedding, Lstm};
    /// use elegy_core::module::{ModuleContext, Sequential};
    /// use elegy_core::{Data, RngKey, Tensor, TensorMap};
    /// let model = Sequential::new().layer(Embedding::new(10, 4).with_mask_zero()).layer(Lstm::new(3));
    /// // The second sequence is padded after two steps: the padding leaves the state alone.
    /// let tokens = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6., 0., 0.], &[2, 4])?;
    /// let empty = TensorMap::new();
    /// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    /// let h = ctx.call_data(&model, &Data::from(tokens))?.into_tensor()?;
    /// assert_eq!(h.shape(), &[2, 3]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn with_mask_zero(mut self) -> Embedding {
        self.mask_zero = true;
        self
    }

    /// With the table starting from `init`.
    pub fn init(mut self, init: Initializer) -> Embedding {
        self.init = init;
        self
    }
}

impl Module for Embedding {
    fn kind(&self) -> &'static str {
        "Embedding"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_size("Embedding", ctx, "vocab_size", self.vocab_size)?;
        check_size("Embedding", ctx, "dim", self.dim)?;
        let table = ctx.param("embeddings", &[self.vocab_size, self.dim], self.init)?;
        table.take(x)
    }

    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        let ids = x.as_tensor("Embedding's input")?;
        let sequence = self.forward(ids, ctx)?;
        if !self.mask_zero {
            return Ok(Data::Tensor(sequence));
        }
        let mask = Tensor::new(ids.view().mapv(|v| if v != 0.0 { 1.0 } else { 0.0 }));
        Ok(Data::from_iter([("sequence", sequence), ("mask", mask)]))
    }
}
