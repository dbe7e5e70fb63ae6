//! One conversion per step input, each bound by a trait of that input alone: the code `#[step]`
//! generates calls these, so a parameter of a type its input cannot become is an error that
//! names the input and lists only the types it accepts (not every [`StepArg`] of the crate).

use crate::data::Data;
use crate::error::Result;
use crate::step::{
    Components, InitContext, PredContext, States, StepArg, StepContext, SummaryContext,
};
use crate::tensor::Tensor;

/// A type the input `x` becomes.
#[diagnostic::on_unimplemented(
    message = "the input `x` cannot become `{Self}`",
    label = "declare `x` as `&Tensor`, `Tensor`, `&Data` or `Data`"
)]
pub trait X<'a>: StepArg<&'a Data> {}
impl<'a> X<'a> for &'a Data {}
impl<'a> X<'a> for Data {}
impl<'a> X<'a> for &'a Tensor {}
impl<'a> X<'a> for Tensor {}

/// A type the input `y_true` becomes.
#[diagnostic::on_unimplemented(
    message = "the input `y_true` cannot become `{Self}`",
    label = "declare `y_true` as `&Tensor`, `Tensor`, `&Data` or `Data`, or any of them in an `Option`"
)]
pub trait YTrue<'a>: StepArg<Option<&'a Data>> {}
impl<'a> YTrue<'a> for &'a Data {}
impl<'a> YTrue<'a> for Data {}
impl<'a> YTrue<'a> for &'a Tensor {}
impl<'a> YTrue<'a> for Tensor {}
impl<'a> YTrue<'a> for Option<&'a Data> {}
impl<'a> YTrue<'a> for Option<Data> {}
impl<'a> YTrue<'a> for Option<&'a Tensor> {}
impl<'a> YTrue<'a> for Option<Tensor> {}

/// A type the inputs `sample_weight` and `class_weight` become.
#[diagnostic::on_unimplemented(
    message = "a weight input cannot become `{Self}`",
    label = "declare `sample_weight` / `class_weight` as `Option<&Tensor>`, `Option<Tensor>`, `&Tensor` or `Tensor`"
)]
pub trait Weight<'a>: StepArg<Option<&'a Tensor>> {}
impl<'a> Weight<'a> for Option<&'a Tensor> {}
impl<'a> Weight<'a> for Option<Tensor> {}
impl<'a> Weight<'a> for &'a Tensor {}
impl<'a> Weight<'a> for Tensor {}

/// A type the input `states` becomes.
#[diagnostic::on_unimplemented(
    message = "the input `states` cannot become `{Self}`",
    label = "declare `states` as `States` (a step is given them by value and returns them)"
)]
pub trait StatesInput: StepArg<States> {}
impl StatesInput for States {}

/// A type the input `components` becomes.
#[diagnostic::on_unimplemented(
    message = "the input `components` cannot become `{Self}`",
    label = "declare `components` as `&Components`"
)]
pub trait ComponentsInput<'a>: StepArg<&'a Components> {}
impl<'a> ComponentsInput<'a> for &'a Components {}

/// A type the inputs `initializing` and `training` become.
#[diagnostic::on_unimplemented(
    message = "a flag input (`initializing`, `training`) cannot become `{Self}`",
    label = "declare it as `bool`"
)]
pub trait Flag: StepArg<bool> {}
impl Flag for bool {}

/// A type the input `ctx` (the whole context) becomes.
#[diagnostic::on_unimplemented(
    message = "the input `ctx` cannot become `{Self}`",
    label = "declare `ctx` as the step's context, by value (`StepContext<'_>` in test, grad and train steps)"
)]
pub trait WholeContext<Context>: StepArg<Context> {}
impl<'a> WholeContext<InitContext<'a>> for InitContext<'a> {}
impl<'a> WholeContext<PredContext<'a>> for PredContext<'a> {}
impl<'a> WholeContext<StepContext<'a>> for StepContext<'a> {}
impl<'a> WholeContext<SummaryContext<'a>> for SummaryContext<'a> {}

/// `x` as the parameter's type.
pub fn x<'a, T: X<'a>>(source: &'a Data, input: &'static str, step: &'static str) -> Result<T> {
    T::from_step_input(source, input, step)
}

/// `y_true` as the parameter's type.
pub fn y_true<'a, T: YTrue<'a>>(
    source: Option<&'a Data>,
    input: &'static str,
    step: &'static str,
) -> Result<T> {
    T::from_step_input(source, input, step)
}

/// `sample_weight` or `class_weight` as the parameter's type.
pub fn weight<'a, T: Weight<'a>>(
    source: Option<&'a Tensor>,
    input: &'static str,
    step: &'static str,
) -> Result<T> {
    T::from_step_input(source, input, step)
}

/// `states` as the parameter's type.
pub fn states<T: StatesInput>(
    source: States,
    input: &'static str,
    step: &'static str,
) -> Result<T> {
    T::from_step_input(source, input, step)
}

/// `components` as the parameter's type.
pub fn components<'a, T: ComponentsInput<'a>>(
    source: &'a Components,
    input: &'static str,
    step: &'static str,
) -> Result<T> {
    T::from_step_input(source, input, step)
}

/// `initializing` or `training` as the parameter's type.
pub fn flag<T: Flag>(source: bool, input: &'static str, step: &'static str) -> Result<T> {
    T::from_step_input(source, input, step)
}

/// The whole context (`ctx`) as the parameter's type.
pub fn ctx<C, T: WholeContext<C>>(source: C, input: &'static str, step: &'static str) -> Result<T> {
    T::from_step_input(source, input, step)
}
