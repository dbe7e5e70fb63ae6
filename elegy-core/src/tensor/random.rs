//! Seeded randomness: splittable keys (never mutated in place) and parameter initializers.

use ndarray::{ArrayD, IxDyn};
use ndarray_rand::RandomExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

use super::Tensor;
use crate::error::{Error, Result};

/// A random key in the manner of JAX: a value, not a generator. Splitting a key gives new
/// independent keys and leaves the old one as it was, so the same seed always yields the same
/// numbers however the program is arranged.
///
/// ```
/// use elegy_core::{RngKey, Tensor};
/// let (a, b) = RngKey::new(42).split();
/// let x = Tensor::normal(&[2, 3], 0.0, 1.0, a);
/// assert_eq!(x, Tensor::normal(&[2, 3], 0.0, 1.0, a));
/// assert_ne!(x, Tensor::normal(&[2, 3], 0.0, 1.0, b));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RngKey(u64);

/// SplitMix64's finalizer: a bijective mix of 64 bits, so distinct inputs give distinct keys.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl RngKey {
    /// The key of a seed.
    pub fn new(seed: u64) -> RngKey {
        RngKey(mix(seed ^ 0x9e37_79b9_7f4a_7c15))
    }

    /// Two new keys, independent of each other and of `self`.
    pub fn split(self) -> (RngKey, RngKey) {
        (self.fold_in(1), self.fold_in(2))
    }

    /// `n` new keys.
    pub fn split_n(self, n: usize) -> Vec<RngKey> {
        (0..n as u64).map(|i| self.fold_in(i + 1)).collect()
    }

    /// A key derived from `self` and `data` (a step number, a layer index, ...).
    pub fn fold_in(self, data: u64) -> RngKey {
        RngKey(mix(self.0 ^ mix(data.wrapping_add(0x632b_e59b_d9b4_e019))))
    }

    /// A generator seeded by this key, for drawing many numbers at once.
    pub fn rng(self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.0)
    }

    /// The key's raw bits (for saving).
    pub fn bits(self) -> u64 {
        self.0
    }

    /// A key from raw bits saved with [`RngKey::bits`].
    pub fn from_bits(bits: u64) -> RngKey {
        RngKey(bits)
    }
}

impl Default for RngKey {
    /// The key of seed 0.
    fn default() -> RngKey {
        RngKey::new(0)
    }
}

impl Tensor {
    /// Uniform values in `[low, high)`.
    pub fn uniform(shape: &[usize], low: f32, high: f32, key: RngKey) -> Tensor {
        match Uniform::new(low, high) {
            Ok(dist) => Tensor::new(ArrayD::random_using(IxDyn(shape), dist, &mut key.rng())),
            // An empty or non-finite range has no spread to draw from.
            Err(_) => Tensor::full(shape, low),
        }
    }

    /// Normally distributed values.
    pub fn normal(shape: &[usize], mean: f32, std: f32, key: RngKey) -> Tensor {
        match Normal::new(mean, std.abs()) {
            Ok(dist) => Tensor::new(ArrayD::random_using(IxDyn(shape), dist, &mut key.rng())),
            // Only a non-finite std gets here: garbage in, NaN out, never a panic.
            Err(_) => Tensor::full(shape, f32::NAN),
        }
    }

    /// Normal values redrawn until they lie within two standard deviations of the mean.
    pub fn truncated_normal(shape: &[usize], mean: f32, std: f32, key: RngKey) -> Tensor {
        let dist = Normal::new(0.0f32, 1.0).expect("unit normal");
        let mut rng = key.rng();
        let values = ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            loop {
                let z = dist.sample(&mut rng);
                if z.abs() <= 2.0 {
                    return mean + std * z;
                }
            }
        });
        Tensor::new(values)
    }

    /// A mask of 0s and 1s where each element is 1 with probability `p`.
    pub fn bernoulli(shape: &[usize], p: f32, key: RngKey) -> Tensor {
        let dist = Uniform::new(0.0f32, 1.0).expect("unit interval");
        let mut rng = key.rng();
        let values =
            ArrayD::from_shape_simple_fn(IxDyn(shape), || (dist.sample(&mut rng) < p) as u8 as f32);
        Tensor::new(values)
    }
}

