//! Softmax, log-softmax and log-sum-exp, computed stably (shifted by the maximum) with their own
//! backward rules rather than as compositions.

use ndarray::{ArcArray, ArrayD, Axis, IxDyn, Zip};

use super::vector_math::{exp, exp_in_place};
use super::{drop_axes, normalize_axes, normalize_axis, restore_axes};
use crate::autodiff::{Backward, InputGrads};
use crate::error::Result;
use crate::tensor::Tensor;

/// `softmax` along one axis of a view.
fn softmax_along(x: ndarray::ArrayViewD<'_, f32>, axis: usize) -> ArrayD<f32> {
    let mut out = x.to_owned();
    shift_by_max(&mut out, axis);
    exp_all(&mut out);
    for mut lane in out.lanes_mut(Axis(axis)) {
        let sum = lane.sum();
        lane.mapv_inplace(|v| v / sum);
    }
    out
}

/// Subtracts from each lane along `axis` its [`stable_shift`], so that the largest `e^v` is 1.
fn shift_by_max(values: &mut ArrayD<f32>, axis: usize) {
    for mut lane in values.lanes_mut(Axis(axis)) {
        let shift = stable_shift(lane.iter());
        lane.mapv_inplace(|v| v - shift);
    }
}

/// What to subtract from `values` before taking `e^v`, so that nothing overflows and the
/// largest becomes `e^0`: their maximum, or 0 where that is not finite (all `-inf`, say).
pub(super) fn stable_shift<'a>(values: impl IntoIterator<Item = &'a f32>) -> f32 {
    let max = values.into_iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if max.is_finite() { max } else { 0.0 }
}

/// `e^v` for every value, in one vectorized pass where the array is contiguous.
fn exp_all(values: &mut ArrayD<f32>) {
    match values.as_slice_memory_order_mut() {
        Some(all) => exp_in_place(all),
        None => values.mapv_inplace(exp),
    }
}

struct SoftmaxRule {
    axis: usize,
    output: ArcArray<f32, IxDyn>,
}

impl Backward for SoftmaxRule {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn backward(&self, grad: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        // dx = y * (g - sum(g * y)) along the axis.
        let mut out = Zip::from(grad)
            .and(&self.output)
            .map_collect(|&g, &y| g * y);
        for (mut lane, y) in out
            .lanes_mut(Axis(self.axis))
            .into_iter()
            .zip(self.output.lanes(Axis(self.axis)))
        {
            let dot = lane.sum();
            Zip::from(&mut lane)
                .and(&y)
                .for_each(|gy, &y| *gy -= y * dot);
        }
        Ok(vec![Some(out)])
    }
}

struct LogSoftmaxRule {
    axis: usize,
    output: ArcArray<f32, IxDyn>,
}

impl Backward for LogSoftmaxRule {
    fn name(&self) -> &'static str {
        "log_softmax"
    }
    fn backward(&self, grad: &ArrayD<f32>, _: &[Tensor]) -> Result<InputGrads> {
        // dx = g - softmax * sum(g) along the axis.
        let mut softmax = self.output.to_owned();
        exp_all(&mut softmax);
        let mut out = grad.clone();
        for (mut lane, p) in out
            .lanes_mut(Axis(self.axis))
            .into_iter()
            .zip(softmax.lanes(Axis(self.axis)))
        {
            let total = lane.sum();
            Zip::from(&mut lane)
                .and(&p)
                .for_each(|g, &p| *g -= p * total);
        }
        Ok(vec![Some(out)])
    }
}

struct LogSumExpRule {
    axes: Vec<usize>,
    /// The result with reduced axes kept as size 1.
    kept: ArrayD<f32>,
}

impl Backward for LogSumExpRule {
    fn name(&self) -> &'static str {
        "logsumexp"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let x = inputs[0].view();
        let g = restore_axes(grad.view(), &self.axes, self.kept.shape());
        let g = g.broadcast(x.raw_dim()).expect("kept shape broadcasts");
        let lse = self
            .kept
            .broadcast(x.raw_dim())
            .expect("kept shape broadcasts");
        let out = Zip::from(&g)
            .and(&x)
            .and(&lse)
            .map_collect(|&g, &x, &l| g * (x - l).exp());
        Ok(vec![Some(out)])
    }
}

