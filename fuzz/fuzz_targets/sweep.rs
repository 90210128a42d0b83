//! Fuzz sweep files (TOML): the body and its property are `harness::sweep` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sweep(data));
