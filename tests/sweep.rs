//! `mecrl sweep` as a user runs it: the binary, a sweep file, the local executor's worker
//! processes, kills and reruns, bad files, the lock; and, where the test command started them,
//! a real local Ray head and a real single-node Slurm (tools/ray_local.sh, tools/slurm_local.sh).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mecrl");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (`extra` is appended inside `[grid]`, or opens tables of its own.)
/// A sweep of 4 configurations × 2 seeds of small `mec` runs (each a few tenths of a second).
fn sweep_file(dir: &Path, extra: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/mec.toml");
    let text = format!(
        "name = \"t\"\nbase = \"{}\"\nseeds = 2\nout_dir = \"{}\"\nretries = 1\n\
         [set]\nbackend = \"cpu\"\nbatch = 8\nmethods = [\"local\", \"greedy\", \"levy_exact\"]\n\
         \"levy.generations\" = 300\n\"levy.population\" = 32\n\
         [grid]\n\"mec.n_iotd\" = [20, 40]\n\"mec.n_mec\" = {{ range = [2, 3, 1] }}\n{extra}",
        base.display(),
        dir.join("out").display()
    );
    let f = dir.join("sweep.toml");
    std::fs::write(&f, text).unwrap();
    f
}

fn mecrl(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("RAYON_NUM_THREADS", "1").output().unwrap()
}

fn ok(o: &Output) -> String {
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "stdout:\n{s}\nstderr:\n{}", String::from_utf8_lossy(&o.stderr));
    s
}

fn report(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join("t/report").join(file)).unwrap()
}

/// A report file without its timing rows (wall times differ from run to run).
fn results(out: &Path, file: &str) -> String {
    report(out, file).lines().filter(|l| !l.contains(",wall_s,")).map(|l| format!("{l}\n")).collect()
}

/// Every point's directory exactly once: 8 hashes, no numbered copies, no partial directories.
fn points_exactly_once(out: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(out.join("t/points"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.iter().all(|n| n.len() == 16 && n.chars().all(|c| c.is_ascii_hexdigit())), "{names:?}");
    let rows = report(out, "points.csv");
    for n in &names {
        let k = rows.lines().filter(|l| l.split(',').nth(1) == Some(n.as_str())).count();
        assert_eq!(k, 12, "point {n}: 3 methods × (3 metrics + wall_s) in points.csv, once each");
    }
}

/// The uninterrupted sweep every other run is compared with (run once per test binary).
fn reference() -> &'static (String, String) {
    static R: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        let d = tmp("reference");
        let f = sweep_file(&d, "");
        let s = ok(&mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]));
        assert!(s.contains("8 points: 0 done before, 8 ran, 0 failed"), "{s}");
        points_exactly_once(&d.join("out"));
        let again = ok(&mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]));
        assert!(again.contains("8 done before, 0 ran"), "a rerun runs nothing: {again}");
        (report(&d.join("out"), "summary.csv"), results(&d.join("out"), "points.csv"))
    })
}

#[test]
fn a_local_sweep_writes_run_directories_and_a_report() {
    let (summary, _) = reference();
    // 4 configurations × 3 methods × 3 metrics, each over 2 seeds.
    assert_eq!(summary.lines().count(), 1 + 36, "{summary}");
    assert!(summary.starts_with("mec.n_iotd,mec.n_mec,labels,metric,n,mean,std,ci95_low,ci95_high\n"));
    assert!(summary.lines().skip(1).all(|l| l.split(',').nth(4) == Some("2")), "two seeds per row");
    let d = tmp("dry");
    let f = sweep_file(&d, "");
    let s = ok(&mecrl(&["sweep", f.to_str().unwrap(), "--dry-run"]));
    assert_eq!(s.lines().filter(|l| l.contains("to run")).count(), 8, "{s}");
    assert!(!d.join("out").exists(), "a dry run writes nothing");
}

