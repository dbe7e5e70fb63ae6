//! NumPy's `.npy` (one array) and `.npz` (a zip of named `.npy` arrays) files, through
//! `ndarray-npy`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Seek};
use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{
    NpzReader, NpzWriter, ReadNpyError, ReadNpyExt, ReadNpzError, ReadableElement, WriteNpyExt,
};

use super::files::format_error;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Reads a `.npy` file as an `f32` tensor of the stored shape.
///
/// `float32` is read as is; `float64`, the integer types and `bool` are converted (to the nearest
/// `f32`: integers are exact up to 2^24, `bool` becomes 0 or 1). Either byte order and either
/// memory order (C or Fortran) is accepted. Other dtypes (`float16`, complex, strings, objects)
/// are an [`Error::Format`] naming the file and the dtype.
///
/// ```no_run
/// let x = elegy_core::datasets::read_npy("features.npy")?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let mut file = open(path)?;
    check_npy_size(&mut file).map_err(|e| format_error(path, e))?;
    let mut source = NpyFile(BufReader::new(file));
    read_any(&mut source)
        .map(Tensor::new)
        .map_err(|e| format_error(path, format!("cannot be read as .npy: {e}")))
}

/// Reads every array of a `.npz` file (as written by `numpy.savez` or `numpy.savez_compressed`)
/// as `f32` tensors by name, converting dtypes as [`read_npy`] does.
///
/// ```no_run
/// let arrays = elegy_core::datasets::read_npz("mnist.npz")?;
/// let x_train = &arrays["x_train"];
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_npz(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    let path = path.as_ref();
    let unreadable = |e| format_error(path, format!("cannot be read as .npz: {}", describe(e)));
    check_npz_sizes(path)?;
    let mut npz = NpzReader::new(open(path)?).map_err(unreadable)?;
    let names = npz.names().map_err(unreadable)?;
    let mut arrays = BTreeMap::new();
    for name in names {
        let mut source = NpzEntry {
            npz: &mut npz,
            name: &name,
        };
        let array = read_any(&mut source)
            .map_err(|e| format_error(path, format!("array `{name}` cannot be read: {e}")))?;
        arrays.insert(name, Tensor::new(array));
    }
    Ok(arrays)
}

/// Writes `tensor` to a `.npy` file as `float32` (little-endian), readable by `numpy.load`.
///
/// ```no_run
/// use elegy_core::Tensor;
/// elegy_core::datasets::write_npy("x.npy", &Tensor::zeros(&[2, 3]))?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn write_npy(path: impl AsRef<Path>, tensor: &Tensor) -> Result<()> {
    let path = path.as_ref();
    let file = BufWriter::new(create(path)?);
    tensor
        .array()
        .write_npy(file)
        .map_err(|e| format_error(path, format!("cannot be written as .npy: {e}")))
}

/// Writes named tensors to an (uncompressed) `.npz` file as `float32` arrays, readable by
/// `numpy.load`. Takes a map or any list of `(name, &tensor)` pairs; a name given twice is an
/// error.
///
/// ```no_run
/// use elegy_core::Tensor;
/// let (x, y) = (Tensor::zeros(&[4, 2]), Tensor::ones(&[4]));
/// elegy_core::datasets::write_npz("data.npz", [("x", &x), ("y", &y)])?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn write_npz<'a, K: AsRef<str>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, &'a Tensor)>,
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = BTreeSet::new();
    let mut npz = NpzWriter::new(create(path)?);
    let failed = |e: &dyn std::fmt::Display| format_error(path, format!("cannot be written: {e}"));
    for (name, tensor) in arrays {
        let name = name.as_ref();
        if !seen.insert(name.to_string()) {
            return Err(Error::invalid(
                "write_npz",
                format!(
                    "array name `{name}` is given twice for {}; names must be unique",
                    path.display()
                ),
            ));
        }
        npz.add_array(name, tensor.array())
            .map_err(|e| failed(&e))?;
    }
    npz.finish().map_err(|e| failed(&e))?;
    Ok(())
}

