//! NumPy's `.npy` (one array) and `.npz` (a zip of named `.npy` arrays) files.
//!
//! Reading is done here rather than by `ndarray-npy` so that no file can make the reader
//! allocate more than it holds: the header's length field is checked against the file before
//! the header is read, the header is parsed as the Python literal it is (see [`super::pyliteral`]),
//! the shape's byte size is checked against the bytes that follow before any data is read, and
//! the data is converted as it streams in. A `.npz` member is read the same way against the size
//! its zip entry declares, and decompression stops one byte past it (see [`super::archive`]).
//! Writing goes through `ndarray-npy`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::{NpzWriter, WriteNpyExt};

use super::archive;
use super::files::format_error;
use super::pyliteral::{self, Literal};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Reads a `.npy` file as an `f32` tensor of the stored shape.
///
/// `float32` is read as is; `float64`, the integer types and `bool` are converted (to the nearest
/// `f32`: integers are exact up to 2^24, `bool` becomes 0 or 1). Either byte order and either
/// memory order (C or Fortran) is accepted, in format versions 1.0, 2.0 and 3.0. Other dtypes
/// (`float16`, complex, strings, objects, structured) are an [`Error::Format`] naming the file
/// and the dtype, and so is a file whose header is not NumPy's or promises other than the data
/// that follows it. Whatever the file holds, the reader allocates at most a small multiple of
/// its size: the `f32` output (4 bytes per element: 4 times a file of bytes), a 64 KiB read
/// buffer, and for a Fortran-order array a second copy to put it in row-major order.
///
/// ```no_run
/// let x = elegy_core::datasets::read_npy("features.npy")?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let (file, len) = open(path)?;
    parse_npy(&mut BufReader::new(file), len, true)
        .map(Tensor::new)
        .map_err(|e| format_error(path, format!("cannot be read as .npy: {e}")))
}

/// Reads every array of a `.npz` file (as written by `numpy.savez` or `numpy.savez_compressed`)
/// as `f32` tensors by name (the member's name without its `.npy`), converting dtypes as
/// [`read_npy`] does.
///
/// Every member is checked as [`read_npy`] checks a file, against the size its zip entry
/// declares; decompression stops one byte past that size, so a member that holds more is an
/// error rather than an allocation. A member's checksum is checked too.
///
/// ```no_run
/// let arrays = elegy_core::datasets::read_npz("mnist.npz")?;
/// let x_train = &arrays["x_train"];
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_npz(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    let path = path.as_ref();
    let (file, len) = open(path)?;
    let mut file = BufReader::new(file);
    let members = archive::members(&mut file, len)
        .map_err(|e| format_error(path, format!("cannot be read as .npz: {e}")))?;
    let mut arrays = BTreeMap::new();
    for member in &members {
        let fail = |e: String| format_error(path, format!("member `{}`: {e}", member.name));
        let mut reader = archive::open(&mut file, len, member).map_err(fail)?;
        let array = parse_npy(&mut reader, member.size, false).map_err(fail)?;
        reader.finish(member.size).map_err(fail)?;
        let name = member.name.strip_suffix(".npy").unwrap_or(&member.name);
        if arrays
            .insert(name.to_string(), Tensor::new(array))
            .is_some()
        {
            return Err(fail(format!(
                "a second array named `{name}`: the archive is corrupt"
            )));
        }
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

/// The first bytes of every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// How many bytes of data are read and converted at a time.
const CHUNK: usize = 1 << 16;

/// The element types read, by the code after the byte-order character of a descr.
#[derive(Clone, Copy, Debug)]
enum Dtype {
    F4,
    F8,
    I1,
    I2,
    I4,
    I8,
    U1,
    U2,
    U4,
    U8,
    Bool,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::I1 | Dtype::U1 | Dtype::Bool => 1,
            Dtype::I2 | Dtype::U2 => 2,
            Dtype::F4 | Dtype::I4 | Dtype::U4 => 4,
            Dtype::F8 | Dtype::I8 | Dtype::U8 => 8,
        }
    }

    /// The dtype of a descr such as `'<f4'`, and whether it is big-endian.
    fn parse(descr: &str) -> Option<(Dtype, bool)> {
        let (order, code) = match descr.chars().next()? {
            c @ ('<' | '>' | '|' | '=') => (c, &descr[1..]),
            _ => ('=', descr),
        };
        let dtype = match code {
            "f4" => Dtype::F4,
            "f8" => Dtype::F8,
            "i1" | "b" => Dtype::I1,
            "i2" => Dtype::I2,
            "i4" => Dtype::I4,
            "i8" => Dtype::I8,
            "u1" | "B" => Dtype::U1,
            "u2" => Dtype::U2,
            "u4" => Dtype::U4,
            "u8" => Dtype::U8,
            "b1" | "?" => Dtype::Bool,
            _ => return None,
        };
        let big = match order {
            '>' => true,
            '<' => false,
            // `|` (no byte order) only fits one-byte types.
            '|' if dtype.size() > 1 => return None,
            _ => cfg!(target_endian = "big"),
        };
        Some((dtype, big))
    }

    /// The value of one element of `bytes` (exactly `self.size()` of them).
    fn convert(self, bytes: &[u8], big: bool) -> f32 {
        macro_rules! num {
            ($t:ty) => {{
                let b = bytes.try_into().unwrap_or_default();
                if big {
                    <$t>::from_be_bytes(b)
                } else {
                    <$t>::from_le_bytes(b)
                }
            }};
        }
        match self {
            Dtype::F4 => num!(f32),
            Dtype::F8 => num!(f64) as f32,
            Dtype::I1 => f32::from(bytes[0] as i8),
            Dtype::I2 => f32::from(num!(i16)),
            Dtype::I4 => num!(i32) as f32,
            Dtype::I8 => num!(i64) as f32,
            Dtype::U1 => f32::from(bytes[0]),
            Dtype::U2 => f32::from(num!(u16)),
            Dtype::U4 => num!(u32) as f32,
            Dtype::U8 => num!(u64) as f32,
            Dtype::Bool => f32::from(u8::from(bytes[0] != 0)),
        }
    }
}

