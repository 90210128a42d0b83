//! Fuzz the DAGGEN DOT reader: any bytes give a `Dag` or an `Error::Parse`, never a panic; a
//! graph that parses writes back to text that parses to the same graph.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mecrl::env::dag::dot::{parse_dot, write_dot};
use mecrl::Error;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.dot");
    match parse_dot(&text, path) {
        Ok(dag) => {
            let again = parse_dot(&write_dot(&dag), path).expect("written DOT parses");
            assert_eq!(again, dag, "write/parse round trip");
        }
        Err(Error::Parse { line, .. }) => assert!(line >= 1),
        Err(e) => panic!("unexpected error kind: {e}"),
    }
});
