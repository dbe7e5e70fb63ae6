//! Checkpoints: a model's state saved to a directory, crash-safely, and read back.
//!
//! A checkpoint directory holds two files:
//!
//! - `tensors-<generation>.safetensors`: every tensor of the [`States`], `f32` little-endian,
//!   named `net_params/<name>`, `net_states/<name>`, `metrics_states/<name>`,
//!   `initial_metrics_states/<name>`, `optimizer_states/<name>` and `fields/<field>/<name>`;
//! - `checkpoint.json`, the manifest: the format version, the kind of checkpoint, the name, size
//!   and CRC-32 of the tensors file, and (for a full checkpoint) the seed, the step count, the
//!   next epoch to run, the random key, the names of the user fields, the learning rate and the
//!   [`History`].
//!
//! Every file is written to a temporary file in the same directory, synced, renamed over its
//! final name, and the directory synced. The tensors go to a *new* generation's file first and
//! the manifest, replaced last, is what names it; older generations are removed only after that.
//! A crash or a kill at any point therefore leaves a manifest naming a complete tensors file: the
//! previous checkpoint or the new one. One process at a time may write to a directory, and the
//! directory belongs to the checkpoint: saving removes other `tensors-*.safetensors` files in it.
//!
//! Reading checks the manifest, the size and checksum of the tensors file and every tensor's
//! dtype and shape, and fails with an [`Error::Format`] or [`Error::Io`] naming the file (and the
//! tensor) instead of returning anything half-read.
//!
//! Most programs use [`Runner::save`](crate::Runner::save) and
//! [`Runner::load`](crate::Runner::load), or the
//! [`ModelCheckpoint`](crate::callbacks::ModelCheckpoint) callback; this module is the format
//! underneath, plus [`export_npz`] for numpy users.

pub(crate) mod atomic;
mod manifest;
mod npz;
mod tensors;

pub use npz::export_npz;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::optimizers::Optimizer;
use crate::runner::History;
use crate::step::{Components, States};
use crate::tensor::{RngKey, TensorMap};

/// The name of the manifest file in a checkpoint directory.
pub const MANIFEST_FILE: &str = "checkpoint.json";

/// The version of the checkpoint format this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a checkpoint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Everything needed to predict and to continue training: all tensors of the states, the
    /// random key, the step count, the seed and the history.
    Full,
    /// Only `net_params` and `net_states`: enough to predict with a runner built and initialized
    /// the same way.
    Weights,
}

/// The contents of a checkpoint directory, in memory.
///
/// Build one with [`Runner::to_checkpoint`](crate::Runner::to_checkpoint) or [`Checkpoint::weights`],
/// write it with [`Checkpoint::write`], read it with [`Checkpoint::read`].
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// Full training state, or weights only.
    pub kind: Kind,
    /// The tensors and the random key. A [`Kind::Weights`] checkpoint uses only `net_params` and
    /// `net_states`.
    pub states: States,
    /// The metric state every epoch and evaluation starts from.
    pub initial_metrics_states: TensorMap,
    /// The logs of every epoch trained so far.
    pub history: History,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Training steps taken so far (each step's random key derives from the seed and this).
    pub step: u64,
    /// The epoch to resume at: the one after the last completed epoch, or the epoch that was
    /// under way for a checkpoint saved between batches. Pass it as `FitOptions::initial_epoch`.
    pub next_epoch: usize,
    /// The learning rate the optimizer reported at saving time, for information: on loading, the
    /// hyperparameters come from the runner's optimizer (and any state it keeps in
    /// `optimizer_states`).
    pub learning_rate: Option<f32>,
    /// The optimizer's hyperparameters at saving time, for information (see
    /// [`crate::optimizers::Optimizer::hyperparameters`]).
    pub optimizer: Option<serde_json::Value>,
    /// The tensors file this checkpoint was read from, for error messages.
    origin: Option<PathBuf>,
}

impl Checkpoint {
    /// A full checkpoint (see [`Kind::Full`]).
    pub(crate) fn full(
        states: States,
        initial_metrics_states: TensorMap,
        history: History,
        position: Position,
    ) -> Checkpoint {
        Checkpoint {
            kind: Kind::Full,
            states,
            initial_metrics_states,
            history,
            seed: position.seed,
            step: position.step,
            next_epoch: position.next_epoch,
            learning_rate: position.learning_rate,
            optimizer: position.optimizer,
            origin: None,
        }
    }

    /// A weights-only checkpoint of `net_params` and `net_states`.
    pub fn weights(net_params: TensorMap, net_states: TensorMap) -> Checkpoint {
        Checkpoint {
            kind: Kind::Weights,
            states: States::default()
                .with_net_params(net_params)
                .with_net_states(net_states),
            initial_metrics_states: TensorMap::new(),
            history: History::default(),
            seed: 0,
            step: 0,
            next_epoch: 0,
            learning_rate: None,
            optimizer: None,
            origin: None,
        }
    }

