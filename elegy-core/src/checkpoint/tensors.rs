//! The safetensors file of a checkpoint: every tensor of the states, named by section.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use safetensors::{Dtype, SafeTensors, View};

use super::{Checkpoint, FORMAT_VERSION, Kind, Sections};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// A tensor as safetensors sees it: `f32`, little-endian, in row-major order.
struct F32View<'a>(&'a Tensor);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        self.0.shape()
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let mut bytes = Vec::with_capacity(self.data_len());
        // `iter` walks in logical (row-major) order whatever the memory layout.
        for x in self.0.view().iter() {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        Cow::Owned(bytes)
    }

    fn data_len(&self) -> usize {
        self.0.len() * 4
    }
}

/// The safetensors bytes of a checkpoint's tensors.
pub(super) fn encode(checkpoint: &Checkpoint) -> Result<Vec<u8>> {
    let states = &checkpoint.states;
    fn add<'a>(named: &mut Vec<(String, F32View<'a>)>, section: &str, map: &'a TensorMap) {
        for (name, tensor) in map.iter() {
            named.push((format!("{section}/{name}"), F32View(tensor)));
        }
    }
    let mut named = Vec::new();
    add(&mut named, "net_params", &states.net_params);
    add(&mut named, "net_states", &states.net_states);
    if checkpoint.kind == Kind::Full {
        add(&mut named, "metrics_states", &states.metrics_states);
        let initial = &checkpoint.initial_metrics_states;
        add(&mut named, "initial_metrics_states", initial);
        add(&mut named, "optimizer_states", &states.optimizer_states);
        for (field, map) in &states.fields {
            if field.is_empty() || field.contains('/') {
                return Err(Error::invalid(
                    "save",
                    format!(
                        "states field {field:?} cannot be saved: field names must be non-empty \
                         and contain no `/`"
                    ),
                ));
            }
            add(&mut named, &format!("fields/{field}"), map);
        }
    }
    let info = HashMap::from([
        ("format".to_string(), "elegy".to_string()),
        (
            "elegy_format_version".to_string(),
            FORMAT_VERSION.to_string(),
        ),
    ]);
    safetensors::serialize(named, Some(info))
        .map_err(|e| Error::invalid("save", format!("cannot encode the tensors: {e}")))
}

/// The tensors of the safetensors file `bytes` read from `path`, by section.
pub(super) fn decode(path: &Path, bytes: &[u8]) -> Result<Sections> {
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| format_error(format!("not a valid safetensors file: {e}")))?;
    let mut sections = Sections::default();
    for (key, view) in file.iter() {
        if view.dtype() != Dtype::F32 {
            return Err(format_error(format!(
                "tensor `{key}` has dtype {:?}; elegy checkpoints hold F32 tensors",
                view.dtype()
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let array = ArrayD::from_shape_vec(IxDyn(view.shape()), values).map_err(|e| {
            format_error(format!(
                "tensor `{key}` has shape {:?} but not as many values: {e}",
                view.shape()
            ))
        })?;
        let tensor = Tensor::new(array);
        let Some((section, name)) = key.split_once('/') else {
            return Err(format_error(format!(
                "tensor `{key}` has no section prefix such as `net_params/`"
            )));
        };
        let map = match section {
            "net_params" => &mut sections.net_params,
            "net_states" => &mut sections.net_states,
            "metrics_states" => &mut sections.metrics_states,
            "initial_metrics_states" => &mut sections.initial_metrics_states,
            "optimizer_states" => &mut sections.optimizer_states,
            "fields" => {
                let Some((field, name)) = name.split_once('/') else {
                    return Err(format_error(format!(
                        "tensor `{key}` should be named `fields/<field>/<name>`"
                    )));
                };
                sections
                    .fields
                    .entry(field.to_string())
                    .or_default()
                    .insert(name, tensor);
                continue;
            }
            other => {
                return Err(format_error(format!(
                    "tensor `{key}` is in an unknown section `{other}`"
                )));
            }
        };
        map.insert(name, tensor);
    }
    Ok(sections)
}

/// Appends to `problems` every difference in names and shapes between the model's tensors
/// (`want`) and the checkpoint's (`got`) in `section`.
pub(super) fn compare(
    section: &str,
    want: &TensorMap,
    got: &TensorMap,
    problems: &mut Vec<String>,
) {
    for (name, w) in want.iter() {
        match got.get(name) {
            None => problems.push(format!(
                "the model's tensor `{section}/{name}` (shape {:?}) is missing from the checkpoint",
                w.shape()
            )),
            Some(g) if g.shape() != w.shape() => problems.push(format!(
                "tensor `{section}/{name}` has shape {:?} in the checkpoint but {:?} in the model",
                g.shape(),
                w.shape()
            )),
            Some(_) => {}
        }
    }
    for (name, g) in got.iter() {
        if !want.contains(name) {
            problems.push(format!(
                "tensor `{section}/{name}` (shape {:?}) is in the checkpoint but not in the model",
                g.shape()
            ));
        }
    }
}
