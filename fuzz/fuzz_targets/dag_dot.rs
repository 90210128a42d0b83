//! Fuzz the DAGGEN DOT reader: the body and its property are `harness::dag_dot` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::dag_dot(data));
