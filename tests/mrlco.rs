//! MRLCO end to end on tiny settings: the run is resumable bit for bit, the same seed gives the
//! same curves on every backend, a bad config field is named, and the PPO update improves a
//! policy on a task.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mecrl::algo::mrlco::{Learner, Method, MrlcoConfig, Task};
use mecrl::backend::{create, Backend, BackendKind};
use mecrl::env::dag::gen::{generate, DagGenConfig};
use mecrl::env::dag::model::DagSystem;
use mecrl::error::Error;
use mecrl::experiment::dag::{DagGrid, Role, Topology};
use mecrl::experiment::mrlco::{run_in, write_outputs, ExperimentSpec, MrlcoRunConfig};

fn grid(name: &str, role: Role, n: Vec<usize>, graphs: usize) -> DagGrid {
    DagGrid {
        name: name.into(),
        role,
        n,
        fat: vec![0.4, 0.6, 0.8],
        density: vec![0.4, 0.8],
        topology: Topology::PerGraph,
        graphs,
        ..DagGrid::default()
    }
}

fn tiny() -> MrlcoRunConfig {
    let mut c = MrlcoRunConfig {
        name: "tiny".into(),
        grid: vec![grid("train", Role::Train, vec![6, 8, 9], 4), grid("test", Role::Test, vec![7], 5)],
        experiment: vec![ExperimentSpec {
            name: "tiny".into(),
            figure: "Fig. 0".into(),
            grids: vec!["train".into(), "test".into()],
            meta_batch: 2,
        }],
        checkpoint_every: 1,
        ..MrlcoRunConfig::default()
    };
    c.mrlco = MrlcoConfig {
        hidden: 8,
        attention: 8,
        layers: 1,
        parents: 3,
        iterations: 3,
        graphs_per_task: 2,
        trajectories: 3,
        eval_steps: vec![0, 1, 3],
        ..MrlcoConfig::default()
    };
    c.validate().unwrap();
    c
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-mrlco-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for sub in ["", "figures"] {
        let mut names: Vec<_> =
            std::fs::read_dir(dir.join(sub)).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        names.sort();
        out.extend(names.into_iter().map(|p| (p.display().to_string(), std::fs::read(&p).unwrap())));
    }
    out
}

