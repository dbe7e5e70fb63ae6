//! [`Errors`]: collects every error of one `#[step]` so the user sees them all in one build.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The errors found so far. Every pass pushes into the same collection; [`Errors::finish`]
/// combines them. Dropping it unfinished is a bug in the macro (an error could be lost), so it
/// panics then, unless the thread is already panicking.
pub(crate) struct Errors {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Errors {
    /// An empty collection.
    pub(crate) fn new() -> Self {
        Errors {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records `message` at the span of `tokens` (all of them, where the compiler allows).
    pub(crate) fn error_at(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error, e.g. one from syn's parser.
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Errors used after finish")
            .push(error);
    }

    /// Whether nothing has been recorded.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.borrow().as_ref().is_none_or(Vec::is_empty)
    }

    /// All errors as `compile_error!` invocations, each at its own span (empty when none).
    pub(crate) fn finish(self) -> TokenStream {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        errors.iter().map(syn::Error::to_compile_error).collect()
    }

    /// The messages recorded so far, for tests.
    #[cfg(test)]
    pub(crate) fn messages(&self) -> Vec<String> {
        self.errors
            .borrow()
            .iter()
            .flatten()
            .map(ToString::to_string)
            .collect()
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if self.errors.get_mut().is_some() && !std::thread::panicking() {
            panic!("#[step] dropped its errors without reporting them (call Errors::finish)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    #[test]
    fn finish_emits_one_compile_error_per_message() {
        let errors = Errors::new();
        errors.error_at(quote::quote!(a), "first");
        errors.push(syn::Error::new(Span::call_site(), "second"));
        let text = errors.finish().to_string();
        assert_eq!(text.matches("compile_error").count(), 2, "{text}");
        assert!(text.contains("\"first\"") && text.contains("\"second\""));
    }

    #[test]
    fn an_empty_collection_finishes_to_nothing() {
        let errors = Errors::new();
        assert!(errors.is_empty());
        assert!(errors.finish().is_empty());
    }

    #[test]
    #[should_panic(expected = "without reporting")]
    fn dropping_unfinished_errors_is_a_bug() {
        let errors = Errors::new();
        errors.error_at(quote::quote!(a), "lost");
    }
}
