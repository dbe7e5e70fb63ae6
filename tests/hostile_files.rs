//! No file can take the process down: every reader (`read_npy`, `read_npz`, `read_idx`,
//! `read_csv`, checkpoint loading) is fed thousands of inputs made from valid files by byte
//! flips, truncations, insertions, length-field and header edits, each read under an allocation
//! meter, and must return `Ok` or a clean `Err`: never a panic, an abort, or a peak of live heap
//! memory beyond a small multiple of the input's size (plus a fixed slack).
//!
//! The meter is this test binary's own `#[global_allocator]` (a file under `tests/` is a crate of
//! its own, so it meters nothing else). It counts the live bytes allocated by the current thread
//! while a read runs, so the tests of this binary can run in parallel. A request beyond
//! [`HARD_LIMIT`] is refused outright (the reader would abort the process: the test binary
//! aborts with "memory allocation of N bytes failed"); set `ELEGY_HOSTILE_VERBOSE=2` to print
//! every case before it is read and find the one that did (`=1` prints a summary per file).
//!
//! The mutations are drawn from a fixed seed: every run reads the same inputs.
//! `ELEGY_HOSTILE_SCALE=50` reads fifty times as many (a deeper run by hand; run it in release
//! mode).

mod common;

use common::npy_with_header;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use elegy::datasets::{self, CsvOptions, Targets};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::optimizers::Adam;
use elegy::step::PredContext;
use elegy::{Data, FitOptions, Initializer, Model, PredStep, Result, Runner, Tensor, TensorMap};
use ndarray::{Array2, ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::{NpzWriter, WriteNpyExt};

// ---------------------------------------------------------------------------------------------
// The allocation meter

/// No single request while metering may exceed this: past it the reader is refused memory (and
/// the process aborts), which fails the test rather than the machine.
const HARD_LIMIT: usize = 256 << 20;

thread_local! {
    static METERING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

struct Meter;

impl Meter {
    fn add(bytes: usize) -> bool {
        METERING.with(|on| {
            if !on.get() {
                return true;
            }
            if bytes > HARD_LIMIT {
                return false;
            }
            LIVE.with(|live| {
                let now = live.get() + bytes as isize;
                live.set(now);
                PEAK.with(|peak| peak.set(peak.get().max(now)));
            });
            true
        })
    }

    fn sub(bytes: usize) {
        METERING.with(|on| {
            if on.get() {
                LIVE.with(|live| live.set(live.get() - bytes as isize));
            }
        })
    }
}

unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Meter::add(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Meter::add(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Meter::sub(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the new block allocated before the old one is freed (the worst case).
        if !Meter::add(new_size) {
            return std::ptr::null_mut();
        }
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            Meter::sub(new_size);
        } else {
            Meter::sub(layout.size());
        }
        new
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// The result of `read` (or the panic's message) and the peak of live heap bytes it allocated.
fn metered<T>(read: impl FnOnce() -> Result<T>) -> (std::result::Result<Result<T>, String>, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    METERING.with(|m| m.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(read));
    METERING.with(|m| m.set(false));
    let peak = PEAK.with(Cell::get).max(0) as usize;
    let outcome = outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    });
    (outcome, peak)
}

/// What a reader may hold at most for an input of `len` bytes that expands to at most
/// `expanded` bytes (decompressed members or streams).
fn allowance(len: usize, expanded: usize) -> usize {
    FACTOR * (len + expanded) + SLACK
}

/// The multiple of the input's size a reader may allocate (an f32 per input byte is 4; with a
/// copy to reorder and the growth of a buffer, a few more).
const FACTOR: usize = 16;

/// Fixed buffers: file and decompression buffers, a 64 KiB read chunk, a zip's end search, a
/// runner's components.
const SLACK: usize = 256 << 10;

// ---------------------------------------------------------------------------------------------
// Deterministic mutations

/// SplitMix64: a small deterministic generator, so every run reads the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that break length fields: zero, one, the type's extremes, the file's own size.
fn interesting(len: usize) -> [u64; 10] {
    [
        0,
        1,
        0x7f,
        0xffff,
        0x7fff_ffff,
        0xffff_ffff,
        u64::MAX,
        len as u64,
        len as u64 + 1,
        4_000_000_000_000,
    ]
}

/// Replacements for a run of digits in a header (shapes, sizes, offsets, labels, steps).
const NUMBERS: [&str; 9] = [
    "0",
    "1",
    "-1",
    "65535",
    "4294967295",
    "4000000000000",
    "18446744073709551615",
    "99999999999999999999999",
    "10000000",
];

/// Replacements for a short text in a header.
const WORDS: [&str; 14] = [
    "\"", "'", "(", ")", "((((((((", "[", "{", "}", ",", ":", "True", "None", "'<f8'", "\u{ff}",
];

/// One mutant of `valid` and a description of the mutation.
fn mutate(valid: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut bytes = valid.to_vec();
    let mut what = Vec::new();
    let edits = 1 + usize::from(rng.below(8) == 0) * 2;
    for _ in 0..edits {
        let len = bytes.len();
        let at = rng.below(len);
        match rng.below(11) {
            0 | 1 => {
                if len > 0 {
                    let x = 1 + rng.below(255) as u8;
                    bytes[at] ^= x;
                    what.push(format!("flip byte {at} by {x:#04x}"));
                }
            }
            2 => {
                let cut = rng.below(len + 1);
                bytes.truncate(cut);
                what.push(format!("truncate to {cut}"));
            }
            3 | 4 => {
                // A length field: a little- or big-endian integer of 2, 4 or 8 bytes.
                let width = *rng.pick(&[2usize, 4, 8]);
                let value = *rng.pick(&interesting(len));
                let big = rng.below(2) == 0;
                let encoded = if big {
                    value.to_be_bytes()[8 - width..].to_vec()
                } else {
                    value.to_le_bytes()[..width].to_vec()
                };
                let at = at.min(len.saturating_sub(width));
                for (i, b) in encoded.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = *b;
                    }
                }
                what.push(format!(
                    "write {value} as {width} bytes at {at} (big {big})"
                ));
            }
            5 | 6 => {
                // A header edit: a run of digits replaced by a number.
                let runs: Vec<(usize, usize)> = digit_runs(&bytes);
                if runs.is_empty() {
                    continue;
                }
                let (start, end) = *rng.pick(&runs);
                let number = *rng.pick(&NUMBERS);
                bytes.splice(start..end, number.bytes());
                what.push(format!("replace the digits at {start}..{end} by {number}"));
            }
            7 => {
                let word = *rng.pick(&WORDS);
                let span = rng.below(4).min(len - at.min(len));
                bytes.splice(at..at + span, word.bytes());
                what.push(format!("replace {span} bytes at {at} by {word:?}"));
            }
            8 => {
                // A header in the other quote style (NumPy reads both).
                let (from, to) = if rng.below(2) == 0 {
                    (b'\'', b'"')
                } else {
                    (b'"', b'\'')
                };
                bytes
                    .iter_mut()
                    .filter(|b| **b == from)
                    .for_each(|b| *b = to);
                what.push(format!("quotes {} to {}", from as char, to as char));
            }
            9 => {
                // Another format version for a .npy header (in a file or an archive member).
                let starts: Vec<usize> = (0..len.saturating_sub(7))
                    .filter(|&i| bytes[i..].starts_with(b"\x93NUMPY"))
                    .collect();
                if starts.is_empty() {
                    continue;
                }
                let at = *rng.pick(&starts) + 6;
                let version = *rng.pick(&[1u8, 2, 3, 4, 0, 255]);
                bytes[at] = version;
                what.push(format!("format version {version} at {at}"));
            }
            _ => {
                // Duplicate a slice (repeated records, a longer header).
                let span = rng.below(64).min(len - at.min(len));
                let copy = bytes[at..at + span].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
                what.push(format!("copy {span} bytes from {at} to {to}"));
            }
        }
    }
    (bytes, what.join(", "))
}

