//! Validation: is the method a step, with `&self`, plain qualifiers, and parameters that each name
//! an input of that step once? Every problem is recorded in [`Errors`] at the user's token; the
//! result says what can still be generated.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use syn::{Pat, ReceiverKind, Safety, Type};

use crate::errors::Errors;
use crate::parse::{Param, StepFn};
use crate::steps::{self, StepKind};
use crate::suggest::{did_you_mean, one_of};

/// What the checks found usable.
pub(crate) struct Plan {
    /// The step the method implements, when its name is one.
    pub kind: Option<&'static StepKind>,
    /// What each parameter becomes, in order.
    pub params: Vec<Resolution>,
    /// Whether the body can be kept: false when the signature is wrong in a way the body may
    /// depend on (generics, a receiver other than `&self`), so that compiling the body against
    /// the step's real signature would only add follow-on errors.
    pub keep_body: bool,
    /// Whether the method has a receiver: without one it may be a free function, where any
    /// method generated for it would only add errors, so none is.
    pub has_receiver: bool,
    /// Whether the body uses a `ctx` it never declared (an error already): bound to a stand-in
    /// of the context's type, so that the error is the only one.
    pub undeclared_ctx: bool,
}

/// What one parameter becomes in the generated method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// It receives this input of the step.
    Input(&'static str),
    /// It is in error: bound to a stand-in of its type so the body still type-checks.
    Rejected,
    /// It names no input but is a likely typo of this one (`stats` for `states`), the name the
    /// body most likely uses: bound to stand-ins of its type under both names, so that the
    /// macro's "did you mean" is the only error.
    Misspelled(&'static str),
    /// It repeats an earlier parameter's name and input: not bound again, so the first binding
    /// stays in use.
    Repeated,
}

/// Checks `step`, recording every problem in `errors`.
pub(crate) fn check(step: &StepFn, errors: &Errors) -> Plan {
    let kind = step_kind(step, errors);
    let generics_ok = qualifiers(step, errors);
    let receiver_ok = receiver(step, errors);
    let output_ok = kind.is_none_or(|kind| output(step, kind, errors));
    let params = params(step, kind, errors);
    let undeclared_ctx = kind.is_some_and(|kind| undeclared_ctx(step, kind, errors));
    Plan {
        kind,
        params,
        keep_body: generics_ok && receiver_ok && output_ok,
        has_receiver: step.receiver.is_some(),
        undeclared_ctx,
    }
}

/// Whether the body reads fields of a `ctx` that no parameter declares and the body does not
/// bind itself (as a method without `#[step]` would), recording an error at its first use.
fn undeclared_ctx(step: &StepFn, kind: &StepKind, errors: &Errors) -> bool {
    use proc_macro2::{TokenStream, TokenTree};
    let declared = step.params.iter().any(|param| {
        param
            .binding
            .as_ref()
            .is_some_and(|binding| binding.ident == steps::WHOLE_CONTEXT)
    });
    if declared {
        return false;
    }
    /// The first `ctx.` in `tokens`, unless `tokens` bind a `ctx` of their own (`let ctx`,
    /// `let mut ctx`, a closure's `|ctx|`, `ctx:`).
    fn scan(tokens: TokenStream, first: &mut Option<proc_macro2::Span>, binds: &mut bool) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => scan(group.stream(), first, binds),
                TokenTree::Ident(ident) if ident == "ctx" => {
                    let before = i.checked_sub(1).map(|j| &tokens[j]);
                    let after = tokens.get(i + 1);
                    let punct = |t: Option<&TokenTree>, c: char| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c);
                    let word = |t: Option<&TokenTree>, w: &str| matches!(t, Some(TokenTree::Ident(id)) if id == w);
                    let typed = punct(after, ':') && !punct(tokens.get(i + 2), ':');
                    if word(before, "let") || word(before, "mut") || punct(before, '|') || typed {
                        *binds = true;
                    } else if punct(after, '.') && !punct(before, '.') && first.is_none() {
                        *first = Some(ident.span());
                    }
                }
                _ => {}
            }
        }
    }
    let (mut first, mut binds) = (None, false);
    for stmt in &step.stmts {
        scan(
            quote::ToTokens::to_token_stream(stmt),
            &mut first,
            &mut binds,
        );
    }
    match first {
        Some(span) if !binds => {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`ctx` is not a parameter of this step: with #[step], declare \
                     `ctx: {}<'_>` to take the whole context, or ask for the inputs the body \
                     uses by name (e.g. `training: bool`)",
                    kind.context
                ),
            ));
            true
        }
        _ => false,
    }
}

