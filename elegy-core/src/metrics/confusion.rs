//! Metrics from confusion counts: [`Precision`], [`Recall`], [`F1Score`] and [`Auc`].
//!
//! Each element of `y_true` is a label (positive when non-zero, as Keras casts it to bool) and the
//! element of `y_pred` at the same place its score; `y_true` and `y_pred` have one shape (`[n]` and
//! `[n, 1]` may be mixed), and every element of sample `i` carries its weight `w_i`. The weighted
//! counts of true/false positives/negatives are summed over the epoch, and the metric is computed
//! from the sums once: it is exact over all samples, not an average of batch values.

use super::Metric;
use super::inputs::{
    add_scalar, matched, num_classes, num_samples, ratio, sample_weights, scalar, vector,
};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

const TRUE_POSITIVES: &str = "true_positives";
const FALSE_POSITIVES: &str = "false_positives";
const TRUE_NEGATIVES: &str = "true_negatives";
const FALSE_NEGATIVES: &str = "false_negatives";

/// Calls `f(label_is_positive, score, weight)` for each element of `y_true` and `y_pred` (only
/// those of class `class_id` on the last axis, when given), with the weight of its sample.
fn for_each_element(
    op: &'static str,
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
    class_id: Option<usize>,
    mut f: impl FnMut(bool, f32, f64),
) -> Result<()> {
    let (t, p) = matched(op, y_true, y_pred)?;
    let (t, p) = match class_id {
        None => (t, p),
        Some(c) => {
            let classes = num_classes(op, &p)?;
            if c >= classes {
                return Err(Error::invalid(
                    op,
                    format!(
                        "class_id {c} is not below the {classes} classes of y_pred {:?}",
                        p.shape()
                    ),
                ));
            }
            let last = p.ndim() as isize - 1;
            (t.slice(last, c, c + 1)?, p.slice(last, c, c + 1)?)
        }
    };
    let n = num_samples(p.shape());
    let weights = sample_weights(op, sample_weight, n)?;
    // At least 1: an empty batch visits no element.
    let per_sample = (p.len() / n.max(1)).max(1);
    // Row-major iteration visits each sample's elements together, whatever the layout.
    for (k, (&t, &p)) in t.view().iter().zip(p.view().iter()).enumerate() {
        f(t != 0.0, p, weights[k / per_sample]);
    }
    Ok(())
}

/// Rejects a NaN threshold, which would silently make every prediction negative.
fn check_threshold(op: &'static str, threshold: f32) -> Result<()> {
    if threshold.is_nan() {
        return Err(Error::invalid(
            op,
            "threshold is NaN; give a number such as 0.5",
        ));
    }
    Ok(())
}

/// The weighted confusion counts of a batch at one threshold.
#[derive(Default)]
struct Counts {
    true_positives: f64,
    false_positives: f64,
    false_negatives: f64,
}

impl Counts {
    fn of(
        op: &'static str,
        threshold: f32,
        class_id: Option<usize>,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Counts> {
        check_threshold(op, threshold)?;
        let mut c = Counts::default();
        for_each_element(
            op,
            y_true,
            y_pred,
            sample_weight,
            class_id,
            |label, p, w| match (label, p > threshold) {
                (true, true) => c.true_positives += w,
                (false, true) => c.false_positives += w,
                (true, false) => c.false_negatives += w,
                (false, false) => {}
            },
        )?;
        Ok(c)
    }

    fn get(&self, name: &str) -> f64 {
        match name {
            TRUE_POSITIVES => self.true_positives,
            FALSE_POSITIVES => self.false_positives,
            // The only other name the metrics here keep.
            _ => self.false_negatives,
        }
    }
}

/// A metric computed from the weighted confusion counts at one threshold: [`Precision`],
/// [`Recall`] and [`F1Score`] differ only in their name, the counts they keep and the ratio of
/// them they report, so one implementation (`threshold_metric!`) serves them all.
trait ThresholdCounts: Send + Sync {
    /// The log name.
    const NAME: &'static str;
    /// The counts kept in state, by name.
    const STATES: &'static [&'static str];
    /// A score above it is a positive prediction.
    fn threshold(&self) -> f32;
    /// The one class measured against the rest, if any.
    fn class_id(&self) -> Option<usize>;
    /// The metric from the counts in `state`.
    fn ratio(state: &TensorMap) -> Result<f64>;
}

