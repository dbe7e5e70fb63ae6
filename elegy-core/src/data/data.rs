//! [`Data`]: inputs and targets of any structure, as multi-input and multi-output models need.

use std::collections::BTreeMap;
use std::mem::MaybeUninit;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A tensor, a tuple of data, or a named map of data, with samples along axis 0 of every leaf.
///
/// Models with one input and one output see [`Data::Tensor`]; multi-input models receive the
/// structure they were given, batched.
///
/// ```
/// use elegy_core::{Data, Tensor};
/// let x: Data = (Tensor::zeros(&[4, 3]), Tensor::zeros(&[4, 2])).into();
/// assert_eq!(x.num_samples()?, 4);
/// # Ok::<(), elegy_core::Error>(())
/// ```
///
/// `predict` returns a `Data`: for a model with one output, [`Data::into_tensor`] (or
/// `Tensor::try_from`) takes the tensor out, and printing it prints the tensor.
#[derive(Clone, PartialEq)]
pub enum Data {
    /// One tensor.
    Tensor(Tensor),
    /// Positional parts.
    Tuple(Vec<Data>),
    /// Named parts, sorted by name.
    Map(BTreeMap<String, Data>),
}

impl Data {
    /// The single tensor this data is; an error naming `what` when it is a tuple or map.
    pub fn as_tensor(&self, what: &str) -> Result<&Tensor> {
        match self {
            Data::Tensor(t) => Ok(t),
            other => Err(Error::Data(format!(
                "{what} is {}, not a single tensor",
                other.describe()
            ))),
        }
    }

