//! Modules: layers whose parameters are created lazily from the first batch's shapes and named by
//! path (`sequential/linear_1/kernel`) in `States::net_params`, with non-trainable state
//! (batch-norm statistics) in `States::net_states`.
//!
//! A module is a description (sizes, initializers), not a holder of weights: its forward pass asks
//! the [`ModuleContext`] for each parameter by name, which creates it when initializing and reads
//! it from the states otherwise, in the manner of Haiku and Flax.

mod context;
pub mod layers;
mod sequential;

pub use context::ModuleContext;
pub use sequential::Sequential;

use crate::data::Data;
use crate::error::Result;
use crate::tensor::Tensor;

/// A layer or a network of layers.
pub trait Module: Send + Sync {
    /// The type's name as summaries show it (`"Linear"`); its snake case (`linear`) names
    /// instances that have no name of their own.
    fn kind(&self) -> &'static str;

    /// This instance's own name, if given; otherwise a name is derived from [`Module::kind`],
    /// numbered within its parent (`linear`, `linear_1`, ...).
    fn name(&self) -> Option<&str> {
        None
    }

    /// The output for a batch `x`, creating or reading parameters through `ctx`.
    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor>;

    /// The dense-layer [`Activation`](crate::Activation) this module computes, if it is one
    /// ([`Relu`](layers::Relu), [`Sigmoid`](layers::Sigmoid), [`Tanh`](layers::Tanh)): a
    /// container such as [`Mlp`](layers::Mlp) then applies it inside the dense layer's own op.
    fn as_activation(&self) -> Option<crate::Activation> {
        None
    }

    /// The output for structured inputs; by default the input must be one tensor. Modules with
    /// several inputs or outputs override this.
    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        Ok(Data::Tensor(
            self.forward(x.as_tensor("the module's input")?, ctx)?,
        ))
    }
}

/// `"BatchNorm"` -> `"batch_norm"`, `"Conv2D"` -> `"conv2d"`.
pub(crate) fn snake_case(kind: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = kind.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let after_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
            if after_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn kinds_become_snake_case_names() {
        assert_eq!(snake_case("Linear"), "linear");
        assert_eq!(snake_case("BatchNorm"), "batch_norm");
        assert_eq!(snake_case("Conv2D"), "conv2d");
        assert_eq!(snake_case("MaxPool2D"), "max_pool2d");
        assert_eq!(snake_case("MLP"), "mlp");
    }
}