/// [`Metric::init`] of a [`ThresholdCounts`] metric: zero counts.
fn counts_init<T: ThresholdCounts>() -> TensorMap {
    T::STATES
        .iter()
        .map(|&n| (n, Tensor::scalar(0.0)))
        .collect()
}

/// [`Metric::update`] of a [`ThresholdCounts`] metric: the counts after one more batch.
fn counts_update<T: ThresholdCounts>(
    metric: &T,
    state: &TensorMap,
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
) -> Result<TensorMap> {
    let batch = Counts::of(
        T::NAME,
        metric.threshold(),
        metric.class_id(),
        y_true,
        y_pred,
        sample_weight,
    )?;
    T::STATES
        .iter()
        .map(|&n| Ok((n, add_scalar(state, n, batch.get(n))?)))
        .collect()
}

/// A public metric type over [`ThresholdCounts`]: its fields (`threshold`, `class_id`), its
/// default (threshold 0.5, every class) and the counts it keeps.
macro_rules! threshold_metric {
    ($(#[$doc:meta])* $name:ident, $log:literal, [$($state:ident),+], |$s:ident| $ratio:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name {
            /// A score above it is a positive prediction.
            pub threshold: f32,
            /// Measure only this class (an index into the last axis), one against the rest.
            pub class_id: Option<usize>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    threshold: 0.5,
                    class_id: None,
                }
            }
        }

        impl ThresholdCounts for $name {
            const NAME: &'static str = $log;
            const STATES: &'static [&'static str] = &[$($state),+];
            fn threshold(&self) -> f32 {
                self.threshold
            }
            fn class_id(&self) -> Option<usize> {
                self.class_id
            }
            fn ratio($s: &TensorMap) -> Result<f64> {
                $ratio
            }
        }

        impl Metric for $name {
            fn name(&self) -> String {
                $log.into()
            }

            fn init(&self) -> TensorMap {
                counts_init::<$name>()
            }

            fn update(
                &self,
                state: &TensorMap,
                y_true: &Tensor,
                y_pred: &Tensor,
                sample_weight: Option<&Tensor>,
            ) -> Result<TensorMap> {
                counts_update(self, state, y_true, y_pred, sample_weight)
            }

            fn result(&self, state: &TensorMap) -> Result<f32> {
                Ok(<$name as ThresholdCounts>::ratio(state)? as f32)
            }
        }
    };
}

threshold_metric!(
    /// Keras' `Precision`: of the weight predicted positive, the fraction that is positive,
    /// `precision = TP / (TP + FP)` (0 when nothing was predicted positive).
    ///
    /// A prediction is positive when strictly above `threshold`. With `class_id`, only that class
    /// (of the last axis of one-hot `y_true` and per-class scores `y_pred`) is measured, one class
    /// against the rest. State: `true_positives`, `false_positives`.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// use elegy_core::metrics::{Metric, Precision};
    /// let p = Precision::default();
    /// let y_true = Tensor::from(vec![1.0, 0.0, 1.0]);
    /// let y_pred = Tensor::from(vec![0.9, 0.8, 0.2]); // TP = 1, FP = 1
    /// let state = p.update(&p.init(), &y_true, &y_pred, None)?;
    /// assert_eq!(p.result(&state)?, 0.5);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    Precision,
    "precision",
    [TRUE_POSITIVES, FALSE_POSITIVES],
    |state| {
        let tp = scalar(state, TRUE_POSITIVES)?;
        Ok(ratio(tp, tp + scalar(state, FALSE_POSITIVES)?))
    }
);

threshold_metric!(
    /// Keras' `Recall`: of the positive weight, the fraction predicted positive,
    /// `recall = TP / (TP + FN)` (0 when there was nothing positive).
    ///
    /// A prediction is positive when strictly above `threshold`; `class_id` as in [`Precision`].
    /// State: `true_positives`, `false_negatives`.
    Recall,
    "recall",
    [TRUE_POSITIVES, FALSE_NEGATIVES],
    |state| {
        let tp = scalar(state, TRUE_POSITIVES)?;
        Ok(ratio(tp, tp + scalar(state, FALSE_NEGATIVES)?))
    }
);