    /// The single tensor this data is, such as `predict`'s output for a model with one output;
    /// an error for a tuple or a map (take their parts with [`Data::part`], or `match`).
    ///
    /// ```
    /// use elegy_core::{Data, Tensor};
    /// let predictions = Data::from(Tensor::zeros(&[4, 3]));
    /// assert_eq!(predictions.into_tensor()?.shape(), &[4, 3]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn into_tensor(self) -> Result<Tensor> {
        match self {
            Data::Tensor(t) => Ok(t),
            other => Err(Error::Data(format!(
                "into_tensor: the data is {}, not a single tensor; take one part with \
                 `.part(key)`, or `match` on `Data::Tuple` / `Data::Map`",
                other.describe()
            ))),
        }
    }

    /// [`Data::as_tensor`] for a step, loss or metric that needs one tensor: the error ends with
    /// `fix`.
    pub(crate) fn as_tensor_or(&self, what: &str, fix: &str) -> Result<&Tensor> {
        self.as_tensor(what)
            .map_err(|e| Error::Data(format!("{e}; {fix}")))
    }

    /// Every tensor, in order (tuples by position, maps by name).
    pub fn leaves(&self) -> Vec<&Tensor> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a Tensor>) {
        match self {
            Data::Tensor(t) => out.push(t),
            Data::Tuple(parts) => parts.iter().for_each(|p| p.collect_leaves(out)),
            Data::Map(parts) => parts.values().for_each(|p| p.collect_leaves(out)),
        }
    }

    /// The same structure with `f` applied to every tensor.
    pub fn try_map(&self, f: &mut impl FnMut(&Tensor) -> Result<Tensor>) -> Result<Data> {
        Ok(match self {
            Data::Tensor(t) => Data::Tensor(f(t)?),
            Data::Tuple(parts) => {
                Data::Tuple(parts.iter().map(|p| p.try_map(f)).collect::<Result<_>>()?)
            }
            Data::Map(parts) => Data::Map(
                parts
                    .iter()
                    .map(|(k, p)| Ok((k.clone(), p.try_map(f)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// The number of samples: the length of axis 0, which every tensor must share.
    pub fn num_samples(&self) -> Result<usize> {
        let leaves = self.leaves();
        let Some(first) = leaves.first() else {
            return Err(Error::Data("data holds no tensors".into()));
        };
        let count = |t: &Tensor| {
            t.shape().first().copied().ok_or_else(|| {
                Error::Data(format!(
                    "a tensor of shape {:?} has no sample axis; data needs at least one axis",
                    t.shape()
                ))
            })
        };
        let n = count(first)?;
        for (i, leaf) in leaves.iter().enumerate() {
            let m = count(leaf)?;
            if m != n {
                return Err(Error::Data(format!(
                    "part {i} of the data has {m} samples (shape {:?}) but part 0 has {n}; \
                     every part needs the same number of samples",
                    leaf.shape()
                )));
            }
        }
        Ok(n)
    }

    /// The samples at `indices` (in that order), in the same structure; an error for an index
    /// past the samples of any part, or for a part with no sample axis.
    pub fn select(&self, indices: &[usize]) -> Result<Data> {
        self.try_map(&mut |t| {
            let Some(&n) = t.shape().first() else {
                return Err(Error::Data(
                    "select: a scalar has no samples to select; data needs a sample axis first"
                        .into(),
                ));
            };
            if let Some(&i) = indices.iter().find(|&&i| i >= n) {
                return Err(Error::Data(format!(
                    "select: sample {i} is out of range for data of shape {:?} ({n} samples)",
                    t.shape()
                )));
            }
            Ok(select_rows(t, indices))
        })
    }

    /// Concatenates along axis 0 parts of the same structure (e.g. the predictions of each batch).
    pub fn concat(parts: &[Data]) -> Result<Data> {
        let Some(first) = parts.first() else {
            return Err(Error::Data("nothing to concatenate".into()));
        };
        match first {
            Data::Tensor(_) => {
                let views = parts
                    .iter()
                    .map(|p| p.as_tensor("a batch").map(|t| t.view()))
                    .collect::<Result<Vec<_>>>()?;
                let joined = ndarray::concatenate(ndarray::Axis(0), &views).map_err(|e| {
                    Error::Data(format!("batches cannot be joined along axis 0: {e}"))
                })?;
                Ok(Data::Tensor(Tensor::new(joined)))
            }
            Data::Tuple(items) => (0..items.len())
                .map(|i| {
                    match_part(parts, |p| match p {
                        Data::Tuple(v) => v.get(i),
                        _ => None,
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Data::Tuple),
            Data::Map(items) => items
                .keys()
                .map(|k| {
                    match_part(parts, |p| match p {
                        Data::Map(m) => m.get(k),
                        _ => None,
                    })
                    .map(|d| (k.clone(), d))
                })
                .collect::<Result<BTreeMap<_, _>>>()
                .map(Data::Map),
        }
    }

    /// Samples without a batch axis, in the same structure, stacked along a new axis 0. `what`
    /// (`"x"`, `"y"`) and `first` (the first sample's index in its stream) name the culprit of
    /// an error: samples of different shapes (ragged) or structures.
    pub fn stack(parts: &[Data], what: &str, first: usize) -> Result<Data> {
        let Some(head) = parts.first() else {
            return Err(Error::Data(format!("{what}: no samples to stack")));
        };
        let mismatch = |i: usize, found: &Data| {
            Error::Data(format!(
                "{what}: sample {} is {} but sample {first} is {}; every sample needs the same \
                 structure and shapes",
                first + i,
                found.describe(),
                head.describe()
            ))
        };
        match head {
            Data::Tensor(t0) => {
                let mut views = Vec::with_capacity(parts.len());
                for (i, part) in parts.iter().enumerate() {
                    match part {
                        Data::Tensor(t) if t.shape() == t0.shape() => views.push(t.view()),
                        other => return Err(mismatch(i, other)),
                    }
                }
                let stacked = ndarray::stack(ndarray::Axis(0), &views)
                    .map_err(|e| Error::Data(format!("{what}: cannot stack samples: {e}")))?;
                Ok(Data::Tensor(Tensor::new(stacked)))
            }
            Data::Tuple(items) => {
                let mut columns = vec![Vec::with_capacity(parts.len()); items.len()];
                for (i, part) in parts.iter().enumerate() {
                    match part {
                        Data::Tuple(v) if v.len() == items.len() => {
                            for (column, item) in columns.iter_mut().zip(v) {
                                column.push(item.clone());
                            }
                        }
                        other => return Err(mismatch(i, other)),
                    }
                }
                columns
                    .iter()
                    .enumerate()
                    .map(|(k, column)| Data::stack(column, &format!("{what}.{k}"), first))
                    .collect::<Result<Vec<_>>>()
                    .map(Data::Tuple)
            }
            Data::Map(items) => {
                let mut columns: BTreeMap<&String, Vec<Data>> = items
                    .keys()
                    .map(|k| (k, Vec::with_capacity(parts.len())))
                    .collect();
                for (i, part) in parts.iter().enumerate() {
                    match part {
                        Data::Map(m) if m.len() == items.len() && m.keys().eq(items.keys()) => {
                            for (k, v) in m {
                                columns.get_mut(k).expect("same keys").push(v.clone());
                            }
                        }
                        other => return Err(mismatch(i, other)),
                    }
                }
                columns
                    .into_iter()
                    .map(|(k, column)| {
                        Ok((
                            k.clone(),
                            Data::stack(&column, &format!("{what}[{k}]"), first)?,
                        ))
                    })
                    .collect::<Result<BTreeMap<_, _>>>()
                    .map(Data::Map)
            }
        }
    }

    /// The part named `key`: a map's entry, or a tuple's item at that position (`"0"`, `"1"`).
    pub fn part(&self, key: &str) -> Result<&Data> {
        let found = match self {
            Data::Map(parts) => parts.get(key),
            Data::Tuple(parts) => key.parse::<usize>().ok().and_then(|i| parts.get(i)),
            Data::Tensor(_) => None,
        };
        found.ok_or_else(|| {
            Error::Data(format!(
                "no part `{key}` in {}; name a key of the map (or a position of the tuple)",
                self.describe()
            ))
        })
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Data::Tensor(t) => format!("a tensor of shape {:?}", t.shape()),
            Data::Tuple(parts) => format!("a tuple of {} parts", parts.len()),
            Data::Map(parts) => format!(
                "a map with keys {:?}",
                parts.keys().map(String::as_str).collect::<Vec<_>>()
            ),
        }
    }
}

/// Concatenates the part `pick` finds in each of `parts`.
fn match_part<'a>(parts: &'a [Data], pick: impl Fn(&'a Data) -> Option<&'a Data>) -> Result<Data> {
    let picked = parts
        .iter()
        .map(|p| {
            pick(p)
                .cloned()
                .ok_or_else(|| Error::Data("batches have different structures".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    Data::concat(&picked)
}

/// Batches of at least this many values are gathered on two threads.
const GATHER_SPLIT_FROM: usize = 1 << 14;

/// How many rows ahead of the one being copied a gather asks for the next (2 and 4 gave the
/// same epoch times in the training benchmark, 2-3% shorter than none at batch 256).
const AHEAD: usize = 4;

/// Asks the CPU to start loading `values` into its caches: a hint that changes nothing else
/// (and nothing at all off x86-64).
fn prefetch(values: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in values.chunks(16) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: the address is within a live slice, and a prefetch neither faults nor
        // writes; SSE is part of x86-64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Copies the rows of `values` (rows of `row` values) at `indices` into `out`, which has room
/// for exactly those rows; the caller guarantees the indices are in range.
pub(super) fn copy_rows(
    values: &[f32],
    row: usize,
    indices: &[usize],
    out: &mut [MaybeUninit<f32>],
) {
    for (j, (dst, &i)) in out.chunks_exact_mut(row).zip(indices).enumerate() {
        // Shuffled rows are far apart: ask for a row a few ahead while copying this one, so
        // that several wait on main memory at once.
        if let Some(&ahead) = indices.get(j + AHEAD) {
            prefetch(&values[ahead * row..(ahead + 1) * row]);
        }
        let src = &values[i * row..(i + 1) * row];
        // SAFETY: `dst` has `row` values, as has `src`, and they cannot overlap (one is
        // borrowed mutably).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast(), row) };
    }
}

/// The rows of `t` at `indices`; the caller guarantees they are in range.
fn select_rows(t: &Tensor, indices: &[usize]) -> Tensor {
    let view = t.view();
    // Whole rows of a contiguous array are slices: copy each in one go (ndarray's `select`
    // joins one view per index, element by element).
    if let (Some(values), Some(&n)) = (view.as_slice(), view.shape().first())
        && view.ndim() > 1
        && n > 0
        && !values.is_empty()
    {
        let row = values.len() / n;
        let mut out = Vec::with_capacity(indices.len() * row);
        let copy =
            |out: &mut [MaybeUninit<f32>], indices: &[usize]| copy_rows(values, row, indices, out);
        let spare = &mut out.spare_capacity_mut()[..indices.len() * row];
        if spare.len() >= GATHER_SPLIT_FROM {
            // Two cores pull rows from memory at once (a shuffled batch is far apart in a
            // large training set, so this copy waits on memory, not on arithmetic).
            let mid = indices.len() / 2;
            let (first, second) = spare.split_at_mut(mid * row);
            crate::exec::join(
                || copy(first, &indices[..mid]),
                || copy(second, &indices[mid..]),
            );
        } else {
            copy(spare, indices);
        }
        // SAFETY: the copies above wrote every one of these values.
        unsafe { out.set_len(indices.len() * row) };
        let mut shape = view.shape().to_vec();
        shape[0] = indices.len();
        let rows = ndarray::ArrayD::from_shape_vec(shape, out).expect("whole rows");
        return Tensor::new(rows);
    }
    Tensor::new(view.select(ndarray::Axis(0), indices))
}

impl TryFrom<Data> for Tensor {
    type Error = Error;

    /// [`Data::into_tensor`].
    fn try_from(data: Data) -> Result<Tensor> {
        data.into_tensor()
    }
}

impl From<Tensor> for Data {
    fn from(t: Tensor) -> Data {
        Data::Tensor(t)
    }
}

impl From<&Tensor> for Data {
    fn from(t: &Tensor) -> Data {
        Data::Tensor(t.clone())
    }
}

impl<D: ndarray::Dimension> From<ndarray::Array<f32, D>> for Data {
    fn from(a: ndarray::Array<f32, D>) -> Data {
        Data::Tensor(Tensor::new(a))
    }
}

impl From<Vec<Data>> for Data {
    fn from(parts: Vec<Data>) -> Data {
        Data::Tuple(parts)
    }
}

impl<A: Into<Data>, B: Into<Data>> From<(A, B)> for Data {
    fn from((a, b): (A, B)) -> Data {
        Data::Tuple(vec![a.into(), b.into()])
    }
}

impl<A: Into<Data>, B: Into<Data>, C: Into<Data>> From<(A, B, C)> for Data {
    fn from((a, b, c): (A, B, C)) -> Data {
        Data::Tuple(vec![a.into(), b.into(), c.into()])
    }
}

impl<S: Into<String>, D: Into<Data>> FromIterator<(S, D)> for Data {
    /// A named map.
    fn from_iter<I: IntoIterator<Item = (S, D)>>(iter: I) -> Data {
        Data::Map(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Data, GATHER_SPLIT_FROM};
    use crate::tensor::Tensor;

    #[test]
    fn gathered_rows_match_ndarray_select_below_and_above_the_split() {
        let (n, row) = (500, 3);
        let x = Tensor::from_vec((0..n * row).map(|v| v as f32).collect(), &[n, row]).unwrap();
        let above = GATHER_SPLIT_FROM / row + 3;
        for count in [1, 7, above] {
            let idx: Vec<usize> = (0..count).map(|i| (i * 7919) % n).collect();
            let picked = Data::from(&x).select(&idx).unwrap();
            let expected = x.view().select(ndarray::Axis(0), &idx);
            assert_eq!(picked.as_tensor("x").unwrap().view(), expected.view());
        }
    }
}
