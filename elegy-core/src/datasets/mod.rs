//! Small real datasets embedded in the crate, ready offline, and helpers to split them.
//!
//! Copies of UCI Machine Learning Repository datasets (Dua, D. and Graff, C. (2019). UCI Machine
//! Learning Repository. Irvine, CA: University of California, School of Information and Computer
//! Science), published under CC BY 4.0, in the layout scikit-learn distributes them. Creators:
//! digits, E. Alpaydin and C. Kaynak (1998); iris, R. A. Fisher (1936); breast cancer (Wisconsin
//! Diagnostic), W. Wolberg, W. N. Street and O. Mangasarian (1995); wine, M. Forina et al. (1988).

mod embedded;
mod split;

pub use embedded::{breast_cancer, digits, iris, wine};
pub use split::train_test_split;

use crate::tensor::Tensor;

/// A labelled dataset: features `x` `[samples, features]`, integer class labels `y` `[samples]`
/// (as exact `f32`), and the name of each class.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Features, one row per sample.
    pub x: Tensor,
    /// Class labels `0..class_names.len()`.
    pub y: Tensor,
    /// The name of each class, by label.
    pub class_names: Vec<String>,
}