threshold_metric!(
    /// The binary F1 score, the harmonic mean of precision and recall:
    /// `f1 = 2 TP / (2 TP + FP + FN)` (`= 2 P R / (P + R)`; 0 when there are no true positives).
    ///
    /// Logged as Keras' `"f1_score"`. Unlike Keras' `F1Score` (which defaults to per-class scores of
    /// argmax predictions), this is one binary score: a prediction is positive when strictly above
    /// `threshold`, and `class_id` selects one class against the rest as in [`Precision`].
    /// State: `true_positives`, `false_positives`, `false_negatives`.
    F1Score,
    "f1_score",
    [TRUE_POSITIVES, FALSE_POSITIVES, FALSE_NEGATIVES],
    |state| {
        let tp2 = 2.0 * scalar(state, TRUE_POSITIVES)?;
        let errors = scalar(state, FALSE_POSITIVES)? + scalar(state, FALSE_NEGATIVES)?;
        Ok(ratio(tp2, tp2 + errors))
    }
);

/// Which curve [`Auc`] measures the area under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AucCurve {
    /// True-positive rate against false-positive rate (Keras' default, `curve="ROC"`).
    #[default]
    Roc,
    /// Precision against recall (`curve="PR"`), interpolated as Keras does.
    Pr,
}

/// Keras' `AUC`: the area under the ROC curve (or, with `curve: AucCurve::Pr`, the
/// precision-recall curve) from confusion counts at `num_thresholds` evenly spaced thresholds.
///
/// With `T = num_thresholds`, the thresholds are `t_0 = -1e-7`, `t_i = i / (T - 1)` for
/// `0 < i < T - 1`, and `t_{T-1} = 1 + 1e-7`, so the curve runs from (1, 1) to (0, 0). At each,
/// with a score positive when `p > t_i` (scores clipped to `[0, 1]` first, as Keras does),
/// `TPR_i = TP_i / (TP_i + FN_i)` and `FPR_i = FP_i / (FP_i + TN_i)` (0 when undefined).
///
/// **ROC:** `auc = sum_i (FPR_i - FPR_{i+1}) (TPR_i + TPR_{i+1}) / 2`: the trapezoid rule, which
/// is Keras' default `summation_method="interpolation"` for the ROC curve. `p > t_i` is decided
/// exactly, in `f64`, where Keras compares against `f32`-rounded thresholds; the two can differ
/// only for a score within a rounding error of a threshold. The result is the Mann-Whitney
/// statistic (the weighted fraction of (positive, negative) pairs ranked correctly, ties counting
/// 1/2) of the scores rounded up to the grid, so pairs whose scores share a cell
/// `(t_i, t_{i+1}]` count as ties: it differs from the exact ROC AUC by at most half the weighted
/// fraction of pairs within `1 / (T - 1)` of each other.
///
/// **PR:** Keras' interpolation of Davis & Goadrich (2006): between two thresholds, precision is
/// interpolated along the true positives rather than linearly, so that
/// `auc = sum_i slope_i (dTP_i + b_i ln(P_i / P_{i+1})) / (TP_{i+1} + FN_{i+1})` with
/// `P = TP + FP`, `dTP_i = TP_i - TP_{i+1}`, `slope_i = dTP_i / (P_i - P_{i+1})` and
/// `b_i = TP_{i+1} - slope_i P_{i+1}` (terms with a zero denominator are 0, and the log is 0 unless
/// both `P` are positive), exactly as Keras computes it.
///
/// **Labels:** `y_true` holds labels (non-zero is positive) and `y_pred` scores in `[0, 1]` (or
/// logits, with `from_logits`), of one shape; each element weighted by its sample's weight. By
/// default every element is one point of one curve. With `multi_label`, the last axis holds
/// labels: each has its own curve (over the other axes' elements), and the result is the mean of
/// the labels' areas, as Keras' `multi_label=True` without `label_weights`.
///
/// With only positives or only negatives seen (of a label), its area is 0, as in Keras.
///
/// State: `true_positives`, `false_positives`, `true_negatives`, `false_negatives`, each `[T]`
/// (`[T, labels]` with `multi_label`; made at the first batch, whose last axis fixes the labels).
#[derive(Clone, Copy, Debug)]
pub struct Auc {
    /// How many thresholds to evaluate the curve at; at least 2.
    pub num_thresholds: usize,
    /// Whether `y_pred` holds logits, turned into probabilities by a sigmoid first.
    pub from_logits: bool,
    /// The curve: ROC (the default) or precision-recall.
    pub curve: AucCurve,
    /// One curve per label of the last axis, their areas averaged.
    pub multi_label: bool,
}

