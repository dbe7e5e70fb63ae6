//! Cosine similarity as a loss.

use super::SampleLoss;
use super::shapes::{feature_axis, match_shapes, mean_per_sample};
use crate::error::Result;
use crate::tensor::Tensor;

/// The floor of a squared norm before its square root, as `tf.math.l2_normalize` uses.
const NORM_EPSILON: f32 = 1e-12;

/// Negative cosine similarity along `axis`, as Keras computes it:
/// `-sum(l2_normalize(y_true) * l2_normalize(y_pred))` with
/// `l2_normalize(x) = x / sqrt(max(sum(x^2), 1e-12))`.
///
/// It lies in `[-1, 1]`: `-1` when the vectors point the same way, `0` when they are orthogonal
/// or either is all zeros. Other axes than the samples axis and `axis` are averaged, giving one
/// value per sample.
#[derive(Clone, Copy, Debug)]
pub struct CosineSimilarity {
    /// The axis of the vectors compared (not 0, the samples axis); negative counts from the end.
    pub axis: isize,
}

impl Default for CosineSimilarity {
    /// Along the last axis, Keras' default.
    fn default() -> CosineSimilarity {
        CosineSimilarity { axis: -1 }
    }
}

impl SampleLoss for CosineSimilarity {
    fn name(&self) -> String {
        "cosine_similarity".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let axis = feature_axis("cosine_similarity", y_pred, self.axis)? as isize;
        let y_true = match_shapes("cosine_similarity", y_true, y_pred)?;
        let normalize = |x: &Tensor| -> Result<Tensor> {
            let norm = x
                .square()
                .sum(&[axis], true)?
                .clamp(NORM_EPSILON, f32::INFINITY)?
                .sqrt();
            x.div(&norm)
        };
        let similarity = normalize(&y_true)?
            .mul(&normalize(y_pred)?)?
            .sum(&[axis], false)?;
        Ok(similarity.neg())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}