impl Tensor {
    /// `e^x / sum(e^x)` along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        let axis = normalize_axis("softmax", axis, self.ndim())?;
        let value = softmax_along(self.view(), axis);
        Ok(Tensor::from_op(value, &[self], |output| SoftmaxRule {
            axis,
            output: output.clone(),
        }))
    }

    /// The softmax along `axis` over the entries `mask` keeps (nonzero), as Keras' `Softmax`
    /// layer with a mask: masked entries are exactly 0, and a lane with every entry masked is all
    /// 0 (never NaN). `mask` has the shape of `self` or one that broadcasts to it (an attention
    /// mask `[batch, 1, queries, keys]` over scores `[batch, heads, queries, keys]`, say); it is
    /// not differentiated.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 1.0, 5.0, 2.0, 3.0, 4.0], &[2, 3])?;
    /// let mask = Tensor::from_vec(vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0], &[2, 3])?;
    /// assert_eq!(x.masked_softmax(-1, &mask)?.to_vec(), vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn masked_softmax(&self, axis: isize, mask: &Tensor) -> Result<Tensor> {
        let axis = normalize_axis("masked_softmax", axis, self.ndim())?;
        let x = self.view();
        let mask = mask.view();
        let mask = mask.broadcast(x.raw_dim()).ok_or_else(|| {
            crate::error::Error::shape(
                "masked_softmax",
                format!(
                    "the mask of shape {:?} does not broadcast to the values' shape {:?}; give \
                     it their shape, or 1 on the axes it repeats along",
                    mask.shape(),
                    x.shape()
                ),
            )
        })?;
        let mut value = x.to_owned();
        for (mut lane, keep) in value
            .lanes_mut(Axis(axis))
            .into_iter()
            .zip(mask.lanes(Axis(axis)))
        {
            let shift = stable_shift(
                lane.iter()
                    .zip(keep.iter())
                    .filter(|(_, k)| **k != 0.0)
                    .map(|(v, _)| v),
            );
            let mut sum = 0.0;
            Zip::from(&mut lane).and(&keep).for_each(|v, &k| {
                *v = if k != 0.0 { exp(*v - shift) } else { 0.0 };
                sum += *v;
            });
            if sum > 0.0 {
                lane.mapv_inplace(|v| v / sum);
            }
        }
        // d softmax is y * (g - sum(g * y)): zeros where masked, so the rule is softmax's.
        Ok(Tensor::from_op(value, &[self], |output| SoftmaxRule {
            axis,
            output: output.clone(),
        }))
    }

    /// `x - logsumexp(x)` along `axis`, without forming the softmax.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        let axis = normalize_axis("log_softmax", axis, self.ndim())?;
        // (x - max) - ln(sum(e^(x - max))) along the axis.
        let mut value = self.to_array();
        shift_by_max(&mut value, axis);
        let mut exps = value.clone();
        exp_all(&mut exps);
        for (mut lane, e) in value
            .lanes_mut(Axis(axis))
            .into_iter()
            .zip(exps.lanes(Axis(axis)))
        {
            let log_sum = e.sum().ln();
            lane.mapv_inplace(|v| v - log_sum);
        }
        Ok(Tensor::from_op(value, &[self], |output| LogSoftmaxRule {
            axis,
            output: output.clone(),
        }))
    }

    /// `ln(sum(e^x))` over `axes` (all when empty), without overflow.
    #[doc(alias = "reduce_logsumexp")]
    pub fn logsumexp(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let axes = normalize_axes("logsumexp", axes, self.ndim())?;
        let mut kept = self.to_array();
        for &axis in &axes {
            kept = kept
                .map_axis(Axis(axis), |lane| {
                    let shift = stable_shift(lane.iter());
                    shift + lane.fold(0.0, |s, &v| s + (v - shift).exp()).ln()
                })
                .insert_axis(Axis(axis));
        }
        let value = if keepdims {
            kept.clone()
        } else {
            drop_axes(kept.clone(), &axes)
        };
        Ok(Tensor::from_op(value, &[self], |_| LogSumExpRule {
            axes,
            kept,
        }))
    }
}
