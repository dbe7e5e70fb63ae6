//! How [`Data`] prints: a tensor as the tensor itself, a tuple and a map as Rust prints theirs,
//! so that `println!("{:?}", runner.predict(..)?)` shows the predictions, not the enum around
//! them.

use std::fmt;

use super::Data;

impl fmt::Debug for Data {
    /// ```
    /// use elegy_core::{Data, Tensor};
    /// let one = Data::from(Tensor::from(vec![1.0f32, 2.0]));
    /// assert_eq!(format!("{one:?}"), "Tensor([1.0, 2.0], shape=[2])");
    /// let named: Data = [("logits", Tensor::from(vec![0.5f32]))].into_iter().collect();
    /// assert_eq!(format!("{named:?}"), r#"{"logits": Tensor([0.5], shape=[1])}"#);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Tensor(t) => fmt::Debug::fmt(t, f),
            Data::Tuple(parts) => {
                let mut tuple = f.debug_tuple("");
                for part in parts {
                    tuple.field(part);
                }
                tuple.finish()
            }
            Data::Map(parts) => f.debug_map().entries(parts).finish(),
        }
    }
}

impl fmt::Display for Data {
    /// A tensor's values as [`Tensor`](crate::Tensor)'s `Display` writes them; a tuple's or a
    /// map's parts one a line, each under its position or name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Tensor(t) => fmt::Display::fmt(t, f),
            Data::Tuple(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    write_part(f, i == 0, &i.to_string(), part)?;
                }
                Ok(())
            }
            Data::Map(parts) => {
                for (i, (name, part)) in parts.iter().enumerate() {
                    write_part(f, i == 0, name, part)?;
                }
                Ok(())
            }
        }
    }
}

/// `key: part`, on a line of its own after the first, with the part's own lines indented.
fn write_part(f: &mut fmt::Formatter<'_>, first: bool, key: &str, part: &Data) -> fmt::Result {
    if !first {
        f.write_str("\n")?;
    }
    let text = match f.precision() {
        Some(p) => format!("{part:.p$}"),
        None => part.to_string(),
    };
    write!(f, "{key}:")?;
    if text.contains('\n') {
        for line in text.lines() {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    } else {
        write!(f, " {text}")
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Data;
    use crate::tensor::Tensor;

    #[test]
    fn a_tuple_debug_prints_as_a_rust_tuple_of_tensors() {
        let data = Data::from((Tensor::from(vec![1.0f32]), Tensor::from(vec![2.0f32])));
        assert_eq!(
            format!("{data:?}"),
            "(Tensor([1.0], shape=[1]), Tensor([2.0], shape=[1]))"
        );
    }

    #[test]
    fn a_map_displays_each_part_under_its_name() {
        let data: Data = [
            (
                "classes",
                Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]).unwrap(),
            ),
            ("score", Tensor::from(vec![0.25f32])),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            data.to_string(),
            "classes:\n    [[1.0, 0.0],\n     [0.0, 1.0]]\nscore: [0.25]"
        );
    }

    #[test]
    fn into_tensor_of_a_tuple_says_what_it_is_and_how_to_take_a_part() {
        let data = Data::from((Tensor::zeros(&[2, 1]), Tensor::zeros(&[2, 1])));
        let err = data.into_tensor().unwrap_err().to_string();
        assert!(
            err.contains("a tuple of 2 parts, not a single tensor"),
            "{err}"
        );
        assert!(err.contains(".part(key)"), "{err}");
    }
}