fn digit_runs(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    runs
}

// ---------------------------------------------------------------------------------------------
// How far an input can expand

/// Counts what is written, keeping nothing.
struct Count(usize);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes `reader` yields before it ends or fails, at most 1 GiB.
fn yield_of(reader: impl Read) -> usize {
    let mut count = Count(0);
    let _ = std::io::copy(&mut reader.take(1 << 30), &mut count);
    count.0
}

/// An upper bound on what the bytes of `input` can decompress to: the gzip stream, if it is
/// one; for a zip, every member at every local header, stored or inflated.
fn expansion(input: &[u8]) -> usize {
    if input.starts_with(&[0x1f, 0x8b]) {
        return yield_of(flate2::read::MultiGzDecoder::new(input));
    }
    let mut total = 0;
    for at in 0..input.len().saturating_sub(30) {
        if input[at..at + 4] == [0x50, 0x4b, 0x03, 0x04] {
            let name = u16::from_le_bytes([input[at + 26], input[at + 27]]) as usize;
            let extra = u16::from_le_bytes([input[at + 28], input[at + 29]]) as usize;
            let start = (at + 30 + name + extra).min(input.len());
            let data = &input[start..];
            total += data
                .len()
                .max(yield_of(flate2::read::DeflateDecoder::new(data)));
        }
    }
    total
}

