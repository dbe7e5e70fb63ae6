//! Focal cross-entropies (Lin et al., 2017): cross-entropy scaled down where the prediction is
//! already confident, so that training dwells on the hard examples.

use super::crossentropy::{check_classes, log_probabilities};
use super::shapes::{
    EPSILON, check_label_smoothing, feature_axis, match_shapes, mean_last_axis, mean_per_sample,
};
use super::{SampleLoss, class_indices};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// An error unless `gamma` is finite and not negative and `alpha` lies in `[0, 1]`.
fn check_focal(loss: &'static str, alpha: f32, gamma: f32) -> Result<()> {
    if !(gamma.is_finite() && gamma >= 0.0) {
        return Err(Error::invalid(
            loss,
            format!("gamma {gamma} must be finite and not negative (0 is plain cross-entropy)"),
        ));
    }
    if !(0.0..=1.0).contains(&alpha) {
        return Err(Error::invalid(
            loss,
            format!("alpha {alpha} is outside [0, 1]"),
        ));
    }
    Ok(())
}

/// `x^gamma`, leaving out the factor when `gamma` is 0 (`0^0` would be 1 with a NaN gradient).
fn focal_power(x: &Tensor, gamma: f32) -> Option<Tensor> {
    (gamma != 0.0).then(|| x.powf(gamma))
}

/// Binary focal cross-entropy, as Keras' `BinaryFocalCrossentropy`.
///
/// With targets `y` (after label smoothing, `y * (1 - s) + 0.5 * s`) and probabilities `p`
/// (`sigmoid(z)` of logits), each element is
/// `(1 - p_t)^gamma * bce`, with `p_t = y p + (1 - y) (1 - p)` and `bce` the binary cross-entropy
/// of [`BinaryCrossentropy`](super::BinaryCrossentropy) (probabilities clipped to
/// `[1e-7, 1 - 1e-7]`; from logits `softplus(z) - z y`, exact where Keras' sigmoid-then-clip
/// saturates, beyond `|z|` of about 16). With `apply_class_balancing`, each element is also
/// weighted by `alpha` for `y = 1` and `1 - alpha` for `y = 0` (`y alpha + (1 - y)(1 - alpha)`).
/// The values are the mean over the last axis. `class_weight` reads classes as
/// [`BinaryCrossentropy`](super::BinaryCrossentropy) does.
#[derive(Clone, Copy, Debug)]
pub struct BinaryFocalCrossentropy {
    /// Whether to weight positives by `alpha` and negatives by `1 - alpha` (default false).
    pub apply_class_balancing: bool,
    /// The positives' weight under class balancing, in `[0, 1]` (default 0.25).
    pub alpha: f32,
    /// The focusing exponent, not negative (default 2; 0 is plain cross-entropy).
    pub gamma: f32,
    /// Whether predictions are logits rather than probabilities (default false).
    pub from_logits: bool,
    /// `s` in `[0, 1]`: targets move towards 0.5 by this fraction (default 0).
    pub label_smoothing: f32,
}

impl Default for BinaryFocalCrossentropy {
    /// Keras' defaults: no class balancing, alpha 0.25, gamma 2, probabilities, no smoothing.
    fn default() -> BinaryFocalCrossentropy {
        BinaryFocalCrossentropy {
            apply_class_balancing: false,
            alpha: 0.25,
            gamma: 2.0,
            from_logits: false,
            label_smoothing: 0.0,
        }
    }
}

impl SampleLoss for BinaryFocalCrossentropy {
    fn name(&self) -> String {
        "binary_focal_crossentropy".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        const NAME: &str = "binary_focal_crossentropy";
        check_label_smoothing(NAME, self.label_smoothing)?;
        check_focal(NAME, self.alpha, self.gamma)?;
        let mut y = match_shapes(NAME, y_true, y_pred)?;
        let s = self.label_smoothing;
        if s > 0.0 {
            y = y.mul_scalar(1.0 - s).add_scalar(0.5 * s);
        }
        let (p, bce) = if self.from_logits {
            let bce = y_pred.softplus().sub(&y_pred.mul(&y)?)?;
            (y_pred.sigmoid(), bce)
        } else {
            let clipped = y_pred.clamp(EPSILON, 1.0 - EPSILON)?;
            let positive = y.mul(&clipped.log())?;
            let negative = y.rsub_scalar(1.0).mul(&clipped.rsub_scalar(1.0).log())?;
            (y_pred.clone(), positive.add(&negative)?.neg())
        };
        let one_minus_y = y.rsub_scalar(1.0);
        let p_t = y.mul(&p)?.add(&one_minus_y.mul(&p.rsub_scalar(1.0))?)?;
        let mut focal = match focal_power(&p_t.rsub_scalar(1.0), self.gamma) {
            Some(factor) => factor.mul(&bce)?,
            None => bce,
        };
        if self.apply_class_balancing {
            let a = self.alpha;
            let weight = y.mul_scalar(a).add(&one_minus_y.mul_scalar(1.0 - a))?;
            focal = weight.mul(&focal)?;
        }
        mean_last_axis(&focal)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }

