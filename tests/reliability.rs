//! Issue 22's defects, each as a user met it (docs/reliability.md): sizes the machine cannot
//! hold are refused before anything is allocated, naming the field; a trace's memory does not
//! grow with slots × terminals; an offline log streams to disk; an output folder that cannot be
//! written stops a run before its work; `name = ".."` is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use mecrl::backend::{self, BackendKind};
use mecrl::env::coop::dataset::{collect, OfflineDataset};
use mecrl::env::coop::{CoopConfig, CoopEnv, Heuristic};
use mecrl::env::endedge::{trace, EndedgeConfig};
use mecrl::experiment::AnyConfig;

fn mecrl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mecrl"))
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-reliability-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `mecrl run` on `toml` (out_dir inside `d`): exit code and stderr.
fn run(d: &Path, toml: &str) -> (Option<i32>, String) {
    let p = d.join("c.toml");
    std::fs::write(&p, format!("out_dir = {:?}\nbackend = \"cpu\"\n{toml}", d.join("runs"))).unwrap();
    // A fixed limit: the same answer on a machine of any size.
    let o = mecrl().arg("run").arg(&p).arg("--quiet").env("MECRL_MAX_MEMORY", "8G").output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Before: each of these allocated until the allocator aborted (exit 134) or ran for hours
/// growing its results; now exit 2 at once, naming the field, and nothing written.
#[test]
fn oversized_configs_are_refused_naming_the_field() {
    let d = tmpdir("oversized");
    for (toml, field) in [
        ("system = \"dirs\"\n[dirs]\nhidden = [100000000, 100000000]\n", "`dirs.hidden`"),
        ("system = \"dirs\"\n[dirs]\nminibatch = 4000000000\n", "`dirs.minibatch`"),
        ("system = \"dirs\"\n[mec]\nn_iotd = 10000000\n", "`mec.n_iotd`"),
        ("steps = 100000000000\n", "`steps`"),
        ("system = \"endedge\"\n[endedge]\ndevices = 16000000\n", "`endedge.devices`"),
        ("system = \"coop\"\nbatch = 1000\n[coop]\nn_nodes = 4096\n", "`coop.n_nodes`"),
    ] {
        let (code, err) = run(&d, toml);
        assert_eq!(code, Some(2), "{toml}: {err}");
        assert!(err.contains(field) && err.contains("would need about"), "{toml}: {err}");
        assert!(!d.join("runs").exists(), "{toml}: nothing written");
    }
    // An explicit limit below the shipped config's need refuses it too, naming the limit.
    let p = d.join("small.toml");
    std::fs::write(&p, format!("out_dir = {:?}\nbackend = \"cpu\"\nbatch = 4000\n", d.join("runs"))).unwrap();
    let o = mecrl().args(["--max-memory", "1M", "run"]).arg(&p).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("MECRL_MAX_MEMORY = 1M"), "{err}");
}

/// The estimate counts what grows with a config's sizes, monotonically, and a shipped config
/// fits a small machine (a unit check of `mecrl::memory` through `AnyConfig`).
#[test]
fn estimates_grow_with_the_sizes() {
    let need = |toml: &str| AnyConfig::from_toml(toml, Path::new("t.toml")).unwrap().memory().total();
    assert!(need("batch = 128\n") > need("batch = 64\n"));
    assert!(need("system = \"dirs\"\n[dirs]\nhidden = [800, 600]\n") > need("system = \"dirs\"\n"));
    assert!(need("system = \"crowd\"\nbatch = 64\n") > need("system = \"crowd\"\n"));
}

