//! DIRS training resumed from a checkpoint (issue 5 part 4, "resumable from a checkpoint if
//! interrupted"): a run interrupted after k online steps and restarted with the same config ends
//! with the parameters, Adam state, replay memory, counters and logged metrics of the
//! uninterrupted run, bit for bit, on every backend; a checkpoint of another config is a typed
//! error naming the field; a corrupt or truncated one a typed error, never a panic; `mecrl run`
//! keeps the checkpoint in `<out_dir>/<name>.partial/` and removes it when the run completes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mecrl::algo::dirs::{Dirs, DirsConfig};
use mecrl::algo::Agent;
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::env::mec::MecConfig;
use mecrl::experiment::dirs::{self as xd, train_resumable, Outcome, CHECKPOINT};
use mecrl::experiment::DirsRunConfig;
use mecrl::nn::checkpoint::Checkpoint;
use mecrl::search::levy::LevyConfig;
use mecrl::Error;

mod common;
use common::backends;

/// N = 8, M = 2; 8 demonstrations kept in a replay of 20 (the ring of 12 wraps twice in 30
/// steps), a new layout every 7 steps, training every 3 steps, metrics every 2, a checkpoint
/// every 4 online steps.
fn config(backend: &str) -> DirsRunConfig {
    DirsRunConfig {
        backend: backend.into(),
        seed: 5,
        log_every: 2,
        eval_steps: 3,
        inference_batch: 0,
        checkpoint_every: 4,
        out_dir: scratch("out"),
        mec: MecConfig { n_iotd: 8, n_mec: 2, ..MecConfig::default() },
        dirs: DirsConfig {
            demonstrations: 8,
            t_d: 5,
            t_drl: 30,
            replay_capacity: 20,
            minibatch: 4,
            train_every: 3,
            episode_steps: 7,
            levy: LevyConfig { population: 4, generations: 3, ..LevyConfig::default() },
            ..DirsConfig::default()
        },
        ..DirsRunConfig::default()
    }
}

fn scratch(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mecrl-dirs-resume-{}-{what}", std::process::id()))
}