// ---------------------------------------------------------------------------------------------
// Running the mutants

/// What went wrong with one input.
struct Failure {
    case: String,
    problem: String,
}

/// Reads `count` mutants of `valid` (and `valid` itself, which must read) written to `path`
/// with `read`; returns the failures.
fn run_mutants<T>(
    label: &str,
    valid: &[u8],
    count: usize,
    seed: u64,
    path: &Path,
    read: impl Fn(&Path) -> Result<T>,
) -> Vec<Failure> {
    run_mutants_with(label, valid, count, seed, path, 0, |_| {}, read)
}

/// As [`run_mutants`], with `other_len` bytes of other files the reader reads too, and
/// `prepare` run on each mutant's path before it is read (unmetered).
#[allow(clippy::too_many_arguments)]
fn run_mutants_with<T>(
    label: &str,
    valid: &[u8],
    count: usize,
    seed: u64,
    path: &Path,
    other_len: usize,
    prepare: impl Fn(&Path),
    read: impl Fn(&Path) -> Result<T>,
) -> Vec<Failure> {
    let verbose = std::env::var("ELEGY_HOSTILE_VERBOSE").unwrap_or_default();
    let (summary, every_case) = (!verbose.is_empty(), verbose == "2");
    let mut read_ok = 0;
    let mut worst_multiple = 0.0f64;
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let mut worst = 0.0f64;
    // ELEGY_HOSTILE_SCALE=n reads n times as many mutants (for a deeper run by hand).
    let scale: usize = std::env::var("ELEGY_HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let count = count * scale;
    for i in 0..=count {
        let (bytes, what) = if i == 0 {
            (valid.to_vec(), "unmodified".to_string())
        } else {
            mutate(valid, &mut rng)
        };
        let case = format!("{label} #{i}: {what}");
        if every_case {
            eprintln!("{case}");
        }
        std::fs::write(path, &bytes).unwrap();
        prepare(path);
        let input = bytes.len() + other_len + expansion(&bytes);
        let limit = allowance(input, 0);
        let (outcome, peak) = metered(|| read(path));
        if every_case {
            eprintln!("  peak {peak} bytes for {input}");
        }
        worst = worst.max(peak as f64 / limit as f64);
        if input >= 16 << 10 {
            worst_multiple = worst_multiple.max(peak as f64 / input as f64);
        }
        let problem = match outcome {
            Err(panic) => Some(format!("panicked: {panic}")),
            Ok(Err(e)) if i == 0 => Some(format!("the valid file is refused: {e}")),
            Ok(_) if peak > limit => Some(format!(
                "allocated {peak} bytes at its peak for {} input bytes (allowed {limit})",
                bytes.len()
            )),
            Ok(result) => {
                read_ok += usize::from(result.is_ok());
                None
            }
        };
        if let Some(problem) = problem {
            failures.push(Failure { case, problem });
        }
    }
    if summary {
        eprintln!(
            "{label}: {count} mutants, {read_ok} read (the rest refused), worst peak {:.1}% of \
             the allowance, {worst_multiple:.1} times the input (of inputs of 16 KiB or more)",
            worst * 100.0
        );
    }
    failures
}

/// How many mutants of `valid` to read: fewer of a large file (each takes longer to read).
fn mutants_of(valid: &[u8]) -> usize {
    if valid.len() > 16 << 10 { 100 } else { 500 }
}

#[track_caller]
fn assert_no_failures(failures: Vec<Failure>) {
    if failures.is_empty() {
        return;
    }
    let shown: Vec<String> = failures
        .iter()
        .take(20)
        .map(|f| format!("{}: {}", f.case, f.problem))
        .collect();
    panic!(
        "{} inputs were not read cleanly:\n{}",
        failures.len(),
        shown.join("\n")
    );
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Valid files to start from

fn written_npy<A: ndarray_npy::WritableElement>(array: &ArrayD<A>) -> Vec<u8> {
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).unwrap();
    bytes
}

fn npy_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let f32s = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| (i[0] * 4 + i[1]) as f32 - 5.5);
    let u8s = Array2::from_shape_fn((5, 3).f(), |(i, j)| (i * 3 + j) as u8).into_dyn();
    let i64s: Vec<u8> = (0..6i64)
        .flat_map(|v| (v * 1000 - 2).to_be_bytes())
        .collect();
    let flags = ndarray::array![[true, false, true]].into_dyn();
    let large = Array2::from_shape_fn((256, 320).f(), |(i, j)| (i ^ j) as u8).into_dyn();
    vec![
        ("80 KB of u1 in fortran order", written_npy(&large)),
        ("f4 (written by elegy)", written_npy(&f32s)),
        ("u1 fortran order", written_npy(&u8s)),
        ("bool", written_npy(&flags)),
        (
            "big-endian i8, double quotes, other key order, format 2.0",
            npy_with_header(
                2,
                "{\"shape\": (2, 3), \"fortran_order\": True, \"descr\": \">i8\"}",
                &i64s,
            ),
        ),
        (
            "f8, format 3.0",
            npy_with_header(
                3,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                &[0u8; 16],
            ),
        ),
    ]
}