    /// The tensors file this checkpoint was read from (`None` when built in memory).
    pub fn origin(&self) -> Option<&Path> {
        self.origin.as_deref()
    }

    /// Writes this checkpoint to the directory `dir` (created if needed), replacing the
    /// checkpoint there, if any, crash-safely: at every moment `dir` holds either the previous
    /// checkpoint or this one, complete.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        atomic::create_dir(dir)?;
        let generation = atomic::next_generation(dir)?;
        let file = tensors_file_name(generation);
        let bytes = tensors::encode(self)?;
        atomic::write(&dir.join(&file), &bytes)?;
        let manifest = manifest::Manifest::new(self, &file, &bytes)?;
        let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Format {
            path: dir.join(MANIFEST_FILE),
            message: format!("cannot encode the manifest: {e}"),
        })?;
        json.push(b'\n');
        atomic::write(&dir.join(MANIFEST_FILE), &json)?;
        // Only now that the manifest names the new file may the old ones go.
        atomic::remove_stale(dir, &file);
        Ok(())
    }

    /// Reads the checkpoint in directory `dir`, checking the manifest, the tensors file's size
    /// and checksum, and every tensor's dtype and shape.
    pub fn read(dir: impl AsRef<Path>) -> Result<Checkpoint> {
        let dir = dir.as_ref();
        if let Some(error) = atomic::not_a_directory(dir) {
            return Err(error);
        }
        let manifest = manifest::Manifest::read(&dir.join(MANIFEST_FILE))?;
        let path = dir.join(&manifest.tensors.file);
        if let Ok(metadata) = std::fs::metadata(&path) {
            manifest.tensors.check_len(&path, metadata.len())?;
        }
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        manifest.tensors.check(&path, &bytes)?;
        let sections = tensors::decode(&path, &bytes)?;
        let mut checkpoint = manifest.into_checkpoint(&path, sections)?;
        checkpoint.origin = Some(path);
        Ok(checkpoint)
    }

    /// Checks that every tensor this checkpoint restores has the name and shape of the
    /// corresponding tensor of `expected` (a runner's current states), and that none is missing
    /// or extra; the error names the tensors file and the tensors. State the runner has not
    /// made yet (metric and optimizer state after `init` without targets, states fields that
    /// training steps create) is taken as it is.
    pub(crate) fn check_matches(
        &self,
        expected: &States,
        expected_initial_metrics: &TensorMap,
        metrics_made: bool,
    ) -> Result<()> {
        use tensors::compare;
        let mut problems = Vec::new();
        let (want, got) = (expected, &self.states);
        let p = &mut problems;
        compare("net_params", &want.net_params, &got.net_params, p);
        compare("net_states", &want.net_states, &got.net_states, p);
        if self.kind == Kind::Full {
            // State that one side has not made yet is not compared: a checkpoint saved after
            // `init` without targets has none (the first step makes it), nor has a runner
            // initialized so (`metrics_made` false; `check_metric_states` and
            // `check_optimizer_states` check the checkpoint's against the runner's metrics and
            // optimizer instead).
            let saved_metrics =
                !(got.metrics_states.is_empty() && self.initial_metrics_states.is_empty());
            if metrics_made && saved_metrics {
                compare(
                    "metrics_states",
                    &want.metrics_states,
                    &got.metrics_states,
                    p,
                );
                let initial = &self.initial_metrics_states;
                compare(
                    "initial_metrics_states",
                    expected_initial_metrics,
                    initial,
                    p,
                );
            }
            if !want.optimizer_states.is_empty() && !got.optimizer_states.is_empty() {
                compare(
                    "optimizer_states",
                    &want.optimizer_states,
                    &got.optimizer_states,
                    p,
                );
            }
            let names: std::collections::BTreeSet<&String> =
                want.fields.keys().chain(got.fields.keys()).collect();
            for name in names {
                let section = format!("fields/{name}");
                match (want.fields.get(name), got.fields.get(name)) {
                    (Some(w), Some(g)) => compare(&section, w, g, p),
                    (Some(_), None) => p.push(format!(
                        "the model's states field `{name}` is missing from the checkpoint"
                    )),
                    // A field that training steps create after `init` (a schedule's state,
                    // say): the model has not made it yet.
                    (None, _) => {}
                }
            }
        }
        self.mismatch(
            "",
            problems,
            " (was the checkpoint saved from another model, loss, metrics or optimizer?)",
        )
    }

    /// Checks that the metric state this checkpoint restores holds what the runner's metrics
    /// keep (`expected`, see `Components::initial_metric_states`), for a runner that has not
    /// made its own yet; state of the model's own steps may come beside it.
    pub(crate) fn check_metric_states(&self, expected: &TensorMap) -> Result<()> {
        let mut problems = Vec::new();
        let sections = [
            ("metrics_states", &self.states.metrics_states),
            ("initial_metrics_states", &self.initial_metrics_states),
        ];
        for (section, saved) in sections {
            if self.kind != Kind::Full || saved.is_empty() {
                continue;
            }
            for (name, want) in expected.iter() {
                match saved.get(name) {
                    None => problems.push(format!(
                        "the runner's metric state `{section}/{name}` is missing from the \
                         checkpoint"
                    )),
                    Some(got) if got.shape() != want.shape() => problems.push(format!(
                        "tensor `{section}/{name}` has shape {:?} in the checkpoint but {:?} in \
                         the model",
                        got.shape(),
                        want.shape()
                    )),
                    Some(_) => {}
                }
            }
        }
        self.mismatch(
            "",
            problems,
            " (was the checkpoint saved with other metrics?)",
        )
    }

    /// Checks that the optimizer state this checkpoint restores is what `optimizer` keeps for
    /// the checkpoint's parameters (the same kind of optimizer): another optimizer's state would
    /// otherwise fail only at the first training step, taking the loaded states with it.
    pub(crate) fn check_optimizer_states(&self, optimizer: &dyn Optimizer) -> Result<()> {
        let saved = &self.states.optimizer_states;
        if self.kind != Kind::Full || saved.is_empty() {
            return Ok(());
        }
        let expected = optimizer.init(&self.states.net_params)?;
        let mut problems = Vec::new();
        tensors::compare("optimizer_states", &expected, saved, &mut problems);
        let saved_with = self
            .optimizer
            .as_ref()
            .map_or_else(|| "another optimizer".to_string(), |o| o.to_string());
        let lead = format!(
            "the checkpoint was saved with the optimizer {saved_with}, whose state the runner's \
             {} does not keep (build the runner with the same kind of optimizer, or take only \
             the weights with `load_weights`): ",
            optimizer.hyperparameters()
        );
        self.mismatch(&lead, problems, "")
    }

    /// `Ok` without problems; else an error listing the first few between `lead` and `hint`.
    fn mismatch(&self, lead: &str, problems: Vec<String>, hint: &str) -> Result<()> {
        if problems.is_empty() {
            return Ok(());
        }
        let shown = problems.len().min(MAX_PROBLEMS);
        let mut message = format!("{lead}{}", problems[..shown].join("; "));
        if problems.len() > shown {
            message.push_str(&format!("; and {} more", problems.len() - shown));
        }
        message.push_str(hint);
        Err(Error::Format {
            path: self.origin.clone().unwrap_or_default(),
            message,
        })
    }
}

