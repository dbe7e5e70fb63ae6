//! [`TensorMap`]: tensors by name, the shape of parameters, gradients and optimizer state.

use std::collections::BTreeMap;

use super::Tensor;
use crate::error::{Error, Result};

/// Tensors keyed by path-like names (`"sequential/linear_1/kernel"`), in sorted order.
///
/// Parameters, their gradients and optimizer moments are all `TensorMap`s with the same keys, so
/// that gradients from several workers can be summed key by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorMap {
    entries: BTreeMap<String, Tensor>,
}

impl TensorMap {
    /// An empty map.
    pub fn new() -> TensorMap {
        TensorMap::default()
    }

    /// Adds or replaces `name`; returns the tensor it replaced.
    pub fn insert(&mut self, name: impl Into<String>, tensor: Tensor) -> Option<Tensor> {
        self.entries.insert(name.into(), tensor)
    }

    /// The same map with `name` set to `tensor`.
    pub fn with(mut self, name: impl Into<String>, tensor: Tensor) -> TensorMap {
        self.insert(name, tensor);
        self
    }

    /// The tensor named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.entries.get(name)
    }

    /// The tensor named `name`, or an error that lists the names there are.
    pub fn require(&self, name: &str) -> Result<&Tensor> {
        self.entries.get(name).ok_or_else(|| Error::NotFound {
            what: "tensor",
            name: name.to_string(),
            hint: format!("; the map holds {:?}", self.names().collect::<Vec<_>>()),
        })
    }

    /// Removes `name` and returns its tensor.
    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        self.entries.remove(name)
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// `(name, tensor)` pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The total number of elements over all tensors.
    pub fn num_elements(&self) -> usize {
        self.entries.values().map(Tensor::len).sum()
    }

    /// Every tensor as a fresh tracked leaf sharing its values: gradients can be taken with
    /// respect to the result.
    pub fn tracked(&self) -> TensorMap {
        self.map(|_, t| t.tracked())
    }

    /// Every tensor cut from the autodiff graph.
    pub fn detach(&self) -> TensorMap {
        self.map(|_, t| t.detach())
    }

    /// A map with the same names and `f` applied to each tensor.
    pub fn map(&self, mut f: impl FnMut(&str, &Tensor) -> Tensor) -> TensorMap {
        self.iter().map(|(k, v)| (k.to_string(), f(k, v))).collect()
    }

    /// Combines two maps with the same names, key by key (e.g. summing gradients of two
    /// workers). Different names are an error naming them.
    pub fn zip_with(
        &self,
        other: &TensorMap,
        mut f: impl FnMut(&Tensor, &Tensor) -> Result<Tensor>,
    ) -> Result<TensorMap> {
        if self.entries.len() != other.entries.len()
            || self.names().zip(other.names()).any(|(a, b)| a != b)
        {
            return Err(Error::shape(
                "TensorMap::zip_with",
                format!(
                    "names differ: {:?} and {:?}",
                    self.names().collect::<Vec<_>>(),
                    other.names().collect::<Vec<_>>()
                ),
            ));
        }
        self.iter()
            .zip(other.entries.values())
            .map(|((k, a), b)| Ok((k.to_string(), f(a, b)?)))
            .collect()
    }
}

impl<S: Into<String>> FromIterator<(S, Tensor)> for TensorMap {
    fn from_iter<I: IntoIterator<Item = (S, Tensor)>>(iter: I) -> TensorMap {
        TensorMap {
            entries: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

impl IntoIterator for TensorMap {
    type Item = (String, Tensor);
    type IntoIter = std::collections::btree_map::IntoIter<String, Tensor>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a TensorMap {
    type Item = (&'a String, &'a Tensor);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Tensor>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
