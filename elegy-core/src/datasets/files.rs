//! Reading a downloaded file whole, gzip-compressed or not.

use std::io::Read;
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

/// An [`Error::Format`] about `path`.
pub(crate) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.into(),
        message: message.into(),
    }
}
