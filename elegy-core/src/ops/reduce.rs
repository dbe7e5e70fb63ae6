//! Reductions over chosen axes: sum, mean, max, min, variance; and argmax.
//!
//! Axes may be negative (counted from the end); an empty list means every axis. With `keepdims`
//! the reduced axes stay as size 1, so the result broadcasts against the input.

use ndarray::{ArrayD, Axis, Zip};

use super::{drop_axes, normalize_axes, restore_axes};
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Which reduction, for the shared forward and backward code.
#[derive(Clone, Copy)]
enum Reduction {
    Sum,
    Mean,
    Max,
    Min,
    Var,
}

impl Reduction {
    fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "sum",
            Reduction::Mean => "mean",
            Reduction::Max => "max",
            Reduction::Min => "min",
            Reduction::Var => "var",
        }
    }
}

/// Folds `x` over `axes` (keeping them as size 1) with `fold` per axis.
fn fold_axes(
    x: &ndarray::ArrayViewD<'_, f32>,
    axes: &[usize],
    fold: impl Fn(ndarray::ArrayViewD<'_, f32>, Axis) -> ArrayD<f32>,
) -> ArrayD<f32> {
    let mut out = x.to_owned();
    for &axis in axes {
        out = fold(out.view(), Axis(axis)).insert_axis(Axis(axis));
    }
    out
}

fn reduce_kept(x: &ndarray::ArrayViewD<'_, f32>, axes: &[usize], kind: Reduction) -> ArrayD<f32> {
    let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
    match kind {
        Reduction::Sum => fold_axes(x, axes, |v, a| v.sum_axis(a)),
        Reduction::Mean => fold_axes(x, axes, |v, a| v.sum_axis(a)) / count as f32,
        Reduction::Max => fold_axes(x, axes, |v, a| {
            v.fold_axis(a, f32::NEG_INFINITY, |&m, &e| {
                if e > m || e.is_nan() { e } else { m }
            })
        }),
        Reduction::Min => fold_axes(x, axes, |v, a| {
            v.fold_axis(
                a,
                f32::INFINITY,
                |&m, &e| if e < m || e.is_nan() { e } else { m },
            )
        }),
        Reduction::Var => {
            let mean = fold_axes(x, axes, |v, a| v.sum_axis(a)) / count as f32;
            let squares = (x - &mean).mapv(|d| d * d);
            fold_axes(&squares.view(), axes, |v, a| v.sum_axis(a)) / count as f32
        }
    }
}

struct ReduceRule {
    kind: Reduction,
    axes: Vec<usize>,
    /// The result with reduced axes kept as size 1.
    kept: ArrayD<f32>,
}

impl Backward for ReduceRule {
    fn name(&self) -> &'static str {
        self.kind.name()
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let x = inputs[0].view();
        let g = restore_axes(grad.view(), &self.axes, self.kept.shape());
        let g = g.broadcast(x.raw_dim()).expect("kept shape broadcasts");
        let count: usize = self.axes.iter().map(|&a| x.shape()[a]).product();
        let out = match self.kind {
            Reduction::Sum => g.to_owned(),
            Reduction::Mean => g.mapv(|g| g / count as f32),
            Reduction::Var => {
                let mean = reduce_kept(&x, &self.axes, Reduction::Mean);
                let mean = mean.broadcast(x.raw_dim()).expect("kept shape broadcasts");
                let scale = 2.0 / count as f32;
                Zip::from(&g)
                    .and(&x)
                    .and(&mean)
                    .map_collect(|&g, &x, &m| g * scale * (x - m))
            }
            Reduction::Max | Reduction::Min => {
                // Ties share the gradient equally, so the rule is the mean of the extremes.
                let extreme = self.kept.broadcast(x.raw_dim()).expect("kept");
                let hits = Zip::from(&x)
                    .and(&extreme)
                    .map_collect(|&x, &e| (x == e) as u8 as f32);
                let counts = reduce_kept(&hits.view(), &self.axes, Reduction::Sum);
                let counts = counts.broadcast(x.raw_dim()).expect("kept");
                Zip::from(&g)
                    .and(&hits)
                    .and(&counts)
                    .map_collect(|&g, &h, &c| g * h / c)
            }
        };
        Ok(vec![Some(out)])
    }
}

impl Tensor {
    fn reduce(&self, kind: Reduction, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let op = kind.name();
        let axes = normalize_axes(op, axes, self.ndim())?;
        if matches!(
            kind,
            Reduction::Max | Reduction::Min | Reduction::Mean | Reduction::Var
        ) && axes.iter().any(|&a| self.shape()[a] == 0)
        {
            return Err(Error::shape(
                op,
                format!("cannot reduce an empty axis of shape {:?}", self.shape()),
            ));
        }
        let kept = reduce_kept(&self.view(), &axes, kind);
        let value = if keepdims {
            kept.clone()
        } else {
            drop_axes(kept.clone(), &axes)
        };
        Ok(Tensor::from_op(value, &[self], |_| ReduceRule {
            kind,
            axes,
            kept,
        }))
    }

    /// The sum over `axes` (all when empty).
    #[doc(alias = "reduce_sum")]
    pub fn sum(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(Reduction::Sum, axes, keepdims)
    }

    /// The mean over `axes` (all when empty).
    #[doc(alias("average", "reduce_mean", "mean_axis"))]
    pub fn mean(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(Reduction::Mean, axes, keepdims)
    }

    /// The largest value over `axes` (all when empty); ties share the gradient.
    #[doc(alias("amax", "reduce_max"))]
    pub fn max(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(Reduction::Max, axes, keepdims)
    }

    /// The smallest value over `axes` (all when empty); ties share the gradient.
    #[doc(alias("amin", "reduce_min"))]
    pub fn min(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(Reduction::Min, axes, keepdims)
    }

    /// The population variance (divided by n, as numpy's default) over `axes` (all when empty).
    #[doc(alias("variance", "reduce_variance"))]
    pub fn var(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(Reduction::Var, axes, keepdims)
    }

    /// The sum of every element, as a scalar (shape `[]`).
    pub fn sum_all(&self) -> Tensor {
        self.reduce(Reduction::Sum, &[], false)
            .expect("summing every axis cannot fail")
    }

    /// The mean of every element, as a scalar (shape `[]`); NaN for an empty tensor.
    pub fn mean_all(&self) -> Tensor {
        let n = self.len() as f32;
        self.sum_all().div_scalar(n)
    }

    /// The index of the largest value along `axis` (the first of ties, or the first NaN, as
    /// numpy's), as untracked `f32` indices: a class prediction has no gradient.
    pub fn argmax(&self, axis: isize) -> Result<Tensor> {
        let axis = super::normalize_axis("argmax", axis, self.ndim())?;
        if self.shape()[axis] == 0 {
            return Err(Error::shape(
                "argmax",
                format!("axis {axis} of shape {:?} is empty", self.shape()),
            ));
        }
        let value = self.view().map_axis(Axis(axis), |lane| {
            // The first NaN wins, as in numpy: a NaN score is not silently passed over.
            let mut best = 0;
            for (i, &v) in lane.iter().enumerate() {
                if v.is_nan() {
                    return i as f32;
                }
                if v > lane[best] {
                    best = i;
                }
            }
            best as f32
        });
        Ok(Tensor::new(value))
    }
}
