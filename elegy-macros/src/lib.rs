//! The `#[step]` attribute macro of elegy: write a step method of `elegy::Model` with only the
//! inputs it needs, by name. Use it through the `elegy` crate (`elegy::step`).

mod check;
mod errors;
mod expand;
mod parse;
mod steps;
mod suggest;

use proc_macro::TokenStream;

/// Lets a step method of `elegy::Model` take just the inputs it needs, by parameter name.
///
/// The trait's steps each take one context struct (`elegy::step::PredContext`, ...). Under
/// `#[step]` a method instead lists the inputs it uses, in any order, and the macro rewrites it
/// into the trait's signature, converting each input into the parameter's type with
/// `elegy::step::StepArg`, through a function of that input (`elegy::step::input::x`, ...)
/// whose bound accepts only that input's types:
///
/// ```ignore
/// use elegy::prelude::*;
/// use elegy::step::{PredStep, States};
///
/// impl Model for Linear {
///     #[step]
///     fn pred_step(&self, x: &Tensor, mut states: States, _training: bool) -> Result<PredStep> {
///         // `x`, `states` and `_training` (the `training` input) are ordinary bindings here.
///         # todo!()
///     }
/// }
/// ```
///
/// becomes, in effect,
///
/// ```ignore
/// fn pred_step(&self, ctx: elegy::step::PredContext<'_>) -> Result<PredStep> {
///     let x: &Tensor = input::x::<&Tensor>(ctx.x, "x", "pred_step")?;
///     let mut states: States = input::states::<States>(ctx.states, "states", "pred_step")?;
///     let _training: bool = input::flag::<bool>(ctx.training, "training", "pred_step")?;
///     // the body as written
/// }
/// ```
///
/// # The steps and their inputs
///
/// The method's name says which step it is; each step offers the fields of its context:
///
/// | step | context | inputs |
/// | --- | --- | --- |
/// | `init_step` | `InitContext` | `x`, `y_true`, `sample_weight`, `class_weight`, `states`, `components`, `training`, `ctx` |
/// | `pred_step` | `PredContext` | `x`, `states`, `components`, `initializing`, `training`, `ctx` |
/// | `test_step` | `StepContext` | `x`, `y_true`, `sample_weight`, `class_weight`, `states`, `components`, `initializing`, `training`, `ctx` |
/// | `grad_step` | `StepContext` | `x`, `y_true`, `sample_weight`, `class_weight`, `states`, `components`, `initializing`, `training`, `ctx` |
/// | `train_step` | `StepContext` | `x`, `y_true`, `sample_weight`, `class_weight`, `states`, `components`, `initializing`, `training`, `ctx` |
/// | `summary_step` | `SummaryContext` | `x`, `states`, `components`, `ctx` |
///
/// `components` is the runner's loss, metrics, optimizer and module (`&Components`), which the
/// default steps use. `ctx` is the whole context (`StepContext<'_>`, ...), to hand on as it is to
/// another step or a default body (`elegy::model::defaults::train_step(self, ctx)`), so that
/// every input given to the loop (sample and class weights too) reaches it; it can be asked for
/// beside any input but `states`, which it holds (`ctx.states`).
///
/// # Parameters
///
/// - Any subset of the step's inputs, in any order, each at most once.
/// - A plain name, optionally `mut`; a leading `_` is dropped to find the input (`_x` receives
///   `x`) and keeps the usual meaning of "unused on purpose".
/// - The type is any the input converts into (see `elegy::step::StepArg`): `x` as `&Tensor`,
///   `Tensor`, `&Data` or `Data`; `y_true` the same or in an `Option`; `sample_weight` and
///   `class_weight` as `Option<&Tensor>`, `Option<Tensor>`, `&Tensor` or `Tensor`; `states` as
///   `States`; `components` as `&Components`; `initializing` and `training` as `bool`; `ctx` as
///   the step's context. A non-`Option` type for an input that a
///   call did not supply is an error returned from the step.
/// - The method takes `&self` first, is not generic, `async`, `const`, `unsafe` or `extern`, and
///   returns what the trait's method returns. Attributes on it (docs, `#[allow]`) are kept.
///
/// # Errors
///
/// Every problem is reported in one build, at the token that causes it: an unknown input (with
/// a "did you mean" when a name is close), an input the step does not offer (naming the steps
/// that do), an input asked for twice, a pattern instead of a name, a missing or different
/// receiver, qualifiers or generics, a method name that is not a step, a return type that is
/// not elegy's `Result`, and arguments to the attribute. A parameter type the input cannot become is reported by the compiler at that type.
///
/// One mistake is one error: after a name error the body still compiles against stand-ins (a
/// likely typo, `stats` for `states`, is bound under both names, since the body most likely
/// uses the name it meant), and a return type other than the step's (`Result<Tensor>` from
/// `pred_step`) is reported at that type in the step's terms ("`pred_step` returns
/// `Result<PredStep>`; build it with `PredStep::new(y_pred, states)`"), the method itself taking
/// the trait's signature so that rustc does not compare the two as well.
///
/// Without `#[step]`, a step method takes its context whole, as the trait declares it.
#[proc_macro_attribute]
pub fn step(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::step(args.into(), item.into()).into()
}

#[cfg(test)]
mod tests {
    use crate::steps::STEPS;

    #[test]
    fn the_docs_list_every_step_of_the_table() {
        let source = include_str!("lib.rs");
        for step in STEPS {
            let inputs = step
                .inputs
                .iter()
                .map(|input| format!("`{input}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let row = format!("/// | `{}` | `{}` | {inputs} |", step.name, step.context);
            assert!(source.contains(&row), "missing from the docs: {row}");
        }
        let rows = source
            .lines()
            .filter(|line| line.starts_with("/// | `"))
            .count();
        assert_eq!(rows, STEPS.len(), "the docs list a step the table lacks");
    }
}