/// A fresh, empty directory for one test.
fn fresh(what: &str) -> PathBuf {
    let d = scratch(what);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn words(be: &Arc<dyn Backend>, d: &Dirs) -> Vec<Vec<u32>> {
    let mut v: Vec<Vec<u32>> = d.agents.params().iter().map(|p| be.download(p.value.buffer()).unwrap()).collect();
    let r = &d.replay;
    for b in [&r.obs, &r.label, &r.demo, &r.delta, &r.maxd, &d.env.obs, &d.env.iotd_pos] {
        v.push(be.download(b).unwrap());
    }
    v
}

/// Everything the run logged, as bits (NaN compares equal to itself).
fn logged(o: &Outcome) -> Vec<u64> {
    let mut v: Vec<u64> = o.imitation.map(|(a, b)| vec![a.to_bits(), b.to_bits()]).unwrap_or_default();
    for s in &o.log {
        v.extend([s.step as u64, s.voted.to_bits(), s.refined.to_bits(), s.reward.to_bits(), s.loss.to_bits()]);
        v.extend([s.mean_time.to_bits(), s.mean_energy.to_bits()]);
    }
    v
}

/// The whole training state after the run, the way the next step would see it: a checkpoint
/// written from it (parameters, Adam's moments, replay, counters) without the run's timings.
fn state_file(d: &Dirs, path: &Path) -> Checkpoint {
    d.save(path, &serde_json::json!({"config": null, "data": null})).unwrap();
    Checkpoint::load(path).unwrap()
}

#[test]
fn interrupted_and_resumed_run_is_bit_identical() {
    for be in backends() {
        let kind = be.kind();
        let cfg = config(&kind.to_string());
        let (full, d_full) = train_resumable(&cfg, be.clone(), None, None, &mut |_| {}).unwrap();
        assert!(full.resumed_at.is_none());
        // Interrupted after steps 10 (last checkpoint at 8) and 3 (only the one after
        // pre-training, t = 0), and after the end (the final checkpoint: nothing left to train).
        for (stop, resumed) in [(10, 8), (3, 0), (30, 30)] {
            let work = fresh(&format!("work-{kind}-{stop}"));
            let (_, d_stop) = train_resumable(&cfg, be.clone(), Some(&work), Some(stop), &mut |_| {}).unwrap();
            assert_eq!(d_stop.t, stop);
            drop(d_stop);
            assert!(work.join(CHECKPOINT).exists(), "{kind}: no checkpoint in {}", work.display());
            let mut ticks = 0u64;
            let (again, d_again) = train_resumable(&cfg, be.clone(), Some(&work), None, &mut |k| ticks += k).unwrap();
            assert_eq!(again.resumed_at, Some(resumed), "{kind}");
            assert_eq!(ticks, (cfg.dirs.t_d + cfg.dirs.t_drl) as u64, "{kind}: progress units");
            assert_eq!((d_again.t, d_again.iterations), (d_full.t, d_full.iterations), "{kind}");
            assert_eq!(d_again.replay.cursor(), d_full.replay.cursor(), "{kind}");
            assert_eq!(logged(&again), logged(&full), "{kind}: logged metrics differ after resuming at {resumed}");
            assert!(words(&be, &d_again) == words(&be, &d_full), "{kind}: state differs after resuming at {resumed}");
            let (a, b) =
                (state_file(&d_full, &work.join("a.safetensors")), state_file(&d_again, &work.join("b.safetensors")));
            assert!(a == b, "{kind}: checkpoints of the two runs differ (resumed at {resumed})");
            // The agents decide the same on held-out states.
            let env = d_full.scenario(1 << 31).unwrap();
            assert_eq!(d_full.evaluate(&env).unwrap(), d_again.evaluate(&env).unwrap(), "{kind}");
            let _ = std::fs::remove_dir_all(&work);
        }
    }
}

/// Without imitation (the ablation) the first checkpoint is also at t = 0, before any training.
#[test]
fn resume_without_imitation() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let mut cfg = config("cpu");
    cfg.dirs.use_imitation = false;
    let (full, d_full) = train_resumable(&cfg, be.clone(), None, None, &mut |_| {}).unwrap();
    let work = fresh("work-noimit");
    train_resumable(&cfg, be.clone(), Some(&work), Some(2), &mut |_| {}).unwrap();
    let (again, d_again) = train_resumable(&cfg, be.clone(), Some(&work), None, &mut |_| {}).unwrap();
    assert_eq!(again.resumed_at, Some(0));
    assert_eq!(logged(&again), logged(&full));
    assert!(words(&be, &d_again) == words(&be, &d_full));
    let _ = std::fs::remove_dir_all(&work);
}

fn interrupted(what: &str, cfg: &DirsRunConfig) -> PathBuf {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let work = fresh(what);
    train_resumable(cfg, be, Some(&work), Some(5), &mut |_| {}).unwrap();
    work
}

fn resume(cfg: &DirsRunConfig, work: &Path) -> Result<(Outcome, Dirs), Error> {
    train_resumable(cfg, backend::create(BackendKind::Cpu).unwrap(), Some(work), None, &mut |_| {})
}

