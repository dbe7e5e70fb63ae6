//! `datasets::read_npz` on any bytes: `Ok` or `Err`, never a panic or an abort.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = common::file_with("input.npz", data);
    let _ = elegy::datasets::read_npz(&path);
});
