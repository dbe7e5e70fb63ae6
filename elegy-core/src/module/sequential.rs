//! [`Sequential`]: modules applied one after another.

use super::{Module, ModuleContext};
use crate::error::Result;
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
}
