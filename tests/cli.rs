//! The `mecrl` binary as a user runs it: a complete run directory on success; on bad input a
//! typed message naming the field and value, a non-zero exit code, and no run directory.

use std::path::{Path, PathBuf};
use std::process::Command;

fn mecrl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mecrl"))
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SMALL: &str = r#"
name = "t"
backend = "cpu"
batch = 4
steps = 2
[mec]
n_iotd = 12
n_mec = 3
[levy]
population = 4
generations = 5
"#;

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("c.toml");
    std::fs::write(&p, format!("{SMALL}\n{extra}")).unwrap();
    p
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn run_writes_table_csv_and_manifest() {
    let d = tmpdir("ok");
    let cfg = write_config(&d, "");
    let out = d.join("runs");
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    for m in ["local", "random", "greedy", "levy_classic", "levy_paper", "levy_exact"] {
        assert!(stdout.contains(m), "table lists {m}:\n{stdout}");
    }
    let run = out.join("t");
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6 * 4 * 2, "header + methods × instances × steps");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 1);
    assert_eq!(manifest["backend"], "cpu");
    assert_eq!(manifest["config"]["mec"]["n_iotd"], 12);
    assert!(manifest["mecrl_version"].is_string());
    let commit = manifest["git_commit"].as_str().unwrap();
    assert!(commit == "unknown" || commit.len() >= 40, "a full commit hash: {commit}");
    assert_eq!(entries(&out), vec!["t".to_string()], "no temporary directory left behind");
}