/// Whether the method's return type may be the trait's `Result`, or an error at it. Only what is
/// certainly not (no return type, `()`, a bare step output such as `PredStep`, a `Result` whose
/// error is a `String`, a reference or a `Box`) is reported: it would fail twice, against the
/// trait and at the generated conversions (`?`) of the parameters. Anything else that is not
/// plainly the trait's type (aliases, `Result<Tensor>`) is checked by the generated code, at the
/// type, through `elegy::step::returns`.
fn output(step: &StepFn, kind: &StepKind, errors: &Errors) -> bool {
    fn unwrapped(ty: &Type) -> &Type {
        match ty {
            Type::Group(group) => unwrapped(&group.elem),
            Type::Paren(paren) => unwrapped(&paren.elem),
            other => other,
        }
    }
    fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
        match unwrapped(ty) {
            Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
            _ => None,
        }
    }
    /// The step outputs and what holds them, never a `Result` themselves.
    const OUTPUTS: [&str; 7] = [
        "PredStep",
        "TestStep",
        "GradStep",
        "TrainStep",
        "States",
        "Vec",
        "SummaryRow",
    ];
    let certainly_not = |ty: &Type| -> bool {
        if let Type::Tuple(tuple) = unwrapped(ty) {
            return tuple.elems.is_empty();
        }
        let Some(last) = last_segment(ty) else {
            return false;
        };
        if OUTPUTS.iter().any(|name| last.ident == name) {
            return true;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return false;
        };
        let not_an_error = |arg: &syn::GenericArgument| match arg {
            syn::GenericArgument::Type(e) => match unwrapped(e) {
                Type::Reference(_) => true,
                e => last_segment(e).is_some_and(|s| s.ident == "String" || s.ident == "Box"),
            },
            _ => false,
        };
        last.ident == "Result" && args.args.len() == 2 && not_an_error(&args.args[1])
    };
    // `Result<(y_pred, states)>`, as a Python step returns a tuple.
    let returns_tuple = |ty: &Type| -> bool {
        let Some(last) = last_segment(ty) else {
            return false;
        };
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return false;
        };
        last.ident == "Result"
            && matches!(
                args.args.first(),
                Some(syn::GenericArgument::Type(ok))
                    if matches!(unwrapped(ok), Type::Tuple(t) if !t.elems.is_empty())
            )
    };
    if let syn::ReturnType::Type(_, ty) = &step.sig.output
        && returns_tuple(ty)
    {
        let output = kind.output.replace("::elegy::step::", "");
        let build = match kind.name {
            "pred_step" => " with `PredStep::new(y_pred, states)`".to_string(),
            "test_step" => " (`TestStep { loss, logs, states }`)".to_string(),
            "grad_step" => " (`GradStep { loss, logs, states, grads }`)".to_string(),
            "train_step" => " (`TrainStep { logs, states }`)".to_string(),
            _ => String::new(),
        };
        errors.error_at(
            ty,
            format!(
                "`{}` returns `Result<{output}>`, not a tuple as in Python: build its output{build}",
                kind.name
            ),
        );
        return false;
    }
    let returns_result = match &step.sig.output {
        syn::ReturnType::Type(_, ty) => !certainly_not(ty),
        syn::ReturnType::Default => false,
    };
    if !returns_result {
        let message = format!(
            "`{}` returns `Result<{}>` (elegy's `Result`, whose error is `elegy::Error`)",
            kind.name,
            kind.output
                .replace("::std::vec::", "")
                .replace("::elegy::step::", "")
        );
        match &step.sig.output {
            syn::ReturnType::Type(_, ty) => errors.error_at(ty, message),
            syn::ReturnType::Default => errors.error_at(&step.sig, message),
        }
    }
    returns_result
}