impl Default for Auc {
    fn default() -> Self {
        Auc {
            num_thresholds: 200,
            from_logits: false,
            curve: AucCurve::Roc,
            multi_label: false,
        }
    }
}

/// The four confusion counts of each threshold (outer index) and label (inner index).
struct Curves {
    labels: usize,
    counts: [Vec<f64>; 4],
}

impl Curves {
    fn at(&self, which: usize, threshold: usize, label: usize) -> f64 {
        self.counts[which][threshold * self.labels + label]
    }
}

const TP: usize = 0;
const FP: usize = 1;
const TN: usize = 2;
const FN: usize = 3;

impl Auc {
    const NAME: &'static str = "auc";
    const STATES: [&'static str; 4] = [
        TRUE_POSITIVES,
        FALSE_POSITIVES,
        TRUE_NEGATIVES,
        FALSE_NEGATIVES,
    ];

    fn check(&self) -> Result<usize> {
        match self.num_thresholds {
            t if t >= 2 => Ok(t),
            t => Err(Error::invalid(
                Self::NAME,
                format!("num_thresholds must be at least 2 (got {t})"),
            )),
        }
    }

    /// How many thresholds lie strictly below the score `p`: a score is positive at thresholds
    /// `0..cell`. For `p` in `[0, 1]`, `#{0 < i < T-1 : i / (T-1) < p} = ceil(p (T-1)) - 1` (at
    /// least 0), plus `t_0`, which every such score exceeds; none exceeds `t_{T-1}`.
    fn cell(&self, p: f32) -> usize {
        let p = if self.from_logits {
            1.0 / (1.0 + (-(p as f64)).exp())
        } else {
            p as f64
        };
        // NaN counts as 0, like a score below every threshold but the first.
        let p = if p > 0.0 { p.min(1.0) } else { 0.0 };
        let steps = (self.num_thresholds - 1) as f64;
        ((p * steps).ceil() as usize).clamp(1, self.num_thresholds - 1)
    }

    /// The number of labels of the stored state (0 before the first batch of `multi_label`).
    fn stored_labels(&self, state: &TensorMap, t: usize) -> Result<usize> {
        let stored = state.require(TRUE_POSITIVES)?;
        match (self.multi_label, stored.shape()) {
            (false, _) => Ok(1),
            (true, [rows, labels]) if *rows == t => Ok(*labels),
            (true, shape) => Err(Error::shape(
                Self::NAME,
                format!(
                    "state of shape {shape:?} is not [{t}, labels]: it was made for other \
                     options; start again from `init()`"
                ),
            )),
        }
    }

    /// The counts in `state`, `labels` per threshold (zeros while nothing is stored).
    fn curves(&self, state: &TensorMap, t: usize, labels: usize) -> Result<Curves> {
        let stored = self.stored_labels(state, t)?;
        let counts = Self::STATES.map(|name| {
            if stored == 0 {
                Ok(vec![0.0; t * labels])
            } else {
                vector(Self::NAME, state, name, t * labels)
            }
        });
        let [tp, fp, tn, fn_] = counts;
        Ok(Curves {
            labels,
            counts: [tp?, fp?, tn?, fn_?],
        })
    }

