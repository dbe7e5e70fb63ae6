//! Parsing: the attribute's arguments and the method it is on, into [`StepFn`], the macro's own
//! small view of a step method. Nothing here judges whether the method is a valid step; that is
//! `check`'s job.

use proc_macro2::{TokenStream, TokenTree};
use syn::{
    AttrStyle, Attribute, FnArg, ImplItemFn, Pat, PatIdent, Receiver, Signature, Stmt, Token, Type,
    Visibility, token,
};

use crate::errors::Errors;

/// A method under `#[step]`, split into the parts the checks and the code generation need.
pub(crate) struct StepFn {
    /// Attributes before the method (docs, `#[allow]`), kept on the generated method.
    pub outer_attrs: Vec<Attribute>,
    /// `#![...]` attributes at the top of the body, kept there.
    pub inner_attrs: Vec<Attribute>,
    /// `pub` and the like, as written (rustc rejects them in a trait impl, not us).
    pub vis: Visibility,
    /// `default` (specialization), as written.
    pub defaultness: Option<Token![default]>,
    /// The signature as written: name, qualifiers, generics, return type.
    pub sig: Signature,
    /// The `self` parameter (syn accepts it only first, and once).
    pub receiver: Option<Receiver>,
    /// The other parameters, in order.
    pub params: Vec<Param>,
    /// The body's braces, so the generated body keeps the user's span.
    pub brace: token::Brace,
    /// The body's statements.
    pub stmts: Vec<Stmt>,
}

/// One parameter after `&self`: a request for an input by name.
pub(crate) struct Param {
    /// Attributes on the parameter, kept on the binding.
    pub attrs: Vec<Attribute>,
    /// The pattern as written.
    pub pat: Pat,
    /// The type as written; the input is converted into it.
    pub ty: Type,
    /// The name the parameter binds, when the pattern is a plain (possibly `mut`) name.
    pub binding: Option<Binding>,
}

/// A parameter's plain name and the input it asks for.
pub(crate) struct Binding {
    /// `mut`, kept on the binding.
    pub mutability: Option<Token![mut]>,
    /// The name as written (`_x`), which the body uses.
    pub ident: syn::Ident,
    /// The input it asks for: the name without one leading `_` (`x`).
    pub input: String,
}

/// Reports arguments given to the attribute: `#[step]` takes none.
pub(crate) fn attr_args(args: TokenStream, errors: &Errors) {
    if !args.is_empty() {
        errors.error_at(
            args,
            "`#[step]` takes no arguments: each parameter's name chooses its input",
        );
    }
}

/// Parses the item under the attribute; `None` (with an error recorded) when it is not a method.
pub(crate) fn step_fn(item: TokenStream, errors: &Errors) -> Option<StepFn> {
    let item: ImplItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        // For a method syn cannot read (no body, `self` not first), its reason is precise;
        // anything else is not a method at all.
        Err(error) if is_fn(&item) => {
            errors.push(syn::Error::new(
                error.span(),
                format!("`#[step]` cannot read this method: {error}"),
            ));
            return None;
        }
        Err(error) => {
            errors.push(syn::Error::new(
                error.span(),
                format!(
                    "{error}: `#[step]` goes on a step method of an `impl Model for ...` block, \
                     e.g. `fn pred_step(&self, x: &Tensor) -> Result<PredStep> {{ ... }}`"
                ),
            ));
            return None;
        }
    };
    let ImplItemFn {
        attrs,
        vis,
        modifiers,
        sig,
        block,
    } = item;
    let (inner_attrs, outer_attrs) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let mut receiver = None;
    let mut params = Vec::new();
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(this) => receiver = Some(this.clone()),
            FnArg::Typed(typed) => params.push(Param {
                attrs: typed.attrs.clone(),
                pat: (*typed.pat).clone(),
                ty: (*typed.ty).clone(),
                binding: binding(&typed.pat),
            }),
        }
    }
    Some(StepFn {
        outer_attrs,
        inner_attrs,
        vis,
        defaultness: modifiers.defaultness,
        sig,
        receiver,
        params,
        brace: block.brace_token,
        stmts: block.stmts,
    })
}

