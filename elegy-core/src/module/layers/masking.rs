//! [`Masking`]: Keras' layer that marks padding steps of a sequence for the recurrent layer
//! after it.

use crate::data::Data;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::Tensor;

/// Keras' `Masking`: a step of a sequence `[batch, time, features...]` whose every feature
/// equals `mask_value` is padding. The output is a map of `sequence` (the input, with padding
/// steps set to 0, as Keras multiplies them by the mask) and `mask` (`[batch, time]`, 1 for a
/// real step), which a recurrent layer right after it takes: masked steps leave its state as it
/// was. Called on a tensor alone ([`Module::forward`]), the output is the zeroed sequence.
///
/// ```
/// use elegy_core::module::layers::Masking;
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{Data, RngKey, Tensor, TensorMap};
/// let x = Tensor::from_vec(vec![1., 2., 0., 0., 3., 0.], &[1, 3, 2])?;
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// let out = ctx.call_data(&Masking::default(), &Data::from(x))?;
/// assert_eq!(out.part("mask")?.as_tensor("mask")?.to_vec(), [1., 0., 1.]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Masking {
    /// The value every feature of a padding step holds.
    pub mask_value: f32,
}

impl Default for Masking {
    /// Keras' default: steps of zeros are padding.
    fn default() -> Self {
        Masking { mask_value: 0.0 }
    }
}

impl Masking {
    /// Steps whose features all equal `mask_value` are padding.
    pub fn new(mask_value: f32) -> Masking {
        Masking { mask_value }
    }

    /// The `[batch, time]` mask of `x`, and the sequence with its padding zeroed.
    fn masked(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let shape = x.shape();
        if shape.len() < 3 {
            return Err(Error::shape(
                "Masking",
                format!(
                    "input of shape {shape:?}: Masking takes sequences [batch, time, features]"
                ),
            ));
        }
        let (batch, time) = (shape[0], shape[1]);
        let per_step = shape[2..].iter().product::<usize>();
        let values = x.to_vec();
        let mask: Vec<f32> = values
            .chunks(per_step.max(1))
            .take(batch * time)
            .map(|step| {
                let real = step.iter().any(|&v| v != self.mask_value);
                if real { 1.0 } else { 0.0 }
            })
            .collect();
        let mask = Tensor::from_vec(mask, &[batch, time])?;
        let mut expanded = vec![batch, time];
        expanded.extend(std::iter::repeat_n(1, shape.len() - 2));
        let dims: Vec<isize> = expanded.iter().map(|&d| d as isize).collect();
        let sequence = x.mul(&mask.reshape(&dims)?)?;
        Ok((sequence, mask))
    }
}

impl Module for Masking {
    fn kind(&self) -> &'static str {
        "Masking"
    }

    fn forward(&self, x: &Tensor, _ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        Ok(self.masked(x)?.0)
    }

    fn forward_data(&self, x: &Data, _ctx: &mut ModuleContext<'_>) -> Result<Data> {
        let (sequence, mask) = self.masked(x.as_tensor("Masking's input")?)?;
        Ok(Data::from_iter([("sequence", sequence), ("mask", mask)]))
    }
}
