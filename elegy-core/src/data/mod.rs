//! Data as the loops see it: one tensor, or a tuple or named map of them, batched along axis 0.

mod structure;

pub use structure::Data;