fn csv_fixtures() -> Vec<(&'static str, Vec<u8>, CsvOptions)> {
    let named = b"sepal,petal,\"kind, of\"\n5.1,1.4,setosa\n4.9,1.3,\"versi\"\"color\"\n6.3,6.0,virginica\n7.0,4.7,setosa\n".to_vec();
    let numeric = b"a;b;label\n1;2;0\n3;4;2\n5;6;1\n7;8;10000000\n\n9;10;3\n".to_vec();
    let classes = CsvOptions {
        targets: Targets::Classes,
        delimiter: ';',
        ..CsvOptions::default()
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&named).unwrap();
    let mut large = b"a,b,c\n".to_vec();
    for i in 0..8000 {
        large.extend_from_slice(format!("{i},{},{}\n", i % 7, i % 3).as_bytes());
    }
    let mut labels_only = b"label\n".to_vec();
    for i in 0..20000 {
        labels_only.extend_from_slice(if i % 3 == 0 { b"a\n" } else { b"b\n" });
    }
    vec![
        ("100 KB csv", large, CsvOptions::default()),
        (
            "40 KB csv of labels only",
            labels_only,
            CsvOptions::default(),
        ),
        ("csv of named classes", named, CsvOptions::default()),
        ("csv of numeric labels as classes", numeric.clone(), classes),
        (
            "csv of numeric labels, auto",
            numeric,
            CsvOptions {
                delimiter: ';',
                ..CsvOptions::default()
            },
        ),
        ("gzip csv", gz.finish().unwrap(), CsvOptions::default()),
    ]
}

fn idx(type_code: u8, shape: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_code, shape.len() as u8];
    for &d in shape {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The mutation tests, one per reader

#[test]
fn read_npy_survives_thousands_of_damaged_files() {
    let dir = temp();
    let path = dir.path().join("m.npy");
    let mut failures = Vec::new();
    for (k, (label, valid)) in npy_fixtures().into_iter().enumerate() {
        failures.extend(run_mutants(
            label,
            &valid,
            mutants_of(&valid),
            100 + k as u64,
            &path,
            |p| datasets::read_npy(p),
        ));
    }
    assert_no_failures(failures);
}

#[test]
fn read_npz_survives_thousands_of_damaged_archives() {
    let dir = temp();
    let path = dir.path().join("m.npz");
    let mut failures = Vec::new();
    let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[4, 3]).unwrap();
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4]).unwrap();
    datasets::write_npz(&path, [("x", &x), ("y", &y)]).unwrap();
    let stored = std::fs::read(&path).unwrap();
    let mut compressed = NpzWriter::new_compressed(std::io::Cursor::new(Vec::new()));
    compressed
        .add_array(
            "images",
            &Array2::<u8>::from_shape_fn((4, 4), |(i, j)| (i * j) as u8),
        )
        .unwrap();
    compressed
        .add_array("labels", &ndarray::array![3i64, 9, 1, 0])
        .unwrap();
    let compressed = compressed.finish().unwrap().into_inner();
    for (k, (label, valid)) in [("stored npz", stored), ("deflated npz", compressed)]
        .into_iter()
        .enumerate()
    {
        failures.extend(run_mutants(
            label,
            &valid,
            1000,
            200 + k as u64,
            &path,
            |p| datasets::read_npz(p),
        ));
    }
    assert_no_failures(failures);
}