/// An error when the `.npy` header of `file` promises more data than the file holds (a corrupt
/// or crafted header would otherwise make the reader allocate it all, and abort the process).
/// Headers this cannot parse are left to the reader, which reports them.
fn check_npy_size(file: &mut File) -> std::result::Result<(), String> {
    let mut start = Vec::new();
    let read = (&mut *file).take(HEADER_READ).read_to_end(&mut start);
    let rewound = file.rewind();
    if read.is_err() || rewound.is_err() {
        return Ok(());
    }
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    npy_size_problem(&start, file_len).map_or(Ok(()), Err)
}

/// As [`check_npy_size`], for every member of the `.npz` file at `path` against its
/// uncompressed size. A file the zip reader cannot open is left to the array reader.
fn check_npz_sizes(path: &Path) -> Result<()> {
    let Ok(mut zip) = zip::ZipArchive::new(open(path)?) else {
        return Ok(());
    };
    for i in 0..zip.len() {
        let Ok(mut member) = zip.by_index(i) else {
            continue;
        };
        let (name, size) = (member.name().to_string(), member.size());
        let mut start = Vec::new();
        if (&mut member)
            .take(HEADER_READ)
            .read_to_end(&mut start)
            .is_ok()
            && let Some(problem) = npy_size_problem(&start, size)
        {
            return Err(format_error(path, format!("member `{name}`: {problem}")));
        }
    }
    Ok(())
}

/// Enough of a file's start to hold any `.npy` header.
const HEADER_READ: u64 = 1 << 17;

/// What is wrong with an `.npy` of `total_len` bytes that starts with `start`, if its header
/// promises more data than follows it, or a shape no array can have.
fn npy_size_problem(start: &[u8], total_len: u64) -> Option<String> {
    let (header_len, header) = npy_header(start)?;
    let (item, shape) = (npy_item_size(header)?, npy_shape(header)?);
    let product = |nonzero_only: bool| {
        shape
            .iter()
            .filter(|&&d| d > 0 || !nonzero_only)
            .try_fold(item as u128, |acc, &d| acc.checked_mul(d as u128))
    };
    // ndarray refuses a shape whose nonzero axes multiply past isize::MAX bytes.
    if product(true).is_none_or(|bytes| bytes > isize::MAX as u128) {
        return Some(format!(
            "the header's shape {shape:?} of {item}-byte values is larger than any array can \
             be: the header is corrupt"
        ));
    }
    let available = total_len.saturating_sub(header_len as u64) as u128;
    match product(false) {
        Some(bytes) if bytes <= available => None,
        _ => Some(format!(
            "the header promises shape {shape:?} of {item}-byte values but only {available} \
             bytes of data follow it: the file is truncated or its header corrupt"
        )),
    }
}

/// The length of the whole header (magic, version, length field and dict) and the dict's text.
fn npy_header(bytes: &[u8]) -> Option<(usize, &str)> {
    let rest = bytes.strip_prefix(b"\x93NUMPY")?;
    let (version, rest) = rest.split_first()?;
    let rest = rest.get(1..)?;
    let (len, offset): (usize, usize) = match version {
        1 => (
            usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?])),
            10,
        ),
        _ => (
            u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize,
            12,
        ),
    };
    let dict = bytes.get(offset..offset.checked_add(len)?)?;
    Some((offset + len, std::str::from_utf8(dict).ok()?))
}

/// The byte size of one element from the dict's `'descr': '<f4'` (the digits at its end).
fn npy_item_size(header: &str) -> Option<usize> {
    let after = &header[header.find("'descr'")? + 7..];
    let quote = after.find(['\'', '"'])?;
    let value = &after[quote + 1..];
    let value = &value[..value.find(['\'', '"'])?];
    let digits = value.trim_start_matches(|c: char| !c.is_ascii_digit());
    digits.parse().ok()
}

