//! CRB-DRQN on a small end–edge system: training runs and reports finite statistics, the same
//! seed gives the same curves on every backend (within the parity tolerance), a resumed run
//! continues bit for bit, and bad configuration is a typed error naming the field.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use mecrl::algo::crbdrqn::{CrbDrqn, CrbDrqnConfig, EpisodeStats, Method, OnPolicy, Qmix, QmixConfig};
use mecrl::backend::{create, Backend, BackendKind};
use mecrl::env::endedge::EndedgeConfig;
use mecrl::env::endedge::Stats;
use mecrl::error::Error;

/// 6 terminals, 2 servers, 30-slot episodes with τ = 6; two instances; small networks.
fn small() -> (CrbDrqnConfig, EndedgeConfig) {
    let sys = EndedgeConfig {
        devices: 6,
        servers: 2,
        slots: 30,
        tail_slots: 6,
        deadline_slots: 6,
        load_history: 4,
        ..EndedgeConfig::default()
    };
    let cfg = CrbDrqnConfig {
        instances: 2,
        pool_capacity: 120,
        warmup: 8,
        epsilon_episodes: 3,
        target_update: 10,
        tag: 5,
        obs_hidden: 8,
        lstm_hidden: 6,
        hidden: [12, 10],
        qmix: QmixConfig {
            agent_hidden: [12, 10],
            embed: 6,
            hyper_hidden: 8,
            batch: 2,
            updates: 2,
            replay_episodes: 6,
            target_update: 3,
            ..QmixConfig::default()
        },
        ..CrbDrqnConfig::default()
    };
    (cfg, sys)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-crbdrqn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Per episode (drop rate, mean delay, mean reward, loss, pool size) of `l` for `episodes`
/// more episodes, then one greedy test episode's (drop rate, delay).
fn curve_of(l: &mut CrbDrqn, episodes: usize) -> Vec<f64> {
    let mut out = vec![];
    let drop = l.system.drop_reward();
    for _ in 0..episodes {
        let s = l.train_episode(&mut || {}).unwrap();
        out.extend([s.stats.drop_rate(), s.stats.avg_delay(), s.stats.avg_reward(drop), s.loss as f64, s.pool as f64]);
    }
    out
}

fn test_of(l: &mut CrbDrqn) -> Vec<f64> {
    let t = l.test(1, &mut || {}).unwrap();
    vec![t.drop_rate(), t.avg_delay()]
}

fn curve(be: Arc<dyn Backend>, cfg: &CrbDrqnConfig, sys: &EndedgeConfig, episodes: usize) -> Vec<f64> {
    let mut l = CrbDrqn::new(&be, cfg, sys).unwrap();
    let mut out = curve_of(&mut l, episodes);
    out.extend(test_of(&mut l));
    out
}

/// A Decentralized or MAPPO learner's curve: per episode (drop, delay, reward, loss), then a test.
fn onpolicy_curve(
    be: Arc<dyn Backend>,
    method: Method,
    cfg: &CrbDrqnConfig,
    sys: &EndedgeConfig,
    episodes: usize,
) -> Vec<f64> {
    let mut l = OnPolicy::new(&be, method, cfg, sys).unwrap();
    let mut out = onpolicy_more(&mut l, episodes);
    out.extend(flat(&l.test(1, &mut || {}).unwrap()));
    out
}

fn onpolicy_more(l: &mut OnPolicy, episodes: usize) -> Vec<f64> {
    let mut out = vec![];
    for _ in 0..episodes {
        let s: EpisodeStats = l.train_episode(&mut || {}).unwrap();
        out.extend(flat(&s.stats));
        out.push(s.loss as f64);
    }
    out
}

fn flat(s: &Stats) -> Vec<f64> {
    vec![s.drop_rate(), s.avg_delay(), s.avg_reward(-36.0), s.arrivals as f64]
}

#[test]
fn the_baselines_train_resume_and_agree_across_backends() {
    let (cfg, sys) = small();
    let dir = tmp("baselines");
    for method in [Method::Decentralized, Method::Mappo] {
        let mut reference: Option<Vec<f64>> = None;
        for be in common::backends() {
            let kind = be.kind();
            let got = onpolicy_curve(be, method, &cfg, &sys, 3);
            assert!(got.iter().all(|x| x.is_finite()), "{method:?}: {got:?}");
            match &reference {
                None => reference = Some(got),
                Some(want) => {
                    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                        assert!((w - g).abs() <= 1e-4 * w.abs().max(1e-3), "{method:?} {kind}: point {i}: {g} vs {w}");
                    }
                }
            }
        }
        // resumed after two episodes: the same third episode and test, bit for bit
        let be = create(BackendKind::Cpu).unwrap();
        let full = onpolicy_curve(be.clone(), method, &cfg, &sys, 3);
        let ck = dir.join(format!("{}.ckpt", method.name()));
        let mut a = OnPolicy::new(&be, method, &cfg, &sys).unwrap();
        let mut got = onpolicy_more(&mut a, 2);
        a.save(&ck).unwrap();
        let mut b = OnPolicy::new(&be, method, &cfg, &sys).unwrap();
        b.load(&ck).unwrap();
        got.extend(onpolicy_more(&mut b, 1));
        got.extend(flat(&b.test(1, &mut || {}).unwrap()));
        assert_eq!(got, full, "{method:?}: resumed run differs");
        // a checkpoint of the other method is refused
        let other = if method == Method::Mappo { Method::Decentralized } else { Method::Mappo };
        assert!(OnPolicy::new(&be, other, &cfg, &sys).unwrap().load(&ck).is_err());
    }
    assert!(OnPolicy::new(&create(BackendKind::Cpu).unwrap(), Method::CrbDrqn, &cfg, &sys).is_err());
    let _ = std::fs::remove_dir_all(dir);
}

