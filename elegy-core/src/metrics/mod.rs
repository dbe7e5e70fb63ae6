//! Metrics: streaming measures of a model's predictions. A metric's state lives in
//! `States::metrics_states` and is reset at the start of each epoch, so its value at the end of an
//! epoch is exact over all of the epoch's samples.
//!
//! Conventions shared by every metric here:
//! - Axis 0 of `y_true` and `y_pred` is the sample axis (a scalar is one sample);
//!   `sample_weight`, when given, holds one weight per sample and applies to all of the sample's
//!   elements.
//! - The state is a few small `f32` tensors (scalars, or `[num_thresholds]` for [`Auc`]) under
//!   fixed names; each batch's sums are added to it in `f64`.
//! - A metric over no samples (or with a zero denominator) is 0, as in Keras.
//! - Bad shapes are errors naming the metric and the shapes, never panics.
//!
//! | metric | logged as | value (means are sample-weighted) |
//! |---|---|---|
//! | [`Mean`] | `mean` | mean `p` |
//! | [`MeanAbsoluteError`] | `mean_absolute_error` | mean `\|t - p\|` |
//! | [`MeanSquaredError`] | `mean_squared_error` | mean `(t - p)^2` |
//! | [`RootMeanSquaredError`] | `root_mean_squared_error` | `sqrt` of the epoch's MSE |
//! | [`MeanAbsolutePercentageError`] | `mean_absolute_percentage_error` | mean `100\|t-p\|/\|t\|` |
//! | [`Accuracy`] | `accuracy` | fraction of elements with `p == t` |
//! | [`BinaryAccuracy`] | `binary_accuracy` | fraction with `(p > threshold) == t` |
//! | [`CategoricalAccuracy`] | `categorical_accuracy` | fraction with `argmax p == argmax t` |
//! | [`SparseCategoricalAccuracy`] | `sparse_categorical_accuracy` | fraction `argmax p == t` |
//! | [`TopKCategoricalAccuracy`] | `top_k_categorical_accuracy` | fraction `argmax t` in top `k` |
//! | [`SparseTopKCategoricalAccuracy`] | `sparse_top_k_categorical_accuracy` | same, label `t` |
//! | [`Precision`] | `precision` | `TP / (TP + FP)` |
//! | [`Recall`] | `recall` | `TP / (TP + FN)` |
//! | [`F1Score`] | `f1_score` | `2 TP / (2 TP + FP + FN)` |
//! | [`Auc`] | `auc` | area under the ROC (or precision-recall) curve, optionally per label |
//! | [`FBetaScore`] | `fbeta_score` | `(1 + b^2) P R / (b^2 P + R)` per class, averaged |
//! | [`IoU`] | `io_u` | `TP / (TP + FP + FN)` of target classes, from a confusion matrix |
//! | [`MeanIoU`] | `mean_io_u` | the same over every class |
//! | [`BinaryIoU`] | `binary_io_u` | the same for a thresholded binary score |
//! | [`R2Score`] | `r2_score` | coefficient of determination |
//! | [`LossMetric`] | the loss's name | weighted mean of any loss's values |
//! | [`KLDivergence`] | `kl_divergence` | mean `sum(t ln(t / p))` |
//! | [`Poisson`] | `poisson` | mean `p - t ln(p)` |
//! | [`LogCoshError`] | `logcosh` | mean `ln(cosh(p - t))` |
//! | [`Hinge`] | `hinge` | mean `max(1 - t p, 0)` |
//!
//! [`IoU`], [`MeanIoU`], [`BinaryIoU`], [`LossMetric`] and the metrics after it also take
//! `sample_weight` with one weight per
//! position (the shape of the loss's values, such as `[n, steps]` for sparse labels of
//! sequences), as Keras' `MeanMetricWrapper` does; the others take one weight per sample.

mod accuracy;
mod confusion;
mod fbeta;
mod inputs;
mod iou;
mod loss_metric;
mod mean;
mod r2;
mod regression;

pub use accuracy::{
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy,
};
pub use confusion::{Auc, AucCurve, F1Score, Precision, Recall};
pub use fbeta::{FBetaAverage, FBetaScore};
pub use iou::{BinaryIoU, IoU, MeanIoU};
pub use loss_metric::{Hinge, KLDivergence, LogCoshError, LossMetric, Poisson};
pub use mean::Mean;
pub use r2::{R2Aggregation, R2Score};
pub use regression::{
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, RootMeanSquaredError,
};

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

    /// This metric logged (and its state stored) under `name` instead: to keep two metrics of
    /// one kind apart, such as the precision of two classes.
    ///
    /// ```
    /// use elegy_core::metrics::{Metric, Precision};
    /// let cats = Precision { class_id: Some(3), ..Default::default() }.named("precision_cat");
    /// assert_eq!(cats.name(), "precision_cat");
    /// ```
    fn named(self, name: impl Into<String>) -> Named<Self>
    where
        Self: Sized,
    {
        Named {
            name: name.into(),
            metric: self,
        }
    }
}

/// A metric under another name; made by [`Metric::named`].
#[derive(Clone, Debug)]
pub struct Named<M> {
    name: String,
    metric: M,
}

impl<M: Metric> Metric for Named<M> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn init(&self) -> TensorMap {
        self.metric.init()
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        self.metric.update(state, y_true, y_pred, sample_weight)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        self.metric.result(state)
    }
}
