//! Checks on data before it is trained on: NaN and infinity are reported, not learned from.

use crate::data::Data;
use crate::error::{Error, Result};

/// An error naming `what`, the part and the sample holding the first non-finite value, if any.
/// `first` is the index of the data's first sample in its stream.
pub fn check_finite(data: &Data, what: &str, first: usize) -> Result<()> {
    for (part, leaf) in data.leaves().into_iter().enumerate() {
        let per_sample = leaf.len() / leaf.shape().first().copied().unwrap_or(1).max(1);
        let view = leaf.view();
        let bad = match view.as_slice() {
            Some(values) => values.iter().position(|v| !v.is_finite()),
            None => view.iter().position(|v| !v.is_finite()),
        };
        if let Some(flat) = bad {
            let value = view.iter().nth(flat).copied().unwrap_or(f32::NAN);
            let sample = first + flat / per_sample.max(1);
            let part = if data.leaves().len() > 1 {
                format!(" (part {part})")
            } else {
                String::new()
            };
            return Err(Error::Data(format!(
                "{what}{part} holds {value} at sample {sample}; remove or impute non-finite values \
                 before training"
            )));
        }
    }
    Ok(())
}
