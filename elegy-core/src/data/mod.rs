//! Data as the loops see it: one tensor, or a tuple or named map of them, batched along axis 0;
//! and [`Dataset`]s, sources that stream batches which do not sit in memory as one array.

mod arrays;
mod batch;
mod check;
mod dataset;
mod display;
mod gather;
mod loader;
mod targets;
// Named for the type it holds, as the other files here are.
#[allow(clippy::module_inception)]
mod data;

pub(crate) use arrays::{Arrays, SampleOrder, select_weights};
pub use batch::Batch;
pub use check::check_finite;
pub use data::Data;
pub use dataset::{Batches, Dataset};
pub(crate) use gather::PendingRows;
pub use loader::Loader;
pub use targets::{IntoTargets, NoTargets};