/// The step named by the method, or an error at the name.
fn step_kind(step: &StepFn, errors: &Errors) -> Option<&'static StepKind> {
    let name = step.sig.ident.to_string();
    let kind = steps::find(&name);
    if kind.is_none() {
        let hint = did_you_mean(&name, steps::step_names())
            .map(|near| format!(" did you mean `{near}`?"))
            .unwrap_or_default();
        errors.error_at(
            &step.sig.ident,
            format!(
                "`{name}` is not a step;{hint} expected one of: {}",
                one_of(steps::step_names())
            ),
        );
    }
    kind
}

/// `const`, `async`, `unsafe`, `extern`, generics (also as `impl Trait` parameters) and `...`:
/// none fit the trait's methods.
/// Returns whether the method is free of generics, the one of these a body may depend on (the
/// generated method leaves the others out and runs an `async` body inside an `async` block).
fn qualifiers(step: &StepFn, errors: &Errors) -> bool {
    let sig = &step.sig;
    if let Some(token) = &sig.constness {
        errors.error_at(
            token,
            "a step cannot be `const`: `Model`'s steps are plain methods",
        );
    }
    if let Some(token) = &sig.asyncness {
        errors.error_at(
            token,
            "a step cannot be `async`: the loops call steps synchronously",
        );
    }
    match &sig.safety {
        Safety::Unsafe(token) => errors.error_at(
            token,
            "a step cannot be `unsafe`: `Model`'s steps are safe methods",
        ),
        Safety::Safe(token) => {
            errors.error_at(token, "`safe` is only for items in `extern` blocks")
        }
        _ => {}
    }
    if let Some(abi) = &sig.abi {
        errors.error_at(
            abi,
            "a step cannot be `extern`: `Model`'s steps use the Rust ABI",
        );
    }
    let generics = &sig.generics;
    let generic = !generics.params.is_empty();
    if generic {
        errors.error_at(
            generics,
            format!(
                "a step cannot be generic: `Model::{}` has no type, lifetime or const parameters",
                sig.ident
            ),
        );
    } else if let Some(clause) = &generics.where_clause {
        errors.error_at(
            clause,
            format!(
                "a step cannot have a `where` clause: `Model::{}` has none",
                sig.ident
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.error_at(variadic, "a step cannot be variadic");
    }
    let mut impl_trait = false;
    for param in &step.params {
        if let Type::ImplTrait(ty) = &param.ty {
            impl_trait = true;
            errors.error_at(
                ty,
                "a step cannot be generic: give this parameter a type its input converts into \
                 (see `StepArg`)",
            );
        }
    }
    !generic && !impl_trait
}

/// The receiver must be `&self` (syn already insists it comes first, once). A missing one is added by the generated code (so the body
/// stays usable); any other form makes the body unusable. Returns whether the body can be kept.
fn receiver(step: &StepFn, errors: &Errors) -> bool {
    let name = &step.sig.ident;
    let mut body_ok = true;
    match &step.receiver {
        None => errors.push(syn::Error::new(
            step.sig.paren_token.span.join(),
            format!(
                "`#[step]` goes on a step method inside `impl Model for YourType`, which takes \
                 `&self` first: `fn {name}(&self, ...)`"
            ),
        )),
        Some(receiver) => {
            let written = match &receiver.kind {
                ReceiverKind::Reference(_, _, None) => None,
                ReceiverKind::Reference(_, _, Some(_)) => Some("`&mut self`"),
                ReceiverKind::Value if receiver.mutability.is_some() => Some("`mut self`"),
                ReceiverKind::Value => Some("`self`"),
                ReceiverKind::Typed(_, ty) if is_ref_self(ty) => None,
                _ => Some("this receiver"),
            };
            if let Some(written) = written {
                body_ok = false;
                errors.error_at(
                    receiver,
                    format!(
                        "a step takes `&self`, not {written}: the loops share the model, and \
                         what changes between steps belongs in `States`"
                    ),
                );
            }
        }
    }
    body_ok
}

/// Whether a typed receiver is `self: &Self`, the long form of `&self`.
fn is_ref_self(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {
            matches!(&*reference.elem, Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"))
        }
        _ => false,
    }
}

/// Each parameter must be a plain name asking, once, for an input the step offers; the whole
/// context (`ctx`) holds the states, so it is not asked for beside `states`.
fn params(step: &StepFn, kind: Option<&'static StepKind>, errors: &Errors) -> Vec<Resolution> {
    let mut resolutions = inputs(step, kind, errors);
    let asked = |input: &'static str| resolutions.contains(&Resolution::Input(input));
    if asked(steps::WHOLE_CONTEXT) && asked("states") {
        let at = resolutions
            .iter()
            .position(|r| *r == Resolution::Input(steps::WHOLE_CONTEXT))
            .expect("asked for");
        errors.error_at(
            &step.params[at].pat,
            "`ctx` holds the states already (`ctx.states`): ask for `ctx` or for `states`, \
             not both",
        );
        resolutions[at] = Resolution::Rejected;
    }
    resolutions
}

/// What each parameter asks for, checking that each names, once, an input the step offers.
fn inputs(step: &StepFn, kind: Option<&'static StepKind>, errors: &Errors) -> Vec<Resolution> {
    let mut seen = HashMap::new();
    step.params
        .iter()
        .map(|param| {
            let Some(input) = param_input(param, kind, errors) else {
                return match misspelled_input(param, kind) {
                    Some(near) => Resolution::Misspelled(near),
                    None => Resolution::Rejected,
                };
            };
            let ident = param.binding.as_ref().map(|binding| &binding.ident);
            match seen.entry(input) {
                Entry::Vacant(slot) => {
                    slot.insert(ident);
                }
                Entry::Occupied(first) => {
                    errors.error_at(&param.pat, format!("input `{input}` is requested twice"));
                    return if *first.get() == ident {
                        Resolution::Repeated
                    } else {
                        Resolution::Rejected
                    };
                }
            }
            let Some(input) = kind.and_then(|kind| kind.input(input)) else {
                return Resolution::Rejected;
            };
            if let Some(accepted) = certainly_wrong_type(input, &param.ty, kind) {
                errors.error_at(
                    &param.ty,
                    format!(
                        "the input `{input}` cannot become this type: declare it as {accepted}"
                    ),
                );
                return Resolution::Rejected;
            }
            Resolution::Input(input)
        })
        .collect()
}

/// The input a parameter that names none is a likely typo of: one the step offers, close to
/// the name, when the name is no input of any step (`stats` for `states`).
fn misspelled_input(param: &Param, kind: Option<&StepKind>) -> Option<&'static str> {
    let (binding, kind) = (param.binding.as_ref()?, kind?);
    let input = binding.input.as_str();
    if input == "y_pred" || !steps::steps_offering(input).is_empty() {
        return None;
    }
    did_you_mean(input, kind.inputs.iter().copied())
}

/// Whether `ty` is the step's own context type (`StepContext<'_>`, or a reference to it).
fn names_the_context(ty: &Type, kind: &StepKind) -> bool {
    match ty {
        Type::Reference(reference) => names_the_context(&reference.elem, kind),
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == kind.context),
        _ => false,
    }
}

