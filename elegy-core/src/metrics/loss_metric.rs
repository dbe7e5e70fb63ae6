//! Any loss as a streaming metric: Keras' `MeanMetricWrapper` of a loss function, and the
//! metrics Keras names after losses ([`KLDivergence`], [`Poisson`], [`LogCoshError`],
//! [`Hinge`]).

use super::Metric;
use super::inputs::{add_scalar, ratio, scalar};
use crate::error::{Error, Result};
use crate::losses::{self, SampleLoss};
use crate::tensor::{Tensor, TensorMap};

/// A loss tracked as a metric: the weighted mean of the loss's values over every batch since
/// the last reset, as Keras' `MeanMetricWrapper` computes it.
///
/// With `v` the loss's [`values`](SampleLoss::values) (`[n]`, or `[n, steps]` for a sequence:
/// one per position), `w` the sample weights and `m` the loss's [`mask`](SampleLoss::mask) (1
/// but where a position is ignored, as with `ignore_class`), each sample `i` adds
/// `mean_t(w_it m_it v_it)` to the state's `total` and `mean_t(w_it m_it)` to its `count`; the
/// result is `total / count` (0 over no weight). `sample_weight` gives one weight per sample
/// (`[n]`, applied to each of its positions) or one per position: the values' shape, which for
/// sparse labels is the targets' shape (`[n, steps]`). Without weights or a mask this is the mean
/// over samples of each sample's mean value. Logged under the loss's name, or another with
/// [`Metric::named`].
///
/// ```
/// use elegy_core::Tensor;
/// use elegy_core::losses::BinaryCrossentropy;
/// use elegy_core::metrics::{LossMetric, Metric};
/// let bce = LossMetric::new(BinaryCrossentropy::default());
/// let y = Tensor::from_vec(vec![1.0, 0.0], &[2, 1])?;
/// let p = Tensor::from_vec(vec![0.5, 0.5], &[2, 1])?;
/// let state = bce.update(&bce.init(), &y, &p, None)?;
/// assert!((bce.result(&state)? - std::f32::consts::LN_2).abs() < 1e-6);
/// assert_eq!(bce.name(), "binary_crossentropy");
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LossMetric<L> {
    loss: L,
}

impl<L: SampleLoss> LossMetric<L> {
    /// The loss `loss` as a metric.
    pub fn new(loss: L) -> LossMetric<L> {
        LossMetric { loss }
    }

    /// The loss measured.
    pub fn loss(&self) -> &L {
        &self.loss
    }
}

/// `(sum_i mean_t(w m v), sum_i mean_t(w m))` of one batch: Keras' sample-wise reduction.
fn batch_sums(
    loss: &(impl SampleLoss + ?Sized),
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
) -> Result<(f64, f64)> {
    let op = "loss metric";
    let values = loss.values(y_true, &y_pred.detach())?;
    let shape = values.shape().to_vec();
    let n = shape.first().copied().unwrap_or(1);
    let per_sample = values.len().checked_div(n).unwrap_or(0);
    let weights: Vec<f64> = match sample_weight {
        None => vec![1.0; values.len()],
        Some(w) if w.shape() == shape.as_slice() => w.view().iter().map(|&x| x as f64).collect(),
        Some(w) if w.len() == n => w
            .view()
            .iter()
            .flat_map(|&x| std::iter::repeat_n(x as f64, per_sample))
            .collect(),
        Some(w) => {
            return Err(Error::shape(
                op,
                format!(
                    "sample_weight of shape {:?} gives neither one weight per sample ({n}) nor \
                     one per value of `{}` (shape {shape:?})",
                    w.shape(),
                    loss.name()
                ),
            ));
        }
    };
    let mask: Vec<f64> = match loss.mask(y_true, &shape)? {
        Some(m) => m.view().iter().map(|&x| x as f64).collect(),
        None => vec![1.0; values.len()],
    };
    let (mut total, mut count) = (0.0, 0.0);
    if per_sample > 0 {
        let view = values.view();
        let mut it = view.iter().zip(weights.iter().zip(&mask));
        for _ in 0..n {
            let (mut s, mut c) = (0.0, 0.0);
            for (&v, (&w, &m)) in it.by_ref().take(per_sample) {
                s += w * m * v as f64;
                c += w * m;
            }
            total += s / per_sample as f64;
            count += c / per_sample as f64;
        }
    }
    Ok((total, count))
}

impl<L: SampleLoss> Metric for LossMetric<L> {
    fn name(&self) -> String {
        self.loss.name()
    }

    fn init(&self) -> TensorMap {
        TensorMap::new()
            .with("total", Tensor::scalar(0.0))
            .with("count", Tensor::scalar(0.0))
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let (total, count) = batch_sums(&self.loss, y_true, y_pred, sample_weight)?;
        Ok(TensorMap::new()
            .with("total", add_scalar(state, "total", total)?)
            .with("count", add_scalar(state, "count", count)?))
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        Ok(ratio(scalar(state, "total")?, scalar(state, "count")?) as f32)
    }
}

/// A metric Keras names after a loss: the loss's values streamed as [`LossMetric`] does, logged
/// under Keras' metric name.
macro_rules! loss_named_metric {
    ($(#[$doc:meta])* $name:ident, $loss:expr, $log:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl Metric for $name {
            fn name(&self) -> String {
                $log.into()
            }

            fn init(&self) -> TensorMap {
                LossMetric::new($loss).init()
            }

            fn update(
                &self,
                state: &TensorMap,
                y_true: &Tensor,
                y_pred: &Tensor,
                sample_weight: Option<&Tensor>,
            ) -> Result<TensorMap> {
                LossMetric::new($loss).update(state, y_true, y_pred, sample_weight)
            }

            fn result(&self, state: &TensorMap) -> Result<f32> {
                LossMetric::new($loss).result(state)
            }
        }
    };
}

loss_named_metric!(
    /// Keras' `KLDivergence` metric: the mean of [`losses::KLDivergence`]'s values, as
    /// [`LossMetric`] streams them. Logged as `kl_divergence`.
    KLDivergence,
    losses::KLDivergence,
    "kl_divergence"
);

loss_named_metric!(
    /// Keras' `Poisson` metric: the mean of [`losses::Poisson`]'s values, as [`LossMetric`]
    /// streams them. Logged as `poisson`.
    Poisson,
    losses::Poisson,
    "poisson"
);

loss_named_metric!(
    /// Keras' `LogCoshError` metric: the mean of [`losses::LogCosh`]'s values, as
    /// [`LossMetric`] streams them. Logged as `logcosh`, Keras' name for it.
    LogCoshError,
    losses::LogCosh,
    "logcosh"
);

loss_named_metric!(
    /// Keras' `Hinge` metric: the mean of [`losses::Hinge`]'s values (0 / 1 targets read as
    /// -1 / 1 batch by batch, as the loss does), as [`LossMetric`] streams them. Logged as
    /// `hinge`.
    Hinge,
    losses::Hinge,
    "hinge"
);
