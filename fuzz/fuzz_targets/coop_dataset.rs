//! Fuzz the coop offline data set (binary, CRC-32): the body and its property are `harness::coop_dataset` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::coop_dataset(data));
