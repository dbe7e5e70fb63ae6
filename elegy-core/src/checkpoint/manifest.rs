//! `checkpoint.json`: what a checkpoint directory holds, apart from the tensors.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Checkpoint, FORMAT_VERSION, Kind, Sections, generation_of};
use crate::error::{Error, Result};
use crate::runner::History;
use crate::tensor::RngKey;

/// The `format` value of every manifest, telling it apart from other JSON files.
const FORMAT_NAME: &str = "elegy-checkpoint";

/// The largest step count (and next epoch) a manifest may record: far beyond any run (2^63
/// steps at one a nanosecond take 292 years), and far enough from `u64::MAX` that counting on
/// from it cannot wrap.
const MAX_STEP: u64 = i64::MAX as u64;

/// The manifest, as written to JSON.
#[derive(Serialize, Deserialize)]
pub(super) struct Manifest {
    format: String,
    version: u32,
    /// The elegy release that wrote it (information).
    elegy_version: String,
    kind: Kind,
    pub tensors: TensorsFile,
    /// Present exactly in full checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    training: Option<Training>,
}

/// The tensors file a manifest names, and how to recognize it intact.
#[derive(Serialize, Deserialize)]
pub(super) struct TensorsFile {
    /// A file name in the checkpoint directory.
    pub file: String,
    bytes: u64,
    crc32: u32,
}

/// The state of the run, in a full checkpoint.
#[derive(Serialize, Deserialize)]
struct Training {
    seed: u64,
    step: u64,
    next_epoch: usize,
    /// The random key's bits.
    rng: u64,
    /// The user fields of the states, including empty ones (which have no tensors).
    fields: Vec<String>,
    learning_rate: Option<f32>,
    /// The optimizer's hyperparameters (absent in checkpoints of runners without one).
    #[serde(default)]
    optimizer: Option<Value>,
    history: HistoryJson,
}

/// [`History`] in JSON. JSON has no NaN or infinities (a log is NaN on epochs it was not
/// computed), so those are written as `null`, `"inf"` and `"-inf"`.
#[derive(Serialize, Deserialize)]
struct HistoryJson {
    epochs: Vec<usize>,
    logs: BTreeMap<String, Vec<Value>>,
}

impl Manifest {
    /// The manifest of `checkpoint`, whose tensors were encoded into `bytes`, saved as `file`.
    pub fn new(checkpoint: &Checkpoint, file: &str, bytes: &[u8]) -> Result<Manifest> {
        let training = match checkpoint.kind {
            Kind::Weights => None,
            Kind::Full => Some(Training {
                seed: checkpoint.seed,
                step: checkpoint.step,
                next_epoch: checkpoint.next_epoch,
                rng: checkpoint.states.rng.bits(),
                fields: checkpoint.states.fields.keys().cloned().collect(),
                learning_rate: checkpoint.learning_rate.filter(|lr| lr.is_finite()),
                optimizer: checkpoint.optimizer.clone(),
                history: history_to_json(&checkpoint.history),
            }),
        };
        Ok(Manifest {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            elegy_version: env!("CARGO_PKG_VERSION").to_string(),
            kind: checkpoint.kind,
            tensors: TensorsFile {
                file: file.to_string(),
                bytes: bytes.len() as u64,
                crc32: crc32fast::hash(bytes),
            },
            training,
        })
    }