    fn classes(&self, y_true: &Tensor) -> Result<Tensor> {
        super::BinaryCrossentropy::default().classes(y_true)
    }
}

/// Categorical focal cross-entropy, as Keras' `CategoricalFocalCrossentropy`.
///
/// Along `axis` (the `c` classes), with one-hot or probability targets `y` (after label
/// smoothing, `y * (1 - s) + s / c`) and `q` the predicted probabilities (`softmax` of logits, or
/// `p / sum(p)`, clipped to `[1e-7, 1 - 1e-7]` as in Keras), a row's value is
/// `sum(alpha * (1 - q)^gamma * -y ln(q))`. From logits, `ln(q)` is the exact log-softmax, as in
/// [`CategoricalCrossentropy`](super::CategoricalCrossentropy). Targets and predictions have the
/// same shape.
#[derive(Clone, Copy, Debug)]
pub struct CategoricalFocalCrossentropy {
    /// A factor of every class's term, in `[0, 1]` (default 0.25, as Keras).
    pub alpha: f32,
    /// The focusing exponent, not negative (default 2; 0 is `alpha` times cross-entropy).
    pub gamma: f32,
    /// Whether predictions are logits rather than probabilities (default false).
    pub from_logits: bool,
    /// `s` in `[0, 1]`: targets move towards the uniform `1 / c` by this fraction (default 0).
    pub label_smoothing: f32,
    /// The classes axis (default -1, the last; not 0, the samples axis).
    pub axis: isize,
}

impl Default for CategoricalFocalCrossentropy {
    /// Keras' defaults: alpha 0.25, gamma 2, probabilities, no smoothing, the last axis.
    fn default() -> CategoricalFocalCrossentropy {
        CategoricalFocalCrossentropy {
            alpha: 0.25,
            gamma: 2.0,
            from_logits: false,
            label_smoothing: 0.0,
            axis: -1,
        }
    }
}

impl SampleLoss for CategoricalFocalCrossentropy {
    fn name(&self) -> String {
        "categorical_focal_crossentropy".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        const NAME: &str = "categorical_focal_crossentropy";
        check_label_smoothing(NAME, self.label_smoothing)?;
        check_focal(NAME, self.alpha, self.gamma)?;
        let axis = feature_axis(NAME, y_pred, self.axis)?;
        if y_true.shape() != y_pred.shape() {
            return Err(Error::shape(
                NAME,
                format!(
                    "targets of shape {:?} do not match predictions of shape {:?}; one-hot \
                     targets must have the predictions' shape",
                    y_true.shape(),
                    y_pred.shape()
                ),
            ));
        }
        let classes = check_classes(NAME, y_pred, axis)?;
        let s = self.label_smoothing;
        let y = if s > 0.0 {
            y_true.mul_scalar(1.0 - s).add_scalar(s / classes as f32)
        } else {
            y_true.clone()
        };
        let log_q = log_probabilities(y_pred, axis as isize, self.from_logits)?;
        let q = if self.from_logits {
            y_pred
                .softmax(axis as isize)?
                .clamp(EPSILON, 1.0 - EPSILON)?
        } else {
            log_q.exp()
        };
        let cross = y.mul(&log_q)?.neg().mul_scalar(self.alpha);
        let focal = match focal_power(&q.rsub_scalar(1.0), self.gamma) {
            Some(factor) => factor.mul(&cross)?,
            None => cross,
        };
        focal.sum(&[axis as isize], false)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }

    fn classes(&self, y_true: &Tensor) -> Result<Tensor> {
        class_indices(y_true)
    }
}
