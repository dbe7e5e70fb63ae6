//! L1 and L2 regularization of the parameters, as losses added to the total.
//!
//! They look at `inputs.params` only (not targets, predictions or weights), so they are
//! [`Loss`]es rather than [`SampleLoss`](super::SampleLoss)es. Computed from the parameters with
//! tensor ops, they carry gradients to the parameters whenever those are tracked, as they are in
//! `grad_step`.

use super::{Loss, LossInputs};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// `coefficient * sum(p^2)` over every element of the regularized parameters.
///
/// With `kernels_only` (the default), only parameters whose name ends with `kernel`
/// (`"dense/kernel"`, `"conv_1/kernel"`) count: Keras regularizes the weight matrices of layers,
/// not their biases. When that leaves no parameter out of a non-empty set, the loss is an error
/// (it would silently be 0); set `kernels_only: false` to regularize every parameter.
///
/// ```
/// use elegy_core::{Tensor, TensorMap};
/// use elegy_core::losses::{L2Regularization, Loss, LossInputs};
/// let params = TensorMap::new()
///     .with("dense/kernel", Tensor::from(vec![1.0f32, -2.0]))
///     .with("dense/bias", Tensor::from(vec![5.0f32]));
/// let (x, y_pred) = (Tensor::zeros(&[1]).into(), Tensor::zeros(&[1]).into());
/// let inputs = LossInputs {
///     x: &x, y_true: None, y_pred: &y_pred, sample_weight: None, class_weight: None, params: &params,
/// };
/// // 0.01 * (1 + 4); the bias is not regularized.
/// let loss = L2Regularization::default().compute(&inputs)?.item()?;
/// assert!((loss - 0.05).abs() < 1e-7);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct L2Regularization {
    /// The factor of the sum of squares (default 0.01, Keras' `L2()` default); not negative.
    pub coefficient: f32,
    /// Whether only parameters named `...kernel` are regularized (default true).
    pub kernels_only: bool,
}

impl Default for L2Regularization {
    fn default() -> L2Regularization {
        L2Regularization {
            coefficient: 0.01,
            kernels_only: true,
        }
    }
}

impl Loss for L2Regularization {
    fn name(&self) -> String {
        "l2_regularization".into()
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        regularize(
            "l2_regularization",
            inputs.params,
            self.coefficient,
            self.kernels_only,
            Tensor::square,
        )
    }
}

/// `coefficient * sum(|p|)` over every element of the regularized parameters.
///
/// Which parameters count follows [`L2Regularization`]: with `kernels_only` (the default) those
/// whose name ends with `kernel`.
#[derive(Clone, Copy, Debug)]
pub struct L1Regularization {
    /// The factor of the sum of absolute values (default 0.01, Keras' `L1()` default); not
    /// negative.
    pub coefficient: f32,
    /// Whether only parameters named `...kernel` are regularized (default true).
    pub kernels_only: bool,
}

impl Default for L1Regularization {
    fn default() -> L1Regularization {
        L1Regularization {
            coefficient: 0.01,
            kernels_only: true,
        }
    }
}

impl Loss for L1Regularization {
    fn name(&self) -> String {
        "l1_regularization".into()
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        regularize(
            "l1_regularization",
            inputs.params,
            self.coefficient,
            self.kernels_only,
            Tensor::abs,
        )
    }
}

/// `coefficient * sum(penalty(p))` over the selected parameters.
fn regularize(
    loss: &'static str,
    params: &TensorMap,
    coefficient: f32,
    kernels_only: bool,
    penalty: fn(&Tensor) -> Tensor,
) -> Result<Tensor> {
    if !(coefficient >= 0.0 && coefficient.is_finite()) {
        return Err(Error::invalid(
            loss,
            format!("coefficient {coefficient} must be finite and not negative"),
        ));
    }
    let selected: Vec<&Tensor> = params
        .iter()
        .filter(|(name, _)| !kernels_only || name.ends_with("kernel"))
        .map(|(_, p)| p)
        .collect();
    if selected.is_empty() && !params.is_empty() {
        const SHOWN: usize = 8;
        let mut names: Vec<&str> = params.names().take(SHOWN).collect();
        if params.len() > SHOWN {
            names.push("...");
        }
        return Err(Error::invalid(
            loss,
            format!(
                "no parameter is a kernel (a name ending in `kernel`) among {names:?}; set \
                 `kernels_only: false` to regularize every parameter"
            ),
        ));
    }
    let mut total: Option<Tensor> = None;
    for p in selected {
        let term = penalty(p).sum_all();
        total = Some(match total {
            Some(t) => t.add(&term)?,
            None => term,
        });
    }
    Ok(total
        .map(|t| t.mul_scalar(coefficient))
        .unwrap_or_else(|| Tensor::scalar(0.0)))
}
