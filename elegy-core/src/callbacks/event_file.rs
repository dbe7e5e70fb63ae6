//! TensorBoard's event files: TFRecord framing (length, masked CRC-32C, data, masked CRC-32C)
//! around `Event` protocol buffers holding scalar summaries. [`read_event_scalars`] reads them
//! back.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::error::{Error, Result};

/// The parts of TensorBoard's `Event` (tensorflow/core/util/event.proto) a scalar log needs.
#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "What", tags = "3, 5")]
    what: Option<What>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum What {
    /// The first event of a file: its format version.
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `Summary` (tensorflow/core/framework/summary.proto), scalar values only.
#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    /// A member of a oneof in the schema: written even when it is 0.
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
}

/// The version TensorBoard expects in a file's first event.
const FILE_VERSION: &str = "brain.Event:2";

/// The CRC-32C of `bytes`, masked as TFRecord stores it (a CRC of data holding CRCs is weak).
fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Seconds since the Unix epoch, as events keep their time.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One event file being written.
#[derive(Debug)]
pub(crate) struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates a new event file in `dir` (made if needed), named as TensorBoard looks for them
    /// (`events.out.tfevents.{seconds}.{name}`), and writes its version event.
    pub(crate) fn create(dir: &Path, name: &str) -> Result<EventWriter> {
        crate::checkpoint::atomic::create_dir(dir)?;
        let seconds = now() as u64;
        let path = dir.join(format!("events.out.tfevents.{seconds}.{name}"));
        let file = File::create(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut writer = EventWriter {
            path,
            file: BufWriter::new(file),
        };
        writer.write(&Event {
            wall_time: now(),
            step: 0,
            what: Some(What::FileVersion(FILE_VERSION.into())),
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// Writes the scalar `value` under `tag` at `step`.
    pub(crate) fn scalar(&mut self, tag: &str, step: i64, value: f32) -> Result<()> {
        let value = SummaryValue {
            tag: tag.to_string(),
            simple_value: Some(value),
        };
        self.write(&Event {
            wall_time: now(),
            step,
            what: Some(What::Summary(Summary { value: vec![value] })),
        })
    }

    /// Puts what was written on disk, so that TensorBoard shows it while training runs.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| self.io(e))
    }

    fn write(&mut self, event: &Event) -> Result<()> {
        let data = event.encode_to_vec();
        let length = (data.len() as u64).to_le_bytes();
        let mut record = Vec::with_capacity(data.len() + 16);
        record.extend_from_slice(&length);
        record.extend_from_slice(&masked_crc(&length).to_le_bytes());
        record.extend_from_slice(&data);
        record.extend_from_slice(&masked_crc(&data).to_le_bytes());
        self.file.write_all(&record).map_err(|e| self.io(e))
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// One scalar of an event file, as [`read_event_scalars`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarEvent {
    /// Its name (`epoch_loss`).
    pub tag: String,
    /// Its step: the epoch, or the batch counted over the whole training.
    pub step: i64,
    /// Seconds since the Unix epoch when it was written.
    pub wall_time: f64,
    /// The value.
    pub value: f32,
}

/// The scalars of the TensorBoard event file `path`, in the order written: what TensorBoard's
/// scalar dashboard shows of it, read with the same framing checks (every length and record
/// checksum; events without a scalar are skipped). A damaged or truncated file is an
/// [`Error::Format`] naming the byte offset.
///
/// ```no_run
/// use elegy_core::callbacks::read_event_scalars;
/// for event in read_event_scalars("logs/train/events.out.tfevents.1764770000.elegy.1.0")? {
///     println!("{} {} {}", event.tag, event.step, event.value);
/// }
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_event_scalars(path: impl AsRef<Path>) -> Result<Vec<ScalarEvent>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let damaged = |offset: usize, what: &str| Error::Format {
        path: path.to_path_buf(),
        message: format!("not a TensorBoard event file: {what} at byte {offset}"),
    };
    let mut scalars = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 12)
            .ok_or_else(|| damaged(at, "a record header cut short"))?;
        let (length, length_crc) = header.split_at(8);
        if masked_crc(length).to_le_bytes() != length_crc {
            return Err(damaged(at, "a record length whose checksum does not match"));
        }
        let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
        let start = at + 12;
        let end = usize::try_from(length)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&end| end.checked_add(4).is_some_and(|e| e <= bytes.len()))
            .ok_or_else(|| damaged(at, "a record longer than the rest of the file"))?;
        let data = &bytes[start..end];
        if masked_crc(data).to_le_bytes() != bytes[end..end + 4] {
            return Err(damaged(at, "a record whose checksum does not match"));
        }
        let event = Event::decode(data).map_err(|e| damaged(at, &format!("an event {e}")))?;
        if let Some(What::Summary(summary)) = event.what {
            for value in summary.value {
                if let Some(v) = value.simple_value {
                    scalars.push(ScalarEvent {
                        tag: value.tag,
                        step: event.step,
                        wall_time: event.wall_time,
                        value: v,
                    });
                }
            }
        }
        at = end + 4;
    }
    Ok(scalars)
}

#[cfg(test)]
mod tests {
    use super::masked_crc;

    #[test]
    fn the_masked_crc_of_nothing_is_tfrecords() {
        // CRC-32C of no bytes is 0, so the masked value is the mask's constant.
        assert_eq!(masked_crc(&[]), 0xa282_ead8);
    }
}
