//! [`GroupNorm`]: group normalization, as Keras' `GroupNormalization`.

use super::{check_min_rank, layer_at};
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// Group normalization (Wu & He, 2018), as Keras' `GroupNormalization`: the channels (the last
/// axis) are split into `groups` groups of consecutive channels, each sample's group normalized
/// over its channels and every other non-batch axis, then scaled by `gamma` and shifted by
/// `beta` per channel. The same in training and inference; independent of the batch size.
/// `groups` must divide the channels (1 group is layer normalization over every axis, as many
/// groups as channels is instance normalization).
///
/// Parameters: `gamma` (ones) and `beta` (zeros), `[channels]` each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupNorm {
    /// The number of groups.
    pub groups: usize,
    /// Added to the variance before its square root; not negative.
    pub epsilon: f32,
}

impl GroupNorm {
    /// `groups` groups and Keras' epsilon, 1e-3.
    pub fn new(groups: usize) -> GroupNorm {
        GroupNorm {
            groups,
            epsilon: 1e-3,
        }
    }

    /// With `epsilon` added to the variance.
    pub fn epsilon(mut self, epsilon: f32) -> GroupNorm {
        self.epsilon = epsilon;
        self
    }
}

impl Module for GroupNorm {
    fn kind(&self) -> &'static str {
        "GroupNorm"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        check_min_rank("GroupNorm", ctx, x, 2, "[batch, .., channels]")?;
        let shape = x.shape().to_vec();
        let channels = shape[shape.len() - 1];
        if self.groups == 0 || !channels.is_multiple_of(self.groups) {
            return Err(Error::invalid(
                "GroupNorm",
                format!(
                    "{} splits {channels} channels into {} groups; the groups must divide the \
                     channels",
                    layer_at(ctx),
                    self.groups
                ),
            ));
        }
        if self.epsilon.is_nan() || self.epsilon < 0.0 {
            return Err(Error::invalid(
                "GroupNorm",
                format!(
                    "{} has epsilon {}; it must not be negative",
                    layer_at(ctx),
                    self.epsilon
                ),
            ));
        }
        let mut grouped: Vec<isize> = shape[..shape.len() - 1]
            .iter()
            .map(|&d| d as isize)
            .collect();
        grouped.extend([self.groups as isize, (channels / self.groups) as isize]);
        let g = x.reshape(&grouped)?;
        // Every axis but the batch (0) and the group (second to last).
        let rank = grouped.len() as isize;
        let axes: Vec<isize> = (1..rank).filter(|&a| a != rank - 2).collect();
        let mean = g.mean(&axes, true)?;
        let var = g.var(&axes, true)?;
        let normalized = g
            .sub(&mean)?
            .mul(&var.add_scalar(self.epsilon).sqrt().recip())?
            .reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())?;
        let gamma = ctx.param("gamma", &[channels], Initializer::Ones)?;
        let beta = ctx.param("beta", &[channels], Initializer::Zeros)?;
        normalized.mul(&gamma)?.add(&beta)
    }
}
