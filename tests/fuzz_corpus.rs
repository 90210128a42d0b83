//! The fuzz targets as an ordinary test (docs/reliability.md): each target's body
//! (fuzz/harness.rs) runs over its committed seeds (fuzz/corpus/<target>/) and a fixed number
//! of deterministic mutations of them (bit flips, interesting bytes, truncations, repeats,
//! splices): `MECRL_FUZZ_EXECS` per target (default 5000). A failing input is written to
//! target/fuzz-failures/ and named in the failure. The long runs (≥ 10^6 executions per target)
//! are cargo-fuzz's: `tools/fuzz.sh`.

use std::path::{Path, PathBuf};

#[path = "../fuzz/harness.rs"]
mod harness;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// xorshift64*: the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"1e308",
    b"1e-320",
    b"nan",
    b"inf",
    b"18446744073709551616",
    b"4294967296",
    b"\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b"=",
    b",",
    b"\n",
    b"\r\n",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\x00",
    b"[[",
    b"->",
    b"/*",
    b"\\",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut d = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(d.len() + 1);
        match rng.below(6) {
            0 if !d.is_empty() => {
                let k = rng.below(d.len());
                d[k] ^= 1 << rng.below(8);
            }
            1 => {
                let s = INTERESTING[rng.below(INTERESTING.len())];
                d.splice(at..at, s.iter().copied());
            }
            2 => d.truncate(at),
            3 if !d.is_empty() => {
                let (a, len) = (rng.below(d.len()), 1 + rng.below(64));
                let chunk: Vec<u8> = d[a..(a + len).min(d.len())].to_vec();
                d.splice(at..at, chunk);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                d.truncate(at);
                d.extend_from_slice(&other[from..]);
            }
            _ if !d.is_empty() => {
                let k = rng.below(d.len());
                d[k] = [0u8, 0xFF, b'9', b'.', b'-', b' '][rng.below(6)];
            }
            _ => {}
        }
    }
    d
}

fn run(target: &str, f: harness::Target) {
    let execs: usize = std::env::var("MECRL_FUZZ_EXECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let seeds = seeds(target);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    for k in 0..execs {
        let input = if k < seeds.len() { seeds[k].clone() } else { mutate(&mut rng, &seeds) };
        if std::panic::catch_unwind(|| f(&input)).is_err() {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join(format!("{target}-{k}"));
            std::fs::write(&p, &input).unwrap();
            panic!("fuzz target `{target}` failed on execution {k}: input in {}", p.display());
        }
    }
}

#[test]
fn every_target_survives_its_corpus_and_mutations() {
    for (name, f) in harness::TARGETS {
        run(name, f);
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let toml = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml")).unwrap();
    for (name, _) in harness::TARGETS {
        assert!(toml.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml lacks {name}");
    }
}

/// Writes the binary seeds (a coop data set, a checkpoint) that have no text form:
/// `cargo test --test fuzz_corpus -- --ignored write_binary_seeds`.
#[test]
#[ignore]
fn write_binary_seeds() {
    use mecrl::backend::{self, BackendKind};
    use mecrl::env::coop::{dataset::collect, CoopConfig, CoopEnv, Heuristic};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let cfg = CoopConfig { n_nodes: 2, horizon: 2, ..CoopConfig::default() };
    let mut env = CoopEnv::new(cpu.clone(), &cfg, 1, 3).unwrap();
    let (ds, _) = collect(&mut env, Heuristic::Ratc, 0, 1, 3).unwrap();
    std::fs::create_dir_all(root.join("coop_dataset")).unwrap();
    std::fs::write(root.join("coop_dataset/ratc_n2.bin"), ds.to_bytes()).unwrap();
    let mut c = mecrl::nn::checkpoint::Checkpoint::default();
    c.tensors.insert(
        "w".into(),
        mecrl::nn::checkpoint::Stored {
            dtype: mecrl::tensor::DType::F32,
            shape: vec![2, 3],
            words: [0.5f32, -1.0, 2.0, 0.0, 1e-3, 7.0].map(f32::to_bits).to_vec(),
        },
    );
    c.tensors.insert(
        "steps".into(),
        mecrl::nn::checkpoint::Stored { dtype: mecrl::tensor::DType::U32, shape: vec![1], words: vec![12] },
    );
    c.metadata.insert("config".into(), "{\"lr\":0.001}".into());
    c.metadata.insert("format".into(), "fuzz-seed".into());
    std::fs::create_dir_all(root.join("checkpoint")).unwrap();
    std::fs::write(root.join("checkpoint/small.safetensors"), c.to_bytes().unwrap()).unwrap();
}
