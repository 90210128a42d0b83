//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (cargo-fuzz, libFuzzer)
//! and `tests/fuzz_corpus.rs` (an ordinary test over the committed corpus and its mutations,
//! run by CI). Each takes any bytes: a parse gives a value or a typed error, never a panic,
//! and what parses obeys the property stated on the function. A panic here is a bug.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mecrl::env::coop::dataset::OfflineDataset;
use mecrl::env::dag::dot::{parse_dot, write_dot};
use mecrl::env::endedge::{trace, EndedgeConfig};
use mecrl::experiment::sweep::spec::SweepFile;
use mecrl::experiment::AnyConfig;
use mecrl::nn::checkpoint::Checkpoint;
use mecrl::Error;

/// A target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (`fuzz/fuzz_targets/<name>.rs`, `fuzz/corpus/<name>/`).
pub const TARGETS: [(&str, Target); 8] = [
    ("config", config),
    ("sweep", sweep),
    ("endedge_trace", endedge_trace),
    ("coop_dataset", coop_dataset),
    ("checkpoint", checkpoint),
    ("reproduce_points", reproduce_points),
    ("dag_dot", dag_dot),
    ("memory_size", memory_size),
];

/// A run config of any system: parses and validates, or an error naming a field or a line;
/// what parses has a finite memory estimate and validates again after a JSON round trip.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match AnyConfig::from_toml(&text, Path::new("fuzz.toml")) {
        Ok(cfg) => {
            let need = cfg.memory();
            assert!(need.total() >= mecrl::memory::BASE);
            let _ = cfg.work_units();
            let _ = cfg.to_json();
            cfg.validate().expect("a parsed config validates again");
        }
        Err(Error::Config { field, .. }) => assert!(!field.is_empty()),
        Err(Error::Parse { .. }) => {}
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

/// A sweep file: parses and validates, or a typed error.
pub fn sweep(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match SweepFile::from_toml(&text, Path::new("fuzz-sweep.toml")) {
        Ok(_) | Err(Error::Config { .. }) | Err(Error::Parse { .. }) => {}
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Arrivals and actions CSVs (the input split at its first 0xFF byte, else in half): a parse
/// error names a line of one of them; a trace that parses simulates one result per task.
pub fn endedge_trace(data: &[u8]) {
    let cut = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len() / 2);
    let (a, b) = (&data[..cut], &data[(cut + 1).min(data.len())..]);
    let d = scratch();
    let (pa, pb) = (
        d.join(format!("a-{:?}.csv", std::thread::current().id())),
        d.join(format!("b-{:?}.csv", std::thread::current().id())),
    );
    std::fs::write(&pa, a).expect("scratch file");
    std::fs::write(&pb, b).expect("scratch file");
    let cfg = EndedgeConfig { devices: 8, servers: 3, slots: 40, tail_slots: 0, ..EndedgeConfig::reference() };
    match trace::read_trace(&cfg, &pa, &pb) {
        Ok(t) => {
            let res = trace::simulate_tasks(&cfg, &t.tasks, &mut |_| {});
            assert_eq!(res.len(), t.tasks.len());
        }
        Err(Error::Parse { path, line, .. }) => assert!(line >= 1 && (path == pa || path == pb)),
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

/// A coop offline data set file: a typed error, or a data set whose bytes are the input.
pub fn coop_dataset(data: &[u8]) {
    match OfflineDataset::from_bytes(data, Path::new("fuzz.bin")) {
        Ok(ds) => assert_eq!(ds.to_bytes(), data, "a parsed data set writes back byte for byte"),
        Err(Error::Parse { .. }) => {}
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

/// A checkpoint (safetensors + mecrl's checksum): a typed error, or a checkpoint that writes
/// back to bytes that parse to the same checkpoint.
pub fn checkpoint(data: &[u8]) {
    let path = Path::new("fuzz.safetensors");
    match Checkpoint::from_bytes(data, path) {
        Ok(c) => {
            if let Ok(bytes) = c.to_bytes() {
                let again = Checkpoint::from_bytes(&bytes, path).expect("a written checkpoint parses");
                let mut want = c.clone();
                want.metadata.insert(mecrl::nn::checkpoint::CHECKSUM_KEY.into(), format!("{:08x}", c.digest()));
                assert_eq!(again, want);
            }
        }
        Err(Error::Parse { .. }) => {}
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

/// A point file of `mecrl reproduce dirs` (`points/*.json`): any of its outcome types parses or
/// is refused; what parses writes back to JSON that parses to the same value.
pub fn reproduce_points(data: &[u8]) {
    use mecrl::experiment::dirs::Outcome;
    use mecrl::experiment::dirs_reproduce::{BaselineOutcome, LevyOutcome};
    if let Ok(o) = serde_json::from_slice::<LevyOutcome>(data) {
        let back: LevyOutcome = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{o:?}"));
    }
    if let Ok(o) = serde_json::from_slice::<BaselineOutcome>(data) {
        let back: BaselineOutcome = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{o:?}"));
    }
    if let Ok(o) = serde_json::from_slice::<Outcome>(data) {
        // Non-finite floats have no JSON form; serde_json writes them as null.
        if let Ok(text) = serde_json::to_string(&o) {
            let _ = serde_json::from_str::<Outcome>(&text);
        }
    }
}

/// The DAGGEN DOT reader: a `Dag` or an `Error::Parse` with a line; a graph that parses writes
/// back to text that parses to the same graph.
pub fn dag_dot(data: &[u8]) {
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
}

/// `--max-memory` / MECRL_MAX_MEMORY sizes: a size or None, never a panic; sizes print.
pub fn memory_size(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(b) = mecrl::memory::parse_size(&text) {
        assert!(b > 0);
        let _ = mecrl::memory::human(b);
    }
}
