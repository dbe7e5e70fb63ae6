//! [`Batch`]: inputs, targets and sample weights that travel together.

use crate::data::Data;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Inputs with optional targets and per-sample weights: one batch, or (before a [`crate::data::Loader`]
/// batches them) one sample without the batch axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The inputs.
    pub x: Data,
    /// The targets, when there are any (not for prediction).
    pub y: Option<Data>,
    /// A weight per sample (a scalar for a single sample).
    pub sample_weight: Option<Tensor>,
}

impl Batch {
    /// A batch of inputs alone.
    pub fn new(x: impl Into<Data>) -> Batch {
        Batch {
            x: x.into(),
            y: None,
            sample_weight: None,
        }
    }

    /// Inputs and targets.
    pub fn xy(x: impl Into<Data>, y: impl Into<Data>) -> Batch {
        Batch::new(x).with_y(y)
    }

    /// This batch with targets.
    pub fn with_y(mut self, y: impl Into<Data>) -> Batch {
        self.y = Some(y.into());
        self
    }

    /// This batch with per-sample weights.
    pub fn with_sample_weight(mut self, weight: Tensor) -> Batch {
        self.sample_weight = Some(weight);
        self
    }

    /// The number of samples, checking that inputs, targets and weights agree.
    pub fn num_samples(&self) -> Result<usize> {
        let n = self.x.num_samples()?;
        if let Some(y) = &self.y {
            let m = y.num_samples()?;
            if m != n {
                return Err(Error::Data(format!(
                    "a batch has {n} inputs but {m} targets; they must have the same length"
                )));
            }
        }
        if let Some(w) = &self.sample_weight
            && w.shape() != [n]
        {
            return Err(Error::Data(format!(
                "a batch of {n} samples has sample weights of shape {:?}; it needs [{n}]",
                w.shape()
            )));
        }
        Ok(n)
    }

    /// Samples (without a batch axis) stacked into one batch along a new axis 0. `first` is the
    /// index of the first sample in its stream, for error messages.
    pub(crate) fn stack(samples: &[Batch], first: usize) -> Result<Batch> {
        let xs: Vec<Data> = samples.iter().map(|s| s.x.clone()).collect();
        let x = Data::stack(&xs, "x", first)?;
        let y = match samples.iter().filter(|s| s.y.is_some()).count() {
            0 => None,
            n if n == samples.len() => {
                let ys: Vec<Data> = samples
                    .iter()
                    .map(|s| s.y.clone().expect("counted"))
                    .collect();
                Some(Data::stack(&ys, "y", first)?)
            }
            _ => {
                return Err(Error::Data(format!(
                    "samples {first} to {}: some have targets and some do not",
                    first + samples.len() - 1
                )));
            }
        };
        let sample_weight = match samples.iter().filter(|s| s.sample_weight.is_some()).count() {
            0 => None,
            n if n == samples.len() => {
                let ws = samples
                    .iter()
                    .map(|s| s.sample_weight.as_ref().expect("counted").item())
                    .collect::<Result<Vec<f32>>>()?;
                Some(Tensor::from(ws))
            }
            _ => {
                return Err(Error::Data(format!(
                    "samples {first} to {}: some have sample weights and some do not",
                    first + samples.len() - 1
                )));
            }
        };
        Ok(Batch {
            x,
            y,
            sample_weight,
        })
    }
}

impl From<Data> for Batch {
    fn from(x: Data) -> Batch {
        Batch::new(x)
    }
}

impl<X: Into<Data>, Y: Into<Data>> From<(X, Y)> for Batch {
    /// Inputs and targets.
    fn from((x, y): (X, Y)) -> Batch {
        Batch::xy(x, y)
    }
}
