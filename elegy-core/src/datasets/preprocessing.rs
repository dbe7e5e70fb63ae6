//! Preparing features and labels for training: standardization and one-hot encoding.

use ndarray::Axis;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Rescales every feature to mean 0 and standard deviation 1, with statistics fitted on the
/// training set alone and then applied unchanged to validation and test data (so nothing about
/// them leaks into training).
///
/// The statistics are per feature: over axis 0 (the samples) for every position of the other
/// axes, so `[n, features]` tables and `[n, height, width, channels]` images both work. The
/// standard deviation is the population one (divided by `n`, as scikit-learn's `StandardScaler`
/// does). A feature that never varies in the training set is only centred (its scale is taken
/// as 1), so it becomes 0 instead of NaN.
///
/// ```
/// use elegy_core::Tensor;
/// use elegy_core::datasets::Standardizer;
/// let train = Tensor::from_vec(vec![1.0, 10.0, 3.0, 10.0], &[2, 2])?;
/// let scaler = Standardizer::fit(&train)?;
/// assert_eq!(scaler.mean().to_vec(), vec![2.0, 10.0]);
/// assert_eq!(scaler.transform(&train)?.to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Standardizer {
    mean: Tensor,
    scale: Tensor,
}

impl Standardizer {
    /// Fits the mean and standard deviation of each feature of `x` (samples along axis 0).
    ///
    /// Fails on a `x` without samples, and on NaN or infinite values (whose statistics would
    /// silently turn every transformed value of that feature into NaN), naming the first.
    pub fn fit(x: &Tensor) -> Result<Standardizer> {
        let shape = x.shape();
        let Some(&n) = shape.first() else {
            return Err(Error::shape(
                "Standardizer::fit",
                "x is a scalar; it needs samples along axis 0, e.g. [samples, features]",
            ));
        };
        if n == 0 {
            return Err(Error::Data(format!(
                "Standardizer::fit: x of shape {shape:?} has no samples to fit on"
            )));
        }
        if let Some((i, v)) = x.view().iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let per_sample = shape[1..].iter().product::<usize>().max(1);
            return Err(Error::Data(format!(
                "Standardizer::fit: x holds {v} at sample {}, feature {}; clean or impute the \
                 data before fitting",
                i / per_sample,
                i % per_sample
            )));
        }
        // Accumulate in f64: sums over many samples lose digits in f32.
        let values = x.view().mapv(f64::from);
        let mean = values.mean_axis(Axis(0)).expect("n > 0");
        let variance = (&values - &mean)
            .mapv(|d| d * d)
            .mean_axis(Axis(0))
            .expect("n > 0");
        let scale = variance.mapv(|v| {
            let std = v.sqrt();
            if std > 0.0 { std as f32 } else { 1.0 }
        });
        Ok(Standardizer {
            mean: Tensor::new(mean.mapv(|m| m as f32)),
            scale: Tensor::new(scale),
        })
    }

    /// `(x - mean) / std` per feature. `x` needs the per-sample shape the standardizer was fitted
    /// on (any number of samples).
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        self.check("Standardizer::transform", x)?;
        x.sub(&self.mean)?.div(&self.scale)
    }

    /// Undoes [`Standardizer::transform`]: `x * std + mean` per feature (e.g. to read
    /// standardized predictions in the original units).
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        self.check("Standardizer::inverse_transform", x)?;
        x.mul(&self.scale)?.add(&self.mean)
    }

    /// The mean of each feature in the training set, shaped like one sample.
    pub fn mean(&self) -> &Tensor {
        &self.mean
    }

    /// The standard deviation of each feature in the training set (1 where it was 0), shaped
    /// like one sample.
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }

    fn check(&self, op: &'static str, x: &Tensor) -> Result<()> {
        if x.shape().get(1..) != Some(self.mean.shape()) {
            return Err(Error::shape(
                op,
                format!(
                    "x of shape {:?} does not hold samples of the fitted shape {:?}; expected \
                     [samples, {}]",
                    x.shape(),
                    self.mean.shape(),
                    self.mean
                        .shape()
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// Class labels (integers as `f32`, any shape) as one-hot vectors: a new last axis of
/// `num_classes` with a 1 at the label. A label outside `0..num_classes` is an error naming it.
///
/// ```
/// use elegy_core::Tensor;
/// let labels = Tensor::from(vec![2.0f32, 0.0]);
/// let encoded = elegy_core::datasets::one_hot(&labels, 3)?;
/// assert_eq!(encoded.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn one_hot(labels: &Tensor, num_classes: usize) -> Result<Tensor> {
    Tensor::one_hot(labels, num_classes)
}
