//! O2O-DRL on a small cooperative edge system: the CQL term moves the Q values, masked actions
//! are never taken, a corrupt or truncated task log is a typed error naming the file, the same
//! seed gives the same curves on every backend (within the parity tolerance) and a resumed run
//! continues bit for bit.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mecrl::algo::o2o::{O2o, O2oConfig, OfflineConfig, OfflineReplay, OnlineConfig};
use mecrl::backend::{create, Backend, BackendKind};
use mecrl::env::coop::dataset::{collect, OfflineDataset};
use mecrl::env::coop::{CoopConfig, CoopEnv, Heuristic, Stats};
use mecrl::error::Error;

/// 4 nodes, 6 slots with arrivals (+ 7 drain slots), 2 instances, small networks.
fn small() -> (O2oConfig, CoopConfig) {
    let sys = CoopConfig { n_nodes: 4, horizon: 6, ..CoopConfig::default() };
    let mut cfg = O2oConfig {
        instances: 2,
        hidden: [16, 16],
        eval_episodes: 1,
        offline: OfflineConfig { steps: 6, batch: 32, eval_every: 3, ..OfflineConfig::default() },
        online: OnlineConfig { updates: 2, ..OnlineConfig::default() },
        ..O2oConfig::default()
    };
    cfg.online.ppo.minibatches = 2;
    (cfg, sys)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-o2o-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn log(be: &Arc<dyn Backend>, sys: &CoopConfig) -> OfflineDataset {
    let mut env = CoopEnv::new(be.clone(), sys, 3, 11).unwrap();
    collect(&mut env, Heuristic::Ratc, 0, 3, 11).unwrap().0
}

fn replay(be: &Arc<dyn Backend>, sys: &CoopConfig) -> OfflineReplay {
    OfflineReplay::new(be, &log(be, sys), Path::new("ratc.log"), 1_000_000).unwrap()
}

fn q_values(l: &O2o, x: &[f32]) -> Vec<f32> {
    let be = l.backend();
    let f = l.system.obs_dim();
    let n = x.len() / f;
    let xt = mecrl::tensor::Tensor::from_f32(be, &[2, n / 2, f], x).unwrap();
    let tape = mecrl::autograd::Tape::no_grad(be);
    l.nets.q.forward(&tape, &tape.constant(&xt)).unwrap().value.to_vec().unwrap()
}

#[test]
fn the_cql_term_changes_the_q_values_and_lowers_the_regularizer() {
    let be = create(BackendKind::Cpu).unwrap();
    let (cfg, sys) = small();
    let ds = log(&be, &sys);
    let probe: Vec<f32> = ds.obs[..2 * 8 * sys.obs_dim()].to_vec();
    let run = |lambda_c: f32| {
        let mut c = cfg.clone();
        c.offline.lambda_c = lambda_c;
        let mut l = O2o::new(&be, &c, &sys).unwrap();
        let mut rp = OfflineReplay::new(&be, &ds, Path::new("ratc.log"), 1_000_000).unwrap();
        let st = l.offline_steps(&mut rp, 60, &mut || {}).unwrap();
        (q_values(&l, &probe), st)
    };
    let (q_cql, s_cql) = run(0.1);
    let (q_plain, s_plain) = run(0.0);
    assert!(s_cql.q_loss.is_finite() && s_plain.q_loss.is_finite());
    let diff = q_cql.iter().zip(&q_plain).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(diff > 1e-4, "λ_c = 0.1 and λ_c = 0 give the same Q values (max |Δ| = {diff})");
    // the regularizer pushes unseen actions down against the logged one
    assert!(s_cql.cql < s_plain.cql, "CQL term {} (λ_c = 0.1) vs {} (λ_c = 0)", s_cql.cql, s_plain.cql);
}

#[test]
fn masked_actions_are_never_taken() {
    let be = create(BackendKind::Cpu).unwrap();
    let (cfg, sys) = small();
    // an untrained actor samples every allowed action; the environment counts any masked one
    let mut l = O2o::new(&be, &cfg, &sys).unwrap();
    let st = Stats::sum(&l.evaluate(0, 3, &mut || {}).unwrap());
    assert!(st.arrivals > 0);
    assert_eq!(st.invalid, 0, "{st:?}");
    let on = l.online_update(&mut || {}).unwrap();
    assert_eq!(on.stats.invalid, 0, "{:?}", on.stats);
    assert!(on.ppo.loss.is_finite());
    // with a fully loaded system only local or "no task" are allowed: RDA-like loads
    let busy = CoopConfig { arrival_prob_min: 1.0, arrival_prob_max: 1.0, max_queue: 1, ..sys.clone() };
    let mut l = O2o::new(&be, &cfg, &busy).unwrap();
    let st = Stats::sum(&l.evaluate(2, 2, &mut || {}).unwrap());
    assert_eq!(st.invalid, 0, "{st:?}");
    // the greedy evaluation takes the most likely allowed action
    let greedy = O2oConfig { greedy_eval: true, ..cfg.clone() };
    let mut l = O2o::new(&be, &greedy, &busy).unwrap();
    let st = Stats::sum(&l.evaluate(2, 2, &mut || {}).unwrap());
    assert!(st.arrivals > 0 && st.invalid == 0, "{st:?}");
}

#[test]
fn a_corrupt_or_truncated_log_is_a_typed_error_naming_the_file() {
    let be = create(BackendKind::Cpu).unwrap();
    let (_, sys) = small();
    let dir = tmp("logs");
    let path = dir.join("ratc.log");
    log(&be, &sys).write(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut flipped = bytes.clone();
    flipped[100] ^= 0x40;
    for (name, content) in [("corrupt.log", flipped), ("truncated.log", bytes[..bytes.len() / 2].to_vec())] {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        let e = OfflineDataset::read(&p).unwrap_err();
        assert!(matches!(e, Error::Parse { .. }), "{e:?}");
        assert!(e.to_string().contains(name), "{e}");
    }
    // a log of another system size is refused by the learner, naming the mismatch
    let (cfg, _) = small();
    let other = CoopConfig { n_nodes: 5, ..sys.clone() };
    let mut l = O2o::new(&be, &cfg, &other).unwrap();
    let mut rp = replay(&be, &sys);
    let e = l.offline_steps(&mut rp, 1, &mut || {}).unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

/// (offline losses, offline eval success, online success rates) of a short O2O run.
fn short_run(be: &Arc<dyn Backend>) -> (Vec<f32>, f64, Vec<f64>) {
    let (cfg, sys) = small();
    let mut l = O2o::new(be, &cfg, &sys).unwrap();
    let mut rp = replay(be, &sys);
    let s = l.offline_steps(&mut rp, 6, &mut || {}).unwrap();
    let ev = Stats::sum(&l.evaluate(0, 1, &mut || {}).unwrap());
    let on: Vec<f64> = (0..2).map(|_| l.online_update(&mut || {}).unwrap().stats.success_rate()).collect();
    (vec![s.actor_loss, s.q_loss, s.critic_loss, s.cql], ev.success_rate(), on)
}

#[test]
fn the_same_seed_gives_the_same_curves_on_every_backend() {
    let bes = common::backends();
    let (ref_losses, ref_ev, ref_on) = short_run(&bes[0]);
    for be in &bes[1..] {
        let (losses, ev, on) = short_run(be);
        for (a, b) in losses.iter().zip(&ref_losses) {
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{}: losses {losses:?} vs {ref_losses:?}", be.kind());
        }
        // sampled decisions agree except where a probability sits within float noise of the draw
        assert!((ev - ref_ev).abs() < 0.05, "{}: eval {ev} vs {ref_ev}", be.kind());
        for (a, b) in on.iter().zip(&ref_on) {
            assert!((a - b).abs() < 0.05, "{}: online {on:?} vs {ref_on:?}", be.kind());
        }
    }
}

#[test]
fn a_resumed_run_continues_bit_for_bit() {
    let be = create(BackendKind::Cpu).unwrap();
    let (cfg, sys) = small();
    let dir = tmp("resume");
    let ck = dir.join("o2o.safetensors");
    let params = |l: &O2o| -> Vec<Vec<f32>> {
        let mut p = l.nets.trained_offline();
        p.extend(l.nets.q_target.params());
        p.iter().map(|p| p.value.to_vec().unwrap()).collect()
    };
    // straight: 4 offline steps, 2 online updates
    let mut a = O2o::new(&be, &cfg, &sys).unwrap();
    let mut rp = replay(&be, &sys);
    a.offline_steps(&mut rp, 4, &mut || {}).unwrap();
    let a_on: Vec<_> = (0..2).map(|_| a.online_update(&mut || {}).unwrap()).collect();
    // interrupted after 2 offline steps and again after 1 online update
    let mut b = O2o::new(&be, &cfg, &sys).unwrap();
    let mut rp = replay(&be, &sys);
    b.offline_steps(&mut rp, 2, &mut || {}).unwrap();
    b.save(&ck).unwrap();
    let mut c = O2o::new(&be, &cfg, &sys).unwrap();
    c.load(&ck).unwrap();
    let mut rp = replay(&be, &sys);
    c.offline_steps(&mut rp, 2, &mut || {}).unwrap();
    let first = c.online_update(&mut || {}).unwrap();
    c.save(&ck).unwrap();
    let mut d = O2o::new(&be, &cfg, &sys).unwrap();
    d.load(&ck).unwrap();
    let second = d.online_update(&mut || {}).unwrap();
    assert_eq!(vec![first, second], a_on);
    assert_eq!(params(&d), params(&a), "parameters differ after the resumed run");
    // another configuration's checkpoint is refused
    let mut other = cfg.clone();
    other.offline.alpha = 0.1;
    let mut e = O2o::new(&be, &other, &sys).unwrap();
    assert!(matches!(e.load(&ck), Err(Error::Config { .. })));
}

/// A run of the pipeline at one small point (no figure axes, O2O and online-only, RATC).
fn tiny_run(dir: &Path) -> mecrl::experiment::O2oRunConfig {
    let (o2o, coop) = small();
    mecrl::experiment::O2oRunConfig {
        out_dir: dir.to_path_buf(),
        heuristics: vec![Heuristic::Ratc],
        sources: vec![],
        log_instances: 2,
        log_episodes: 2,
        test_episodes: 1,
        checkpoint_every: 1,
        o2o,
        coop,
        ..Default::default()
    }
}

#[test]
fn a_rerun_of_the_pipeline_reuses_its_work_files() {
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("pipeline");
    let cfg = tiny_run(&dir);
    let work = dir.join("work");
    let a = mecrl::experiment::o2o::run_in(&cfg, be.clone(), &work, &mut |_| {}).unwrap();
    let methods: Vec<&str> = a.tests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["offline_only", "o2o", "online_only", "ratc"]);
    // the curve: offline points 0, 3, 6, then the online updates
    let steps: Vec<(String, u64)> = a.curves[0].rows.iter().map(|r| (r.phase.clone(), r.step)).collect();
    assert_eq!(steps.len(), 3 + 2);
    assert_eq!(steps[0], ("offline".to_string(), 0));
    assert!(!work.join("base.ratc.log").exists(), "the log is removed once the offline phase is done");
    let mut ticks = 0u64;
    let b = mecrl::experiment::o2o::run_in(&cfg, be, &work, &mut |k| ticks += k).unwrap();
    assert_eq!(a, b);
    assert_eq!(ticks, cfg.work_units(), "a rerun accounts for all the work it skips");
}

#[test]
fn each_variant_alone_runs_what_it_needs() {
    use mecrl::algo::o2o::Variant;
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("variants");
    for (k, v) in Variant::ALL.into_iter().enumerate() {
        let cfg = mecrl::experiment::O2oRunConfig { variants: vec![v], heuristics: vec![], ..tiny_run(&dir) };
        let mut ticks = 0u64;
        let r =
            mecrl::experiment::o2o::run_in(&cfg, be.clone(), &dir.join(format!("w{k}")), &mut |n| ticks += n).unwrap();
        let methods: Vec<&str> = r.tests.iter().map(|t| t.method.as_str()).collect();
        assert_eq!(methods, [v.name()]);
        assert_eq!(r.curves.len(), 1);
        let phases: Vec<&str> = r.curves[0].rows.iter().map(|x| x.phase.as_str()).collect();
        assert_eq!(phases.contains(&"offline"), v.offline(), "{v:?}");
        assert_eq!(phases.contains(&"online"), v.online(), "{v:?}");
        assert_eq!(ticks, cfg.work_units(), "{v:?}");
    }
}

#[test]
fn a_configured_log_that_is_corrupt_is_an_error_naming_it() {
    let be = create(BackendKind::Cpu).unwrap();
    let dir = tmp("userlog");
    let (_, sys) = small();
    let good = dir.join("mine.log");
    log(&be, &sys).write(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.join("cut.log");
    std::fs::write(&bad, &bytes[..bytes.len() - 9]).unwrap();
    let cfg = mecrl::experiment::O2oRunConfig { log: Some(bad.clone()), ..tiny_run(&dir) };
    let e = mecrl::experiment::o2o::run_in(&cfg, be.clone(), &dir.join("w1"), &mut |_| {}).unwrap_err();
    assert!(matches!(e, Error::Parse { .. }) && e.to_string().contains("cut.log"), "{e}");
    // the good one trains, labelled as a file
    let cfg = mecrl::experiment::O2oRunConfig { log: Some(good), ..tiny_run(&dir) };
    let r = mecrl::experiment::o2o::run_in(&cfg, be, &dir.join("w2"), &mut |_| {}).unwrap();
    assert!(r.tests.iter().any(|t| t.method == "o2o" && t.source == "file"));
}

#[test]
fn a_diverged_offline_phase_is_a_typed_error() {
    let be = create(BackendKind::Cpu).unwrap();
    let (mut cfg, sys) = small();
    cfg.offline.lr = 1e30;
    let mut l = O2o::new(&be, &cfg, &sys).unwrap();
    let mut rp = replay(&be, &sys);
    let e = l.offline_steps(&mut rp, 20, &mut || {}).unwrap_err();
    assert!(matches!(&e, Error::Config { field, .. } if field == "o2o.offline.lr"), "{e}");
}

#[test]
fn the_shipped_config_is_the_papers_and_quick_is_a_subset() {
    use mecrl::experiment::o2o::paper_config;
    let full = paper_config(false, 3).unwrap();
    let quick = paper_config(true, 3).unwrap();
    for c in [&full, &quick] {
        assert!(c.coop.fixed_network, "one edge network per setting");
        assert_eq!((c.coop.n_nodes, c.o2o.offline.batch, c.o2o.offline.lambda_c), (20, 128, 0.1));
        assert_eq!((c.seed, c.o2o.seed), (3, 3));
    }
    let figs = |c: &mecrl::experiment::O2oRunConfig| {
        let mut f: Vec<&str> = c.points().iter().map(|p| p.figure).collect();
        f.dedup();
        f
    };
    assert_eq!(figs(&full), ["base", "fig4", "fig5a", "fig5b", "fig5c", "fig6"]);
    assert_eq!(figs(&quick), figs(&full));
    assert!(quick.work_units() < full.work_units() / 3);
}

#[test]
fn the_actor_at_the_current_state_is_another_update() {
    use mecrl::algo::o2o::ActorState;
    let be = create(BackendKind::Cpu).unwrap();
    let (cfg, sys) = small();
    let run = |s: ActorState| {
        let mut c = cfg.clone();
        c.offline.actor_state = s;
        let mut l = O2o::new(&be, &c, &sys).unwrap();
        let mut rp = replay(&be, &sys);
        let st = l.offline_steps(&mut rp, 10, &mut || {}).unwrap();
        let actor: Vec<Vec<f32>> = l.nets.actor.params().iter().map(|p| p.value.to_vec().unwrap()).collect();
        (st, actor)
    };
    let (next, a_next) = run(ActorState::Next);
    let (cur, a_cur) = run(ActorState::Current);
    // the same targets at step 1 feed the Qs; the actors move differently
    assert!(cur.q_loss.is_finite() && cur.actor_loss.is_finite() && next.actor_loss.is_finite());
    assert_ne!(a_next, a_cur);
}

#[test]
fn the_target_qs_follow_by_tau() {
    // Alg. 1 lines 6-7: after a step, Q̄ = (1 − τ)·Q̄_before + τ·Q_after
    let be = create(BackendKind::Cpu).unwrap();
    let (mut cfg, sys) = small();
    cfg.offline.tau = 0.25;
    let mut l = O2o::new(&be, &cfg, &sys).unwrap();
    let mut rp = replay(&be, &sys);
    let vals =
        |ps: Vec<mecrl::autograd::Param>| -> Vec<f32> { ps.iter().flat_map(|p| p.value.to_vec().unwrap()).collect() };
    l.offline_steps(&mut rp, 3, &mut || {}).unwrap();
    let before = vals(l.nets.q_target.params());
    l.offline_steps(&mut rp, 1, &mut || {}).unwrap();
    let (q, after) = (vals(l.nets.q.params()), vals(l.nets.q_target.params()));
    assert!(before.iter().zip(&q).any(|(b, q)| b != q), "the Qs moved away from their targets");
    for ((b, q), a) in before.iter().zip(&q).zip(&after) {
        let want = 0.75 * b + 0.25 * q;
        assert!((a - want).abs() <= 1e-6 * want.abs().max(1.0), "{a} vs {want}");
    }
}