/// The axes of the dict's `'shape': (2, 3)`.
fn npy_shape(header: &str) -> Option<Vec<usize>> {
    let after = &header[header.find("'shape'")? + 7..];
    let inside = &after[after.find('(')? + 1..];
    let inside = &inside[..inside.find(')')?];
    inside
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse().ok())
        .collect()
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// A stored array that can be read again from its start, as any element type.
trait Source {
    fn read<T: ReadableElement>(&mut self) -> std::result::Result<ArrayD<T>, ReadNpzError>;
}

struct NpyFile(BufReader<File>);

impl Source for NpyFile {
    fn read<T: ReadableElement>(&mut self) -> std::result::Result<ArrayD<T>, ReadNpzError> {
        self.0.rewind().map_err(ReadNpyError::Io)?;
        Ok(ArrayD::<T>::read_npy(&mut self.0)?)
    }
}

struct NpzEntry<'a> {
    npz: &'a mut NpzReader<File>,
    name: &'a str,
}

impl Source for NpzEntry<'_> {
    fn read<T: ReadableElement>(&mut self) -> std::result::Result<ArrayD<T>, ReadNpzError> {
        self.npz.by_name(self.name)
    }
}

/// The array of `source` as `f32`, in standard (C) order, whatever its stored dtype.
fn read_any(source: &mut impl Source) -> std::result::Result<ArrayD<f32>, String> {
    // float32 first: the common case, and otherwise the error names the stored dtype, read
    // from the header without touching the data.
    let descriptor = match source.read::<f32>() {
        Ok(array) => return Ok(standard_order(array)),
        Err(ReadNpzError::Npy(ReadNpyError::WrongDescriptor(descriptor))) => descriptor,
        Err(e) => return Err(describe(e)),
    };
    // The descriptor is a Python literal such as '<f8'.
    let descriptor = descriptor.to_string();
    let code = descriptor.trim_matches(['\'', '"']);
    let converted = match code.trim_start_matches(['<', '>', '|', '=']) {
        "f8" => source.read::<f64>().map(|a| convert(a, |v| v as f32)),
        "i1" | "b" => source.read::<i8>().map(|a| convert(a, f32::from)),
        "i2" => source.read::<i16>().map(|a| convert(a, f32::from)),
        "i4" => source.read::<i32>().map(|a| convert(a, |v| v as f32)),
        "i8" => source.read::<i64>().map(|a| convert(a, |v| v as f32)),
        "u1" | "B" => source.read::<u8>().map(|a| convert(a, f32::from)),
        "u2" => source.read::<u16>().map(|a| convert(a, f32::from)),
        "u4" => source.read::<u32>().map(|a| convert(a, |v| v as f32)),
        "u8" => source.read::<u64>().map(|a| convert(a, |v| v as f32)),
        "b1" | "?" => source.read::<bool>().map(|a| convert(a, f32::from)),
        _ => {
            return Err(format!(
                "dtype {descriptor} is not supported; store float32, float64, an integer type \
                 or bool"
            ));
        }
    };
    converted.map_err(describe)
}

/// The reason an array cannot be read, in words about the file.
fn describe(error: ReadNpzError) -> String {
    match error {
        ReadNpzError::Npy(ReadNpyError::Io(e)) if e.kind() == ErrorKind::UnexpectedEof => {
            "the file ends inside its header (truncated?)".into()
        }
        ReadNpzError::Npy(ReadNpyError::MissingData) => {
            "the data ends before filling the shape in the header (truncated?)".into()
        }
        ReadNpzError::Npy(e) => e.to_string(),
        ReadNpzError::Zip(e) => format!("not a readable zip archive ({e})"),
    }
}

fn standard_order(array: ArrayD<f32>) -> ArrayD<f32> {
    if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    }
}

/// `array` mapped element by element to `f32`, in standard order (iteration is logical order).
fn convert<T: Copy>(array: ArrayD<T>, f: impl Fn(T) -> f32) -> ArrayD<f32> {
    let values = array.iter().map(|&v| f(v)).collect();
    ArrayD::from_shape_vec(array.raw_dim(), values).expect("one value per element")
}
