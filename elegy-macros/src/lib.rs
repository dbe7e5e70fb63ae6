//! The `#[step]` attribute macro of elegy.

use proc_macro::TokenStream;

/// Marks a step method of `elegy::Model`; placeholder until the step adapter lands.
#[proc_macro_attribute]
pub fn step(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
