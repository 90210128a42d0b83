//! Fuzz `--max-memory` sizes: the body and its property are `harness::memory_size` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::memory_size(data));