/// The types `input` accepts, as a message, when `ty` is certainly none of them: a primitive,
/// `str` or `String`, a `&mut`, or a reference or `Option` where the input takes neither. Other
/// types (aliases, paths) are left to `StepArg`'s own error.
fn certainly_wrong_type(input: &str, ty: &Type, kind: Option<&StepKind>) -> Option<String> {
    const PRIMITIVES: [&str; 17] = [
        "bool", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
        "u64", "u128", "usize", "str", "String",
    ];
    fn last_ident(ty: &Type) -> Option<String> {
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                path.path.segments.last().map(|s| s.ident.to_string())
            }
            Type::Group(group) => last_ident(&group.elem),
            Type::Paren(paren) => last_ident(&paren.elem),
            _ => None,
        }
    }
    fn option_of(ty: &Type) -> Option<&Type> {
        let Type::Path(path) = ty else { return None };
        let last = path.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        match (last.ident == "Option", args.args.first()) {
            (true, Some(syn::GenericArgument::Type(inner))) => Some(inner),
            _ => None,
        }
    }
    let primitive = |ty: &Type| last_ident(ty).is_some_and(|name| PRIMITIVES.contains(&&*name));
    let mutable_ref = |ty: &Type| matches!(ty, Type::Reference(r) if r.mutability.is_some());
    let reference = |ty: &Type| matches!(ty, Type::Reference(_));
    let strip_ref = |ty: &Type| -> Type {
        match ty {
            Type::Reference(r) => (*r.elem).clone(),
            other => other.clone(),
        }
    };
    let (accepted, wrong) = match input {
        "initializing" | "training" => (
            "`bool`",
            last_ident(ty).is_some_and(|name| name != "bool" && PRIMITIVES.contains(&&*name))
                || reference(ty)
                || option_of(ty).is_some(),
        ),
        "states" => (
            "`States` (the step is given them by value, and returns them)",
            reference(ty) || option_of(ty).is_some() || primitive(ty),
        ),
        "components" => (
            "`&Components`",
            !reference(ty) || mutable_ref(ty) || primitive(&strip_ref(ty)),
        ),
        "x" => (
            "`&Tensor`, `Tensor`, `&Data` or `Data`",
            mutable_ref(ty) || option_of(ty).is_some() || primitive(&strip_ref(ty)),
        ),
        "y_true" => {
            let inner = option_of(ty).unwrap_or(ty);
            (
                "`&Tensor`, `Tensor`, `&Data` or `Data`, or any of them in an `Option`",
                mutable_ref(ty) || mutable_ref(inner) || primitive(&strip_ref(inner)),
            )
        }
        "sample_weight" | "class_weight" => {
            let inner = option_of(ty).unwrap_or(ty);
            let data = last_ident(&strip_ref(inner)).is_some_and(|name| name == "Data");
            (
                "`Option<&Tensor>`, `Option<Tensor>`, `&Tensor` or `Tensor` (one weight per \
                 sample, or per class)",
                mutable_ref(ty) || mutable_ref(inner) || primitive(&strip_ref(inner)) || data,
            )
        }
        "ctx" => {
            let context = kind.map_or("the step's context", |k| k.context);
            return (mutable_ref(ty) || reference(ty) || primitive(ty))
                .then(|| format!("`{context}<'_>` (the whole context, by value)"));
        }
        _ => return None,
    };
    wrong.then(|| accepted.to_string())
}

