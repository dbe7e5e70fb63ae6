//! IDX files (the format of MNIST and Fashion-MNIST) and the two datasets published in it.
//!
//! An IDX file is a 4-byte magic number `00 00 TT NN` (element type `TT`, `NN` dimensions), then
//! `NN` big-endian `u32` sizes, then the elements, big-endian, in row-major order.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};

use super::LabelledData;
use super::files::{MaybeGzip, format_error};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The element types of the IDX format: type code, name, size in bytes.
const ELEMENT_TYPES: [(u8, &str, usize); 6] = [
    (0x08, "u8", 1),
    (0x09, "i8", 1),
    (0x0B, "i16", 2),
    (0x0C, "i32", 4),
    (0x0D, "f32", 4),
    (0x0E, "f64", 8),
];

/// Reads an IDX file, plain or gzip-compressed (detected from its first bytes), as an `f32`
/// tensor of the shape its header gives.
///
/// The header is read first: a plain file's size is checked against it before the data is read,
/// and compressed data is decompressed only as far as the header promises (one byte more shows
/// a file that holds more), so a small file cannot make the reader allocate more than its data.
///
/// Every IDX element type converts exactly (`u8`, `i8`, `i16`, `f32`) or to the nearest `f32`
/// (`i32` beyond 2^24, `f64`). A header whose sizes do not match the data that follows (a
/// truncated download, a file that is not IDX) is an [`Error::Format`] naming the file.
///
/// ```no_run
/// let labels = elegy_core::datasets::read_idx("data/mnist/t10k-labels-idx1-ubyte.gz")?;
/// assert_eq!(labels.shape(), &[10000]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_idx(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let mut source = MaybeGzip::open(path)?;
    let mut header = Vec::with_capacity(4 + 4 * 255);
    source.read_up_to(path, 4, &mut header)?;
    let Some(&[zero0, zero1, code, ndim]) = header.first_chunk::<4>() else {
        return Err(format_error(
            path,
            format!(
                "{} bytes are too few for an IDX header (4 bytes of magic number, then the sizes)",
                header.len()
            ),
        ));
    };
    if (zero0, zero1) != (0, 0) {
        return Err(format_error(
            path,
            format!(
                "not an IDX file: it starts with bytes {zero0:#04x} {zero1:#04x}, an IDX file \
                 with 0x00 0x00"
            ),
        ));
    }
    let Some(&(_, type_name, size)) = ELEMENT_TYPES.iter().find(|(c, _, _)| *c == code) else {
        let known: Vec<String> = ELEMENT_TYPES
            .iter()
            .map(|(c, name, _)| format!("{c:#04x} ({name})"))
            .collect();
        return Err(format_error(
            path,
            format!(
                "unknown IDX element type {code:#04x}; the format defines {}",
                known.join(", ")
            ),
        ));
    };
    let ndim = usize::from(ndim);
    let header_len = 4 + 4 * ndim;
    source.read_up_to(path, 4 * ndim as u64, &mut header)?;
    if header.len() < header_len {
        return Err(format_error(
            path,
            format!(
                "truncated header: {ndim} dimensions need {header_len} header bytes, the file \
                 has {}",
                header.len()
            ),
        ));
    }
    let shape: Vec<usize> = header[4..]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = shape
        .iter()
        .try_fold(size, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format_error(path, format!("shape {shape:?} is too large to hold")))?;
    let mismatch = |found: String, shorter: bool| {
        let problem = if shorter {
            "the file is truncated (download it again)"
        } else {
            "the file has bytes past the data (it is not one IDX array)"
        };
        format_error(
            path,
            format!(
                "the header promises shape {shape:?} of {type_name} ({expected} bytes of data) \
                 but {found} bytes follow the header: {problem}"
            ),
        )
    };
    // A plain file's size is known: check it before reading. Compressed data is decompressed
    // only as far as the header promises, and one byte more to tell whether more follows.
    let mut data = Vec::new();
    if let Some(len) = source.plain_len {
        let follows = len.saturating_sub(header_len as u64);
        if follows != expected as u64 {
            return Err(mismatch(follows.to_string(), follows < expected as u64));
        }
        data.reserve_exact(expected);
    }
    source.read_up_to(path, expected as u64 + 1, &mut data)?;
    if data.len() != expected {
        let found = if data.len() > expected {
            format!("more than {expected}")
        } else {
            data.len().to_string()
        };
        return Err(mismatch(found, data.len() < expected));
    }
    let values: Vec<f32> = match code {
        0x08 => data.iter().map(|&b| f32::from(b)).collect(),
        0x09 => data.iter().map(|&b| f32::from(b as i8)).collect(),
        0x0B => decode(&data, |b: [u8; 2]| f32::from(i16::from_be_bytes(b))),
        0x0C => decode(&data, |b: [u8; 4]| i32::from_be_bytes(b) as f32),
        0x0D => decode(&data, f32::from_be_bytes),
        _ => decode(&data, |b: [u8; 8]| f64::from_be_bytes(b) as f32),
    };
    drop(data);
    // The length matches the header; a shape ndarray cannot hold (its axes' product past
    // isize::MAX, possible with a zero axis) is still refused here.
    ArrayD::from_shape_vec(IxDyn(&shape), values)
        .map(Tensor::new)
        .map_err(|e| {
            format_error(
                path,
                format!("the header's shape {shape:?} cannot be an array: {e}"),
            )
        })
}

