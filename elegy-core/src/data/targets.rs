//! [`IntoTargets`]: the targets argument of the loops, which may be absent.

use crate::data::Data;

/// What the loops (`fit`, `evaluate`, `train_on_batch`, `test_on_batch`) take as targets:
/// anything that becomes [`Data`] (a tensor, a tuple, a named map), or no targets at all,
/// spelled [`NoTargets`] (or `None::<Tensor>`), for models whose steps do not need `y_true`:
/// autoencoders, GANs, self-supervised models, losses computed from `x`.
///
/// ```
/// use elegy_core::data::{IntoTargets, NoTargets};
/// use elegy_core::Tensor;
/// assert!(Tensor::zeros(&[2]).into_targets().is_some());
/// assert!(NoTargets.into_targets().is_none());
/// assert!(None::<Tensor>.into_targets().is_none());
/// ```
pub trait IntoTargets {
    /// The targets, or `None` for none.
    fn into_targets(self) -> Option<Data>;
}

/// No targets: `runner.fit(x, NoTargets, options)`, as Keras' `fit(x)` without `y`.
///
/// A step that asks for `y_true` as an `Option` then gets `None`; one that asks for it as a
/// tensor or `Data` fails with [`crate::Error::MissingInput`] naming the input and the step,
/// and so does a loss or metric that compares targets with predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoTargets;

impl<T: Into<Data>> IntoTargets for T {
    fn into_targets(self) -> Option<Data> {
        Some(self.into())
    }
}

impl IntoTargets for NoTargets {
    fn into_targets(self) -> Option<Data> {
        None
    }
}

impl<T: Into<Data>> IntoTargets for Option<T> {
    fn into_targets(self) -> Option<Data> {
        self.map(Into::into)
    }
}
