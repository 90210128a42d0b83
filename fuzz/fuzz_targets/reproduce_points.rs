//! Fuzz `mecrl reproduce dirs` point files (JSON): the body and its property are `harness::reproduce_points` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::reproduce_points(data));