/// Which fan a variance-scaling initializer divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FanMode {
    /// The number of inputs of a unit.
    FanIn,
    /// The number of outputs of a unit.
    FanOut,
    /// The mean of the two.
    FanAvg,
}

/// How a layer's parameters get their first values, as in Keras and Flax.
///
/// Fans follow the Keras convention: for a kernel of shape `[.., in, out]` (a dense `[in, out]` or
/// a convolution `[kh, kw, in, out]`), `fan_in = in * receptive field` and
/// `fan_out = out * receptive field`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Initializer {
    /// All zeros (the usual bias).
    Zeros,
    /// All ones (the usual normalization scale).
    Ones,
    /// Every element the same value.
    Constant(f32),
    /// Uniform in `[low, high)`.
    Uniform {
        /// Smallest value.
        low: f32,
        /// Bound above.
        high: f32,
    },
    /// Normal with a mean and standard deviation.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Normal, redrawn beyond two standard deviations.
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Glorot/Xavier uniform: limit `sqrt(6 / (fan_in + fan_out))`.
    GlorotUniform,
    /// Glorot/Xavier normal (truncated): variance `2 / (fan_in + fan_out)`.
    GlorotNormal,
    /// He/Kaiming uniform: limit `sqrt(6 / fan_in)`.
    HeUniform,
    /// He/Kaiming normal (truncated): variance `2 / fan_in`.
    HeNormal,
    /// LeCun uniform: limit `sqrt(3 / fan_in)`.
    LecunUniform,
    /// LeCun normal (truncated): variance `1 / fan_in`.
    LecunNormal,
    /// A random orthogonal matrix times `gain`, as Keras' `Orthogonal` (the default of recurrent
    /// kernels): the shape is flattened to `[product of all axes but the last, last]`, and its
    /// rows (or columns, whichever are fewer) are orthonormal.
    Orthogonal {
        /// The factor of the orthogonal matrix (Keras' default 1).
        gain: f32,
    },
    /// The general form: variance `scale / fan`, uniform or truncated normal.
    VarianceScaling {
        /// Multiplies the variance.
        scale: f32,
        /// Which fan to divide by.
        mode: FanMode,
        /// Uniform (`true`) or truncated normal (`false`).
        uniform: bool,
    },
}

/// The standard deviation of a unit normal truncated to [-2, 2], to keep the asked-for variance.
const TRUNCATED_NORMAL_STD: f32 = 0.879_625_7;

/// `(fan_in, fan_out)` of a kernel shape, in the Keras convention.
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [rest @ .., fan_in, fan_out] => {
            let receptive: usize = rest.iter().product();
            (fan_in * receptive, fan_out * receptive)
        }
    }
}

impl Initializer {
    /// An error naming the setting that is out of range, as [`Initializer::init`] reports it.
    fn check(&self) -> Result<()> {
        use Initializer::*;
        let bad = |message: String| Err(Error::invalid("Initializer", message));
        match *self {
            Constant(value) if !value.is_finite() => {
                bad(format!("Constant({value}) must be finite"))
            }
            Uniform { low, high } if !(low <= high && (high - low).is_finite()) => bad(format!(
                "Uniform {{ low: {low}, high: {high} }} needs finite bounds with low <= high and \
                 a finite width"
            )),
            Normal { mean, std } | TruncatedNormal { mean, std }
                if !(mean.is_finite() && std.is_finite() && std >= 0.0) =>
            {
                bad(format!(
                    "{self:?}: the mean must be finite and the standard deviation finite and not \
                     negative"
                ))
            }
            Orthogonal { gain } if !gain.is_finite() => {
                bad(format!("Orthogonal gain {gain} must be finite"))
            }
            VarianceScaling { scale, .. } if !(scale.is_finite() && scale > 0.0) => bad(format!(
                "VarianceScaling scale {scale} must be finite and above 0"
            )),
            _ => Ok(()),
        }
    }