/// `data` as consecutive big-endian elements of `N` bytes, each converted by `f`.
fn decode<const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
    data.chunks_exact(N)
        .map(|chunk| f(chunk.try_into().unwrap_or([0; N])))
        .collect()
}

/// The four files of MNIST and Fashion-MNIST, by role.
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Where a collection is published, for the message of a missing file.
struct Collection {
    name: &'static str,
    published: &'static str,
    class_names: &'static [&'static str],
}

const MNIST: Collection = Collection {
    name: "MNIST",
    published: "http://yann.lecun.com/exdb/mnist/ (mirrored, e.g., by torchvision's \
                https://ossci-datasets.s3.amazonaws.com/mnist/)",
    class_names: &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
};

const FASHION_MNIST: Collection = Collection {
    name: "Fashion-MNIST",
    published: "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)",
    class_names: &[
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
};

/// MNIST (handwritten digits, 60000 training and 10000 test images of 28x28 pixels) from the four
/// IDX files in `dir`: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or gzip-compressed (with or
/// without a `.gz` ending), as they are published (LeCun, Cortes and Burges; see the error for
/// where).
///
/// Returns `(train, test)`. Images are `[n, 28, 28, 1]` (height, width, channels: what `Conv2D`
/// takes; `Flatten` or `reshape(&[-1, 784])` for a dense model) with the raw pixel values 0 to
/// 255 as `f32` (scale them, e.g. `x.div_scalar(255.0)`, as for [`super::digits`]); labels are
/// `[n]`, 0 to 9. A missing file is an [`Error::Io`] of kind `NotFound` that says which folder was
/// searched, which files are missing and where to download them.
///
/// ```no_run
/// use elegy_core::datasets;
/// let (train, test) = datasets::mnist("data/mnist")?;
/// assert_eq!(train.x.shape(), &[60000, 28, 28, 1]);
/// let x_train = train.x.div_scalar(255.0);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn mnist(dir: impl AsRef<Path>) -> Result<(LabelledData, LabelledData)> {
    read_collection(dir.as_ref(), &MNIST)
}

/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017: 70000 28x28 grey images of ten kinds of
/// clothing) from a folder of the same four file names as [`mnist`], returned the same way; the
/// class names are the ten kinds ("T-shirt/top", "Trouser", ...).
///
/// ```no_run
/// let (train, test) = elegy_core::datasets::fashion_mnist("data/fashion")?;
/// assert_eq!(train.class_names[9], "Ankle boot");
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn fashion_mnist(dir: impl AsRef<Path>) -> Result<(LabelledData, LabelledData)> {
    read_collection(dir.as_ref(), &FASHION_MNIST)
}

fn read_collection(dir: &Path, collection: &Collection) -> Result<(LabelledData, LabelledData)> {
    let names = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];
    let found: Vec<Option<PathBuf>> = names.iter().map(|name| find(dir, name)).collect();
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(missing_files(dir, collection, &missing));
    }
    let paths: Vec<PathBuf> = found.into_iter().flatten().collect();
    let train = read_split(&paths[0], &paths[1], collection)?;
    let test = read_split(&paths[2], &paths[3], collection)?;
    Ok((train, test))
}

/// `dir/name` or `dir/name.gz`, whichever exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_string(), format!("{name}.gz")]
        .into_iter()
        .map(|file| dir.join(file))
        .find(|path| path.is_file())
}

fn missing_files(dir: &Path, collection: &Collection, missing: &[&str]) -> Error {
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.into());
    let situation = if dir.is_dir() {
        format!(
            "{} file(s) missing: {} (looked for each name plain and with .gz)",
            collection.name,
            missing.join(", ")
        )
    } else {
        format!("the {} folder does not exist", collection.name)
    };
    let message = format!(
        "{situation}; the folder needs the four files {TRAIN_IMAGES}, {TRAIN_LABELS}, \
         {TEST_IMAGES} and {TEST_LABELS} (each may be left gzip-compressed as .gz), published at \
         {}",
        collection.published
    );
    Error::Io {
        path: shown,
        source: std::io::Error::new(std::io::ErrorKind::NotFound, message),
    }
}

fn read_split(
    images_path: &Path,
    labels_path: &Path,
    collection: &Collection,
) -> Result<LabelledData> {
    let images = read_idx(images_path)?;
    let labels = read_idx(labels_path)?;
    let &[n, height, width] = images.shape() else {
        return Err(format_error(
            images_path,
            format!(
                "holds an array of shape {:?}, not images [n, height, width]",
                images.shape()
            ),
        ));
    };
    if labels.shape() != [n] {
        return Err(format_error(
            labels_path,
            format!(
                "holds labels of shape {:?}, but {} holds {n} images: expected [{n}]",
                labels.shape(),
                images_path.display()
            ),
        ));
    }
    let classes = collection.class_names.len();
    if let Some((i, label)) = labels
        .view()
        .iter()
        .enumerate()
        .find(|&(_, &l)| l < 0.0 || l >= classes as f32 || l.fract() != 0.0)
    {
        return Err(format_error(
            labels_path,
            format!("label {label} at index {i} is not a class 0..{classes}"),
        ));
    }
    Ok(LabelledData {
        x: images.reshape(&[n as isize, height as isize, width as isize, 1])?,
        y: labels,
        class_names: collection
            .class_names
            .iter()
            .map(|s| s.to_string())
            .collect(),
        feature_names: Vec::new(),
    })
}