/// SIGKILL the sweep midway, then a worker of the rerun: the second rerun completes every
/// point exactly once, with the results of the uninterrupted sweep.
#[test]
fn killed_sweeps_and_workers_resume_to_the_same_results() {
    let (summary, points) = reference();
    let d = tmp("kill");
    let f = sweep_file(&d, "");
    let out = d.join("out");
    let done = || {
        std::fs::read_dir(out.join("t/points"))
            .map(|r| r.filter(|e| e.as_ref().unwrap().path().join("manifest.json").is_file()).count())
            .unwrap_or(0)
    };
    let mut child = Command::new(BIN)
        .args(["sweep", f.to_str().unwrap(), "--quiet", "--workers", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while done() < 2 && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Its worker, orphaned, finishes its point and exits (its stdin closed): wait for it, so
    // that the worker killed below is the rerun's own.
    let t0 = Instant::now();
    while worker_pid(&out.join("t")).is_some() && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let after_kill = done();
    assert!((2..8).contains(&after_kill), "killed midway: {after_kill} points done");
    // Rerun, and SIGKILL one of its workers while it runs a point: the pool retries it.
    let mut child = Command::new(BIN)
        .args(["sweep", f.to_str().unwrap(), "--quiet", "--workers", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = out.join("t");
    let t0 = Instant::now();
    let mut killed = false;
    while !killed && t0.elapsed() < Duration::from_secs(120) && child.try_wait().unwrap().is_none() {
        if let Some(pid) = worker_pid(&dir) {
            killed = Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let o = child.wait_with_output().unwrap();
    let s = ok(&o);
    assert!(killed, "a worker was killed");
    assert!(s.contains(&format!("{after_kill} done before")), "{s}");
    points_exactly_once(&out);
    assert_eq!(&report(&out, "summary.csv"), summary, "the same aggregated results as the uninterrupted sweep");
    assert_eq!(&results(&out, "points.csv"), points, "every point's values as in the uninterrupted sweep");
}

/// The pid of a `mecrl sweep worker` process of the sweep in `dir`, from /proc.
fn worker_pid(dir: &Path) -> Option<u32> {
    let want = dir.to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else { continue };
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "worker") && args.contains(&want) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_failing_point_is_recorded_retried_and_rerun() {
    let d = tmp("fail");
    let f = sweep_file(&d, "");
    let out = d.join("out");
    let plan = ok(&mecrl(&["sweep", f.to_str().unwrap(), "--dry-run"]));
    let hash = plan.lines().nth(3).unwrap().split_whitespace().nth(1).unwrap().to_string();
    // A file where point 2's run directory would go: its worker cannot complete it.
    std::fs::create_dir_all(out.join("t/points")).unwrap();
    std::fs::write(out.join("t/points").join(&hash), "in the way").unwrap();
    let o = mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("point 2 failed") && err.contains("1 of 8 points failed"), "{err}");
    let rec = std::fs::read_to_string(out.join("t/failed").join(format!("{hash}.json"))).unwrap();
    assert!(rec.contains("\"attempts\": 2"), "tried twice (retries = 1): {rec}");
    let status = ok(&mecrl(&["sweep", "status", out.join("t").to_str().unwrap()]));
    assert!(status.contains("7 done, 1 failed, 0 not done"), "{status}");
    assert!(report(&out, "summary.md").contains("7 done, 1 failed"));
    std::fs::remove_file(out.join("t/points").join(&hash)).unwrap();
    let s = ok(&mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]));
    assert!(s.contains("7 done before, 1 ran, 0 failed"), "{s}");
    assert!(!out.join("t/failed").join(format!("{hash}.json")).exists(), "a success clears the record");
    assert_eq!(&report(&out, "summary.csv"), &reference().0);
}

#[test]
fn two_sweeps_cannot_share_a_directory() {
    let d = tmp("lock");
    let f = sweep_file(&d, "");
    std::fs::create_dir_all(d.join("out/t")).unwrap();
    let lock = std::fs::File::create(d.join("out/t/sweep.lock")).unwrap();
    lock.try_lock().unwrap();
    let o = mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another `mecrl sweep` is running"));
    assert!(!d.join("out/t/sweep.json").exists(), "nothing planned while the lock is held");
    drop(lock);
    ok(&mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]));
    // Another sweep (other points) into the same directory is refused; the first one's kept.
    let text = std::fs::read_to_string(&f).unwrap().replace("[20, 40]", "[20, 50]");
    let g = d.join("other.toml");
    std::fs::write(&g, text).unwrap();
    let o = mecrl(&["sweep", g.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds another sweep"), "{o:?}");
    assert!(ok(&mecrl(&["sweep", f.to_str().unwrap(), "--quiet"])).contains("8 done before, 0 ran"));
}

/// Bad sweep files stop before anything runs, naming the field and the value.
#[test]
fn bad_sweep_files_fail_before_anything_runs() {
    let cases = [
        ("[report]\nbogus = 1\n", "bogus"),
        ("\"mec.area_m\" = 3\n", "grid.\"mec.area_m\""),
        ("[random]\ncount = 2\n\"mec.n_iotd\" = { int = [1, 5] }\n", "conflicting axes"),
        ("\"mec.area_m\" = []\n", "the axis is empty"),
        ("\"mec.beta0\" = [1e-3, -1.0]\n", "mec.beta0"),
        ("\"mec.no_such_field\" = [1]\n", "no_such_field"),
        ("seed = [1, 2]\n", "seeds"),
    ];
    for (extra, needle) in cases {
        let d = tmp("bad");
        let f = sweep_file(&d, extra);
        let o = mecrl(&["sweep", f.to_str().unwrap(), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra}: {err}");
        assert!(err.contains(needle), "{extra}: {err}");
        assert!(!d.join("out").exists(), "{extra}: nothing written");
    }
}

/// A real engine the test command started, or None (then the test says so and passes, unless
/// `require` names an environment variable that is set: the test command set up the engine).
fn engine(vars: &[&str], require: &str) -> Option<Vec<String>> {
    let vals: Vec<Option<String>> = vars.iter().map(|v| std::env::var(v).ok().filter(|s| !s.is_empty())).collect();
    if vals.iter().all(Option::is_some) {
        return Some(vals.into_iter().flatten().collect());
    }
    assert!(std::env::var(require).is_err(), "{require} is set but {vars:?} are not: the engine did not start");
    eprintln!("skipped: no {vars:?} (tools/test.sh starts the engine)");
    None
}

/// The points of the sweep in `dir` being run by a `mecrl sweep run-point` process, and their
/// parents (a Ray worker).
fn run_point_parents(dir: &Path) -> Vec<u32> {
    let want = dir.to_string_lossy().into_owned();
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else { continue };
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "run-point") && args.contains(&want) {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid …: the comm may hold spaces, so split after its ')'.
            let ppid: Option<u32> = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse().ok());
            out.extend(ppid);
        }
    }
    out
}

/// A sweep on a local Ray head (`ray start --head`, tools/ray_local.sh): the same report as the
/// local executor; SIGKILL of the sweep midway, then of a Ray worker running a point during the
/// rerun: every point exactly once, the same results.
#[test]
fn ray_executor_matches_local_and_survives_kills() {
    let Some(v) = engine(&["MECRL_TEST_RAY_ADDRESS", "MECRL_TEST_RAY_PYTHON"], "MECRL_REQUIRE_RAY") else { return };
    let (addr, python) = (&v[0], &v[1]);
    let (summary, points) = reference();
    let d = tmp("ray");
    let f = sweep_file(&d, &format!("[ray]\npython = \"{python}\"\n"));
    let out = d.join("out");
    let args = ["sweep", f.to_str().unwrap(), "--quiet", "--executor", "ray", "--ray-address", addr.as_str()];
    let done = || {
        std::fs::read_dir(out.join("t/points"))
            .map(|r| r.filter(|e| e.as_ref().unwrap().path().join("manifest.json").is_file()).count())
            .unwrap_or(0)
    };
    // SIGKILL the sweep once a point is done. Ray stops a dead driver's tasks only when it notices
    // the death, and a point takes well under a second: on a loaded machine the queued points may
    // all finish first, which leaves no rerun to test — then start over (a fresh out dir), at most
    // three times.
    let mut after_kill = 8;
    for _attempt in 0..3 {
        let _ = std::fs::remove_dir_all(&out);
        let mut child = Command::new(BIN).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let t0 = Instant::now();
        while done() < 1 && t0.elapsed() < Duration::from_secs(300) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Ray stops the dead driver's tasks (and their points' processes): wait until none is left.
        let t0 = Instant::now();
        while !run_point_parents(&out.join("t")).is_empty() && t0.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(5));
        }
        after_kill = done();
        if after_kill < 8 {
            break;
        }
    }
    assert!(after_kill < 8, "killed before the end in none of 3 tries: {after_kill} points done");
    // The rerun; SIGKILL the Ray worker process of a running point: Ray runs its task again.
    let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut killed = false;
    let t0 = Instant::now();
    while !killed && t0.elapsed() < Duration::from_secs(300) && child.try_wait().unwrap().is_none() {
        if let Some(worker) = run_point_parents(&out.join("t")).first() {
            killed = Command::new("kill").args(["-9", &worker.to_string()]).status().unwrap().success();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = ok(&child.wait_with_output().unwrap());
    assert!(killed, "a Ray worker running a point was killed");
    assert!(s.contains(", 0 failed"), "{s}");
    points_exactly_once(&out);
    assert_eq!(&report(&out, "summary.csv"), summary, "the Ray sweep's report is the local one's");
    assert_eq!(&results(&out, "points.csv"), points);
}

/// A job-array sweep on a single-node Slurm (slurm-wlm + munge, tools/slurm_local.sh): the
/// array script, `sweep status`, and the same report as the local executor.
#[test]
fn slurm_executor_matches_local() {
    let Some(_) = engine(&["SLURM_CONF"], "MECRL_REQUIRE_SLURM") else { return };
    let (summary, points) = reference();
    let d = tmp("slurm");
    let f = sweep_file(&d, "[slurm]\ntime = \"00:10:00\"\nmem = \"1G\"\nthrottle = 3\n");
    let out = d.join("out");
    let o = ok(&mecrl(&["sweep", f.to_str().unwrap(), "--quiet", "--executor", "slurm"]));
    assert!(o.contains("submitted Slurm job array"), "{o}");
    let script = std::fs::read_to_string(out.join("t/slurm/array.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-7%3") && script.contains("#SBATCH --mem=1G"), "{script}");
    // A second array while this one is queued is refused.
    let again = mecrl(&["sweep", f.to_str().unwrap(), "--quiet", "--executor", "slurm"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("still queued or running"), "{again:?}");
    // Follow the array as a user would, with `sweep status`.
    let t0 = Instant::now();
    loop {
        let st = ok(&mecrl(&["sweep", "status", out.join("t").to_str().unwrap()]));
        if st.contains("8 done") && st.contains("no task queued or running") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "the array did not finish: {st}");
        std::thread::sleep(Duration::from_millis(500));
    }
    ok(&mecrl(&["sweep", "report", out.join("t").to_str().unwrap()]));
    points_exactly_once(&out);
    assert_eq!(&report(&out, "summary.csv"), summary, "the Slurm sweep's report is the local one's");
    assert_eq!(&results(&out, "points.csv"), points);
    // With --wait: nothing is left to submit; a new sweep directory runs whole and reports.
    let d2 = tmp("slurm-wait");
    let f2 = sweep_file(&d2, "[slurm]\ntime = \"00:10:00\"\nmem = \"1G\"\n");
    let s = ok(&mecrl(&["sweep", f2.to_str().unwrap(), "--quiet", "--executor", "slurm", "--wait"]));
    assert!(s.contains("8 points: 0 done before, 8 ran, 0 failed"), "{s}");
    assert_eq!(&report(&d2.join("out"), "summary.csv"), summary);
}
