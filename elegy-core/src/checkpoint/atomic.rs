//! Crash-safe file writing: temporary file in the same directory, write, fsync, rename, fsync
//! the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{MANIFEST_FILE, generation_of};
use crate::error::{Error, Result};

/// Makes temporary names unique within a process (the process id makes them unique across).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Marks a temporary file: `.<final name>.tmp-<pid>-<n>`.
const TEMP_MARK: &str = ".tmp-";

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory a file lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` so that, whatever happens, `path` holds either its old contents
/// or all of `bytes`, durably.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .ok_or_else(|| io_error(path, io::Error::other("not a file path")))?;
    let temp = dir.join(format!(
        ".{}{TEMP_MARK}{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        // Name the file the caller asked for: the temporary name means nothing to them.
        return Err(io_error(path, e));
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(io_error(path, e));
    }
    sync_dir(dir)
}

/// Creates `dir` (and its parents) if needed; a new directory's entry is synced into its parent.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Err(e) = fs::create_dir_all(dir) {
        return Err(not_a_directory(dir).unwrap_or_else(|| io_error(dir, e)));
    }
    sync_dir(parent_of(dir))
}

/// An error saying that `dir`, or the folder it would be in, is an existing file, which a
/// checkpoint directory cannot be (or be in); `None` if neither is.
pub(crate) fn not_a_directory(dir: &Path) -> Option<Error> {
    let file = dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .find(|p| p.exists())
        .filter(|p| !p.is_dir())?;
    let message = if file == dir {
        "is a file, but a checkpoint is a directory (of checkpoint.json and a tensors file): \
         choose another path, or remove the file"
            .to_string()
    } else {
        format!(
            "cannot be a checkpoint directory: {} is a file, not a directory",
            file.display()
        )
    };
    Some(io_error(
        dir,
        io::Error::new(io::ErrorKind::AlreadyExists, message),
    ))
}

/// Makes the directory's entries (a rename, a new file) durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

/// Directories cannot be opened as files on other systems; their renames are durable enough.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// One more than the highest generation of a tensors file in `dir`, so that a new file never
/// overwrites the one the current manifest names (nor a half-written one of a crashed save).
pub(crate) fn next_generation(dir: &Path) -> Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        if let Some(generation) = entry.file_name().to_str().and_then(generation_of) {
            highest = highest.max(generation);
        }
    }
    Ok(highest + 1)
}

/// Removes tensors files other than `keep` and temporary files left by interrupted saves. Best
/// effort: a file that cannot be removed now is removed by a later save.
pub(crate) fn remove_stale(dir: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let stale: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return false;
            };
            let old_tensors = name != keep && generation_of(name).is_some();
            let temp = name.contains(TEMP_MARK)
                && (name.starts_with(".tensors-")
                    || name.starts_with(&format!(".{MANIFEST_FILE}")));
            old_tensors || temp
        })
        .map(|entry| entry.path())
        .collect();
    for path in stale {
        let _ = fs::remove_file(path);
    }
}
