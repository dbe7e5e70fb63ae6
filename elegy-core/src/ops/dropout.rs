//! Inverted dropout: zero a random fraction of the elements and scale the rest up, so that the
//! expected value of each element is unchanged and nothing needs rescaling at inference.

use ndarray::{ArrayD, Zip};

use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::{RngKey, Tensor};

/// `rate` checked to lie in `[0, 1)`.
fn check_rate(op: &'static str, rate: f32) -> Result<()> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            format!(
                "rate {rate} is outside [0, 1); it is the fraction of elements dropped, \
                 and at least some must be kept"
            ),
        ))
    }
}

/// The backward rule of `x * mask * scale`: a product, so each factor's gradient is the other's
/// value times `g * scale`.
struct DropoutRule {
    scale: f32,
}

impl Backward for DropoutRule {
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let scale = self.scale;
        let times_scaled = |other: &Tensor| {
            Zip::from(grad)
                .and(&other.view())
                .map_collect(|&g, &v| g * v * scale)
        };
        let (x, mask) = (&inputs[0], &inputs[1]);
        Ok(vec![
            x.is_tracked().then(|| times_scaled(mask)),
            mask.is_tracked().then(|| times_scaled(x)),
        ])
    }
}

impl Tensor {
    /// Inverted dropout for training: each element is kept with probability `1 - rate` and
    /// then divided by `1 - rate`, or set to 0. `rate` lies in `[0, 1)`; at 0 the result is
    /// `self` itself. The same `key` drops the same elements, so split a fresh key for each
    /// step and layer.
    ///
    /// ```
    /// use elegy_core::{RngKey, Tensor};
    /// let x = Tensor::ones(&[1000]);
    /// let y = x.dropout(0.25, RngKey::new(0))?;
    /// // Kept elements are scaled by 1 / (1 - 0.25).
    /// assert!(y.to_vec().iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    /// assert!(x.dropout(1.0, RngKey::new(0)).is_err());
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn dropout(&self, rate: f32, key: RngKey) -> Result<Tensor> {
        check_rate("dropout", rate)?;
        if rate == 0.0 {
            return Ok(self.clone());
        }
        let mask = Tensor::bernoulli(self.shape(), 1.0 - rate, key);
        self.dropout_with_mask(&mask, rate)
    }

    /// Inverted dropout with a given `mask` of 0s (dropped) and 1s (kept), of `self`'s shape:
    /// `self * mask / (1 - rate)`. For drawing the mask separately, e.g. to share it between
    /// time steps or to reproduce a run.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4])?;
    /// let mask = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[4])?;
    /// assert_eq!(x.dropout_with_mask(&mask, 0.5)?.to_vec(), vec![2.0, 0.0, 0.0, 8.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn dropout_with_mask(&self, mask: &Tensor, rate: f32) -> Result<Tensor> {
        check_rate("dropout_with_mask", rate)?;
        if mask.shape() != self.shape() {
            return Err(Error::shape(
                "dropout_with_mask",
                format!(
                    "mask of shape {:?} does not match input of shape {:?}; draw one with \
                     Tensor::bernoulli(x.shape(), 1.0 - rate, key)",
                    mask.shape(),
                    self.shape()
                ),
            ));
        }
        if let Some(bad) = mask.view().iter().find(|&&m| m != 0.0 && m != 1.0) {
            return Err(Error::invalid(
                "dropout_with_mask",
                format!("mask holds {bad}; a dropout mask holds only 0 (drop) and 1 (keep)"),
            ));
        }
        let scale = 1.0 / (1.0 - rate);
        let value = Zip::from(&self.view())
            .and(&mask.view())
            .map_collect(|&x, &m| x * m * scale);
        Ok(Tensor::from_op(value, &[self, mask], |_| DropoutRule {
            scale,
        }))
    }
}