/// A run killed part-way (its work directory copied as it stood after some units of progress:
/// every work file is written whole, so a copy is what a kill leaves) and rerun gives the same
/// outputs, byte for byte, as the run that was never interrupted.
#[test]
fn resume_is_bit_identical() {
    let cfg = tiny();
    let be = create(BackendKind::Cpu).unwrap();
    let full = tmp("full");
    // a snapshot of the work directory after every tick: heuristics, each learner's
    // iterations (MRLCO's carries the outer and the shared inner Adam), their adaptations
    let mut cuts = vec![];
    let res = run_in(&cfg, be.clone(), &full.join("work"), &mut |k| {
        let cut = tmp(&format!("cut{}", cuts.len()));
        let _ = std::fs::remove_dir_all(&cut);
        copy_dir(&full.join("work"), &cut.join("work"));
        cuts.push((k, cut));
    })
    .unwrap();
    write_outputs(&res, &full, cfg.mrlco.adapt_steps()).unwrap();
    assert!(cuts.len() >= 8, "ticks: {}", cuts.len());
    let a = files(&full);
    assert!(a.len() >= 6, "tables, curves, training log, summary and a figure: {}", a.len());
    for (i, (_, cut)) in cuts.iter().enumerate() {
        let resumed = tmp(&format!("resumed{i}"));
        let _ = std::fs::remove_dir_all(&resumed);
        copy_dir(&cut.join("work"), &resumed.join("work"));
        let res2 = run_in(&cfg, be.clone(), &resumed.join("work"), &mut |_| {}).unwrap();
        write_outputs(&res2, &resumed, cfg.mrlco.adapt_steps()).unwrap();
        let b = files(&resumed);
        assert_eq!(a.len(), b.len());
        for ((na, ba), (nb, bb)) in a.iter().zip(&b) {
            assert_eq!(Path::new(na).file_name(), Path::new(nb).file_name());
            assert!(ba == bb, "{na} differs after resuming from tick {i}");
        }
        let _ = std::fs::remove_dir_all(resumed);
    }
    let _ = std::fs::remove_dir_all(full);
    for (_, d) in cuts {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// The same seed gives the same adaptation curves on every backend (within the parity
/// tolerance of the floats that feed them).
#[test]
fn every_backend_gives_the_same_curves() {
    let cfg = tiny();
    let mut reference: Option<Vec<f64>> = None;
    for be in common::backends() {
        let dir = tmp(&format!("be-{}", be.kind()));
        let res = run_in(&cfg, be.clone(), &dir, &mut |_| {}).unwrap();
        let mut got = vec![];
        for (_, tests) in &res.experiments {
            for t in tests {
                for (_, c) in &t.curves {
                    got.extend(c.iter().map(|p| p.1));
                }
            }
        }
        match &reference {
            None => reference = Some(got),
            Some(want) => {
                assert_eq!(want.len(), got.len());
                for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                    assert!((w - g).abs() <= 1e-4 * w.abs().max(1e-3), "{}: curve point {i}: {g} vs {w}", be.kind());
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn bad_fields_are_named() {
    let text = std::fs::read_to_string("configs/mrlco.toml").unwrap();
    let path = Path::new("configs/mrlco.toml");
    MrlcoRunConfig::from_toml(&text, path).unwrap();
    for (from, to, field) in [
        ("inner_lr = 5e-4", "inner_lr = -1.0", "mrlco.inner_lr"),
        ("clip_eps = 0.2", "clip_eps = 2.0", "mrlco.ppo.clip_eps"),
        ("meta_batch = 5", "meta_batch = 0", "experiment[1].meta_batch"),
        ("trajectories = 20", "trajectories = 0", "mrlco.trajectories"),
        ("eval_steps = [0, 1,", "eval_steps = [1, 0,", "mrlco.eval_steps"),
        ("grids = [\"topology\"]", "grids = [\"nowhere\"]", "experiment[0].grids"),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = text.replacen(from, to, 1);
        match MrlcoRunConfig::from_toml(&bad, path) {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{to}: expected a config error naming {field}, got {other:?}"),
        }
    }
    // a meta batch above the training tasks is refused when training starts
    let mut cfg = tiny();
    cfg.experiment[0].meta_batch = 5;
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("meta");
    assert!(
        matches!(run_in(&cfg, be, &dir, &mut |_| {}), Err(Error::Config { field, .. }) if field == "mrlco.meta_batch")
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A checkpoint of another configuration is refused, not silently mixed in.
#[test]
fn a_foreign_checkpoint_is_refused() {
    let be: Arc<dyn Backend> = create(BackendKind::Cpu).unwrap();
    let cfg = tiny().mrlco;
    let dir = tmp("foreign");
    std::fs::create_dir_all(&dir).unwrap();
    let l = Learner::new(&be, &cfg, Method::Mrlco).unwrap();
    l.save(&dir.join("a.safetensors")).unwrap();
    let mut other = Learner::new(&be, &MrlcoConfig { inner_lr: 1e-3, ..cfg.clone() }, Method::Mrlco).unwrap();
    assert!(matches!(other.load(&dir.join("a.safetensors")), Err(Error::Config { .. })));
    let mut ft = Learner::new(&be, &cfg, Method::FineTune).unwrap();
    assert!(ft.load(&dir.join("a.safetensors")).is_err());
    let _ = std::fs::remove_dir_all(dir);
}

/// PPO on one task: the sampled latency falls over a few updates (a 16-unit network, graphs
/// of 8 tasks; the same seed every time).
#[test]
fn ppo_lowers_the_sampled_latency_of_a_task() {
    let be: Arc<dyn Backend> = create(BackendKind::Cpu).unwrap();
    let sys = DagSystem::default();
    let dags: Vec<_> = (0..6).map(|k| generate(&DagGenConfig { n: 8, ..Default::default() }, 11, k).unwrap()).collect();
    let cfg = MrlcoConfig {
        hidden: 16,
        attention: 16,
        layers: 1,
        parents: 3,
        iterations: 1,
        meta_batch: 1,
        graphs_per_task: 6,
        trajectories: 16,
        inner_lr: 3e-3,
        ..MrlcoConfig::default()
    };
    let task = Task::new(&be, "t", &dags, &sys, cfg.parents, cfg.scaled_reward).unwrap();
    let mut l = Learner::new(&be, &cfg, Method::FineTune).unwrap();
    let tasks = [task];
    let first = l.iterate(&tasks).unwrap();
    let mut last = first.clone();
    for _ in 0..24 {
        last = l.iterate(&tasks).unwrap();
    }
    assert!(first.ppo.steps == 3 && last.iteration == 25);
    assert!(
        last.sampled_makespan < 0.97 * first.sampled_makespan,
        "sampled makespan {} → {}",
        first.sampled_makespan,
        last.sampled_makespan
    );
}

/// The published outer rule (one Adam step per task) moves θ differently from the averaged
/// one, a shared inner Adam differently from a fresh one per task, and all are deterministic.
#[test]
fn outer_rules_differ_and_repeat() {
    use mecrl::algo::mrlco::{InnerOptimizer, OuterRule};
    let be: Arc<dyn Backend> = create(BackendKind::Cpu).unwrap();
    let sys = DagSystem::default();
    let task = |seed: u64| {
        let dags: Vec<_> =
            (0..3).map(|k| generate(&DagGenConfig { n: 6, ..Default::default() }, seed, k).unwrap()).collect();
        Task::new(&be, "t", &dags, &sys, 3, true).unwrap()
    };
    let tasks = [task(1), task(2)];
    let base = MrlcoConfig {
        hidden: 8,
        attention: 8,
        layers: 1,
        parents: 3,
        meta_batch: 2,
        graphs_per_task: 2,
        trajectories: 2,
        ..MrlcoConfig::default()
    };
    let params_after = |rule: OuterRule, inner: InnerOptimizer| {
        let cfg = MrlcoConfig { outer_rule: rule, inner_optimizer: inner, ..base.clone() };
        let mut l = Learner::new(&be, &cfg, Method::Mrlco).unwrap();
        l.iterate(&tasks).unwrap();
        l.net.params().iter().flat_map(|p| p.value.to_vec().unwrap()).collect::<Vec<f32>>()
    };
    let a = params_after(OuterRule::Averaged, InnerOptimizer::Shared);
    let b = params_after(OuterRule::PerTask, InnerOptimizer::Shared);
    assert_eq!(a, params_after(OuterRule::Averaged, InnerOptimizer::Shared));
    assert_ne!(a, b);
    // the second task's inner steps start from the first's Adam moments, or from none
    assert_ne!(b, params_after(OuterRule::PerTask, InnerOptimizer::Fresh));
}

/// `mecrl dag plan`: a saved policy plans every DOT file of a directory; one CSV row per graph
/// with a plan of as many decisions as the graph has tasks.
#[test]
fn dag_plan_writes_one_row_per_graph() {
    let be: Arc<dyn Backend> = create(BackendKind::Cpu).unwrap();
    let dir = tmp("plan");
    let dots = dir.join("dots");
    let exe = env!("CARGO_BIN_EXE_mecrl");
    let st = std::process::Command::new(exe)
        .args(["dag", "generate", "--n", "9", "--count", "4", "--out"])
        .arg(&dots)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let l = Learner::new(&be, &tiny().mrlco, Method::Mrlco).unwrap();
    let ckpt = dir.join("policy.safetensors");
    l.save(&ckpt).unwrap();
    let out = std::process::Command::new(exe)
        .args(["dag", "plan", "--policy"])
        .arg(&ckpt)
        .arg("--dot")
        .arg(&dots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("decisions/s"), "{stdout}");
    let csv = std::fs::read_to_string(dots.join("plans.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "file,tasks,policy,greedy,heft,all_local,all_mec,optimal,plan");
    assert_eq!(rows.len(), 5);
    for r in &rows[1..] {
        let f: Vec<&str> = r.split(',').collect();
        assert_eq!(f[1], "9");
        assert_eq!(f[8].len(), 9, "{r}");
        assert!(f[2].parse::<f64>().unwrap() >= f[7].parse::<f64>().unwrap() - 1e-5, "never below Optimal: {r}");
    }
    // not a policy: a typed error, no CSV
    std::fs::write(dir.join("junk.safetensors"), b"junk").unwrap();
    std::fs::remove_file(dots.join("plans.csv")).unwrap();
    let bad = std::process::Command::new(exe)
        .args(["dag", "plan", "--policy"])
        .arg(dir.join("junk.safetensors"))
        .arg("--dot")
        .arg(&dots)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(!dots.join("plans.csv").exists());
    let _ = std::fs::remove_dir_all(dir);
}
