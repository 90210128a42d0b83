//! Fuzz training checkpoints (safetensors + checksum): the body and its property are `harness::checkpoint` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::checkpoint(data));