    /// A tensor of `shape` drawn with `key`; an error for settings that cannot describe a
    /// distribution, or likely say something else than meant: bounds out of order or a range
    /// too wide for `f32`, a negative standard deviation (Keras takes its size) or scale, a
    /// non-finite number, a shape memory cannot hold.
    pub fn init(&self, shape: &[usize], key: RngKey) -> Result<Tensor> {
        use Initializer::*;
        self.check()?;
        crate::ops::checked_len("Initializer::init", shape)?;
        let scaled = |scale: f32, mode: FanMode, uniform: bool| {
            let (fan_in, fan_out) = fans(shape);
            let fan = match mode {
                FanMode::FanIn => fan_in as f32,
                FanMode::FanOut => fan_out as f32,
                FanMode::FanAvg => (fan_in + fan_out) as f32 / 2.0,
            };
            if fan == 0.0 {
                return Err(Error::invalid(
                    "Initializer::init",
                    format!("shape {shape:?} has a fan of 0; every axis must be at least 1"),
                ));
            }
            let variance = scale / fan;
            Ok(if uniform {
                let limit = (3.0 * variance).sqrt();
                Tensor::uniform(shape, -limit, limit, key)
            } else {
                let std = variance.sqrt() / TRUNCATED_NORMAL_STD;
                Tensor::truncated_normal(shape, 0.0, std, key)
            })
        };
        match *self {
            Zeros => Ok(Tensor::zeros(shape)),
            Ones => Ok(Tensor::ones(shape)),
            Constant(value) => Ok(Tensor::full(shape, value)),
            Uniform { low, high } => Ok(Tensor::uniform(shape, low, high, key)),
            Normal { mean, std } => Ok(Tensor::normal(shape, mean, std, key)),
            TruncatedNormal { mean, std } => Ok(Tensor::truncated_normal(shape, mean, std, key)),
            GlorotUniform => scaled(1.0, FanMode::FanAvg, true),
            GlorotNormal => scaled(1.0, FanMode::FanAvg, false),
            HeUniform => scaled(2.0, FanMode::FanIn, true),
            HeNormal => scaled(2.0, FanMode::FanIn, false),
            LecunUniform => scaled(1.0, FanMode::FanIn, true),
            LecunNormal => scaled(1.0, FanMode::FanIn, false),
            VarianceScaling {
                scale,
                mode,
                uniform,
            } => scaled(scale, mode, uniform),
            Orthogonal { gain } => Ok(orthogonal(shape, gain, key)),
        }
    }
}

/// Keras' `Orthogonal`: a normal matrix `[max(rows, cols), min(rows, cols)]` made orthonormal
/// column by column (Gram-Schmidt, twice for f32's sake, in f64; each column's sign as QR's
/// with a positive diagonal), transposed when the shape has fewer rows than columns.
fn orthogonal(shape: &[usize], gain: f32, key: RngKey) -> Tensor {
    let cols = shape.last().copied().unwrap_or(1);
    let rows: usize = shape.iter().product::<usize>() / cols.max(1);
    let (long, short) = (rows.max(cols), rows.min(cols));
    if long == 0 || short == 0 {
        return Tensor::zeros(shape);
    }
    let normal = Tensor::normal(&[long, short], 0.0, 1.0, key).to_vec();
    // Columns of the long matrix, each of `long` values.
    let mut q: Vec<Vec<f64>> = (0..short)
        .map(|c| (0..long).map(|r| normal[r * short + c] as f64).collect())
        .collect();
    for c in 0..short {
        let (done, rest) = q.split_at_mut(c);
        let column = &mut rest[0];
        for _ in 0..2 {
            for prev in done.iter() {
                let dot: f64 = column.iter().zip(prev).map(|(a, b)| a * b).sum();
                column.iter_mut().zip(prev).for_each(|(v, p)| *v -= dot * p);
            }
        }
        let norm = q[c].iter().map(|v| v * v).sum::<f64>().sqrt();
        // A draw of (near) dependent columns has probability 0; keep it finite all the same.
        let norm = if norm > 0.0 { norm } else { 1.0 };
        q[c].iter_mut().for_each(|v| *v /= norm);
    }
    let at = |r: usize, c: usize| (q[c][r] * gain as f64) as f32;
    let values: Vec<f32> = if rows >= cols {
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r, c)))
            .map(|(r, c)| at(r, c))
            .collect()
    } else {
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r, c)))
            .map(|(r, c)| at(c, r))
            .collect()
    };
    Tensor::from_vec(values, shape).expect("rows x cols values")
}
