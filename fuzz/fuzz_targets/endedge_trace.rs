//! Fuzz the endedge trace CSVs (arrivals, actions): the body and its property are `harness::endedge_trace` (fuzz/harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::endedge_trace(data));