/// What a `.npy` header says.
struct Header {
    descr: String,
    dtype: Dtype,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Reads `bytes` bytes (the end of what `reader` holds) into a new buffer. With `size_known`
/// the buffer is allocated at once (the caller has checked `bytes` against the file's size);
/// otherwise it grows with what actually arrives, so a declared size that lies costs nothing.
fn read_bytes(reader: &mut impl Read, bytes: u64, size_known: bool) -> std::io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    if size_known {
        buffer.reserve_exact(bytes as usize);
    }
    reader.take(bytes).read_to_end(&mut buffer)?;
    if (buffer.len() as u64) < bytes {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    Ok(buffer)
}

/// The array of the `.npy` bytes `reader` yields, `len` of them in all: the whole header and
/// data must fit in `len`, and the data must fill it exactly. `size_known`: `len` is the size of
/// a file (rather than a size an archive declares), so buffers of up to `len` bytes may be
/// allocated before the bytes are read.
fn parse_npy(
    reader: &mut impl Read,
    len: u64,
    size_known: bool,
) -> std::result::Result<ArrayD<f32>, String> {
    let truncated = |what: &str| format!("the file ends inside its {what} (truncated?)");
    let mut prefix = [0u8; 8];
    reader.read_exact(&mut prefix).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => format!(
            "{len} bytes are too few for a .npy file (it starts with 8 bytes of magic and version)"
        ),
        _ => e.to_string(),
    })?;
    if &prefix[..6] != MAGIC {
        return Err(format!(
            "not a .npy file: it starts with {:02x?}, a .npy file with 93 4e 55 4d 50 59 \
             (\"\\x93NUMPY\")",
            &prefix[..6]
        ));
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let header_len = match major {
        1 => {
            let mut field = [0u8; 2];
            reader
                .read_exact(&mut field)
                .map_err(|_| truncated("header"))?;
            u64::from(u16::from_le_bytes(field))
        }
        2 | 3 => {
            let mut field = [0u8; 4];
            reader
                .read_exact(&mut field)
                .map_err(|_| truncated("header"))?;
            u64::from(u32::from_le_bytes(field))
        }
        _ => {
            return Err(format!(
                "format version {major}.{minor} is unknown; NumPy writes versions 1.0, 2.0 and \
                 3.0 (is the file corrupt?)"
            ));
        }
    };
    let data_start = if major == 1 { 10 } else { 12 } + header_len;
    if data_start > len {
        return Err(format!(
            "the header's length field says {header_len} bytes, but only {} bytes follow it: \
             the file is truncated or its header corrupt",
            len.saturating_sub(data_start - header_len)
        ));
    }
    let header_bytes = read_bytes(reader, header_len, size_known).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => truncated("header"),
        _ => e.to_string(),
    })?;
    let header = parse_header(&header_bytes, major)?;
    drop(header_bytes);
    let available = len - data_start;
    let elements = header
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let bytes = elements.and_then(|n| n.checked_mul(header.dtype.size() as u64));
    let descr = &header.descr;
    let shape = &header.shape;
    match bytes {
        Some(bytes) if bytes == available => {}
        Some(bytes) if bytes < available => {
            return Err(format!(
                "the header promises shape {shape:?} of '{descr}' ({bytes} bytes of data) but \
                 {available} bytes follow it: the file has bytes past the data or its header is \
                 corrupt"
            ));
        }
        _ => {
            let promised = bytes.map_or("more than 2^64".to_string(), |b| b.to_string());
            return Err(format!(
                "the header promises shape {shape:?} of '{descr}' ({promised} bytes of data) but \
                 only {available} bytes follow it: the file is truncated or its header corrupt"
            ));
        }
    }
    let n = elements.unwrap_or(0) as usize;
    let size = header.dtype.size();
    // `n * size` bytes are there (size_known) or declared: in the latter case the output grows
    // with what is read.
    let mut values = Vec::with_capacity(if size_known { n } else { n.min(CHUNK) });
    let mut chunk = vec![0u8; CHUNK.min(n * size)];
    let mut left = n * size;
    while left > 0 {
        let take = left.min(chunk.len());
        reader
            .read_exact(&mut chunk[..take])
            .map_err(|e| match e.kind() {
                ErrorKind::UnexpectedEof => {
                    "the data ends before filling the shape in the header (truncated?)".to_string()
                }
                _ => e.to_string(),
            })?;
        values.extend(
            chunk[..take]
                .chunks_exact(size)
                .map(|b| header.dtype.convert(b, header.big_endian)),
        );
        left -= take;
    }
    let dim = IxDyn(&header.shape);
    let array = if header.fortran_order {
        ArrayD::from_shape_vec(dim.f(), values)
    } else {
        ArrayD::from_shape_vec(dim, values)
    }
    .map_err(|e| format!("the header's shape {shape:?} cannot be an array: {e}"))?;
    Ok(if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    })
}