/// Whether `item` is a function, judged by an `fn` keyword at its top level (not in its body).
pub(crate) fn is_fn(item: &TokenStream) -> bool {
    item.clone()
        .into_iter()
        .any(|token| matches!(token, TokenTree::Ident(ident) if ident == "fn"))
}

/// The name a pattern binds, if it is a plain name: `x`, `mut x`, `_x` (not `ref x`, `x @ ..`).
fn binding(pat: &Pat) -> Option<Binding> {
    match pat {
        Pat::Ident(PatIdent {
            attrs,
            by_ref: None,
            mutability,
            ident,
            subpat: None,
        }) if attrs.is_empty() => {
            let name = ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name);
            let input = name.strip_prefix('_').unwrap_or(name);
            Some(Binding {
                mutability: *mutability,
                ident: ident.clone(),
                input: input.to_owned(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(item: TokenStream) -> StepFn {
        let errors = Errors::new();
        let step = step_fn(item, &errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        errors.finish();
        step.expect("parses")
    }

    fn inputs(step: &StepFn) -> Vec<Option<String>> {
        step.params
            .iter()
            .map(|p| p.binding.as_ref().map(|b| b.input.clone()))
            .collect()
    }

    #[test]
    fn a_leading_underscore_asks_for_the_input_without_it() {
        let step = parse(quote!(
            fn pred_step(&self, _x: Tensor, __y: Tensor) {}
        ));
        assert_eq!(inputs(&step), [Some("x".into()), Some("_y".into())]);
        let names: Vec<_> = step
            .params
            .iter()
            .map(|p| p.binding.as_ref().map(|b| b.ident.to_string()))
            .collect();
        assert_eq!(names, [Some("_x".into()), Some("__y".into())]);
    }

    #[test]
    fn mut_names_are_plain_names() {
        let step = parse(quote!(
            fn pred_step(&self, mut states: States) {}
        ));
        let binding = step.params[0].binding.as_ref().expect("a plain name");
        assert!(binding.mutability.is_some());
        assert_eq!(binding.input, "states");
    }

    #[test]
    fn patterns_and_ref_bindings_are_not_plain_names() {
        let step = parse(quote!(
            fn pred_step(&self, (a, b): (T, T), _: T, ref x: T, y @ _: T) {}
        ));
        assert_eq!(inputs(&step), [None, None, None, None]);
    }

    #[test]
    fn the_receiver_is_kept_apart_from_the_parameters() {
        let step = parse(quote!(
            fn pred_step(&self, x: T) {}
        ));
        assert!(step.receiver.is_some());
        assert_eq!(step.params.len(), 1);
    }

    #[test]
    fn inner_attributes_are_split_from_outer_ones() {
        let step = parse(quote!(
            /// Docs.
            #[allow(unused)]
            fn pred_step(&self) {
                #![allow(clippy::all)]
                body()
            }
        ));
        assert_eq!(step.outer_attrs.len(), 2);
        assert_eq!(step.inner_attrs.len(), 1);
        assert_eq!(step.stmts.len(), 1);
    }

    #[test]
    fn an_item_that_is_not_a_method_is_an_error() {
        let errors = Errors::new();
        assert!(
            step_fn(
                quote!(
                    struct Model;
                ),
                &errors
            )
            .is_none()
        );
        assert!(errors.messages()[0].contains("goes on a step method"));
        errors.finish();
    }

    #[test]
    fn a_method_syn_cannot_read_is_an_error_with_syn_s_reason() {
        let errors = Errors::new();
        assert!(step_fn(quote!(fn pred_step(x: T, &self) {}), &errors).is_none());
        assert_eq!(
            errors.messages(),
            ["`#[step]` cannot read this method: unexpected method receiver"]
        );
        errors.finish();
    }

    #[test]
    fn arguments_to_the_attribute_are_an_error() {
        let errors = Errors::new();
        attr_args(quote!(pred), &errors);
        assert_eq!(
            errors.messages(),
            ["`#[step]` takes no arguments: each parameter's name chooses its input"]
        );
        errors.finish();
    }
}
