//! `Checkpoint::read` of a directory made from the input: its first 4 bytes (little-endian) are
//! the manifest's length, the manifest follows, then the tensors file (the manifest names
//! `tensors-000001.safetensors`; its size and CRC-32 must match for the tensors to be parsed).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let split = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (manifest, tensors) = rest.split_at(split);
    let manifest_path = common::file_with("checkpoint/checkpoint.json", manifest);
    common::file_with("checkpoint/tensors-000001.safetensors", tensors);
    let _ = elegy::checkpoint::Checkpoint::read(manifest_path.parent().unwrap());
});
