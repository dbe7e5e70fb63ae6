//! `datasets::read_npy` on any bytes: `Ok` or `Err`, never a panic or an abort.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = common::file_with("input.npy", data);
    let _ = elegy::datasets::read_npy(&path);
});
