//! Datasets: small real ones embedded in the crate (ready offline), readers for the files users
//! download (MNIST and Fashion-MNIST IDX files, CSV tables, NumPy `.npy` / `.npz`), and the
//! helpers that prepare them (train/test splits, standardization, one-hot labels).
//!
//! ```
//! use elegy_core::datasets::{self, Standardizer};
//! let iris = datasets::iris()?;
//! let (x_train, y_train, x_test, y_test) =
//!     datasets::stratified_train_test_split(iris.x, iris.y, 0.2, 0)?;
//! let scaler = Standardizer::fit(x_train.as_tensor("x_train")?)?;
//! let x_train = scaler.transform(x_train.as_tensor("x_train")?)?;
//! let x_test = scaler.transform(x_test.as_tensor("x_test")?)?;
//! assert_eq!((x_train.shape(), x_test.shape()), (&[120, 4][..], &[30, 4][..]));
//! # Ok::<(), elegy_core::Error>(())
//! ```
//!
//! The embedded datasets ([`digits`], [`iris`], [`breast_cancer`], [`wine`]) are copies of UCI
//! Machine Learning Repository datasets (Dua, D. and Graff, C. (2019). UCI Machine Learning
//! Repository. Irvine, CA: University of California, School of Information and Computer
//! Science), published under CC BY 4.0, in the layout scikit-learn distributes them. Creators:
//! digits, E. Alpaydin and C. Kaynak (1998); iris, R. A. Fisher (1936); breast cancer (Wisconsin
//! Diagnostic), W. Wolberg, W. N. Street and O. Mangasarian (1995); wine, M. Forina et al. (1988).
//!
//! The readers return [`crate::Result`]: an error names the file, and for a missing file says
//! where it looked and what to download.

mod archive;
mod csv;
mod embedded;
mod files;
mod idx;
mod npy;
mod preprocessing;
mod pyliteral;
mod split;

pub use csv::{CsvOptions, LabelColumn, Targets, read_csv};
pub use embedded::{breast_cancer, digits, iris, wine};
pub use idx::{fashion_mnist, mnist, read_idx};
pub use npy::{read_npy, read_npz, write_npy, write_npz};
pub use preprocessing::{Standardizer, one_hot};
pub use split::{stratified_train_test_split, train_test_split};

use crate::tensor::Tensor;

/// A labelled dataset: features `x` with samples along axis 0 (`[samples, features]` for tables,
/// `[samples, height, width, channels]` for images), labels `y` `[samples]`, and the names of the
/// classes and features.
///
/// `y` holds class indices `0..class_names.len()` as exact `f32`, except for a regression target
/// read by [`read_csv`], whose values are kept and whose `class_names` is empty.
#[derive(Clone, Debug)]
pub struct LabelledData {
    /// Features, one sample per index of axis 0.
    pub x: Tensor,
    /// Labels: class indices `0..class_names.len()` (or regression targets, see above).
    pub y: Tensor,
    /// The name of each class, by label.
    pub class_names: Vec<String>,
    /// The name of each feature (each column of a table), in order; empty for images read as
    /// images ([`mnist`], [`fashion_mnist`]).
    pub feature_names: Vec<String>,
}