/// Before: `read_trace` allocated a dense slots × devices grid (100,000 × 100,000: 80 GB, killed
/// by the kernel); the estimate, checked before reading, holds no such term now.
#[test]
fn a_trace_needs_memory_for_its_terminals_and_tasks_only() {
    let d = tmpdir("trace");
    let (a, b, out) = (d.join("a.csv"), d.join("b.csv"), d.join("r.csv"));
    // A byte-order mark (as spreadsheet programs write) before the header is fine.
    std::fs::write(&a, "\u{feff}slot,device,mbits\n0,0,1.0\n5,9,2.0\n").unwrap();
    std::fs::write(&b, "slot,device,action\n5,9,1\n0,0,0\n").unwrap();
    let big = EndedgeConfig { devices: 100_000, slots: 100_000, tail_slots: 0, ..EndedgeConfig::reference() };
    let need = trace::memory(&big, &a, &b).unwrap();
    assert!(need.total() < 1 << 30, "{need:?}");
    let small = EndedgeConfig { devices: 10, slots: 40, tail_slots: 0, ..EndedgeConfig::reference() };
    let res = trace::run_trace(&small, &a, &b, &out, &mut |_| {}).unwrap();
    assert_eq!(res.len(), 2);
    assert_eq!((res[0].slot, res[0].device, res[1].slot, res[1].device), (0, 0, 5, 9));
}

/// Before: the whole log was assembled in memory (`--batch 65536 --episodes 65536` grew until
/// the kernel killed it). Now it streams through scratch files, is byte-identical to the
/// in-memory format, and a log the disk cannot hold is refused before the work.
#[test]
fn offline_logs_stream_to_disk_in_the_same_format() {
    let d = tmpdir("log");
    let out = d.join("ratc.bin");
    let o = mecrl()
        .args(["coop", "log", "--method", "ratc", "--batch", "2", "--episodes", "2", "--seed", "5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let mut env = CoopEnv::new(cpu, &CoopConfig::default(), 2, 5).unwrap();
    let (ds, _) = collect(&mut env, Heuristic::Ratc, 0, 2, 5).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), ds.to_bytes(), "the streamed file is the in-memory one");
    assert_eq!(OfflineDataset::read(&out).unwrap(), ds);
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "no scratch file left");

    let huge = d.join("huge.bin");
    let o = mecrl()
        .args(["coop", "log", "--method", "random", "--batch", "65536", "--episodes", "65536", "--out"])
        .arg(&huge)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`--episodes` = 65536") && err.contains("on disk"), "{err}");
    assert!(!huge.exists());
}

/// Before: an output folder that could not be created was found after the work (18 s of DIRS
/// training, a whole mec computation). Now before the first unit of work.
#[test]
fn an_unwritable_output_folder_stops_the_run_before_its_work() {
    let d = tmpdir("unwritable");
    let file = d.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let toml = format!("backend = \"cpu\"\nbatch = 2\nout_dir = {:?}\n", file.join("runs"));
    let cfg = AnyConfig::from_toml(&toml, Path::new("t.toml")).unwrap();
    let be = backend::create(BackendKind::Cpu).unwrap();
    let mut ticks = 0u64;
    let r = mecrl::experiment::finish::run_to_dir(&cfg, None, vec![], be, &mut |k| ticks += k);
    assert!(matches!(r, Err(mecrl::error::Error::Io { .. })), "{:?}", r.map(|f| f.dir));
    assert_eq!(ticks, 0, "no work before the check");
}

#[test]
fn run_names_that_are_not_plain_file_names_are_refused() {
    for name in ["..", ".", ".hidden", "a\\u0007b"] {
        let toml = format!("name = \"{name}\"\n");
        let e = AnyConfig::from_toml(&toml, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("`name`"), "{name:?}: {e}");
    }
}