/// The input `param` asks for, recording an error when it names none this step offers. With an
/// unknown step, any plain name passes (so duplicates are still caught) but resolves to nothing.
fn param_input<'p>(param: &'p Param, kind: Option<&StepKind>, errors: &Errors) -> Option<&'p str> {
    let Some(binding) = &param.binding else {
        if matches!(param.pat, Pat::Wild(_)) {
            errors.error_at(
                &param.pat,
                "`_` receives no input: leave out the inputs the step does not use",
            );
            return None;
        }
        let names = kind
            .map(|kind| format!(" ({})", one_of(kind.inputs.iter().copied())))
            .unwrap_or_default();
        errors.error_at(
            &param.pat,
            format!(
                "step inputs must be plain names, each naming an input of the step{names}: \
                 bind the input by name (e.g. `x: &Tensor`) and destructure it in the body"
            ),
        );
        return None;
    };
    let input = binding.input.as_str();
    let Some(kind) = kind else {
        return Some(input);
    };
    if kind.offers(input) {
        return Some(input);
    }
    let elsewhere = steps::steps_offering(input);
    if input == "y_pred" {
        let origin = if kind.name == "pred_step" {
            "`y_pred` is what `pred_step` returns (`PredStep::new(y_pred, states)`), not an input"
                .to_string()
        } else {
            format!(
                "`y_pred` is not an input of `{}`: predictions come from `pred_step`; take `ctx` \
                 and call `self.pred_step(ctx.pred(ctx.states.clone()))`, or let the default \
                 `test_step` make them",
                kind.name
            )
        };
        errors.error_at(
            &binding.ident,
            format!(
                "{origin}; expected one of: {}",
                one_of(kind.inputs.iter().copied())
            ),
        );
    } else if names_the_context(&param.ty, kind) {
        errors.error_at(
            &binding.ident,
            format!(
                "`{}` is not an input of `{}`: to take the whole context, name the parameter \
                 `ctx` (`ctx: {}<'_>`)",
                binding.ident, kind.name, kind.context
            ),
        );
    } else if elsewhere.is_empty() {
        let written = binding.ident.to_string();
        let prefix = &written[..written.len() - input.len()];
        let hint = misspelled_input(param, Some(kind))
            .map(|near| format!(" did you mean `{prefix}{near}`?"))
            .unwrap_or_default();
        errors.error_at(
            &binding.ident,
            format!(
                "unknown input `{written}` for `{}`;{hint} expected one of: {}",
                kind.name,
                one_of(kind.inputs.iter().copied())
            ),
        );
    } else {
        errors.error_at(
            &binding.ident,
            format!(
                "`{input}` is not available in `{}` (it is in {}); `{}` offers: {}",
                kind.name,
                elsewhere.join(", "),
                kind.name,
                one_of(kind.inputs.iter().copied())
            ),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    /// The plan and the error messages for `item`.
    fn check_item(item: TokenStream) -> (Plan, Vec<String>) {
        let errors = Errors::new();
        let step = crate::parse::step_fn(item, &errors).expect("a method");
        let plan = check(&step, &errors);
        let messages = errors.messages();
        errors.finish();
        (plan, messages)
    }

    fn messages(item: TokenStream) -> Vec<String> {
        check_item(item).1
    }

    #[test]
    fn a_valid_step_resolves_every_parameter_without_errors() {
        let (plan, messages) = check_item(quote!(
            fn test_step(&self, training: bool, _x: T, y_true: T) -> Result<T> {}
        ));
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(plan.kind.map(|k| k.name), Some("test_step"));
        assert_eq!(
            plan.params,
            [
                Resolution::Input("training"),
                Resolution::Input("x"),
                Resolution::Input("y_true")
            ]
        );
        assert!(plan.keep_body);
    }

    #[test]
    fn an_unknown_input_suggests_a_close_name_and_lists_the_step_inputs() {
        assert_eq!(
            messages(quote!(
                fn pred_step(&self, stats: T) -> Result<T> {}
            )),
            [
                "unknown input `stats` for `pred_step`; did you mean `states`? \
              expected one of: `x`, `states`, `components`, `initializing`, `training`, `ctx`"
            ]
        );
    }

    #[test]
    fn a_likely_typo_of_an_input_resolves_to_the_input_meant() {
        let (plan, _) = check_item(quote!(
            fn pred_step(&self, stats: T, inputs: T, y_true: T) -> Result<T> {}
        ));
        assert_eq!(
            plan.params,
            [
                Resolution::Misspelled("states"),
                Resolution::Rejected,
                Resolution::Rejected
            ]
        );
    }

    #[test]
    fn an_unknown_underscored_input_suggests_the_underscored_name() {
        let messages = messages(quote!(
            fn pred_step(&self, _stats: T) -> Result<T> {}
        ));
        assert!(
            messages[0]
                .starts_with("unknown input `_stats` for `pred_step`; did you mean `_states`?"),
            "{messages:?}"
        );
    }

    #[test]
    fn an_unknown_input_far_from_every_name_gets_no_suggestion() {
        assert_eq!(
            messages(quote!(
                fn summary_step(&self, inputs: T) -> Result<T> {}
            )),
            [
                "unknown input `inputs` for `summary_step`; expected one of: `x`, `states`, \
                 `components`, `ctx`"
            ]
        );
    }

    #[test]
    fn an_input_of_other_steps_names_the_steps_that_offer_it() {
        assert_eq!(
            messages(quote!(
                fn pred_step(&self, y_true: T) -> Result<T> {}
            )),
            [
                "`y_true` is not available in `pred_step` (it is in init_step, test_step, \
                 grad_step, train_step); `pred_step` offers: `x`, `states`, `components`, \
                 `initializing`, `training`, `ctx`"
            ]
        );
    }

    #[test]
    fn an_input_asked_for_twice_is_an_error_on_the_second() {
        let (plan, messages) = check_item(quote!(
            fn pred_step(&self, x: T, _x: U, x: V) -> Result<T> {}
        ));
        assert_eq!(
            messages,
            [
                "input `x` is requested twice",
                "input `x` is requested twice"
            ]
        );
        // `_x` is a new name the body may use; the second `x` would only shadow the first.
        assert_eq!(
            plan.params,
            [
                Resolution::Input("x"),
                Resolution::Rejected,
                Resolution::Repeated
            ]
        );
    }

    #[test]
    fn a_pattern_parameter_is_an_error_naming_the_inputs() {
        let messages = messages(quote!(
            fn summary_step(&self, (a, b): (T, T)) -> Result<T> {}
        ));
        assert_eq!(
            messages,
            [
                "step inputs must be plain names, each naming an input of the step \
              (`x`, `states`, `components`, `ctx`): bind the input by name (e.g. `x: &Tensor`) and destructure \
              it in the body"
            ]
        );
    }

    #[test]
    fn an_underscore_parameter_is_told_to_leave_the_input_out() {
        assert_eq!(
            messages(quote!(
                fn pred_step(&self, _: bool) -> Result<T> {}
            )),
            ["`_` receives no input: leave out the inputs the step does not use"]
        );
    }

    #[test]
    fn a_missing_receiver_says_where_a_step_goes_and_generates_no_method() {
        let (plan, messages) = check_item(quote!(
            fn pred_step(x: T) -> Result<T> {}
        ));
        assert_eq!(
            messages,
            [
                "`#[step]` goes on a step method inside `impl Model for YourType`, which takes \
                 `&self` first: `fn pred_step(&self, ...)`"
            ]
        );
        assert!(!plan.has_receiver);
    }

    #[test]
    fn receivers_other_than_shared_self_are_errors_that_drop_the_body() {
        for (receiver, written) in [
            (quote!(&mut self), "`&mut self`"),
            (quote!(self), "`self`"),
            (quote!(mut self), "`mut self`"),
            (quote!(self: Box<Self>), "this receiver"),
        ] {
            let (plan, messages) = check_item(quote!(fn pred_step(#receiver) -> Result<T> {}));
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert!(
                messages[0].starts_with(&format!("a step takes `&self`, not {written}:")),
                "{messages:?}"
            );
            assert!(!plan.keep_body);
        }
    }

    #[test]
    fn an_impl_trait_parameter_is_generic() {
        let (plan, messages) = check_item(quote!(
            fn pred_step(&self, x: impl Into<T>) -> Result<T> {}
        ));
        assert!(
            messages[0].starts_with("a step cannot be generic"),
            "{messages:?}"
        );
        assert!(!plan.keep_body);
    }

    #[test]
    fn the_long_form_of_shared_self_is_accepted() {
        assert!(
            messages(quote!(
                fn pred_step(self: &Self) -> Result<T> {}
            ))
            .is_empty()
        );
    }

    #[test]
    fn qualifiers_are_each_an_error_but_keep_the_body() {
        let (plan, messages) = check_item(quote!(
            const async unsafe extern "C" fn pred_step(&self) -> Result<T> {}
        ));
        let starts: Vec<_> = messages
            .iter()
            .map(|m| &m[..m.find(':').unwrap()])
            .collect();
        assert_eq!(
            starts,
            [
                "a step cannot be `const`",
                "a step cannot be `async`",
                "a step cannot be `unsafe`",
                "a step cannot be `extern`",
            ]
        );
        assert!(plan.keep_body);
    }

    #[test]
    fn generics_are_an_error_that_drops_the_body() {
        let (plan, messages) = check_item(quote!(
            fn pred_step<T>(&self) -> Result<T> {}
        ));
        let starts: Vec<_> = messages
            .iter()
            .map(|m| &m[..m.find(':').unwrap()])
            .collect();
        assert_eq!(starts, ["a step cannot be generic"]);
        assert!(!plan.keep_body);
    }

    #[test]
    fn a_return_type_that_is_not_elegys_result_is_an_error_that_drops_the_body() {
        for item in [
            quote!(
                fn pred_step(&self, x: T) -> PredStep {
                    body()
                }
            ),
            quote!(
                fn pred_step(&self, x: T) -> std::result::Result<PredStep, String> {
                    body()
                }
            ),
            quote!(
                fn pred_step(&self, x: T) {
                    body()
                }
            ),
        ] {
            let (plan, messages) = check_item(item);
            assert_eq!(
                messages,
                [
                    "`pred_step` returns `Result<PredStep>` (elegy's `Result`, whose error is \
                  `elegy::Error`)"
                ]
            );
            assert!(!plan.keep_body);
        }
        let (_, messages) = check_item(quote!(
            fn summary_step(&self) -> Vec<SummaryRow> {}
        ));
        assert_eq!(
            messages,
            [
                "`summary_step` returns `Result<Vec<SummaryRow>>` (elegy's `Result`, whose error is \
              `elegy::Error`)"
            ]
        );
        for item in [
            quote!(
                fn pred_step(&self, x: T) -> elegy::Result<PredStep> {
                    body()
                }
            ),
            quote!(
                fn pred_step(&self, x: T) -> Result<PredStep, elegy::Error> {
                    body()
                }
            ),
            // Aliases may be elegy's `Result`: the trait judges them.
            quote!(
                fn pred_step(&self, x: T) -> StepResult {
                    body()
                }
            ),
            quote!(
                fn pred_step(&self, x: T) -> ElegyResult<PredStep> {
                    body()
                }
            ),
            quote!(
                fn pred_step(&self, x: T) -> core::result::Result<PredStep, E> {
                    body()
                }
            ),
        ] {
            let (plan, messages) = check_item(item);
            assert!(messages.is_empty(), "{messages:?}");
            assert!(plan.keep_body);
        }
    }

    #[test]
    fn a_where_clause_is_an_error() {
        assert_eq!(
            messages(quote!(
                fn pred_step(&self) -> Result<T>
                where
                    Self: Sized,
                {
                }
            )),
            ["a step cannot have a `where` clause: `Model::pred_step` has none"]
        );
    }

    #[test]
    fn a_name_that_is_not_a_step_suggests_the_nearest_step() {
        let (plan, messages) = check_item(quote!(
            fn pred_stpe(&self, x: T) -> Result<T> {}
        ));
        assert_eq!(
            messages,
            [
                "`pred_stpe` is not a step; did you mean `pred_step`? expected one of: \
              `init_step`, `pred_step`, `test_step`, `grad_step`, `train_step`, `summary_step`"
            ]
        );
        assert!(plan.kind.is_none());
        assert_eq!(plan.params, [Resolution::Rejected]);
    }

    #[test]
    fn every_problem_is_reported_in_one_pass() {
        let messages = messages(quote!(
            async fn pred_step(&mut self, stats: T, y_true: T, x: T, x: T, _: T) -> Result<T> {}
        ));
        assert_eq!(messages.len(), 6, "{messages:?}");
    }

    #[test]
    fn y_pred_asked_for_says_that_predictions_come_from_pred_step() {
        let messages = messages(quote!(
            fn test_step(&self, y_pred: T) -> Result<T> {}
        ));
        assert!(
            messages[0].starts_with(
                "`y_pred` is not an input of `test_step`: predictions come from `pred_step`"
            ),
            "{messages:?}"
        );
        assert!(messages[0].contains("expected one of: `x`"), "{messages:?}");
        let messages = self::messages(quote!(
            fn pred_step(&self, y_pred: T) -> Result<T> {}
        ));
        assert!(
            messages[0].starts_with("`y_pred` is what `pred_step` returns"),
            "{messages:?}"
        );
    }

    #[test]
    fn a_tuple_output_as_in_python_says_how_to_build_the_step_output() {
        assert_eq!(
            messages(quote!(
                fn pred_step(&self, x: T) -> Result<(Tensor, States)> {}
            )),
            [
                "`pred_step` returns `Result<PredStep>`, not a tuple as in Python: build its \
                 output with `PredStep::new(y_pred, states)`"
            ]
        );
    }

    #[test]
    fn a_type_certainly_wrong_for_its_input_is_an_error_naming_the_input_and_its_types() {
        assert_eq!(
            messages(quote!(
                fn pred_step(&self, training: f32) -> Result<T> {}
            )),
            ["the input `training` cannot become this type: declare it as `bool`"]
        );
        // Aliases and other paths are left to the trait's own check.
        for (x, y_true) in [
            (quote!(MyTensor), quote!(Option<Flag>)),
            (quote!(&crate::Alias), quote!(Labels)),
        ] {
            let messages = messages(quote!(
                fn test_step(&self, x: #x, y_true: #y_true) -> Result<T> {}
            ));
            assert!(messages.is_empty(), "{messages:?}");
        }
    }
}