/// QMIX's curve: per episode (drop, delay, reward, loss, episodes held), then a test.
fn qmix_more(l: &mut Qmix, episodes: usize) -> Vec<f64> {
    let mut out = vec![];
    for _ in 0..episodes {
        let s = l.train_episode(&mut || {}).unwrap();
        out.extend(flat(&s.stats));
        out.extend([s.loss as f64, s.pool as f64]);
    }
    out
}

#[test]
fn qmix_trains_resumes_and_agrees_across_backends() {
    let (cfg, sys) = small();
    let mut reference: Option<Vec<f64>> = None;
    for be in common::backends() {
        let kind = be.kind();
        let mut l = Qmix::new(&be, &cfg, &sys).unwrap();
        let mut got = qmix_more(&mut l, 3);
        got.extend(flat(&l.test(1, &mut || {}).unwrap()));
        assert!(got.iter().all(|x| x.is_finite()), "{got:?}");
        // every episode pushes its two instance-episodes; with `batch` = 2 held, `updates` = 2
        // updates follow each episode
        assert_eq!((got[5], got[11], got[17]), (2.0, 4.0, 6.0));
        assert!(got[4] > 0.0 && got[10] > 0.0 && got[16] > 0.0 && l.updates == 6, "{got:?}");
        match &reference {
            None => reference = Some(got),
            Some(want) => {
                for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                    assert!((w - g).abs() <= 1e-4 * w.abs().max(1e-3), "{kind}: point {i}: {g} vs {w}");
                }
            }
        }
    }
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("qmix");
    let ck = dir.join("qmix.ckpt");
    let mut full_l = Qmix::new(&be, &cfg, &sys).unwrap();
    let mut full = qmix_more(&mut full_l, 4);
    full.extend(flat(&full_l.test(1, &mut || {}).unwrap()));
    let mut a = Qmix::new(&be, &cfg, &sys).unwrap();
    let mut got = qmix_more(&mut a, 2);
    a.save(&ck).unwrap();
    let mut b = Qmix::new(&be, &cfg, &sys).unwrap();
    b.load(&ck).unwrap();
    got.extend(qmix_more(&mut b, 2));
    got.extend(flat(&b.test(1, &mut || {}).unwrap()));
    assert_eq!(got, full, "resumed QMIX differs");
    let other = CrbDrqnConfig { qmix: QmixConfig { lr: 1e-3, ..cfg.qmix.clone() }, ..cfg.clone() };
    assert!(Qmix::new(&be, &other, &sys).unwrap().load(&ck).is_err());
    let bad = CrbDrqnConfig { qmix: QmixConfig { embed: 0, ..cfg.qmix.clone() }, ..cfg };
    let e = Qmix::new(&be, &bad, &sys).err().expect("refused").to_string();
    assert!(e.contains("crbdrqn.qmix.embed"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn training_fills_the_pool_and_reports_finite_statistics() {
    let (cfg, sys) = small();
    let be = create(BackendKind::Cpu).unwrap();
    let mut l = CrbDrqn::new(&be, &cfg, &sys).unwrap();
    let got = curve_of(&mut l, 4);
    assert!(got.iter().all(|x| x.is_finite()), "{got:?}");
    // no training before the first episode's trajectories arrive; then every slot trains
    assert_eq!(got[3], 0.0);
    assert!(got[8] > 0.0 && got[13] > 0.0, "{got:?}");
    assert_eq!(l.train_steps, 3 * 30);
    // the pool grows by whole trajectories and stops at its capacity
    let pools: Vec<f64> = got.chunks(5).map(|c| c[4]).collect();
    assert!(pools[0] > 0.0 && pools.windows(2).all(|w| w[1] >= w[0]) && pools[3] <= 120.0, "{pools:?}");
    let fam = be.download(l.pool().fam.buffer()).unwrap();
    let touched: u32 = fam.iter().sum();
    assert!(touched > 0 && touched as u64 <= 3 * 30 * cfg.batch as u64, "familiarity counts {touched}");
}

#[test]
fn every_backend_gives_the_same_curves() {
    let (cfg, sys) = small();
    let mut reference: Option<Vec<f64>> = None;
    for be in common::backends() {
        let kind = be.kind();
        let got = curve(be, &cfg, &sys, 3);
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
    let (cfg, sys) = small();
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("resume");
    let ck = dir.join("train.ckpt");
    let full = curve(be.clone(), &cfg, &sys, 4);
    let mut a = CrbDrqn::new(&be, &cfg, &sys).unwrap();
    let mut got = curve_of(&mut a, 2);
    a.save(&ck).unwrap();
    drop(a);
    let mut b = CrbDrqn::new(&be, &cfg, &sys).unwrap();
    b.load(&ck).unwrap();
    got.extend(curve_of(&mut b, 2));
    got.extend(test_of(&mut b));
    assert_eq!(got, full, "resumed run differs");
    let other = CrbDrqnConfig { alpha: 2.0, ..cfg };
    let mut c = CrbDrqn::new(&be, &other, &sys).unwrap();
    assert!(matches!(c.load(&ck), Err(Error::Config { .. })));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let (cfg, sys) = small();
    let be = create(BackendKind::Cpu).unwrap();
    for (bad, field) in [
        (CrbDrqnConfig { trajectory_steps: 0, ..cfg.clone() }, "crbdrqn.trajectory_steps"),
        (CrbDrqnConfig { gamma: 1.5, ..cfg.clone() }, "crbdrqn.gamma"),
        (CrbDrqnConfig { instances: 0, ..cfg.clone() }, "crbdrqn.instances"),
        (CrbDrqnConfig { pool_capacity: 1 << 40, warmup: 8, ..cfg.clone() }, "crbdrqn.pool_capacity"),
    ] {
        let e = CrbDrqn::new(&be, &bad, &sys).err().expect("refused").to_string();
        assert!(e.contains(field), "{e}");
    }
    let e = CrbDrqn::new(&be, &cfg, &EndedgeConfig { servers: 0, ..sys }).err().expect("refused").to_string();
    assert!(e.contains("endedge.servers"), "{e}");
}

/// The pipeline of `mecrl run` / `reproduce crbdrqn`: a run stopped after two episodes and rerun
/// with four gives the outputs of an uninterrupted four-episode run (wall-clock times aside),
/// and writes the tables.
#[test]
fn the_pipeline_resumes_and_writes_its_tables() {
    use mecrl::experiment::crbdrqn::{outputs::write_outputs, run_in, CrbDrqnRunConfig};
    let (cfg, sys) = small();
    let rc = CrbDrqnRunConfig {
        devices: vec![4, 6],
        rates_mbps: vec![2.0],
        base_devices: 6,
        episodes: 4,
        test_episodes: 1,
        checkpoint_every: 1,
        convergence_window: 2,
        crbdrqn: cfg,
        endedge: sys,
        ..CrbDrqnRunConfig::default()
    };
    let be = create(BackendKind::Cpu).unwrap();
    let (a, b) = (tmp("pipe-a"), tmp("pipe-b"));
    let untimed = |mut r: mecrl::experiment::crbdrqn::results::Results| {
        for (_, _, rows) in &mut r.curves {
            rows.iter_mut().for_each(|x| x.seconds = 0.0);
        }
        r.convergence.iter_mut().for_each(|c| c.seconds = c.seconds.map(|_| 0.0));
        r
    };
    let full = untimed(run_in(&rc, be.clone(), &a, &mut |_| {}).unwrap());
    run_in(&CrbDrqnRunConfig { episodes: 2, ..rc.clone() }, be.clone(), &b, &mut |_| {}).unwrap();
    let mut ticks = 0;
    let resumed = untimed(run_in(&rc, be, &b, &mut |k| ticks += k).unwrap());
    assert_eq!(ticks, rc.work_units(), "progress counts what was reused");
    assert_eq!(resumed, full);
    assert_eq!(full.curves.len(), 12, "four learners at three points");
    assert_eq!(full.tests.len(), 21, "four learners and three heuristics at three points");
    assert_eq!(full.convergence.len(), 8, "one per learner and D of Fig. 5");
    let md = write_outputs(&rc, &full, &a.join("out")).unwrap_or_else(|e| {
        // figures need a font; the tables are written before them
        assert!(e.to_string().contains("font"), "{e}");
        String::new()
    });
    let table = std::fs::read_to_string(a.join("out/tests.csv")).unwrap();
    assert_eq!(table.lines().count(), 22);
    assert!(md.is_empty() || md.contains("| 6 | crb_drqn |"), "{md}");
    let _ = std::fs::remove_dir_all(a);
    let _ = std::fs::remove_dir_all(b);
}

/// `mecrl run configs/crbdrqn.toml` (cut down) prints both figures' tables, writes a run
/// directory with its figures' data and the policy at the base point; a bad field is refused
/// with its name and no directory.
#[test]
fn cli_run_of_the_shipped_config() {
    let d = tmp("run-config");
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/crbdrqn.toml")).unwrap();
    let small = shipped
        .replace("episodes = 20 ", "episodes = 2 ")
        .replace("test_episodes = 2", "test_episodes = 1")
        .replace("devices = [5, 10, 15, 20, 25, 30, 35]", "devices = [3, 5]")
        .replace("rates_mbps = [1.0, 1.5, 2.0, 2.5, 3.0]", "rates_mbps = [3.0]")
        .replace("base_devices = 25", "base_devices = 5")
        .replace("slots = 110", "slots = 40")
        .replace("warmup = 64", "warmup = 8");
    assert_ne!(small, shipped);
    let cfg = d.join("crbdrqn.toml");
    std::fs::write(&cfg, &small).unwrap();
    let out = d.join("runs");
    let mecrl = || std::process::Command::new(env!("CARGO_BIN_EXE_mecrl"));
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    for label in ["Fig. 5", "Fig. 6", "| 3 | crb_drqn |", "| 3 | decentralized |", "| 5 | qmix |", "| 5 | mappo |"] {
        assert!(stdout.contains(label), "table shows {label}:\n{stdout}");
    }
    let run = out.join("crbdrqn");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["system"], "crbdrqn");
    for f in [
        "tests.csv",
        "curves.csv",
        "convergence.csv",
        "policies/fig5_d5.crb_drqn.safetensors",
        "policies/fig5_d5.mappo.safetensors",
    ] {
        assert!(run.join(f).exists(), "{f}");
    }
    let bad = small.replace("trajectory_steps = 4", "trajectory_steps = 0");
    std::fs::write(&cfg, bad).unwrap();
    let out2 = d.join("runs-bad");
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out2).arg("--quiet").output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("crbdrqn.trajectory_steps"), "{err}");
    assert!(!out2.exists() || std::fs::read_dir(&out2).unwrap().count() == 0, "no run directory");
    let _ = std::fs::remove_dir_all(&d);
}

