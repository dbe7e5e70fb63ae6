//! Metrics: streaming measures of a model's predictions. A metric's state lives in
//! `States::metrics_states` and is reset at the start of each epoch, so its value at the end of an
//! epoch is exact over all of the epoch's samples.

mod accuracy;

pub use accuracy::SparseCategoricalAccuracy;

use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// A streaming metric: an initial state, an update per batch, a result from the state.
pub trait Metric: Send + Sync {
    /// The name it is logged under (`"accuracy"`).
    fn name(&self) -> String;

    /// The state before any batch.
    fn init(&self) -> TensorMap;

    /// The state after seeing one more batch.
    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap>;

    /// The value over every batch seen since `init`.
    fn result(&self, state: &TensorMap) -> Result<f32>;
}