#[test]
fn read_idx_survives_thousands_of_damaged_files() {
    let dir = temp();
    let path = dir.path().join("m-idx3-ubyte");
    let images: Vec<u8> = (0..4 * 5 * 5).map(|i| i as u8).collect();
    let ints: Vec<u8> = (0..6i32).flat_map(|v| (v - 3).to_be_bytes()).collect();
    let fixtures = [
        ("idx u8 images", idx(0x08, &[4, 5, 5], &images)),
        ("idx i32", idx(0x0C, &[6], &ints)),
        ("gzip idx", gzip(&idx(0x08, &[4, 5, 5], &images))),
    ];
    let mut failures = Vec::new();
    for (k, (label, valid)) in fixtures.into_iter().enumerate() {
        failures.extend(run_mutants(
            label,
            &valid,
            600,
            300 + k as u64,
            &path,
            |p| datasets::read_idx(p),
        ));
    }
    assert_no_failures(failures);
}

#[test]
fn read_event_scalars_survives_thousands_of_damaged_files() {
    let dir = temp();
    let path = dir.path().join("events.out.tfevents.damaged");
    // Written by TensorBoard's own writer (tests/reference/tensorboard_read.py).
    let valid = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/reference/tensorboard/events.out.tfevents.1764770000.python-writer"),
    )
    .unwrap();
    let failures = run_mutants("tensorboard events", &valid, 600, 400, &path, |p| {
        elegy::callbacks::read_event_scalars(p)
    });
    assert_no_failures(failures);
}

#[test]
fn read_csv_survives_thousands_of_damaged_files() {
    let dir = temp();
    let path = dir.path().join("m.csv");
    let mut failures = Vec::new();
    for (k, (label, valid, options)) in csv_fixtures().into_iter().enumerate() {
        failures.extend(run_mutants(
            label,
            &valid,
            mutants_of(&valid),
            400 + k as u64,
            &path,
            |p| datasets::read_csv(p, options.clone()),
        ));
    }
    assert_no_failures(failures);
}

/// Softmax regression, the smallest model a checkpoint of a trained runner comes from.
struct Linear;

impl Model for Linear {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        let params = if ctx.initializing {
            let (k, _) = ctx.states.rng.split();
            TensorMap::new()
                .with("w", Initializer::GlorotUniform.init(&[x.shape()[1], 3], k)?)
                .with("b", Tensor::zeros(&[3]))
        } else {
            ctx.states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(y, ctx.states.with_net_params(params)))
    }
}

fn linear_runner() -> Runner<Linear> {
    Runner::new(Linear)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(5)
        .build()
        .unwrap()
}

/// `dir/tensors-*.safetensors` of a checkpoint.
fn tensors_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .unwrap()
}