    /// The area under one label's curve.
    fn area(&self, c: &Curves, label: usize) -> f64 {
        let t = self.num_thresholds;
        let at = |which, i| c.at(which, i, label);
        match self.curve {
            AucCurve::Roc => {
                let tpr = |i| ratio(at(TP, i), at(TP, i) + at(FN, i));
                let fpr = |i| ratio(at(FP, i), at(FP, i) + at(TN, i));
                (0..t - 1)
                    .map(|i| (fpr(i) - fpr(i + 1)) * (tpr(i) + tpr(i + 1)) / 2.0)
                    .sum()
            }
            AucCurve::Pr => (0..t - 1)
                .map(|i| {
                    let (tp0, tp1) = (at(TP, i), at(TP, i + 1));
                    let (p0, p1) = (tp0 + at(FP, i), tp1 + at(FP, i + 1));
                    let dtp = tp0 - tp1;
                    let slope = ratio(dtp, (p0 - p1).max(0.0));
                    let intercept = tp1 - slope * p1;
                    let log_ratio = if p0 > 0.0 && p1 > 0.0 {
                        (p0 / p1).ln()
                    } else {
                        0.0
                    };
                    ratio(
                        slope * (dtp + intercept * log_ratio),
                        (tp1 + at(FN, i + 1)).max(0.0),
                    )
                })
                .sum(),
        }
    }
}

impl Metric for Auc {
    fn name(&self) -> String {
        Self::NAME.into()
    }

    fn init(&self) -> TensorMap {
        let shape: &[usize] = if self.multi_label {
            &[self.num_thresholds, 0]
        } else {
            &[self.num_thresholds]
        };
        let zeros = Tensor::zeros(shape);
        Self::STATES.iter().map(|&n| (n, zeros.clone())).collect()
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let t = self.check()?;
        let op = Self::NAME;
        let labels = if self.multi_label {
            let (_, p) = matched(op, y_true, y_pred)?;
            let labels = num_classes(op, &p)?;
            let stored = self.stored_labels(state, t)?;
            if stored != 0 && stored != labels {
                return Err(Error::shape(
                    op,
                    format!(
                        "y_pred of shape {:?} has {labels} labels, but the earlier batches had \
                         {stored}; give every batch the same labels on the last axis",
                        p.shape()
                    ),
                ));
            }
            labels
        } else {
            1
        };
        // The weight of positives and negatives in each (cell, label), then suffix sums over
        // cells: a score in cell `c` is positive at thresholds `0..c`.
        let (mut pos, mut neg) = (vec![0.0f64; t * labels], vec![0.0f64; t * labels]);
        let mut element = 0usize;
        for_each_element(op, y_true, y_pred, sample_weight, None, |label, p, w| {
            let at = self.cell(p) * labels + element % labels;
            element += 1;
            if label { pos[at] += w } else { neg[at] += w }
        })?;
        let mut batch = Curves {
            labels,
            counts: [(); 4].map(|_| vec![0.0f64; t * labels]),
        };
        for l in 0..labels {
            let total_pos: f64 = (0..t).map(|i| pos[i * labels + l]).sum();
            let total_neg: f64 = (0..t).map(|i| neg[i * labels + l]).sum();
            let (mut above_pos, mut above_neg) = (0.0, 0.0);
            for i in (0..t).rev() {
                let at = i * labels + l;
                batch.counts[TP][at] = above_pos;
                batch.counts[FP][at] = above_neg;
                batch.counts[TN][at] = total_neg - above_neg;
                batch.counts[FN][at] = total_pos - above_pos;
                above_pos += pos[at];
                above_neg += neg[at];
            }
        }
        let old = self.curves(state, t, labels)?;
        let shape: &[usize] = if self.multi_label { &[t, labels] } else { &[t] };
        let mut next = TensorMap::new();
        for (which, name) in Self::STATES.iter().enumerate() {
            let sum: Vec<f32> = old.counts[which]
                .iter()
                .zip(&batch.counts[which])
                .map(|(a, b)| (a + b) as f32)
                .collect();
            next = next.with(*name, Tensor::from_vec(sum, shape)?);
        }
        Ok(next)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        let t = self.check()?;
        let labels = self.stored_labels(state, t)?;
        if labels == 0 {
            return Ok(0.0);
        }
        let curves = self.curves(state, t, labels)?;
        let mean = (0..labels).map(|l| self.area(&curves, l)).sum::<f64>() / labels as f64;
        Ok(mean as f32)
    }
}
