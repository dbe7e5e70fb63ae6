//! Compile-time behaviour of `#[step]`: what it accepts (`ui/pass`) and, for each mistake, the
//! error and where it points (`ui/fail/*.rs` with the expected `.stderr` beside each).
//!
//! After changing a message, regenerate with `TRYBUILD=overwrite cargo test --test ui` and read
//! every changed `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