#[test]
fn checkpoint_loading_survives_thousands_of_damaged_manifests_and_tensors_files() {
    let dir = temp();
    let x = Tensor::from_vec((0..48).map(|v| (v % 7) as f32).collect(), &[12, 4]).unwrap();
    let y = Tensor::from_vec((0..12).map(|v| (v % 3) as f32).collect(), &[12]).unwrap();
    let mut trained = linear_runner();
    let options = FitOptions {
        epochs: 2,
        batch_size: 4,
        verbose: 0,
        ..FitOptions::default()
    };
    trained.fit(Data::from(x), Data::from(y), options).unwrap();
    trained.save(dir.path()).unwrap();
    let manifest_path = dir.path().join(elegy::checkpoint::MANIFEST_FILE);
    let manifest = std::fs::read(&manifest_path).unwrap();
    let tensors_path = tensors_file(dir.path());
    let tensors = std::fs::read(&tensors_path).unwrap();
    let load = |d: &Path| linear_runner().load(d.parent().unwrap());

    let mut failures = Vec::new();
    // The manifest damaged (the tensors file intact).
    failures.extend(run_mutants_with(
        "manifest",
        &manifest,
        800,
        500,
        &manifest_path,
        tensors.len(),
        |_| {},
        load,
    ));
    std::fs::write(&manifest_path, &manifest).unwrap();

    // The tensors file damaged, and the manifest updated to its size and checksum, so that the
    // safetensors reader sees the damage rather than the checksum.
    let json: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let consistent = |d: &Path| {
        let bytes = std::fs::read(d).unwrap();
        let mut crc = flate2::Crc::new();
        crc.update(&bytes);
        let mut json = json.clone();
        json["tensors"]["bytes"] = serde_json::json!(bytes.len());
        json["tensors"]["crc32"] = serde_json::json!(crc.sum());
        std::fs::write(d.with_file_name("checkpoint.json"), json.to_string()).unwrap();
    };
    failures.extend(run_mutants_with(
        "tensors file",
        &tensors,
        800,
        501,
        &tensors_path,
        manifest.len() + 64,
        consistent,
        load,
    ));
    assert_no_failures(failures);
}

#[test]
fn the_meter_sees_what_a_read_allocates_and_frees() {
    let (outcome, peak) = metered(|| {
        let big = vec![1u8; 3 << 20];
        let small = vec![0u8; 1 << 10];
        drop(big);
        Ok(small.len())
    });
    assert_eq!(outcome.unwrap().unwrap(), 1 << 10);
    assert!((3 << 20..(3 << 20) + 4096).contains(&peak), "{peak}");
    let (outcome, _) = metered(|| -> Result<()> { panic!("a reader bug") });
    assert_eq!(outcome.unwrap_err(), "a reader bug");
}

// ---------------------------------------------------------------------------------------------
// The cases of the issue, each under the meter

/// Reads `bytes` as a file named `name` with `read`, and returns the error message; the read
/// must fail cleanly within `limit` bytes of heap.
#[track_caller]
fn refused_within<T: std::fmt::Debug>(
    name: &str,
    bytes: &[u8],
    limit: usize,
    read: impl FnOnce(&Path) -> Result<T>,
) -> String {
    let dir = temp();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let (outcome, peak) = metered(|| read(&path));
    let message = match outcome {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(v)) => panic!("{name} was read: {v:?}"),
        Err(panic) => panic!("{name}: the reader panicked: {panic}"),
    };
    assert!(
        peak <= limit,
        "{name}: the reader allocated {peak} bytes for a file of {} (allowed {limit})",
        bytes.len()
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    message
}

#[test]
fn a_128_byte_npy_with_double_quoted_keys_cannot_ask_for_4_tb() {
    let bytes = npy_with_header(
        1,
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1000000000000,)}",
        &[0; 8],
    );
    assert!(bytes.len() <= 136);
    let message = refused_within("crafted.npy", &bytes, 64 << 10, |p| datasets::read_npy(p));
    assert!(message.contains("4000000000000 bytes of data"), "{message}");
}

#[test]
fn a_format_2_header_longer_than_128_kib_is_parsed_and_checked_in_full() {
    let padding = " ".repeat(200 << 10);
    let dict =
        format!("{{'descr': '<f4', {padding}'fortran_order': False, 'shape': (1000000000000,)}}");
    let bytes = npy_with_header(2, &dict, &[0; 8]);
    let message = refused_within("long.npy", &bytes, allowance(bytes.len(), 0), |p| {
        datasets::read_npy(p)
    });
    assert!(message.contains("header promises"), "{message}");
    // The same header with a shape the data fills is read.
    let dict = format!("{{'descr': '<f4', {padding}'fortran_order': False, 'shape': (2,)}}");
    let dir = temp();
    let path = dir.path().join("long-ok.npy");
    std::fs::write(&path, npy_with_header(2, &dict, &[0; 8])).unwrap();
    assert_eq!(datasets::read_npy(&path).unwrap().shape(), &[2]);
}

