//! Optimizers: how gradients become parameter updates. State (moments, the step count) lives in
//! `States::optimizer_states`, so it is saved and restored with the model.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// An optimizer: an initial state for some parameters, and an update from gradients.
pub trait Optimizer: Send + Sync {
    /// The state before the first update of `params`.
    fn init(&self, params: &TensorMap) -> Result<TensorMap>;

    /// New parameters and state after one step along `grads`. Takes the parameters and state by
    /// value so that updates can reuse their storage when nothing else shares it.
    fn update(
        &self,
        params: TensorMap,
        grads: &TensorMap,
        state: TensorMap,
    ) -> Result<(TensorMap, TensorMap)>;

    /// The learning rate the next update will use, for the `lr` log.
    fn learning_rate(&self, _state: &TensorMap) -> Option<f32> {
        None
    }
}

/// The step count kept in optimizer state under `"step"`.
pub(crate) fn step_count(state: &TensorMap) -> Result<u64> {
    Ok(state.require("step")?.item()? as u64)
}

/// Checks that `grads` has a gradient of the right shape for every parameter.
pub(crate) fn check_grads(op: &'static str, params: &TensorMap, grads: &TensorMap) -> Result<()> {
    for (name, p) in params.iter() {
        let g = grads
            .get(name)
            .ok_or_else(|| Error::invalid(op, format!("no gradient for parameter `{name}`")))?;
        if g.shape() != p.shape() {
            return Err(Error::shape(
                op,
                format!(
                    "gradient of `{name}` has shape {:?} but the parameter has {:?}",
                    g.shape(),
                    p.shape()
                ),
            ));
        }
    }
    Ok(())
}

/// Zeros shaped like each parameter, named `"{prefix}/{name}"`.
pub(crate) fn zeros_like_prefixed(params: &TensorMap, prefix: &str) -> TensorMap {
    params
        .iter()
        .map(|(name, p)| (format!("{prefix}/{name}"), p.zeros_like()))
        .collect()
}

/// Takes the tensor named `name` out of `map`, as an owned array (no copy when unshared).
pub(crate) fn take_array(map: &mut TensorMap, name: &str) -> Result<ndarray::ArrayD<f32>> {
    map.remove(name)
        .map(Tensor::into_array)
        .ok_or_else(|| Error::NotFound {
            what: "optimizer state",
            name: name.to_string(),
            hint: "; the state was not created by this optimizer's init".into(),
        })
}