    /// Reads and checks the manifest at `path`.
    pub fn read(path: &Path) -> Result<Manifest> {
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value: Value = serde_json::from_slice(&text)
            .map_err(|e| format_error(format!("not a valid checkpoint manifest: {e}")))?;
        // The format and version first: a newer format may differ in any other field.
        if value.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
            return Err(format_error(format!(
                "not an elegy checkpoint manifest (its \"format\" is not \"{FORMAT_NAME}\")"
            )));
        }
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v <= u64::from(FORMAT_VERSION) && v >= 1 => {}
            Some(v) => {
                return Err(format_error(format!(
                    "checkpoint format version {v}; this build of elegy reads versions 1 to \
                     {FORMAT_VERSION}"
                )));
            }
            None => return Err(format_error("the manifest has no \"version\"".into())),
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| format_error(format!("invalid checkpoint manifest: {e}")))?;
        // The tensors file must be one this format writes, in the same directory.
        if generation_of(&manifest.tensors.file).is_none() {
            return Err(format_error(format!(
                "the manifest names tensors file {:?}, which is not a checkpoint tensors file",
                manifest.tensors.file
            )));
        }
        if let Some(training) = &manifest.training {
            // The runner counts steps on from this one: a count no run can reach (a corrupt or
            // edited manifest) would otherwise wrap to 0 a step later.
            if training.step > MAX_STEP {
                return Err(format_error(format!(
                    "the step count {} is more than any run takes (at most {MAX_STEP}, 2^63 - 1): \
                     the manifest is corrupt; take the weights with `load_weights`, or fix \
                     \"step\" in the manifest",
                    training.step
                )));
            }
            if training.next_epoch as u64 > MAX_STEP {
                return Err(format_error(format!(
                    "the next epoch {} is more than any run reaches (at most {MAX_STEP}): the \
                     manifest is corrupt",
                    training.next_epoch
                )));
            }
        }
        match (manifest.kind, &manifest.training) {
            (Kind::Full, None) => Err(format_error(
                "a full checkpoint's manifest lacks its \"training\" section".into(),
            )),
            (Kind::Weights, Some(_)) => Err(format_error(
                "a weights-only checkpoint's manifest has a \"training\" section".into(),
            )),
            _ => Ok(manifest),
        }
    }

    /// The checkpoint of this manifest and the tensors read from `path`.
    pub fn into_checkpoint(self, path: &Path, sections: Sections) -> Result<Checkpoint> {
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        match self.training {
            None => {
                let mut unexpected = sections
                    .metrics_states
                    .names()
                    .map(|n| format!("metrics_states/{n}"))
                    .chain(
                        sections
                            .optimizer_states
                            .names()
                            .map(|n| format!("optimizer_states/{n}")),
                    )
                    .chain(sections.fields.keys().map(|f| format!("fields/{f}/...")));
                if let Some(name) = unexpected.next() {
                    return Err(format_error(format!(
                        "tensor `{name}` is in a weights-only checkpoint, which holds only \
                         net_params and net_states"
                    )));
                }
                Ok(Checkpoint::weights(
                    sections.net_params,
                    sections.net_states,
                ))
            }
            Some(training) => {
                for field in sections.fields.keys() {
                    if !training.fields.contains(field) {
                        return Err(format_error(format!(
                            "tensors of states field `{field}` are in the file, but the manifest \
                             lists the fields {:?}",
                            training.fields
                        )));
                    }
                }
                let history =
                    history_from_json(training.history).map_err(|message| Error::Format {
                        path: path.with_file_name(super::MANIFEST_FILE),
                        message,
                    })?;
                let mut sections = sections;
                for field in training.fields {
                    sections.fields.entry(field).or_default();
                }
                let (states, initial_metrics_states) =
                    sections.into_states(RngKey::from_bits(training.rng));
                Ok(Checkpoint::full(
                    states,
                    initial_metrics_states,
                    history,
                    super::Position {
                        seed: training.seed,
                        step: training.step,
                        next_epoch: training.next_epoch,
                        learning_rate: training.learning_rate,
                        optimizer: training.optimizer,
                    },
                ))
            }
        }
    }
}

impl TensorsFile {
    /// Checks that the file at `path`, of `len` bytes, has the size the manifest records (before
    /// it is read: a file of another size is not read at all).
    pub fn check_len(&self, path: &Path, len: u64) -> Result<()> {
        if len == self.bytes {
            return Ok(());
        }
        Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "the file has {len} bytes but the manifest says {}: it is truncated or was \
                 replaced",
                self.bytes
            ),
        })
    }

    /// Checks that `bytes`, read from `path`, are the file the manifest describes.
    pub fn check(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        self.check_len(path, bytes.len() as u64)?;
        let crc = crc32fast::hash(bytes);
        if crc != self.crc32 {
            return Err(format_error(format!(
                "checksum mismatch (CRC-32 {crc:#010x}, the manifest says {:#010x}): the file is \
                 corrupted",
                self.crc32
            )));
        }
        Ok(())
    }
}

fn history_to_json(history: &History) -> HistoryJson {
    let encode = |v: f32| match v {
        v if v.is_nan() => Value::Null,
        f32::INFINITY => Value::from("inf"),
        f32::NEG_INFINITY => Value::from("-inf"),
        // Widening is exact, so reading back and narrowing gives the same f32.
        v => Value::from(f64::from(v)),
    };
    HistoryJson {
        epochs: history.epochs.clone(),
        logs: history
            .logs
            .iter()
            .map(|(name, values)| (name.clone(), values.iter().copied().map(encode).collect()))
            .collect(),
    }
}

fn history_from_json(json: HistoryJson) -> std::result::Result<History, String> {
    let decode = |name: &str, v: &Value| match v {
        Value::Null => Ok(f32::NAN),
        Value::String(s) if s == "inf" => Ok(f32::INFINITY),
        Value::String(s) if s == "-inf" => Ok(f32::NEG_INFINITY),
        Value::Number(n) => n
            .as_f64()
            .map(|x| x as f32)
            .ok_or_else(|| format!("history log `{name}` has the value {n}, not a float")),
        other => Err(format!(
            "history log `{name}` has the value {other}; expected a number, null, \"inf\" or \
             \"-inf\""
        )),
    };
    let mut logs = BTreeMap::new();
    for (name, values) in json.logs {
        if values.len() != json.epochs.len() {
            return Err(format!(
                "history log `{name}` has {} values for {} epochs",
                values.len(),
                json.epochs.len()
            ));
        }
        let values = values
            .iter()
            .map(|v| decode(&name, v))
            .collect::<std::result::Result<Vec<f32>, String>>()?;
        logs.insert(name, values);
    }
    Ok(History {
        epochs: json.epochs,
        logs,
    })
}