#[test]
fn a_header_length_field_past_the_file_is_refused_before_anything_is_allocated() {
    // 12 bytes: magic, version 2.0, a header length of 4 GiB - 1.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    let message = refused_within("len.npy", &bytes, 64 << 10, |p| datasets::read_npy(p));
    assert!(message.contains("4294967295"), "{message}");
}

#[test]
fn flipping_the_version_byte_of_a_file_elegy_wrote_is_a_clean_error() {
    let dir = temp();
    let path = dir.path().join("x.npy");
    datasets::write_npy(&path, &Tensor::zeros(&[3, 4])).unwrap();
    let valid = std::fs::read(&path).unwrap();
    for version in [2u8, 3] {
        let mut bytes = valid.clone();
        bytes[6] = version;
        // The length field now takes two bytes of the header text: about 632 MB.
        let message = refused_within("flipped.npy", &bytes, 64 << 10, |p| datasets::read_npy(p));
        assert!(message.contains("length field"), "{message}");
    }
}

#[test]
fn the_same_crafted_arrays_inside_an_npz_are_refused_naming_the_member() {
    let members: [(&str, Vec<u8>); 3] = [
        (
            "quotes.npy",
            npy_with_header(
                1,
                "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1000000000000,)}",
                &[0; 8],
            ),
        ),
        ("length.npy", {
            let mut b = b"\x93NUMPY\x02\x00".to_vec();
            b.extend_from_slice(&u32::MAX.to_le_bytes());
            b
        }),
        ("flipped.npy", {
            let mut b = written_npy(&ArrayD::<f32>::zeros(IxDyn(&[3, 4])));
            b[6] = 2;
            b
        }),
    ];
    for (name, member) in members {
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            zip.start_file(name, options).unwrap();
            zip.write_all(&member).unwrap();
            let bytes = zip.finish().unwrap().into_inner();
            let message =
                refused_within("crafted.npz", &bytes, 256 << 10, |p| datasets::read_npz(p));
            assert!(message.contains(&format!("member `{name}`")), "{message}");
        }
    }
}

#[test]
fn a_zip_member_that_inflates_past_its_declared_size_stops_there() {
    // A member declared as a 128-byte array whose deflated data holds 64 MB: decompression
    // stops one byte past the declared size.
    let header = npy_with_header(
        1,
        "{'descr': '|u1', 'fortran_order': False, 'shape': (64,)}",
        &[],
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("bomb.npy", options).unwrap();
    zip.write_all(&header).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    let mut bytes = zip.finish().unwrap().into_inner();
    // Declare the size of a 64-element array in the central directory and the local header.
    let declared = (header.len() + 64) as u32;
    let central = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    bytes[central + 24..central + 28].copy_from_slice(&declared.to_le_bytes());
    bytes[22..26].copy_from_slice(&declared.to_le_bytes());
    let message = refused_within("bomb.npz", &bytes, 1 << 20, |p| datasets::read_npz(p));
    assert!(message.contains("member `bomb.npy`"), "{message}");
}

#[test]
fn a_gzip_idx_is_decompressed_only_as_far_as_its_header_promises() {
    // 10 bytes promised, then 100 MB of zeros (about 100 KB compressed).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&idx(0x08, &[10], &[7; 10])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        gz.write_all(&zeros).unwrap();
    }
    let bytes = gz.finish().unwrap();
    let message = refused_within("bomb-idx1-ubyte.gz", &bytes, 1 << 20, |p| {
        datasets::read_idx(p)
    });
    assert!(message.contains("bytes past the data"), "{message}");
}

#[test]
fn csv_classes_of_sparse_integer_labels_take_memory_for_the_labels_that_occur() {
    let bytes = b"x,y\n1,10000000\n2,0\n";
    assert!(bytes.len() <= 24);
    let dir = temp();
    let path = dir.path().join("labels.csv");
    std::fs::write(&path, bytes).unwrap();
    let options = CsvOptions {
        targets: Targets::Classes,
        ..CsvOptions::default()
    };
    let (outcome, peak) = metered(|| datasets::read_csv(&path, options));
    let data = outcome.unwrap().unwrap();
    assert_eq!(data.class_names, ["0", "10000000"]);
    assert!(peak < 64 << 10, "{peak} bytes for 24");
}
