//! MAPPO, mixed MAPPO, MAA3C and MADQN on a small crowd system: training runs and reports finite metrics, the
//! same seed gives the same curves on every backend (within the parity tolerance), a resumed
//! run continues bit for bit, and bad configuration is a typed error naming the field.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use mecrl::algo::mappo::{DqnLearner, Learner, MadqnConfig, MappoConfig, Method};
use mecrl::backend::{create, Backend, BackendKind};
use mecrl::env::crowd::{Case, CrowdConfig};
use mecrl::error::Error;

/// One cell of 8 MDs, 3 candidates, 20-slot episodes; rounds of 10 slots in chunks of 5.
fn small() -> (MappoConfig, CrowdConfig) {
    let crowd = CrowdConfig {
        n_servers: 2,
        clusters_per_cell: 1,
        cluster_sizes: Some(vec![6, 5]),
        md_candidates: 3,
        horizon_slots: 20,
        ..CrowdConfig::default()
    }
    .with_case(Case::II);
    let cfg = MappoConfig { hidden: 16, rollout_slots: 10, chunk: 5, ..MappoConfig::default() };
    (cfg, crowd)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-mappo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Training metrics of `episodes` episodes, then one greedy test episode: a flat curve of
/// (unit delay, reward per slot, critic loss, dpp share) per episode and the test's.
fn curve(be: Arc<dyn Backend>, cfg: &MappoConfig, crowd: &CrowdConfig, episodes: usize) -> Vec<f64> {
    let mut l = Learner::new(&be, cfg, crowd, 2).unwrap();
    let mut out = vec![];
    for _ in 0..episodes {
        let mut losses = vec![];
        let m = l.train_episode(&mut |s| losses.push(s.critic_loss as f64)).unwrap();
        out.extend([m.unit_delay(), m.mean(0), m.dpp_share()]);
        out.extend(losses);
    }
    let t = l.test(1, true, &mut || {}).unwrap();
    out.extend([t.unit_delay(), t.mean(0)]);
    out
}

#[test]
fn both_methods_train_and_report_finite_metrics() {
    let (cfg, crowd) = small();
    let be = create(BackendKind::Cpu).unwrap();
    for method in [Method::MixedMappo, Method::Mappo, Method::Maa3c] {
        let c = MappoConfig { method, ..cfg.clone() };
        let got = curve(be.clone(), &c, &crowd, 2);
        assert!(got.iter().all(|x| x.is_finite()), "{method:?}: {got:?}");
        // unit delay > 0 and a negative reward (13) in every episode
        assert!(got[0] > 0.0 && got[1] < 0.0, "{method:?}: {got:?}");
        // MAPPO never takes the drift-plus-penalty action; mixed MAPPO sometimes does
        match method {
            Method::Mappo | Method::Maa3c | Method::Madqn => assert_eq!(got[2], 0.0),
            Method::MixedMappo => assert!(got[2] > 0.0 && got[2] < 1.0, "dpp share {}", got[2]),
        }
    }
}

/// MADQN: training metrics per episode and a greedy test, as [`curve`].
fn dqn_curve(be: Arc<dyn Backend>, cfg: &MappoConfig, crowd: &CrowdConfig, episodes: usize) -> Vec<f64> {
    let mut l = DqnLearner::new(&be, cfg, crowd, 2).unwrap();
    let mut out = vec![];
    for _ in 0..episodes {
        let mut losses = vec![];
        let m = l.train_episode(&mut |s| losses.push(s.critic_loss as f64)).unwrap();
        out.extend([m.unit_delay(), m.mean(0), m.dpp_share()]);
        out.extend(losses);
    }
    let t = l.test(1, &mut || {}).unwrap();
    out.extend([t.unit_delay(), t.mean(0)]);
    out
}

fn dqn_config(cfg: &MappoConfig) -> MappoConfig {
    let madqn = MadqnConfig {
        batch: 8,
        updates: 2,
        target_every: 1,
        replay_rounds: 3,
        epsilon_rounds: 2,
        ..MadqnConfig::default()
    };
    MappoConfig { method: Method::Madqn, lstm_sizes: [8, 12, 16], madqn, ..cfg.clone() }
}

#[test]
fn madqn_trains_explores_and_resumes_bit_identically() {
    let (cfg, crowd) = small();
    let cfg = dqn_config(&cfg);
    let be = create(BackendKind::Cpu).unwrap();
    let full = dqn_curve(be.clone(), &cfg, &crowd, 3);
    assert!(full.iter().all(|x| x.is_finite()), "{full:?}");
    // ε starts at 1: most decisions of the first episode explore; the greedy test never does
    assert!(full[2] > 0.5, "exploration share {}", full[2]);
    let dir = tmp("madqn");
    let ck = dir.join("q.ckpt");
    let mut a = DqnLearner::new(&be, &cfg, &crowd, 2).unwrap();
    let mut got = vec![];
    for _ in 0..2 {
        let mut losses = vec![];
        let m = a.train_episode(&mut |s| losses.push(s.critic_loss as f64)).unwrap();
        got.extend([m.unit_delay(), m.mean(0), m.dpp_share()]);
        got.extend(losses);
    }
    a.save(&ck).unwrap();
    drop(a);
    let mut b = DqnLearner::new(&be, &cfg, &crowd, 2).unwrap();
    b.load(&ck).unwrap();
    let mut losses = vec![];
    let m = b.train_episode(&mut |s| losses.push(s.critic_loss as f64)).unwrap();
    got.extend([m.unit_delay(), m.mean(0), m.dpp_share()]);
    got.extend(losses);
    let t = b.test(1, &mut || {}).unwrap();
    got.extend([t.unit_delay(), t.mean(0)]);
    assert_eq!(got, full, "resumed MADQN differs (the replay travels in the checkpoint)");
    let _ = std::fs::remove_dir_all(dir);
    // Learner refuses MADQN; a bad MADQN field is named
    assert!(matches!(Learner::new(&be, &cfg, &crowd, 2), Err(Error::Config { .. })));
    let bad = MappoConfig { madqn: MadqnConfig { epsilon_end: 2.0, ..cfg.madqn.clone() }, ..cfg };
    match DqnLearner::new(&be, &bad, &crowd, 2) {
        Err(Error::Config { field, .. }) => assert_eq!(field, "mappo.madqn.epsilon_end"),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn every_backend_gives_the_same_curves() {
    let (cfg, crowd) = small();
    let mut reference: Option<Vec<f64>> = None;
    for be in common::backends() {
        let kind = be.kind();
        let mut got = curve(be.clone(), &cfg, &crowd, 2);
        // MAA3C: LSTM networks, per-agent critics
        got.extend(curve(
            be,
            &MappoConfig { method: Method::Maa3c, lstm_sizes: [8, 12, 16], ..cfg.clone() },
            &crowd,
            1,
        ));
        match &reference {
            None => reference = Some(got),
            Some(want) => {
                assert_eq!(want.len(), got.len());
                for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                    assert!((w - g).abs() <= 1e-4 * w.abs().max(1e-3), "{kind}: curve point {i}: {g} vs {w}");
                }
            }
        }
    }
}

#[test]
fn resume_is_bit_identical() {
    let (cfg, crowd) = small();
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("resume");
    let ck = dir.join("train.ckpt");
    let full = curve(be.clone(), &cfg, &crowd, 3);
    // two episodes, a checkpoint, a new process's learner, the third episode
    let mut a = Learner::new(&be, &cfg, &crowd, 2).unwrap();
    let mut got = vec![];
    for _ in 0..2 {
        let mut losses = vec![];
        let m = a.train_episode(&mut |s| losses.push(s.critic_loss as f64)).unwrap();
        got.extend([m.unit_delay(), m.mean(0), m.dpp_share()]);
        got.extend(losses);
    }
    a.save(&ck).unwrap();
    drop(a);
    let mut b = Learner::new(&be, &cfg, &crowd, 2).unwrap();
    b.load(&ck).unwrap();
    let mut losses = vec![];
    let m = b.train_episode(&mut |s| losses.push(s.critic_loss as f64)).unwrap();
    got.extend([m.unit_delay(), m.mean(0), m.dpp_share()]);
    got.extend(losses);
    let t = b.test(1, true, &mut || {}).unwrap();
    got.extend([t.unit_delay(), t.mean(0)]);
    assert_eq!(got, full, "resumed run differs");
    // a checkpoint of another configuration is refused
    let other = MappoConfig { actor_lr: 1e-3, ..cfg };
    let mut c = Learner::new(&be, &other, &crowd, 2).unwrap();
    assert!(matches!(c.load(&ck), Err(Error::Config { .. })));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let (cfg, crowd) = small();
    let be = create(BackendKind::Cpu).unwrap();
    let field = |c: &MappoConfig, s: &CrowdConfig| match Learner::new(&be, c, s, 2) {
        Err(Error::Config { field, .. }) => field,
        Err(e) => panic!("not a config error: {e}"),
        Ok(_) => panic!("accepted"),
    };
    assert_eq!(field(&MappoConfig { rollout_slots: 15, chunk: 5, ..cfg.clone() }, &crowd), "mappo.rollout_slots");
    assert_eq!(field(&MappoConfig { critic_weights: vec![0.3; 5], ..cfg.clone() }, &crowd), "mappo.critic_weights");
    assert_eq!(field(&MappoConfig { chunk: 3, ..cfg.clone() }, &crowd), "mappo.chunk");
    assert_eq!(field(&cfg, &CrowdConfig { alpha: -1.0, ..crowd.clone() }), "crowd.alpha");
}

/// The pipeline of `mecrl run` / `reproduce mappo`: a run stopped after one episode and rerun
/// with two gives the outputs of an uninterrupted two-episode run, and writes the tables.
#[test]
fn the_pipeline_resumes_and_writes_its_tables() {
    use mecrl::experiment::mappo::{run_in, MappoRunConfig};
    let (cfg, crowd) = small();
    let rc = MappoRunConfig {
        batch: 2,
        cases: vec!["II".into()],
        episodes: 2,
        mappo: MappoConfig { madqn: dqn_config(&cfg).madqn, ..cfg },
        crowd,
        ..MappoRunConfig::default()
    };
    let be = create(BackendKind::Cpu).unwrap();
    let (a, b) = (tmp("pipe-a"), tmp("pipe-b"));
    let full = run_in(&rc, be.clone(), &a, &mut |_| {}).unwrap();
    run_in(&MappoRunConfig { episodes: 1, ..rc.clone() }, be.clone(), &b, &mut |_| {}).unwrap();
    let mut ticks = 0;
    let resumed = run_in(&rc, be, &b, &mut |k| ticks += k).unwrap();
    assert_eq!(ticks, rc.work_units(), "progress counts what was reused");
    assert_eq!(resumed, full);
    assert_eq!(full.curves.len(), 4);
    assert_eq!(full.tests.len(), 6, "four learners and two heuristics");
    let md = mecrl::experiment::mappo::outputs::write_outputs(&rc, &full, &a.join("out")).unwrap_or_else(|e| {
        // figures need a font; the tables are written before them
        assert!(e.to_string().contains("font"), "{e}");
        String::new()
    });
    let table = std::fs::read_to_string(a.join("out/table3.csv")).unwrap();
    assert_eq!(table.lines().count(), 7);
    assert!(md.is_empty() || md.contains("| II | mixed_mappo |"));
    let _ = std::fs::remove_dir_all(a);
    let _ = std::fs::remove_dir_all(b);
}
