//! [`FBetaScore`]: Keras' multi-class F-beta score (and its `F1Score` at `beta = 1`).

use super::Metric;
use super::inputs::{num_samples, sample_weights, vector};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// Keras' `backend.epsilon()`, added to the denominators as Keras adds it.
const EPSILON: f64 = 1e-7;

const STATES: [&str; 4] = [
    "true_positives",
    "false_positives",
    "false_negatives",
    "intermediate_weights",
];

/// How [`FBetaScore`] combines the scores of the classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FBetaAverage {
    /// The score of the counts summed over the classes (`average="micro"`).
    Micro,
    /// The unweighted mean of the classes' scores (`average="macro"`).
    #[default]
    Macro,
    /// The mean of the classes' scores weighted by each class's weight of positives
    /// (`average="weighted"`).
    Weighted,
    /// The score of one class (Keras' `average=None` returns every class's; a metric here logs
    /// one number, so name the class, and add one metric per class to log several).
    Class(usize),
}

/// Keras' `FBetaScore`: per class, `(1 + b^2) P R / (b^2 P + R)` from the weighted counts of the
/// epoch, with `P = TP / (TP + FP)` and `R = TP / (TP + FN)` (each denominator plus `1e-7`, as
/// Keras adds its epsilon), combined by `average`. `FBetaScore { beta: 1.0, .. }` is Keras'
/// `F1Score`.
///
/// `y_true` is one-hot (or multi-hot) `[n, classes]` and `y_pred` scores of the same shape. A
/// class is predicted for a sample when its score is above `threshold`; without one (Keras'
/// default), the classes with the sample's highest score are (ties all count), unless that score
/// is 0. `sample_weight` gives one weight per sample.
///
/// Logged as Keras' `"fbeta_score"`; rename it with [`Metric::named`] (`"f1_score"`).
/// Unlike Keras, the default `average` is [`FBetaAverage::Macro`], since a metric here is one
/// number. State: the four names of Keras' variables, each `[classes]`, made at the first batch.
///
/// ```
/// use elegy_core::Tensor;
/// use elegy_core::metrics::{FBetaScore, Metric};
/// let f1 = FBetaScore::default();
/// let y_true = Tensor::from_vec(vec![1., 0., 0., 1., 1., 0.], &[3, 2])?;
/// let y_pred = Tensor::from_vec(vec![0.9, 0.1, 0.3, 0.7, 0.2, 0.8], &[3, 2])?;
/// // Class 0: TP 1, FN 1 (F1 2/3); class 1: TP 1, FP 1 (F1 2/3).
/// let state = f1.update(&f1.init(), &y_true, &y_pred, None)?;
/// assert!((f1.result(&state)? - 2.0 / 3.0).abs() < 1e-6);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FBetaScore {
    /// The weight of recall against precision: above 1 favours recall.
    pub beta: f32,
    /// How the classes' scores combine.
    pub average: FBetaAverage,
    /// A score above it predicts the class; `None`: the highest-scoring classes of each sample.
    pub threshold: Option<f32>,
}

impl Default for FBetaScore {
    fn default() -> Self {
        FBetaScore {
            beta: 1.0,
            average: FBetaAverage::Macro,
            threshold: None,
        }
    }
}

const NAME: &str = "fbeta_score";

impl FBetaScore {
    fn check(&self) -> Result<()> {
        if !(self.beta > 0.0 && self.beta.is_finite()) {
            return Err(Error::invalid(
                NAME,
                format!("beta must be a positive number (got {})", self.beta),
            ));
        }
        if self.threshold.is_some_and(f32::is_nan) {
            return Err(Error::invalid(
                NAME,
                "threshold is NaN; give a number such as 0.5, or None for the top class",
            ));
        }
        Ok(())
    }

    /// The classes of the stored state (0 before the first batch).
    fn stored_classes(state: &TensorMap) -> Result<usize> {
        Ok(state.require(STATES[0])?.len())
    }
}

