//! `datasets::read_idx` on any bytes: `Ok` or `Err`, never a panic or an abort.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = common::file_with("input.idx", data);
    let _ = elegy::datasets::read_idx(&path);
});