#[test]
fn checkpoint_of_another_config_names_the_field() {
    let cfg = config("cpu");
    let work = interrupted("work-other", &cfg);
    let cases: Vec<(DirsRunConfig, &str)> = vec![
        (DirsRunConfig { dirs: DirsConfig { lr: 2e-3, ..cfg.dirs.clone() }, ..cfg.clone() }, "dirs.lr"),
        (DirsRunConfig { seed: 6, ..cfg.clone() }, "dirs.seed"),
        (DirsRunConfig { log_every: 3, ..cfg.clone() }, "log_every"),
        (DirsRunConfig { mec: MecConfig { beta0: 2e-3, ..cfg.mec.clone() }, ..cfg.clone() }, "mec.beta0"),
        (
            DirsRunConfig {
                dirs: DirsConfig { levy: LevyConfig { generations: 4, ..cfg.dirs.levy.clone() }, ..cfg.dirs.clone() },
                ..cfg.clone()
            },
            "dirs.levy.generations",
        ),
    ];
    for (other, field) in cases {
        match resume(&other, &work) {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
            Err(e) => panic!("{field}: {e}"),
            Ok(_) => panic!("{field}: a checkpoint of another config was accepted"),
        }
    }
    // Settings that do not change training may differ: evaluation sizes, the checkpoint period.
    let ok = DirsRunConfig { eval_steps: 7, checkpoint_every: 3, ..cfg.clone() };
    assert_eq!(resume(&ok, &work).unwrap().0.resumed_at, Some(4));
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn corrupt_checkpoints_are_typed_errors() {
    let cfg = config("cpu");
    let work = interrupted("work-corrupt", &cfg);
    let path = work.join(CHECKPOINT);
    let good = std::fs::read(&path).unwrap();
    let parse_error = |what: &str| match resume(&cfg, &work) {
        Err(Error::Parse { path: p, .. }) => assert_eq!(p, path, "{what}"),
        Err(e) => panic!("{what}: {e}"),
        Ok(_) => panic!("{what}: accepted"),
    };
    // Truncated anywhere: inside the length, the header, the data.
    for len in [0, 5, 8, 100, good.len() / 2, good.len() - 4] {
        std::fs::write(&path, &good[..len]).unwrap();
        parse_error(&format!("truncated to {len} bytes"));
    }
    // A damaged header, garbage.
    let mut bad = good.clone();
    bad[12] = b'#';
    std::fs::write(&path, &bad).unwrap();
    parse_error("damaged header");
    std::fs::write(&path, b"not a checkpoint at all, but long enough").unwrap();
    parse_error("garbage");
    // Valid safetensors, but not a DIRS training state (the agents file `mecrl run` writes).
    let be = backend::create(BackendKind::Cpu).unwrap();
    let d = Dirs::new(be, &cfg.mec, &cfg.dirs).unwrap();
    mecrl::nn::checkpoint::save_training(&path, &d.agents.params(), None, &cfg.dirs).unwrap();
    parse_error("agents only");
    // Edited contents: counters a run cannot reach, a missing tensor, a label beyond M, a
    // replay tensor of the wrong shape.
    let edits: Vec<(&str, Edit)> = vec![
        ("t beyond T_DRL", Box::new(|c| edit_state(c, "t", 31))),
        ("episode", Box::new(|c| edit_state(c, "episode", 3))),
        ("optimizer steps", Box::new(|c| edit_state(c, "optimizer_steps", 999))),
        ("replay head", Box::new(|c| edit_replay(c, "head", 12))),
        ("replay size", Box::new(|c| edit_replay(c, "size", 21))),
        ("missing tensor", Box::new(|c| drop(c.tensors.remove("replay.delta")))),
        ("missing loss", Box::new(|c| drop(c.tensors.remove("last_loss")))),
        ("label", Box::new(|c| c.tensors.get_mut("replay.label").unwrap().words[3] = 3)),
        (
            "obs shape",
            Box::new(|c| {
                let t = c.tensors.get_mut("replay.obs").unwrap();
                t.shape[0] -= 1;
                let n = t.shape.iter().product();
                t.words.truncate(n);
            }),
        ),
        ("state json", Box::new(|c| drop(c.metadata.insert("state".into(), "{".into())))),
        (
            "run data",
            Box::new(|c| drop(c.metadata.insert("run".into(), r#"{"config":{"log_every":2},"data":7}"#.into()))),
        ),
    ];
    for (what, edit) in edits {
        std::fs::write(&path, &good).unwrap();
        let mut c = Checkpoint::load(&path).unwrap();
        edit(&mut c);
        c.save(&path).unwrap();
        parse_error(what);
    }
    // Before the checksum: a flipped bit in the data resumed silently with other weights.
    let header = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    for k in [header, header + 1001, (header + good.len()) / 2, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[k] ^= 0x10;
        std::fs::write(&path, &flipped).unwrap();
        match resume(&cfg, &work) {
            Err(Error::Parse { why, .. }) => assert!(why.contains("checksum mismatch"), "byte {k}: {why}"),
            Err(e) => panic!("byte {k}: {e}"),
            Ok(_) => panic!("byte {k}: a flipped bit was accepted"),
        }
    }
    // Before: a NaN weight resumed (exit 0, a worse sum of Phi); with a valid checksum too.
    std::fs::write(&path, &good).unwrap();
    let mut c = Checkpoint::load(&path).unwrap();
    let param = c.tensors.keys().find(|k| k.ends_with(".opt_m")).unwrap().trim_end_matches(".opt_m").to_string();
    c.tensors.get_mut(&param).unwrap().words[0] = f32::NAN.to_bits();
    c.save(&path).unwrap();
    match resume(&cfg, &work) {
        Err(Error::Parse { why, .. }) => assert!(why.contains("not finite"), "{why}"),
        other => panic!("a NaN weight: {:?}", other.map(|r| r.0.resumed_at)),
    }
    // The untouched file still resumes.
    std::fs::write(&path, &good).unwrap();
    assert_eq!(resume(&cfg, &work).unwrap().0.resumed_at, Some(4));
    let _ = std::fs::remove_dir_all(&work);
}

/// A change to a loaded checkpoint.
type Edit = Box<dyn Fn(&mut Checkpoint)>;

fn edit_state(c: &mut Checkpoint, key: &str, v: u64) {
    let mut s: serde_json::Value = serde_json::from_str(&c.metadata["state"]).unwrap();
    s[key] = v.into();
    c.metadata.insert("state".into(), s.to_string());
}

fn edit_replay(c: &mut Checkpoint, key: &str, v: u64) {
    let mut s: serde_json::Value = serde_json::from_str(&c.metadata["state"]).unwrap();
    s["replay"][key] = v.into();
    c.metadata.insert("state".into(), s.to_string());
}

/// `mecrl run` (the library call behind it): an interrupted run's checkpoint in
/// `<out_dir>/<name>.partial/` is picked up by the rerun, which reports it and removes the work
/// directory once its report is complete.
#[test]
fn mecrl_run_resumes_and_cleans_up() {
    let mut cfg = config("cpu");
    cfg.out_dir = fresh("run-out");
    cfg.name = "resumed".into();
    let work = cfg.work_dir();
    assert_eq!(work, cfg.out_dir.join("resumed.partial"));
    let be = backend::create(BackendKind::Cpu).unwrap();
    train_resumable(&cfg, be.clone(), Some(&work), Some(9), &mut |_| {}).unwrap();
    let report = xd::run(&cfg, be.clone(), &mut |_| {}).unwrap();
    assert!(report.table.contains("resumed at online step 8"), "{}", report.table);
    assert!(!work.exists(), "the work directory outlived the run");
    // A fresh run (nothing to resume) gives the same training log.
    let again = xd::run(&cfg, be, &mut |_| {}).unwrap();
    let file = |r: &mecrl::experiment::Report| r.files.iter().find(|f| f.0 == "training.csv").unwrap().1.clone();
    assert_eq!(file(&report), file(&again));
    assert!(!again.table.contains("resumed"));
    let _ = std::fs::remove_dir_all(&cfg.out_dir);
}

/// The shipped configs parse; the scale config is the issue's N = 10,000, M = 100.
#[test]
fn shipped_configs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let load = |f: &str| {
        let p = root.join(f);
        DirsRunConfig::from_toml(&std::fs::read_to_string(&p).unwrap(), &p).unwrap()
    };
    let paper = load("dirs.toml");
    assert_eq!(paper.checkpoint_every, DirsRunConfig::default().checkpoint_every);
    let scale = load("dirs_scale.toml");
    assert_eq!((scale.mec.n_iotd, scale.mec.n_mec), (10_000, 100));
    assert!(scale.checkpoint_every > 0 && scale.dirs.use_imitation && scale.dirs.use_levy);
    assert!(scale.inference_batch > 0);
}
