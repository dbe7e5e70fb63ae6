//! `.npz` export: tensors for numpy users (`numpy.load("params.npz")["linear/w"]`).

use std::io::Cursor;
use std::path::Path;

use ndarray_npy::NpzWriter;

use super::atomic;
use crate::error::{Error, Result};
use crate::tensor::TensorMap;

/// Writes `tensors` to the `.npz` file `path` (atomically), one `float32` array per tensor,
/// under the tensor's name: `numpy.load(path)[name]`.
///
/// ```
/// use elegy_core::{Tensor, TensorMap};
/// let params = TensorMap::new().with("linear/w", Tensor::zeros(&[3, 2]));
/// let path = std::env::temp_dir().join("elegy-doc-params.npz");
/// elegy_core::checkpoint::export_npz(&path, &params)?;
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn export_npz(path: impl AsRef<Path>, tensors: &TensorMap) -> Result<()> {
    let path = path.as_ref();
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    for (name, tensor) in tensors.iter() {
        npz.add_array(name, &tensor.view())
            .map_err(|e| format_error(format!("cannot write array `{name}`: {e}")))?;
    }
    let bytes = npz
        .finish()
        .map_err(|e| format_error(format!("cannot finish the archive: {e}")))?
        .into_inner();
    atomic::write(path, &bytes)
}
