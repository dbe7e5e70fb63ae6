//! [`Sequential`]: modules applied one after another.

use super::{Module, ModuleContext};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Applies its modules in order, each to the previous one's output.
///
/// ```
/// use elegy_core::module::Sequential;
/// use elegy_core::module::layers::{Linear, Relu};
/// use elegy_core::{Runner, Tensor};
/// let model = Sequential::new()
///     .layer(Linear::new(64))
///     .layer(Relu)
///     .layer(Linear::new(10));
/// let mut runner = Runner::for_module(model).build()?;
/// runner.init(Tensor::zeros(&[2, 5]), None, 2)?;
/// let names: Vec<&str> = runner.states().net_params.names().collect();
/// assert_eq!(names[..2], ["sequential/linear/bias", "sequential/linear/kernel"]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    name: Option<String>,
}

impl Sequential {
    /// An empty sequence (the identity).
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// The sequence with `layer` appended.
    pub fn layer(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// The sequence with its own name instead of `sequential`.
    pub fn named(mut self, name: impl Into<String>) -> Sequential {
        self.name = Some(name.into());
        self
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn kind(&self) -> &'static str {
        "Sequential"
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = ctx.call(layer.as_ref(), &h)?;
        }
        Ok(h)
    }

    /// Each layer's output, structured or not, is the next one's input: an
    /// `Embedding::mask_zero` or a `Masking` hands its sequence and mask, as a map, to a
    /// recurrent layer after it.
    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        let mut h = x.clone();
        let mut previous: Option<&dyn Module> = None;
        for layer in &self.layers {
            let out = ctx.call_data(layer.as_ref(), &h);
            h = match (out, previous) {
                (Ok(out), _) => out,
                // Several parts handed on to a layer that takes one tensor: say where from.
                (Err(e), Some(before)) if !matches!(h, Data::Tensor(_)) => {
                    return Err(Error::invalid(
                        "Sequential",
                        format!(
                            "{e}; they are the output of the `{}` before it (a recurrent layer \
                             with return_state gives a tuple, Embedding::with_mask_zero and \
                             Masking a map of sequence and mask): put a layer that takes them \
                             next, or take them apart in a step of your own",
                            before.kind()
                        ),
                    ));
                }
                (Err(e), _) => return Err(e),
            };
            previous = Some(layer.as_ref());
        }
        Ok(h)
    }
}
