//! `datasets::read_csv` on any bytes, with each kind of targets: `Ok` or `Err`, never a panic
//! or an abort.
#![no_main]

mod common;

use elegy::datasets::{CsvOptions, Targets, read_csv};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = common::file_with("input.csv", data);
    for targets in [Targets::Auto, Targets::Classes, Targets::Values] {
        let _ = read_csv(
            &path,
            CsvOptions {
                targets,
                ..CsvOptions::default()
            },
        );
    }
});
