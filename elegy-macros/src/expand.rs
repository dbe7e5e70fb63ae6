//! Code generation: the step method that takes the context and hands each parameter its input.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::check::{self, Plan, Resolution};
use crate::errors::Errors;
use crate::parse::{self, StepFn};
use crate::steps::{StepKind, WHOLE_CONTEXT};

/// `#[step]`: the whole expansion from the attribute's arguments and the item.
pub(crate) fn step(args: TokenStream, item: TokenStream) -> TokenStream {
    let errors = Errors::new();
    parse::attr_args(args, &errors);
    let Some(step) = parse::step_fn(item.clone(), &errors) else {
        let errors = errors.finish();
        // A function syn cannot read (no body, `self` not first) would only fail again against
        // the trait: leave it out. Anything else goes back untouched, so only the one error shows.
        return if parse::is_fn(&item) {
            errors
        } else {
            quote!(#item #errors)
        };
    };
    let plan = check::check(&step, &errors);
    let method = match plan.kind {
        // Not a step: there is no signature to give it; the trait's default stays in place.
        None => TokenStream::new(),
        // Perhaps a free function: a method (with `&self`) would only fail again outside an
        // impl; inside `impl Model for ..` the trait's default stays, behind the error.
        Some(_) if !plan.has_receiver => TokenStream::new(),
        Some(kind) if !plan.keep_body => stub(&step, kind),
        Some(kind) => adapter(&step, kind, &plan),
    };
    let errors = errors.finish();
    quote!(#method #errors)
}

/// A local of the generated code, invisible to the user's body.
fn private(name: &str) -> syn::Ident {
    private_at(name, Span::call_site())
}

/// [`private`], reported at `location` in diagnostics.
fn private_at(name: &str, location: Span) -> syn::Ident {
    syn::Ident::new(
        &format!("__elegy_{name}"),
        Span::mixed_site().located_at(location),
    )
}

/// `::elegy::step::PredContext` for `pred_step`.
fn context_path(kind: &StepKind) -> TokenStream {
    let context = syn::Ident::new(kind.context, Span::call_site());
    quote!(::elegy::step::#context)
}

/// The method with the step's real signature, whose body first converts the context's inputs
/// into the user's parameters and then runs the user's statements.
///
/// Parameters that failed the checks (only when errors were recorded) are bound to a value of
/// their declared type that is never produced, so the body still type-checks against them and
/// the user sees the macro's error alone.
fn adapter(step: &StepFn, kind: &StepKind, plan: &Plan) -> TokenStream {
    let StepFn {
        outer_attrs,
        inner_attrs,
        vis,
        defaultness,
        sig,
        receiver,
        params,
        brace,
        stmts,
    } = step;
    let ctx = private("ctx");
    let context = context_path(kind);
    let receiver = match receiver {
        Some(receiver) => receiver.to_token_stream(),
        None => quote!(&self),
    };
    let step_name = kind.name;
    let fields = plan
        .params
        .iter()
        .filter_map(|resolution| match resolution {
            Resolution::Input(input) if *input != WHOLE_CONTEXT => {
                let field = syn::Ident::new(input, Span::call_site());
                let local = private(input);
                Some(quote!(#field: #local))
            }
            _ => None,
        });
    let placeholder = private("unavailable");
    let bindings = params.iter().zip(&plan.params).map(|(param, resolution)| {
        let attrs = &param.attrs;
        let ty = &param.ty;
        match (resolution, &param.binding) {
            (Resolution::Input(input), Some(binding)) => {
                let mutability = &binding.mutability;
                let ident = &binding.ident;
                // Located at the user's type too: rustc points at the argument whose type
                // decided the failing bound.
                let local = private_at(input, ty.span());
                // The target type comes from the binding and the source from the argument, each
                // input through a function bound by a trait of its own, so a type that cannot
                // receive the input is reported at the user's type (the span) naming the input,
                // with only the types it accepts listed.
                let function = syn::Ident::new(
                    match *input {
                        "sample_weight" | "class_weight" => "weight",
                        "initializing" | "training" => "flag",
                        other => other,
                    },
                    ty.span(),
                );
                // The user's type as the function's type argument: a type the input cannot
                // become fails the bound right there, at the user's own tokens.
                let convert = if *input == WHOLE_CONTEXT {
                    quote_spanned! {ty.span()=> ::elegy::step::input::#function::<_, #ty> }
                } else {
                    quote_spanned! {ty.span()=> ::elegy::step::input::#function::<#ty> }
                };
                // The whole context, after its fields: those asked for are copies (all but
                // `states`, which cannot be asked for beside it).
                let local = if *input == WHOLE_CONTEXT {
                    ctx.clone()
                } else {
                    local
                };
                quote! {
                    #(#attrs)*
                    let #mutability #ident: #ty = #convert(#local, #input, #step_name)?;
                }
            }
            (Resolution::Repeated, _) => TokenStream::new(),
            (Resolution::Misspelled(near), Some(binding)) => {
                let pat = &param.pat;
                let mutability = &binding.mutability;
                // The name the body most likely uses, with the written one's leading `_`.
                let written = binding.ident.to_string();
                let prefix = &written[..written.len() - binding.input.len()];
                let meant = syn::Ident::new(&format!("{prefix}{near}"), binding.ident.span());
                // A parameter of that name already binds it: the body means that one.
                let taken = params.iter().any(|other| {
                    other
                        .binding
                        .as_ref()
                        .is_some_and(|other| other.ident == meant)
                });
                let meant = (!taken).then(|| {
                    quote! {
                        #[allow(unused_variables, unused_mut)]
                        let #mutability #meant: #ty = #placeholder();
                    }
                });
                quote! {
                    #(#attrs)*
                    #[allow(unused_variables, unused_mut)]
                    let #pat: #ty = #placeholder();
                    #meant
                }
            }
            _ => {
                let pat = &param.pat;
                quote!(#(#attrs)* let #pat: #ty = #placeholder();)
            }
        }
    });
    let stand_ins = plan
        .params
        .iter()
        .any(|r| matches!(r, Resolution::Rejected | Resolution::Misspelled(_)));
    let placeholder_fn = (stand_ins || plan.undeclared_ctx)
        .then(|| quote!(fn #placeholder<T>() -> T { ::core::unreachable!() }));
    let ctx_placeholder = plan.undeclared_ctx.then(|| {
        let user_ctx = syn::Ident::new(WHOLE_CONTEXT, Span::call_site());
        quote!(let #user_ctx: #context<'_> = #placeholder();)
    });
    // An `async` step is an error; its body still type-checks, inside a block never awaited.
    let statements = match sig.asyncness {
        None => quote!(#(#stmts)*),
        Some(_) => {
            let never_polled = private("never_polled");
            quote! {
                fn #never_polled<T>(_: impl ::core::future::Future<Output = T>) -> T {
                    ::core::unreachable!()
                }
                #never_polled(async move { #(#stmts)* })
            }
        }
    };
    let fn_token = &sig.fn_token;
    let ident = &sig.ident;
    let (output, statements) = checked_output(sig, kind, statements);
    // Type-checks only where `Self` is a `Model`: a step written in a plain `impl YourType`
    // block, which the loops would never call, is an error at its name.
    let is_a_model = quote_spanned! {sig.ident.span()=>
        ::elegy::model::is_a_model::<Self>();
    };
    let mut body = TokenStream::new();
    brace.surround(&mut body, |body| {
        body.extend(quote! {
            #(#inner_attrs)*
            #is_a_model
            #placeholder_fn
            let #context { #(#fields,)* .. } = #ctx;
            #(#bindings)*
            #ctx_placeholder
            #statements
        });
    });
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #fn_token #ident(#receiver, #ctx: #context<'_>) #output #body
    }
}

/// The method's return type, and the statements that make its value. A return type that is
/// certainly the trait's (`Result<PredStep>`) is kept as written. Any other (an alias, or a
/// mistake such as `Result<Tensor>`) is replaced by the trait's, and the statements run in a
/// closure of the written type whose value passes through the step's check in
/// `elegy::step::returns`: a wrong type is then one error at it, in the step's terms, and
/// rustc's comparison with the trait's signature never fails.
fn checked_output(
    sig: &syn::Signature,
    kind: &StepKind,
    statements: TokenStream,
) -> (TokenStream, TokenStream) {
    let syn::ReturnType::Type(arrow, written) = &sig.output else {
        return (sig.output.to_token_stream(), statements);
    };
    let Ok(expected) = syn::parse_str::<syn::Type>(&format!("::elegy::Result<{}>", kind.output))
    else {
        return (sig.output.to_token_stream(), statements);
    };
    if same_by_names(written, &expected) {
        return (sig.output.to_token_stream(), statements);
    }
    let returned = private("returned");
    let check = syn::Ident::new(kind.name, written.span());
    let check = quote_spanned! {written.span()=>
        ::elegy::step::returns::#check::<#written>(#returned)
    };
    let statements = quote! {
        // Called once, right here: a closure so that the body's `return` and `?` keep their
        // meaning with the type it was written for.
        #[allow(clippy::redundant_closure_call)]
        let #returned = (|| -> #written { #statements })();
        #check
    };
    (quote!(#arrow #expected), statements)
}

/// Whether two types are paths whose segments end in the same names, with the same type
/// arguments judged alike (`Result<PredStep>` and `::elegy::Result<::elegy::step::PredStep>`).
fn same_by_names(a: &syn::Type, b: &syn::Type) -> bool {
    let last = |ty: &syn::Type| match ty {
        syn::Type::Path(path) if path.qself.is_none() => path.path.segments.last().cloned(),
        _ => None,
    };
    let (Some(a), Some(b)) = (last(a), last(b)) else {
        return false;
    };
    let args = |segment: &syn::PathSegment| -> Option<Vec<syn::Type>> {
        match &segment.arguments {
            syn::PathArguments::None => Some(Vec::new()),
            syn::PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .map(|arg| match arg {
                    syn::GenericArgument::Type(ty) => Some(ty.clone()),
                    _ => None,
                })
                .collect(),
            syn::PathArguments::Parenthesized(_) => None,
        }
    };
    match (args(&a), args(&b)) {
        (Some(x), Some(y)) => {
            a.ident == b.ident
                && x.len() == y.len()
                && x.iter().zip(&y).all(|(x, y)| same_by_names(x, y))
        }
        _ => false,
    }
}

/// The method with the step's real signature and a body that is never run, for a signature so
/// wrong (generic, `&mut self`, ...) that the user's body cannot be kept.
fn stub(step: &StepFn, kind: &StepKind) -> TokenStream {
    let outer_attrs = &step.outer_attrs;
    let ident = &step.sig.ident;
    let context = context_path(kind);
    let output: syn::Type =
        syn::parse_str(kind.output).expect("the step table's output types are valid Rust types");
    quote! {
        #(#outer_attrs)*
        fn #ident(&self, _: #context<'_>) -> ::elegy::Result<#output> {
            ::core::unreachable!()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion of `#[step]` on `item`, as normalized token text.
    fn expand(item: TokenStream) -> String {
        normalize(step(TokenStream::new(), item))
    }

    /// Tokens as text, one space between tokens, whatever their spacing (`>>` versus `> >`).
    fn normalize(tokens: TokenStream) -> String {
        use proc_macro2::{Delimiter, TokenTree};
        let words: Vec<String> = tokens
            .into_iter()
            .map(|token| match token {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    format!("{open} {} {close}", normalize(group.stream()))
                }
                TokenTree::Punct(punct) => punct.as_char().to_string(),
                other => other.to_string(),
            })
            .collect();
        words.join(" ")
    }

    #[test]
    fn each_parameter_receives_its_input_from_the_context() {
        let expanded = expand(quote! {
            fn pred_step(&self, x: &Tensor, mut states: States) -> Result<PredStep> {
                run(x, states)
            }
        });
        let expected = quote! {
            fn pred_step(&self, __elegy_ctx: ::elegy::step::PredContext<'_>) -> Result<PredStep> {
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::PredContext { x: __elegy_x, states: __elegy_states, .. } = __elegy_ctx;
                let x: &Tensor = ::elegy::step::input::x::<&Tensor>(
                    __elegy_x, "x", "pred_step"
                )?;
                let mut states: States = ::elegy::step::input::states::<States>(
                    __elegy_states, "states", "pred_step"
                )?;
                run(x, states)
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn parameters_keep_their_order_and_underscored_names() {
        let expanded = expand(quote! {
            fn train_step(&self, _training: bool, y_true: Option<&Data>) -> Result<TrainStep> {
                todo!()
            }
        });
        let expected = quote! {
            fn train_step(&self, __elegy_ctx: ::elegy::step::StepContext<'_>) -> Result<TrainStep> {
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::StepContext {
                    training: __elegy_training, y_true: __elegy_y_true, ..
                } = __elegy_ctx;
                let _training: bool = ::elegy::step::input::flag::<bool>(
                    __elegy_training, "training", "train_step"
                )?;
                let y_true: Option<&Data> = ::elegy::step::input::y_true::<Option<&Data> >(
                    __elegy_y_true, "y_true", "train_step"
                )?;
                todo!()
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn a_step_without_inputs_still_takes_the_context() {
        let expanded = expand(quote! {
            fn summary_step(&self) -> Result<Vec<SummaryRow>> { Ok(vec![]) }
        });
        let expected = quote! {
            fn summary_step(&self, __elegy_ctx: ::elegy::step::SummaryContext<'_>) -> Result<Vec<SummaryRow>> {
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::SummaryContext { .. } = __elegy_ctx;
                Ok(vec![])
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn attributes_on_the_method_and_its_parameters_are_kept() {
        let expanded = expand(quote! {
            /// Docs.
            #[allow(clippy::needless_return)]
            fn init_step(&self, #[allow(unused)] x: &Data) -> Result<States> {
                #![allow(unused_variables)]
                return todo!();
            }
        });
        let expected = quote! {
            /// Docs.
            #[allow(clippy::needless_return)]
            fn init_step(&self, __elegy_ctx: ::elegy::step::InitContext<'_>) -> Result<States> {
                #![allow(unused_variables)]
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::InitContext { x: __elegy_x, .. } = __elegy_ctx;
                #[allow(unused)]
                let x: &Data = ::elegy::step::input::x::<&Data>(
                    __elegy_x, "x", "init_step"
                )?;
                return todo!();
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn a_misspelled_parameter_is_bound_to_stand_ins_under_both_names_beside_the_error() {
        let expanded = expand(quote! {
            fn pred_step(&self, x: &Tensor, stats: States) -> Result<PredStep> { run(x, stats) }
        });
        let expected = quote! {
            fn pred_step(&self, __elegy_ctx: ::elegy::step::PredContext<'_>) -> Result<PredStep> {
                ::elegy::model::is_a_model::<Self>();
                fn __elegy_unavailable<T>() -> T {
                    ::core::unreachable!()
                }
                let ::elegy::step::PredContext { x: __elegy_x, .. } = __elegy_ctx;
                let x: &Tensor = ::elegy::step::input::x::<&Tensor>(
                    __elegy_x, "x", "pred_step"
                )?;
                #[allow(unused_variables, unused_mut)]
                let stats: States = __elegy_unavailable();
                // The body may well use the name it meant.
                #[allow(unused_variables, unused_mut)]
                let states: States = __elegy_unavailable();
                run(x, stats)
            }
            ::core::compile_error! {
                "unknown input `stats` for `pred_step`; did you mean `states`? expected one of: `x`, `states`, `components`, `initializing`, `training`, `ctx`"
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn a_parameter_rejected_for_another_reason_gets_one_stand_in() {
        let expanded = expand(quote! {
            fn pred_step(&self, y_true: &Tensor) -> Result<PredStep> { run(y_true) }
        });
        assert!(
            expanded.contains("let y_true : & Tensor = __elegy_unavailable"),
            "{expanded}"
        );
        assert_eq!(
            expanded.matches("= __elegy_unavailable").count(),
            1,
            "{expanded}"
        );
    }

    #[test]
    fn a_return_type_not_plainly_the_traits_is_checked_at_it() {
        let expanded = expand(quote! {
            fn pred_step(&self, x: &Tensor) -> Result<Tensor> { run(x) }
        });
        let expected = quote! {
            fn pred_step(&self, __elegy_ctx: ::elegy::step::PredContext<'_>)
                -> ::elegy::Result<::elegy::step::PredStep>
            {
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::PredContext { x: __elegy_x, .. } = __elegy_ctx;
                let x: &Tensor = ::elegy::step::input::x::<&Tensor>(
                    __elegy_x, "x", "pred_step"
                )?;
                #[allow(clippy::redundant_closure_call)]
                let __elegy_returned = (|| -> Result<Tensor> { run(x) })();
                ::elegy::step::returns::pred_step::<Result<Tensor> >(__elegy_returned)
            }
        };
        assert_eq!(expanded, normalize(expected));
        // Spelled as the trait spells it, however qualified: kept as written.
        let plain = expand(quote! {
            fn summary_step(&self) -> elegy::Result<std::vec::Vec<SummaryRow>> { Ok(vec![]) }
        });
        assert!(!plain.contains("returns"), "{plain}");
    }

    #[test]
    fn a_method_with_a_wrong_signature_becomes_a_stub() {
        let expanded = expand(quote! {
            /// Docs.
            async fn grad_step(&mut self, x: Tensor) -> Result<GradStep> { self.x = x; }
        });
        let expected = quote! {
            /// Docs.
            fn grad_step(&self, _: ::elegy::step::StepContext<'_>) -> ::elegy::Result<::elegy::step::GradStep> {
                ::core::unreachable!()
            }
            ::core::compile_error! { "a step cannot be `async`: the loops call steps synchronously" }
            ::core::compile_error! {
                "a step takes `&self`, not `&mut self`: the loops share the model, and what changes between steps belongs in `States`"
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn an_async_body_is_kept_inside_a_block_that_is_never_awaited() {
        let expanded = expand(quote! {
            async fn summary_step(&self) -> Result<Vec<SummaryRow>> { rows().await }
        });
        let expected = quote! {
            fn summary_step(&self, __elegy_ctx: ::elegy::step::SummaryContext<'_>) -> Result<Vec<SummaryRow>> {
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::SummaryContext { .. } = __elegy_ctx;
                fn __elegy_never_polled<T>(_: impl ::core::future::Future<Output = T>) -> T {
                    ::core::unreachable!()
                }
                __elegy_never_polled(async move { rows().await })
            }
            ::core::compile_error! { "a step cannot be `async`: the loops call steps synchronously" }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn a_repeated_parameter_is_not_bound_again() {
        let expanded = expand(quote! {
            fn summary_step(&self, x: &Data, x: &Data) -> Result<Vec<SummaryRow>> { rows(x) }
        });
        let expected = quote! {
            fn summary_step(&self, __elegy_ctx: ::elegy::step::SummaryContext<'_>) -> Result<Vec<SummaryRow>> {
                ::elegy::model::is_a_model::<Self>();
                let ::elegy::step::SummaryContext { x: __elegy_x, .. } = __elegy_ctx;
                let x: &Data = ::elegy::step::input::x::<&Data>(__elegy_x, "x", "summary_step")?;
                rows(x)
            }
            ::core::compile_error! { "input `x` is requested twice" }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn a_method_that_is_not_a_step_leaves_only_the_error() {
        let expanded = expand(quote!(
            fn pred_stpe(&self) -> Result<PredStep> {
                todo!()
            }
        ));
        let expected = quote! {
            ::core::compile_error! {
                "`pred_stpe` is not a step; did you mean `pred_step`? expected one of: `init_step`, `pred_step`, `test_step`, `grad_step`, `train_step`, `summary_step`"
            }
        };
        assert_eq!(expanded, normalize(expected));
    }

    #[test]
    fn an_item_that_is_not_a_method_is_given_back_with_the_error() {
        let expanded = expand(quote!(
            struct Linear;
        ));
        assert!(expanded.starts_with("struct Linear ;"), "{expanded}");
        assert!(expanded.contains("compile_error"), "{expanded}");
    }

    #[test]
    fn every_step_output_type_parses() {
        for kind in crate::steps::STEPS {
            let parsed = syn::parse_str::<syn::Type>(kind.output);
            assert!(parsed.is_ok(), "{}: {}", kind.name, kind.output);
        }
    }
}