/// A rerun of the same config goes to `t-2` and says so; without a terminal on stderr the
/// progress comes as plain lines (a first and a last one for a job this short).
#[test]
fn rerun_says_where_it_went_and_logs_progress_lines() {
    let d = tmpdir("rerun");
    let cfg = write_config(&d, "");
    let out = d.join("runs");
    let run = |quiet: bool| {
        let mut c = mecrl();
        c.arg("run").arg(&cfg).arg("--out").arg(&out);
        if quiet {
            c.arg("--quiet");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (first, err) = run(false);
    assert!(first.contains(&format!("run directory: {}\n", out.join("t").display())), "{first}");
    let progress: Vec<&str> = err.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(progress.len(), 2, "{err}");
    assert!(progress[0].contains(": started, "), "{err}");
    assert!(progress[1].contains("(100 %)"), "{err}");
    let (second, err) = run(true);
    let want = format!(
        "run directory: {} ({} exists; a rerun never overwrites)",
        out.join("t-2").display(),
        out.join("t").display()
    );
    assert!(second.contains(&want), "{second}");
    assert!(!err.contains("started"), "--quiet writes no progress: {err}");
}

#[test]
fn a_missing_config_file_says_so_once() {
    let o = mecrl().args(["run", "/nonexistent/mecrl.toml"]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert!(err.contains("/nonexistent/mecrl.toml"), "{err}");
}

fn assert_rejected(tag: &str, extra: &str, args: &[&str], must_contain: &[&str]) {
    let d = tmpdir(tag);
    let cfg = write_config(&d, extra);
    let out = d.join("runs");
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out).arg("--quiet").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{tag}: must fail");
    for s in must_contain {
        assert!(err.contains(s), "{tag}: stderr should contain {s:?}:\n{err}");
    }
    assert!(entries(&out).is_empty(), "{tag}: no run directory: {:?}", entries(&out));
}

#[test]
fn bad_inputs_fail_with_named_field_and_no_run_directory() {
    // TOML tables can't be reopened, so these override the fields through a second file.
    let d = tmpdir("bad");
    for (tag, text, must) in [
        ("n0", SMALL.replace("n_iotd = 12", "n_iotd = 0"), vec!["mec.n_iotd", "0"]),
        ("negpow", SMALL.replace("n_mec = 3", "n_mec = 3\np_max_w = -1.5"), vec!["mec.p_max_w", "-1.5"]),
        ("nangain", SMALL.replace("n_mec = 3", "n_mec = 3\nbeta0 = nan"), vec!["mec.beta0", "NaN"]),
        ("backend", SMALL.replace("backend = \"cpu\"", "backend = \"tpu\""), vec!["backend", "tpu"]),
        ("unknown", SMALL.replace("n_mec = 3", "n_mec = 3\nn_iotds = 5"), vec!["n_iotds"]),
        ("beta", SMALL.replace("generations = 5", "generations = 5\nbeta = 2.5"), vec!["levy.beta", "2.5"]),
    ] {
        let p = d.join(format!("{tag}.toml"));
        std::fs::write(&p, text).unwrap();
        let out = d.join(format!("runs-{tag}"));
        let o = mecrl().arg("run").arg(&p).arg("--out").arg(&out).arg("--quiet").output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{tag}: must fail");
        assert_ne!(o.status.code(), Some(0));
        for s in must {
            assert!(err.contains(s), "{tag}: stderr should contain {s:?}:\n{err}");
        }
        assert!(entries(&out).is_empty(), "{tag}: no run directory");
    }
    assert_rejected("cli-backend", "", &["--backend", "quantum"], &["backend", "quantum"]);
    let o = mecrl().args(["run", "/nonexistent/x.toml"]).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("/nonexistent/x.toml"));
}

#[test]
fn run_dispatches_on_the_system_key() {
    let d = tmpdir("systems");
    // the shipped dag config, cut down: its grids with fewer and smaller graphs
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/dag.toml")).unwrap();
    let small = shipped.replace("graphs = 100", "graphs = 2").replace("n = [10, 15, 25, 35, 45, 50]", "n = [6, 30]");
    assert_ne!(small, shipped);
    let p = d.join("dag.toml");
    std::fs::write(&p, small).unwrap();
    let out = d.join("runs");
    let o = mecrl().arg("run").arg(&p).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    for label in ["topology n=20", "tasks_test n=40", "rate_test n=20 11.5 Mbps", "n/a"] {
        assert!(stdout.contains(label), "table shows {label}:\n{stdout}");
    }
    let run = out.join("dag");
    let csv = std::fs::read_to_string(run.join("datasets.csv")).unwrap();
    // 25 topology sets + 2 + 3 task-number sets + 7 + 3 rates
    assert_eq!(csv.lines().count(), 1 + 25 + 2 + 3 + 7 + 3, "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("topology,") && l.contains(",test,")).count(), 3);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["system"], "dag");
    assert_eq!(manifest["config"]["dag"]["semantics"], "reference");
    assert_eq!(manifest["summary"]["rate_test"].as_array().unwrap().len(), 3);

    for (tag, text, must) in [
        ("system", "system = \"quantum\"\n", vec!["system", "quantum"]),
        ("systype", "system = 3\n", vec!["system", "string"]),
        ("dagfield", "system = \"dag\"\n[dag]\nrate_up_mbps = -1.0\n", vec!["dag.rate_up_mbps", "-1"]),
    ] {
        let p = d.join(format!("{tag}.toml"));
        std::fs::write(&p, text).unwrap();
        let out = d.join(format!("runs-{tag}"));
        let o = mecrl().arg("run").arg(&p).arg("--out").arg(&out).arg("--quiet").output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{tag}: must fail");
        for s in must {
            assert!(err.contains(s), "{tag}: stderr should contain {s:?}:\n{err}");
        }
        assert!(entries(&out).is_empty(), "{tag}: no run directory");
    }
}

#[test]
fn devices_lists_every_backend() {
    let o = mecrl().arg("devices").output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    for k in ["cpu", "wgpu", "cuda", "cuda-host", "auto"] {
        assert!(s.contains(k), "{s}");
    }
    assert!(s.lines().any(|l| l.starts_with("cpu") && l.contains(" ok ")), "{s}");
}

/// Without `XDG_RUNTIME_DIR` (a cron job, a container, CI) probing the wgpu backend prints
/// nothing on stderr: Mesa's device-select layer would have libwayland complain twice.
#[test]
fn devices_without_a_runtime_dir_prints_no_loader_noise() {
    let o = mecrl().arg("devices").env_remove("XDG_RUNTIME_DIR").env_remove("NODEVICE_SELECT").output().unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
}

#[test]
fn dag_generate_then_baselines_writes_a_consistent_csv() {
    let d = tmpdir("dag");
    let out = d.join("graphs");
    let o = mecrl()
        .args(["dag", "generate", "--n", "12", "--count", "4", "--seed", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(entries(&out).len(), 4);
    for sem in ["reference", "paper"] {
        let csv_path = d.join(format!("{sem}.csv"));
        let o = mecrl()
            .args(["dag", "baselines", "--semantics", sem, "--rate", "8.5", "--dot"])
            .arg(&out)
            .arg("--out")
            .arg(&csv_path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let csv = std::fs::read_to_string(&csv_path).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("file,greedy,heft,all_local,all_mec,optimal"));
        let rows: Vec<Vec<f64>> =
            lines.map(|l| l.split(',').skip(1).map(|x| x.parse::<f64>().unwrap()).collect()).collect();
        assert_eq!(rows.len(), 4);
        for r in rows {
            // Optimal is the minimum over all plans: never above all-local or all-MEC.
            assert!(r[4] <= r[2] + 1e-12 && r[4] <= r[3] + 1e-12, "{sem}: {r:?}");
        }
    }
}

#[test]
fn dag_baselines_malformed_file_names_file_and_line_and_writes_nothing() {
    let d = tmpdir("dagbad");
    std::fs::write(d.join("a.gv"), "digraph G {\n1 [size=\"10\", expect_size=\"5\"]\n1 -> 7 [size=\"3\"]\n}\n")
        .unwrap();
    let o = mecrl().args(["dag", "baselines", "--dot"]).arg(&d).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("a.gv") && err.contains(":3"), "{err}");
    assert!(!d.join("baselines.csv").exists());
    let o = mecrl().args(["dag", "baselines", "--rate=-1", "--dot"]).arg(&d).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--rate"));
}

#[test]
fn crowd_run_with_case_writes_table3_and_series_and_case_is_crowd_only() {
    let d = tmpdir("crowd");
    let cfg = d.join("crowd.toml");
    std::fs::write(&cfg, "system = \"crowd\"\nname = \"cr\"\nbatch = 2\n[crowd]\nhorizon_slots = 30\n").unwrap();
    let out = d.join("runs");
    let o = mecrl().arg("run").arg(&cfg).args(["--case", "II", "--quiet", "--out"]).arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    let run = out.join("cr");
    let csv = std::fs::read_to_string(run.join("table3.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3, "header + one row per policy of case II");
    assert!(csv.lines().skip(1).all(|l| l.starts_with("II,")), "{csv}");
    assert!(run.join("series_case_II.csv").exists() && !run.join("series_case_I.csv").exists());
    // a bad case, and --case on a system without cases: typed errors, no run directory
    let bad =
        mecrl().arg("run").arg(&cfg).args(["--case", "IV", "--quiet", "--out"]).arg(d.join("r2")).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("--case") && err.contains("IV"), "{err}");
    let mec = write_config(&d, "");
    let bad =
        mecrl().arg("run").arg(&mec).args(["--case", "II", "--quiet", "--out"]).arg(d.join("r3")).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("--case") && err.contains("mec system has no cases"), "{err}");
    assert!(!d.join("r2").exists() && !d.join("r3").exists());
}

/// `mecrl run` of a small DIRS config: the comparison table, the CSVs and the trained agents.
#[test]
fn run_dirs_trains_and_compares_with_the_baselines() {
    let d = tmpdir("dirs");
    let cfg = d.join("dirs.toml");
    std::fs::write(
        &cfg,
        r#"
system = "dirs"
name = "d"
backend = "cpu"
eval_steps = 3
inference_batch = 16
log_every = 5
[mec]
n_iotd = 8
[dirs]
demonstrations = 16
t_d = 5
t_drl = 12
minibatch = 8
[dirs.levy]
population = 4
generations = 5
"#,
    )
    .unwrap();
    let out = d.join("runs");
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    for m in ["dirs", "greedy", "random", "local", "imitation", "per instance"] {
        assert!(stdout.contains(m), "the table mentions {m}:\n{stdout}");
    }
    let run = out.join("d");
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 4, "header + two sets × four methods");
    let train = std::fs::read_to_string(run.join("training.csv")).unwrap();
    assert_eq!(train.lines().count(), 1 + 12 / 5 + 1, "steps 0, 5, 10");
    assert!(std::fs::metadata(run.join("agents.safetensors")).unwrap().len() > 0);
    let _ = std::fs::remove_dir_all(&d);
}

/// A stand-in for a Python with JAX: answers `-c "import jax"` and speaks the `--serve`
/// protocol of `tools/bench_nn_jax.py` (an info line, then 2 ms per step for every request).
fn fake_jax(dir: &Path) -> PathBuf {
    let p = dir.join("python");
    std::fs::write(
        &p,
        "#!/bin/sh\n[ \"$1\" = -c ] && exit 0\necho '{\"jax_version\": \"fake\", \"device\": \"cpu:0\"}'\n\
         while read case steps; do echo 0.002; done\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn bench_nn_alternates_with_the_jax_reference() {
    let dir = tmpdir("bench-nn");
    let out =
        mecrl().args(["bench", "nn", "--steps", "2", "--reps", "1", "--python"]).arg(fake_jax(&dir)).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for case in ["(a) DIRS agents", "(b) [100,80,60,100]", "(c) LSTM"] {
        let line = stdout.lines().find(|l| l.starts_with(case)).unwrap_or_else(|| panic!("{case}: {stdout}"));
        let cols: Vec<&str> = line.split_whitespace().rev().take(4).collect();
        // (range of the blocks' ratios), ratio, JAX's 2 ms, ours: the ratio is JAX's time over ours
        let (ratio, jax, ours): (f64, f64, f64) =
            (cols[1].trim_end_matches('x').parse().unwrap(), cols[2].parse().unwrap(), cols[3].parse().unwrap());
        assert_eq!(jax, 2.0, "{line}");
        assert!(ours > 0.0 && (ratio - jax / ours).abs() <= 0.01 * ratio + 0.005, "{line}");
        // one block: the range is that block's ratio
        let range: Vec<f64> =
            cols[0].trim_matches(|c| c == '(' || c == ')').split('–').map(|x| x.parse().unwrap()).collect();
        assert!(range.iter().all(|r| (r - ratio).abs() <= 0.006), "{line}");
    }
    assert!(stdout.contains("JAX fake on cpu:0"), "{stdout}");
    // without JAX: our times, no reference, a message saying how to get one
    let out = mecrl()
        .args(["bench", "nn", "--steps", "2", "--reps", "1", "--python", "/nonexistent/python"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pip install jax"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("(b)")).unwrap();
    assert!(line.trim_end().ends_with('-'), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--out` by the one rule of `mecrl::output`: a device is written through and stays a device,
/// a directory is refused before any work (nothing left beside it), a regular file is replaced.
#[test]
fn outputs_never_replace_devices_or_folders() {
    let d = tmpdir("outputs");
    let arrivals = d.join("a.csv");
    let actions = d.join("b.csv");
    std::fs::write(&arrivals, "slot,device,mbits\n0,0,3.0\n1,49,2.2\n").unwrap();
    std::fs::write(&actions, "slot,device,action\n0,0,5\n1,49,0\n").unwrap();
    let trace = |out: &Path| {
        mecrl()
            .args(["endedge", "trace", "--arrivals"])
            .arg(&arrivals)
            .arg("--actions")
            .arg(&actions)
            .args(["--devices", "50", "--servers", "5", "--slots", "110", "--deadline", "10", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    #[cfg(unix)]
    if Path::new("/dev/full").exists() {
        // Before: /dev/full was renamed over, a regular file in place of the device.
        let o = trace(Path::new("/dev/full"));
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device(), "/dev/full is still a device");
    }
    let folder = d.join("X.csv");
    std::fs::create_dir(&folder).unwrap();
    let o = trace(&folder);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`--out`"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mecrl().args(["coop", "log", "--method", "ratc", "--batch", "1", "--out"]).arg(&folder).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a directory"), "{}", String::from_utf8_lossy(&o.stderr));
    let missing = d.join("no/such/folder/r.csv");
    let o = trace(&missing);
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"), "{}", String::from_utf8_lossy(&o.stderr));
    let names = entries(&d);
    assert_eq!(names, ["X.csv", "a.csv", "b.csv"], "nothing partial left beside the outputs");
    let file = d.join("r.csv");
    std::fs::write(&file, "old").unwrap();
    assert!(trace(&file).status.success());
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("slot,device,action,delay_slots,unfinished\n"));
}

#[test]
fn bench_roofline_refuses_stream_arrays_the_machine_cannot_hold() {
    let out = mecrl().args(["bench", "roofline", "--mib", "100000000"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--mib") && err.contains("100000000"), "{err}");
}

/// The CPU backend counts the bytes each launch binds (the env benches' rooflines): every bound
/// buffer once per launch, nothing for uploads or downloads.
#[test]
fn cpu_backend_counts_the_bytes_its_launches_bind() {
    use mecrl::rng::{RngFillParams, RNG_FILL};
    let be = mecrl::backend::create(mecrl::BackendKind::Cpu).unwrap();
    let out = be.alloc(400).unwrap();
    let _ = be.download(&out).unwrap();
    assert_eq!(be.bound_bytes(), 0);
    let p = RngFillParams { n: 100, ..Default::default() };
    for launches in 1..=3u64 {
        be.launch(&RNG_FILL, bytemuck::bytes_of(&p), 100, &[&out]).unwrap();
        assert_eq!(be.bound_bytes(), launches * 1600);
    }
}
