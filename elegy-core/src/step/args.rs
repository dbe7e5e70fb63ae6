//! [`StepArg`]: how a step input becomes the type a user's step parameter asks for.
//!
//! `#[step]` turns `fn pred_step(&self, x: &Tensor, states: States)` into a method that takes the
//! step's context and converts each named input with `StepArg`, through the function of that
//! input in `step::input` with the user's type as its type argument, so a parameter of a type
//! that cannot receive that input is a compile error at it, naming the input.

use crate::data::Data;
use crate::error::{Error, Result};
use crate::step::{Components, InitContext, PredContext, States, StepContext, SummaryContext};
use crate::tensor::Tensor;

/// A type a step parameter can have when it receives an input of type `Source`.
///
/// | input | source | parameter types |
/// | --- | --- | --- |
/// | `x` | `&Data` | `&Data`, `Data`, `&Tensor`, `Tensor` |
/// | `y_true` | `Option<&Data>` | the above, or any of them in an `Option` |
/// | `sample_weight`, `class_weight` | `Option<&Tensor>` | `Option<&Tensor>`, `Option<Tensor>`, `&Tensor`, `Tensor` |
/// | `states` | `States` | `States` |
/// | `components` | `&Components` | `&Components` |
/// | `ctx` | the step's context | the step's context (`StepContext<'_>`, ...) |
/// | `initializing`, `training` | `bool` | `bool` |
///
/// Asking for `&Tensor` when the input is a tuple or map, or for a non-`Option` type when the
/// input was not given, is an error when the step runs.
#[diagnostic::on_unimplemented(
    message = "a step parameter of type `{Self}` cannot receive this input (given as `{Source}`)",
    label = "this type cannot receive the input",
    note = "x: `&Tensor`, `Tensor`, `&Data` or `Data`; y_true: the same, optionally in an `Option`; \
            sample_weight / class_weight: `Option<&Tensor>`, `&Tensor` or `Tensor`; \
            states: `States`; components: `&Components`; initializing / training: `bool`; \
            ctx: the step's context (`StepContext<'_>` for test/grad/train_step)"
)]
pub trait StepArg<Source>: Sized {
    /// Converts `source`, the input `input` of the step `step`.
    fn from_step_input(source: Source, input: &'static str, step: &'static str) -> Result<Self>;
}

fn missing(input: &'static str, step: &str) -> Error {
    Error::MissingInput {
        input,
        message: format!(
            "{step}: the parameter `{input}` was not given for this call; \
         declare it as `Option<...>` to accept calls without it, or pass `{input}` to the loop"
        ),
    }
}

impl<'a> StepArg<&'a Data> for &'a Data {
    fn from_step_input(source: &'a Data, _: &'static str, _: &'static str) -> Result<Self> {
        Ok(source)
    }
}

impl<'a> StepArg<&'a Data> for Data {
    fn from_step_input(source: &'a Data, _: &'static str, _: &'static str) -> Result<Self> {
        Ok(source.clone())
    }
}

impl<'a> StepArg<&'a Data> for &'a Tensor {
    fn from_step_input(source: &'a Data, input: &'static str, step: &'static str) -> Result<Self> {
        source.as_tensor_or(
            &format!("{step}: {input}"),
            "ask for `&Data` to receive the whole structure",
        )
    }
}

impl<'a> StepArg<&'a Data> for Tensor {
    fn from_step_input(source: &'a Data, input: &'static str, step: &'static str) -> Result<Self> {
        <&Tensor>::from_step_input(source, input, step).cloned()
    }
}

/// An optional input (`y_true`) into anything `x` can become, or an `Option` of it.
macro_rules! optional_data {
    ($($target:ty),*) => {$(
        impl<'a> StepArg<Option<&'a Data>> for $target {
            fn from_step_input(
                source: Option<&'a Data>,
                input: &'static str,
                step: &'static str,
            ) -> Result<Self> {
                let source = source.ok_or_else(|| missing(input, step))?;
                <$target>::from_step_input(source, input, step)
            }
        }
        impl<'a> StepArg<Option<&'a Data>> for Option<$target> {
            fn from_step_input(
                source: Option<&'a Data>,
                input: &'static str,
                step: &'static str,
            ) -> Result<Self> {
                source
                    .map(|s| <$target>::from_step_input(s, input, step))
                    .transpose()
            }
        }
    )*};
}
optional_data!(&'a Data, Data, &'a Tensor, Tensor);

impl<'a> StepArg<Option<&'a Tensor>> for Option<&'a Tensor> {
    fn from_step_input(
        source: Option<&'a Tensor>,
        _: &'static str,
        _: &'static str,
    ) -> Result<Self> {
        Ok(source)
    }
}

impl<'a> StepArg<Option<&'a Tensor>> for Option<Tensor> {
    fn from_step_input(
        source: Option<&'a Tensor>,
        _: &'static str,
        _: &'static str,
    ) -> Result<Self> {
        Ok(source.cloned())
    }
}

impl<'a> StepArg<Option<&'a Tensor>> for &'a Tensor {
    fn from_step_input(
        source: Option<&'a Tensor>,
        input: &'static str,
        step: &'static str,
    ) -> Result<Self> {
        source.ok_or_else(|| missing(input, step))
    }
}

impl<'a> StepArg<Option<&'a Tensor>> for Tensor {
    fn from_step_input(
        source: Option<&'a Tensor>,
        input: &'static str,
        step: &'static str,
    ) -> Result<Self> {
        source.cloned().ok_or_else(|| missing(input, step))
    }
}

impl StepArg<States> for States {
    fn from_step_input(source: States, _: &'static str, _: &'static str) -> Result<Self> {
        Ok(source)
    }
}

impl StepArg<bool> for bool {
    fn from_step_input(source: bool, _: &'static str, _: &'static str) -> Result<Self> {
        Ok(source)
    }
}

impl<'a> StepArg<&'a Components> for &'a Components {
    fn from_step_input(source: &'a Components, _: &'static str, _: &'static str) -> Result<Self> {
        Ok(source)
    }
}

/// The whole context, as the `ctx` input: to pass on to another step or a default body.
macro_rules! whole_context {
    ($($context:ident),*) => {$(
        impl<'a> StepArg<$context<'a>> for $context<'a> {
            fn from_step_input(
                source: $context<'a>,
                _: &'static str,
                _: &'static str,
            ) -> Result<Self> {
                Ok(source)
            }
        }
    )*};
}

whole_context!(InitContext, PredContext, StepContext, SummaryContext);