/// The header dict of a `.npy` file of format version `major`: `descr`, `fortran_order` and
/// `shape`, in any order, and no other key (as NumPy requires).
fn parse_header(bytes: &[u8], major: u8) -> std::result::Result<Header, String> {
    // Versions 1 and 2 are latin-1, version 3 UTF-8.
    let text: String = if major == 3 {
        std::str::from_utf8(bytes)
            .map_err(|e| format!("the header is not UTF-8 text ({e})"))?
            .to_string()
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    };
    let bad = |why: String| format!("the header is not a NumPy header: {why}");
    let Literal::Dict(entries) = pyliteral::parse(&text).map_err(bad)? else {
        return Err(bad("it is not a dict".into()));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        match key {
            Literal::Str(k) if k == "descr" => descr = Some(value),
            Literal::Str(k) if k == "fortran_order" => fortran = Some(value),
            Literal::Str(k) if k == "shape" => shape = Some(value),
            other => {
                return Err(bad(format!(
                    "unexpected key {}; it has 'descr', 'fortran_order' and 'shape'",
                    other.describe()
                )));
            }
        }
    }
    let missing = |key: &str| bad(format!("the key '{key}' is missing"));
    let descr = match descr.ok_or_else(|| missing("descr"))? {
        Literal::Str(s) => s,
        other => {
            return Err(format!(
                "dtype {} (a structured dtype) is not supported; store float32, float64, an \
                 integer type or bool",
                other.describe()
            ));
        }
    };
    let Some((dtype, big_endian)) = Dtype::parse(&descr) else {
        return Err(format!(
            "dtype '{descr}' is not supported; store float32, float64, an integer type or bool"
        ));
    };
    let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
        Literal::Bool(b) => b,
        other => {
            return Err(bad(format!(
                "'fortran_order' is {}, not True or False",
                other.describe()
            )));
        }
    };
    let shape = match shape.ok_or_else(|| missing("shape"))? {
        Literal::Tuple(axes) => axes
            .iter()
            .map(|axis| match axis {
                Literal::Int(d) => usize::try_from(*d).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| {
                bad(format!(
                    "'shape' is {}, not a tuple of non-negative integers",
                    Literal::Tuple(axes.clone()).describe()
                ))
            })?,
        other => {
            return Err(bad(format!(
                "'shape' is {}, not a tuple of non-negative integers",
                other.describe()
            )));
        }
    };
    Ok(Header {
        descr,
        dtype,
        big_endian,
        fortran_order,
        shape,
    })
}

/// The file at `path` and its size in bytes, which bounds everything read from it.
fn open(path: &Path) -> Result<(File, u64)> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    Ok((file, len))
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}
