//! [`Reconstruction`]: a per-sample loss that compares the predictions with the inputs.

use crate::error::Result;
use crate::losses::{Loss, LossInputs, SampleLoss, reduce};
use crate::tensor::Tensor;

/// `loss` between the predictions and the inputs `x` instead of the targets: the loss of an
/// autoencoder or a denoiser, trained with `fit(x, NoTargets, ..)` and the default steps, without
/// passing `x` twice.
///
/// Named after the wrapped loss (`mean_squared_error`); `sample_weight` applies
/// as for any loss, `class_weight` does not (the inputs name no class) and is ignored. The
/// inputs must be one tensor of the predictions' shape.
///
/// ```
/// use elegy_core::{Data, Tensor, TensorMap};
/// use elegy_core::losses::{Loss, LossInputs, MeanSquaredError, Reconstruction};
/// let x: Data = Tensor::from(vec![1.0f32, 2.0]).reshape(&[2, 1])?.into();
/// let y_pred: Data = Tensor::from(vec![1.0f32, 4.0]).reshape(&[2, 1])?.into();
/// let inputs = LossInputs {
///     x: &x, y_true: None, y_pred: &y_pred, sample_weight: None, class_weight: None,
///     params: &TensorMap::new(),
/// };
/// // ((1 - 1)^2 + (2 - 4)^2) / 2
/// let loss = Reconstruction::new(MeanSquaredError).compute(&inputs)?.item()?;
/// assert_eq!(loss, 2.0);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Reconstruction<L> {
    /// The loss between the inputs (as targets) and the predictions.
    pub loss: L,
}

impl<L: SampleLoss> Reconstruction<L> {
    /// `loss` between the predictions and the inputs.
    pub fn new(loss: L) -> Reconstruction<L> {
        Reconstruction { loss }
    }
}

impl<L: SampleLoss> Loss for Reconstruction<L> {
    fn name(&self) -> String {
        self.loss.name()
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        let name = self.loss.name();
        let fix = "a reconstruction loss compares one input tensor with one prediction tensor; \
                   write a Loss of your own for structured inputs";
        let x = inputs
            .x
            .as_tensor_or(&format!("loss `{name}` (reconstruction): x"), fix)?;
        let y_pred = inputs
            .y_pred
            .as_tensor_or(&format!("loss `{name}` (reconstruction): y_pred"), fix)?;
        reduce(&self.loss, &x.detach(), y_pred, inputs.sample_weight, None)
    }
}