/// Eq. (18)–(19) credited to the arrival slot: over an episode the credited rewards of the
/// store sum to −(delay of the finished tasks) + Const·(dropped + unfinished), the totals of
/// the environment's counters, every arrival slot holds exactly one task's reward, and slots
/// without a task hold 0.
#[test]
fn rewards_are_credited_to_their_arrival_slots() {
    use mecrl::algo::crbdrqn::episodes::{Episodes, Pick};
    let (_, sys) = small();
    // a short tail: tasks still pending at the horizon count as unfinished (Const)
    let sys = EndedgeConfig { tail_slots: 2, arrival_prob: 0.7, ..sys };
    let be = create(BackendKind::Cpu).unwrap();
    let w = 3 + sys.servers + sys.load_history * sys.servers;
    let mut ep = Episodes::new(&be, &sys, 2, w, false).unwrap();
    ep.begin(7, 0, false).unwrap();
    let e = ep.agents();
    let x = mecrl::tensor::Tensor::zeros(&be, &[e, w]).unwrap();
    assert!(ep.inputs_into(&mecrl::tensor::Tensor::zeros(&be, &[e, w + 1]).unwrap()).is_err());
    for t in 0..sys.slots {
        ep.inputs_into(&x).unwrap();
        ep.put_inputs(t, x.buffer()).unwrap();
        // every terminal offloads to server 1 (a congested choice: drops happen)
        let first = mecrl::tensor::Tensor::from_u32(&be, &[e], &vec![1; e]).unwrap();
        let scores = mecrl::tensor::Tensor::zeros(&be, &[e, 1 + sys.servers]).unwrap();
        ep.act(&scores, &first, &x, Pick::Own).unwrap();
        ep.step(t).unwrap();
    }
    let s = ep.finish().unwrap();
    let reward = ep.store.reward.to_vec().unwrap();
    let weight = ep.store.weight.to_vec().unwrap();
    let c = sys.drop_reward();
    let want = -(s.delay_sum as f64) + c * (s.dropped + s.unfinished) as f64;
    let got: f64 = reward.iter().map(|&r| r as f64).sum();
    assert!(s.dropped + s.unfinished > 0 && s.finished > 0, "{s:?}");
    assert!((got - want).abs() < 1e-6 * want.abs(), "{got} vs {want}");
    assert_eq!(weight.iter().filter(|&&w| w > 0.0).count() as u64, s.arrivals);
    for (r, w) in reward.iter().zip(&weight) {
        if *w > 0.0 {
            assert!(*r == c as f32 || (*r <= -1.0 && *r >= -(sys.deadline_slots as f32)), "{r}");
        } else {
            assert_eq!(*r, 0.0);
        }
    }
}