impl Metric for FBetaScore {
    fn name(&self) -> String {
        NAME.into()
    }

    fn init(&self) -> TensorMap {
        STATES.iter().map(|&n| (n, Tensor::zeros(&[0]))).collect()
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        self.check()?;
        let (t, p) = (y_true.shape(), y_pred.shape());
        let classes = match p {
            [_, c] if t == p && *c > 0 => *c,
            _ => {
                return Err(Error::shape(
                    NAME,
                    format!(
                        "y_true of shape {t:?} and y_pred of shape {p:?}: FBetaScore takes \
                         one-hot targets and scores of one shape [samples, classes]"
                    ),
                ));
            }
        };
        let stored = Self::stored_classes(state)?;
        if stored != 0 && stored != classes {
            return Err(Error::shape(
                NAME,
                format!(
                    "y_pred of shape {p:?} has {classes} classes, but the earlier batches had \
                     {stored}; give every batch the same classes"
                ),
            ));
        }
        let n = num_samples(p);
        let weights = sample_weights(NAME, sample_weight, n)?;
        let (truth, scores) = (y_true.view(), y_pred.view());
        let mut sums = [(); 4].map(|_| vec![0.0f64; classes]);
        for (i, &w) in weights.iter().enumerate() {
            let top = (0..classes)
                .map(|c| scores[[i, c]])
                .fold(f32::NEG_INFINITY, f32::max);
            for c in 0..classes {
                let (label, score) = (truth[[i, c]] as f64, scores[[i, c]]);
                let predicted = match self.threshold {
                    Some(threshold) => score > threshold,
                    None => score >= top && score.abs() > 1e-9,
                };
                let predicted = if predicted { 1.0 } else { 0.0 };
                sums[0][c] += w * predicted * label;
                sums[1][c] += w * predicted * (1.0 - label);
                sums[2][c] += w * (1.0 - predicted) * label;
                sums[3][c] += w * label;
            }
        }
        STATES
            .iter()
            .zip(&sums)
            .map(|(&name, delta)| {
                let old = if stored == 0 {
                    vec![0.0; classes]
                } else {
                    vector(NAME, state, name, classes)?
                };
                let sum: Vec<f32> = old.iter().zip(delta).map(|(a, b)| (a + b) as f32).collect();
                Ok((name, Tensor::from(sum)))
            })
            .collect()
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        self.check()?;
        let classes = Self::stored_classes(state)?;
        if classes == 0 {
            return Ok(0.0);
        }
        let [tp, fp, fn_, positives] = STATES.map(|n| vector(NAME, state, n, classes));
        let (mut tp, mut fp, mut fn_, positives) = (tp?, fp?, fn_?, positives?);
        if self.average == FBetaAverage::Micro {
            (tp, fp, fn_) = (
                vec![tp.iter().sum()],
                vec![fp.iter().sum()],
                vec![fn_.iter().sum()],
            );
        }
        let b2 = (self.beta as f64).powi(2);
        let score = |c: usize| {
            let precision = tp[c] / (tp[c] + fp[c] + EPSILON);
            let recall = tp[c] / (tp[c] + fn_[c] + EPSILON);
            (1.0 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        };
        let value = match self.average {
            FBetaAverage::Micro => score(0),
            FBetaAverage::Macro => (0..classes).map(score).sum::<f64>() / classes as f64,
            FBetaAverage::Weighted => {
                let total: f64 = positives.iter().sum::<f64>() + EPSILON;
                (0..classes).map(|c| score(c) * positives[c] / total).sum()
            }
            FBetaAverage::Class(c) if c < classes => score(c),
            FBetaAverage::Class(c) => {
                return Err(Error::invalid(
                    NAME,
                    format!("average Class({c}) is not below the {classes} classes seen"),
                ));
            }
        };
        Ok(value as f32)
    }
}