/// How many mismatches one error lists before summarizing the rest.
const MAX_PROBLEMS: usize = 8;

/// Where a run is, as a full checkpoint records it.
#[derive(Clone, Debug)]
pub(crate) struct Position {
    pub seed: u64,
    pub step: u64,
    pub next_epoch: usize,
    pub learning_rate: Option<f32>,
    pub optimizer: Option<serde_json::Value>,
}

/// The hyperparameters of the runner's optimizer, if it has one.
pub(crate) fn optimizer_of(components: &Components) -> Option<serde_json::Value> {
    components.optimizer.as_ref().map(|o| o.hyperparameters())
}

/// The learning rate the runner's optimizer reports for these states, if any.
pub(crate) fn learning_rate_of(components: &Components, states: &States) -> Option<f32> {
    components
        .optimizer
        .as_ref()
        .and_then(|o| o.learning_rate(&states.optimizer_states))
}

fn tensors_file_name(generation: u64) -> String {
    format!("tensors-{generation:06}.safetensors")
}

/// The generation of a tensors file name written by [`tensors_file_name`].
fn generation_of(file_name: &str) -> Option<u64> {
    file_name
        .strip_prefix("tensors-")?
        .strip_suffix(".safetensors")?
        .parse()
        .ok()
}

/// The tensors of a checkpoint, by section.
#[derive(Default)]
struct Sections {
    net_params: TensorMap,
    net_states: TensorMap,
    metrics_states: TensorMap,
    initial_metrics_states: TensorMap,
    optimizer_states: TensorMap,
    fields: BTreeMap<String, TensorMap>,
}

impl Sections {
    fn into_states(self, rng: RngKey) -> (States, TensorMap) {
        let mut states = States::default()
            .with_net_params(self.net_params)
            .with_net_states(self.net_states)
            .with_metrics_states(self.metrics_states)
            .with_optimizer_states(self.optimizer_states)
            .with_rng(rng);
        states.fields = self.fields;
        (states, self.initial_metrics_states)
    }
}