/// Before: four parallel DIRS runs into one directory shared `<name>.partial/`, and one failed
/// after another deleted the checkpoint. Now the second stops at once, naming the holder.
#[test]
fn a_learners_work_directory_is_one_runs_at_a_time() {
    let d = tmpdir("lock");
    let toml = format!(
        "system = \"dirs\"\nbackend = \"cpu\"\nout_dir = {:?}\ninference_batch = 0\neval_steps = 1\n\
         [mec]\nn_iotd = 4\n[dirs]\ndemonstrations = 2\nt_d = 2\nt_drl = 4\nminibatch = 2\n[dirs.levy]\npopulation = 2\ngenerations = 2\n",
        d.join("runs")
    );
    let cfg = AnyConfig::from_toml(&toml, Path::new("t.toml")).unwrap();
    let held = mecrl::experiment::rundir::RunLock::take(&d.join("runs"), "dirs").unwrap();
    let be = backend::create(BackendKind::Cpu).unwrap();
    let mut ticks = 0u64;
    let e = mecrl::experiment::finish::run_to_dir(&cfg, None, vec![], be.clone(), &mut |k| ticks += k)
        .expect_err("the work directory is held");
    let msg = e.to_string();
    assert!(msg.contains("`name` = dirs") && msg.contains(&format!("pid {}", std::process::id())), "{msg}");
    assert_eq!(ticks, 0);
    drop(held);
    let done = mecrl::experiment::finish::run_to_dir(&cfg, None, vec![], be, &mut |_| {}).unwrap();
    assert!(done.dir.join("manifest.json").exists());
    assert!(!d.join("runs/dirs.partial").exists(), "the work directory is removed when done");
}

/// Work files (reproduce points, sweep summaries, checkpoint metadata) are JSON: every f64
/// must read back to the same bits, or a resumed `reproduce` differs in the last digit
/// (serde_json's default float parser is off by one ulp on some inputs; mecrl enables its
/// exact `float_roundtrip` parser).
#[test]
fn json_floats_read_back_bit_for_bit() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = f64::from_bits(x);
        if !v.is_finite() {
            continue;
        }
        let text = serde_json::to_string(&v).unwrap();
        let back: f64 = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{text}");
    }
}

/// Before: `nu = 1e10` was blamed on `mec.kappa`, and huge values were written out in 300 digits.
#[test]
fn an_overflow_names_its_field_and_numbers_stay_short() {
    let e = AnyConfig::from_toml("[mec]\nnu = 1e10\n", Path::new("t.toml")).unwrap_err().to_string();
    assert!(e.contains("`mec.nu` = 10000000000"), "{e}");
    let e = AnyConfig::from_toml("[mec]\nkappa = -1e300\n", Path::new("t.toml")).unwrap_err().to_string();
    assert!(e.contains("`mec.kappa` = -1e300"), "{e}");
}

/// Before: `dag generate` held every graph before writing the first, whatever `--count`.
#[test]
fn dag_generate_refuses_a_count_it_cannot_hold() {
    let d = tmpdir("generate");
    let o = mecrl()
        .args(["dag", "generate", "--n", "50", "--count", "4000000000", "--out"])
        .arg(d.join("g"))
        .env("MECRL_MAX_MEMORY", "8G")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`--count` = 4000000000"), "{err}");
    assert_eq!(std::fs::read_dir(d.join("g")).unwrap().count(), 0, "nothing written");
}

/// A sweep of a learner: its points run under the sweep's point locks and take no second lock on
/// the same file (the work-directory lock is `mecrl run`'s).
#[test]
fn a_sweep_of_a_learner_runs_its_points() {
    let d = tmpdir("sweep-learner");
    std::fs::write(
        d.join("dirs.toml"),
        "system = \"dirs\"\nbackend = \"cpu\"\ninference_batch = 0\neval_steps = 1\n[mec]\nn_iotd = 4\n\
         [dirs]\ndemonstrations = 2\nt_d = 2\nt_drl = 4\nminibatch = 2\n[dirs.levy]\npopulation = 2\ngenerations = 2\n",
    )
    .unwrap();
    std::fs::write(
        d.join("sweep.toml"),
        format!(
            "name = \"s\"\nbase = \"dirs.toml\"\nseeds = 1\nout_dir = {:?}\n[grid]\n\"dirs.lr\" = [0.001, 0.002]\n",
            d.join("out")
        ),
    )
    .unwrap();
    let o = mecrl().arg("sweep").arg(d.join("sweep.toml")).args(["--workers", "1", "--quiet"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let done = std::fs::read_dir(d.join("out/s/points"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("manifest.json").exists())
        .count();
    assert_eq!(done, 2, "{err}");
}
