//! What every target shares: the readers take paths, so each input is written to a file of
//! this process's own.

use std::path::PathBuf;

/// `data` written to `name` in a directory of this process, and its path.
pub fn file_with(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("elegy-fuzz-{}", std::process::id()));
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap_or(&dir)).expect("a temporary directory");
    std::fs::write(&path, data).expect("the input is written");
    path
}
