//! Reading a downloaded file, gzip-compressed or not.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The bytes of `path`, decompressed when they are gzip data (detected by the magic bytes, so a
/// compressed file without `.gz` in its name is read too).
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    // MultiGzDecoder: some tools write several gzip members back to back.
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            format_error(
                path,
                format!("cannot decompress the gzip data ({e}); the download may be incomplete"),
            )
        })?;
    Ok(out)
}

/// A downloaded file opened for streaming: its bytes, decompressed as they are read when they
/// are gzip data (detected by the magic bytes), so that a reader can check a header before it
/// decompresses (and allocates for) what follows.
pub(crate) struct MaybeGzip {
    reader: Box<dyn Read>,
    /// The file's size when it is not compressed (what the reader will yield).
    pub plain_len: Option<u64>,
}

impl MaybeGzip {
    pub(crate) fn open(path: &Path) -> Result<MaybeGzip> {
        let io = |source| Error::Io {
            path: path.into(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut file = BufReader::new(file);
        let start = file.fill_buf().map_err(io)?;
        Ok(if start.starts_with(&GZIP_MAGIC) {
            MaybeGzip {
                // MultiGzDecoder: some tools write several gzip members back to back.
                reader: Box::new(flate2::read::MultiGzDecoder::new(file)),
                plain_len: None,
            }
        } else {
            MaybeGzip {
                reader: Box::new(file),
                plain_len: Some(len),
            }
        })
    }

    /// Whether the file is gzip-compressed.
    pub(crate) fn is_gzip(&self) -> bool {
        self.plain_len.is_none()
    }

    /// Up to `limit` more bytes, appended to `out` (which grows with what is read, not with
    /// `limit`); fewer only at the end of the data.
    pub(crate) fn read_up_to(&mut self, path: &Path, limit: u64, out: &mut Vec<u8>) -> Result<()> {
        let gzip = self.is_gzip();
        (&mut self.reader)
            .take(limit)
            .read_to_end(out)
            .map(drop)
            .map_err(|e| {
                if gzip {
                    format_error(
                        path,
                        format!(
                            "cannot decompress the gzip data ({e}); the download may be                              incomplete"
                        ),
                    )
                } else {
                    Error::Io {
                        path: path.into(),
                        source: e,
                    }
                }
            })
    }
}

/// An [`Error::Format`] about `path`.
pub(crate) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.into(),
        message: message.into(),
    }
}
