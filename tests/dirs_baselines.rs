//! The DRL baselines of DIRS (DIRS paper §VI, Table III): Actor-Critic and DDPG on the `mec`
//! system. Small scale (N = 10 IoTDs, M = 2 MECs), fixed seeds: both learn on held-out channel
//! states, are deterministic, refuse bad configs with typed errors, and run on every backend
//! without a download inside a training step.
mod common;

use std::ops::ControlFlow;
use std::sync::Arc;

use mecrl::algo::ac::{AcConfig, ActorCritic};
use mecrl::algo::ddpg::{Ddpg, DdpgConfig};
use mecrl::algo::mec_drl::{evaluate_heuristic, Baseline, EvalReport, StepMetrics};
use mecrl::algo::Agent;
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::env::mec::{Heuristic, MecConfig, MecEnv};
use mecrl::Error;

fn small_mec() -> MecConfig {
    MecConfig { n_iotd: 10, n_mec: 2, ..Default::default() }
}

fn cpu() -> Arc<dyn Backend> {
    backend::create(BackendKind::Cpu).unwrap()
}

/// Held-out evaluation: 16 instances (the training layouts) × 8 channel states after training.
const EVAL_B: usize = 16;
const EVAL_STEPS: usize = 8;

fn random_on(env: &mut MecEnv) -> f64 {
    evaluate_heuristic(env, EVAL_STEPS, Heuristic::Random).unwrap().objective
}

fn ac_cfg() -> AcConfig {
    AcConfig { train_envs: 16, steps: 600, ..Default::default() }
}

fn ddpg_cfg() -> DdpgConfig {
    DdpgConfig { train_envs: 16, steps: 600, ..Default::default() }
}

#[test]
fn actor_critic_learns() {
    let mut ac = ActorCritic::new(cpu(), &small_mec(), &ac_cfg()).unwrap();
    let before = ac.evaluate(&mut ac.heldout_env(EVAL_B).unwrap(), EVAL_STEPS).unwrap();
    let log = ac.train_logged(100, &mut || {}).unwrap();
    assert_eq!(ac.steps_done(), 600);
    assert_eq!(log.len(), 7, "steps 0, 100, …, 500 and the last");
    let after = ac.evaluate(&mut ac.heldout_env(EVAL_B).unwrap(), EVAL_STEPS).unwrap();
    let random = random_on(&mut ac.heldout_env(EVAL_B).unwrap());
    // Measured, seeds 1–5 while calibrating (seed 1 is this test): after 9.3, 9.6, 9.4, 8.6,
    // 9.2 (Local: 10.0, every task local with Φ_i = 1); after/before 0.49, 0.43, 0.37, 0.31,
    // 0.36; after/Random 0.30, 0.33, 0.51, 0.46, 0.41. The untrained argmax sends tasks over
    // faded links; the trained policy learns which links are worth it. The thresholds (0.75
    // and 0.7) hold for all five seeds with margin.
    assert!(after.objective < 0.75 * before.objective, "after {} vs before {}", after.objective, before.objective);
    assert!(after.objective < 0.7 * random, "after {} vs Random {random}", after.objective);
    check_report(&after);
}

#[test]
fn ddpg_learns() {
    let mut ag = Ddpg::new(cpu(), &small_mec(), &ddpg_cfg()).unwrap();
    let before = ag.evaluate(&mut ag.heldout_env(EVAL_B).unwrap(), EVAL_STEPS).unwrap();
    let log = ag.train_logged(0, &mut || {}).unwrap();
    assert!(log.is_empty(), "no logging asked");
    assert_eq!(ag.replay_len(), 600 * 16, "9600 transitions, below the capacity of 20000");
    assert_eq!(ag.updates_done(), 4 * (600 - 256 / 16 + 1), "4 updates per step from learn_start on");
    let after = ag.evaluate(&mut ag.heldout_env(EVAL_B).unwrap(), EVAL_STEPS).unwrap();
    let random = random_on(&mut ag.heldout_env(EVAL_B).unwrap());
    // Measured with the defaults (4 updates per step), seeds 1–5 while calibrating: after 15.1,
    // 12.1, 9.5, 13.3, 10.2; after/before 0.59, 0.45, 0.46, 0.69, 0.45; after/Random 0.48, 0.42,
    // 0.52, 0.70, 0.46 (seed 1 is this test). DDPG learns more noisily than Actor-Critic here
    // (its critic must learn the argmax's step function through the Gaussian smoothing; with 2
    // updates per step one seed in five did not improve): thresholds 0.8× before and 0.8×
    // Random hold for all five seeds.
    assert!(after.objective < 0.8 * before.objective, "after {} vs before {}", after.objective, before.objective);
    assert!(after.objective < 0.8 * random, "after {} vs Random {random}", after.objective);
    check_report(&after);
}

fn check_report(r: &EvalReport) {
    assert_eq!(r.per_step.len(), EVAL_STEPS);
    for m in &r.per_step {
        assert!(m.objective > 0.0 && m.mean_time > 0.0 && m.mean_energy > 0.0, "{m:?}");
        // Paper reward (Inverse is the default form): 1/ΣΦ of each instance, averaged.
        assert!(m.reward > 0.0 && m.reward.is_finite(), "{m:?}");
    }
    let mean = r.per_step.iter().map(|m| m.objective).sum::<f64>() / EVAL_STEPS as f64;
    assert!((mean - r.objective).abs() <= 1e-9 * mean, "{mean} vs {}", r.objective);
    assert!(r.inference_s_per_decision > 0.0, "inference time measured");
}

fn params_of(ps: &[mecrl::autograd::Param]) -> Vec<u32> {
    ps.iter().flat_map(|p| p.value.to_vec().unwrap().into_iter().map(f32::to_bits)).collect()
}

fn short_ac(seed: u64) -> (Vec<StepMetrics>, Vec<u32>) {
    let cfg = AcConfig { seed, train_envs: 8, steps: 20, ..Default::default() };
    let mut ac = ActorCritic::new(cpu(), &small_mec(), &cfg).unwrap();
    let log = ac.train_logged(1, &mut || {}).unwrap();
    (log, params_of(&ac.params()))
}

fn short_ddpg(seed: u64) -> (Vec<StepMetrics>, Vec<u32>) {
    let cfg = DdpgConfig {
        seed,
        train_envs: 8,
        steps: 20,
        minibatch: 16,
        learn_start: 32,
        replay_capacity: 64,
        gamma: 0.5,
        ..Default::default()
    };
    let mut ag = Ddpg::new(cpu(), &small_mec(), &cfg).unwrap();
    let log = ag.train_logged(1, &mut || {}).unwrap();
    assert!(ag.updates_done() > 0);
    (log, [params_of(&ag.params()), params_of(&ag.target_params())].concat())
}

#[test]
fn fixed_seed_is_deterministic() {
    for run in [short_ac as fn(u64) -> (Vec<StepMetrics>, Vec<u32>), short_ddpg] {
        let (m1, p1) = run(7);
        let (m2, p2) = run(7);
        assert_eq!(m1, m2, "same seed, same metrics");
        assert_eq!(p1, p2, "same seed, same parameters bit for bit");
        let (m3, p3) = run(8);
        assert_ne!(p1, p3, "another seed, other parameters");
        assert_ne!(m1, m3);
    }
}

#[test]
fn ddpg_targets_follow_by_soft_updates() {
    // With τ = 1 the targets equal the trained networks after every update; with the default
    // small τ they lag (differ) but have moved from their start.
    let base = DdpgConfig {
        train_envs: 8,
        steps: 6,
        minibatch: 16,
        learn_start: 16,
        replay_capacity: 64,
        ..Default::default()
    };
    let mut hard = Ddpg::new(cpu(), &small_mec(), &DdpgConfig { tau: 1.0, ..base.clone() }).unwrap();
    hard.train_logged(0, &mut || {}).unwrap();
    assert_eq!(params_of(&hard.params()), params_of(&hard.target_params()));
    let mut soft = Ddpg::new(cpu(), &small_mec(), &base).unwrap();
    let t0 = params_of(&soft.target_params());
    assert_eq!(t0, params_of(&soft.params()), "targets start as copies");
    soft.train_logged(0, &mut || {}).unwrap();
    let t1 = params_of(&soft.target_params());
    assert_ne!(t1, t0);
    assert_ne!(t1, params_of(&soft.params()));
}

/// Trains `new()` to the end, then again with an interruption after step `k` (the state saved,
/// as a caller's checkpoint would be) and a fresh agent restored from the file: the resumed run
/// logs the same metrics and ends with the same `words` bit for bit.
fn resumes<A: Baseline>(new: impl Fn() -> A, path: &std::path::Path, k: usize, words: impl Fn(&A) -> Vec<u32>) {
    let mut a = new();
    let full = a.train_logged(1, &mut || {}).unwrap();
    let mut b = new();
    let mut log = vec![];
    b.train(1, &mut |b, m| {
        log.extend(m);
        if b.steps_done() < k {
            return Ok(ControlFlow::Continue(()));
        }
        b.save(path, &serde_json::json!({"config": {"log_every": 1}, "data": [k]}))?;
        Ok(ControlFlow::Break(()))
    })
    .unwrap();
    let mut c = new();
    assert_eq!(c.load(path, &serde_json::json!({"log_every": 1})).unwrap(), serde_json::json!([k]));
    assert_eq!(c.steps_done(), k);
    log.extend(c.train_logged(1, &mut || {}).unwrap());
    assert_eq!(log, full, "the same metrics");
    assert!(words(&c) == words(&a), "the same parameters");
}

/// Actor-Critic and DDPG (targets and a wrapped replay memory included) resume from their
/// checkpoint exactly, across an episode boundary; a checkpoint of another config or another
/// algorithm is refused with a typed error.
#[test]
fn baselines_resume_from_their_checkpoint_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("mecrl-baselines-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ac = AcConfig { train_envs: 4, steps: 8, episode_steps: 3, ..Default::default() };
    resumes(|| ActorCritic::new(cpu(), &small_mec(), &ac).unwrap(), &dir.join("ac"), 5, |a| params_of(&a.params()));
    let dd = DdpgConfig {
        train_envs: 4,
        steps: 8,
        episode_steps: 3,
        minibatch: 8,
        learn_start: 8,
        replay_capacity: 12,
        gamma: 0.5,
        ..Default::default()
    };
    let words = |a: &Ddpg| [params_of(&a.params()), params_of(&a.target_params())].concat();
    resumes(|| Ddpg::new(cpu(), &small_mec(), &dd).unwrap(), &dir.join("ddpg"), 5, words);
    let other = ActorCritic::new(cpu(), &small_mec(), &AcConfig { entropy_coef: 0.5, ..ac })
        .unwrap()
        .load(&dir.join("ac"), &serde_json::json!({"log_every": 1}));
    config_err(other.unwrap_err(), "ac.entropy_coef");
    let e = Ddpg::new(cpu(), &small_mec(), &dd).unwrap().load(&dir.join("ac"), &serde_json::json!({"log_every": 1}));
    assert!(matches!(e, Err(Error::Parse { .. })), "{e:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn config_err(e: Error, field: &str) {
    match e {
        Error::Config { field: f, .. } => assert_eq!(f, field),
        other => panic!("expected a config error on {field}, got {other}"),
    }
}

#[test]
fn bad_configs_are_typed_errors() {
    let be = cpu();
    let mec = small_mec();
    let ac_bad = [
        (AcConfig { train_envs: 0, ..Default::default() }, "ac.train_envs"),
        (AcConfig { steps: 0, ..Default::default() }, "ac.steps"),
        (AcConfig { actor_lr: f64::NAN, ..Default::default() }, "ac.actor_lr"),
        (AcConfig { critic_lr: 2.0, ..Default::default() }, "ac.critic_lr"),
        (AcConfig { actor_hidden: vec![], ..Default::default() }, "ac.actor_hidden"),
        (AcConfig { critic_hidden: vec![64, 0], ..Default::default() }, "ac.critic_hidden"),
        (AcConfig { entropy_coef: -0.1, ..Default::default() }, "ac.entropy_coef"),
        (AcConfig { reward_scale: 0.0, ..Default::default() }, "ac.reward_scale"),
    ];
    for (cfg, field) in ac_bad {
        config_err(ActorCritic::new(be.clone(), &mec, &cfg).err().expect(field), field);
    }
    let dd_bad = [
        (DdpgConfig { tau: 0.0, ..Default::default() }, "ddpg.tau"),
        (DdpgConfig { tau: 1.5, ..Default::default() }, "ddpg.tau"),
        (DdpgConfig { gamma: 1.0, ..Default::default() }, "ddpg.gamma"),
        (DdpgConfig { noise_std: -1.0, ..Default::default() }, "ddpg.noise_std"),
        (DdpgConfig { minibatch: 0, ..Default::default() }, "ddpg.minibatch"),
        (DdpgConfig { replay_capacity: 8, ..Default::default() }, "ddpg.replay_capacity"),
        (DdpgConfig { learn_start: 8, ..Default::default() }, "ddpg.learn_start"),
        (DdpgConfig { learn_start: 30_000, ..Default::default() }, "ddpg.learn_start"),
        (DdpgConfig { updates_per_step: 0, ..Default::default() }, "ddpg.updates_per_step"),
        (DdpgConfig { actor_hidden: vec![0], ..Default::default() }, "ddpg.actor_hidden"),
    ];
    for (cfg, field) in dd_bad {
        config_err(Ddpg::new(be.clone(), &mec, &cfg).err().expect(field), field);
    }
    // A bad environment config is the environment's typed error.
    let e = ActorCritic::new(be.clone(), &MecConfig { n_iotd: 0, ..small_mec() }, &AcConfig::default()).err().unwrap();
    assert!(matches!(e, Error::Config { ref field, .. } if field.starts_with("mec.")), "{e}");
    // Unknown TOML keys are refused (serde deny_unknown_fields).
    assert!(toml::from_str::<DdpgConfig>("tua = 0.1").is_err());
    let ok: AcConfig = toml::from_str("entropy_coef = 0.02\nactivation = \"tanh\"").unwrap();
    assert_eq!(ok.entropy_coef, 0.02);
    // Evaluating on an environment of another size is a shape error, not a panic.
    let ac = ActorCritic::new(be.clone(), &mec, &AcConfig { train_envs: 2, ..Default::default() }).unwrap();
    let mut other = MecEnv::new(be.clone(), &MecConfig { n_iotd: 12, ..small_mec() }, 2, 1).unwrap();
    assert!(matches!(ac.evaluate(&mut other, 1), Err(Error::Shape { .. })));
    let dd = Ddpg::new(be, &mec, &DdpgConfig { train_envs: 2, ..Default::default() }).unwrap();
    assert!(matches!(dd.evaluate(&mut other, 1), Err(Error::Shape { .. })));
}

#[test]
fn every_backend_trains_without_downloads() {
    let mec = small_mec();
    let acc = AcConfig { train_envs: 8, steps: 4, ..Default::default() };
    let ddc = DdpgConfig {
        train_envs: 8,
        steps: 4,
        minibatch: 16,
        learn_start: 16,
        replay_capacity: 64,
        gamma: 0.5,
        ..Default::default()
    };
    // The untrained greedy policies' objective on the CPU: the other backends start from the
    // same weights and states, so they must agree (to the parity tolerance of the products).
    let reference = |be: Arc<dyn Backend>| {
        let ac = ActorCritic::new(be.clone(), &mec, &acc).unwrap();
        let dd = Ddpg::new(be, &mec, &ddc).unwrap();
        let a = ac.evaluate(&mut ac.heldout_env(8).unwrap(), 2).unwrap().objective;
        let d = dd.evaluate(&mut dd.heldout_env(8).unwrap(), 2).unwrap().objective;
        (a, d)
    };
    let want = reference(cpu());
    for be in common::backends() {
        let kind = be.kind();
        let got = reference(be.clone());
        for (g, w) in [(got.0, want.0), (got.1, want.1)] {
            assert!((g - w).abs() <= 1e-4 * w, "{kind}: untrained objective {g} vs cpu {w}");
        }
        let mut ac = ActorCritic::new(be.clone(), &mec, &acc).unwrap();
        let mut dd = Ddpg::new(be.clone(), &mec, &ddc).unwrap();
        let before = be.downloads();
        ac.train_logged(0, &mut || {}).unwrap();
        dd.train_logged(0, &mut || {}).unwrap();
        assert!(dd.updates_done() > 0, "{kind}: DDPG updated");
        assert_eq!(be.downloads(), before, "{kind}: training steps download nothing");
        // Logged steps read their metrics (that is what logging is).
        let m = ac.train_step(true).unwrap().unwrap();
        assert!(be.downloads() > before && m.objective.is_finite());
        for p in [ac.params(), dd.params(), dd.target_params()].concat() {
            assert!(p.value.to_vec().unwrap().iter().all(|v| v.is_finite()), "{kind}: {} finite", p.name);
        }
        let r = dd.evaluate(&mut dd.heldout_env(8).unwrap(), 2).unwrap();
        assert!(r.objective.is_finite() && r.objective > 0.0, "{kind}");
    }
}

/// Figures of a short run (not a check of numbers: `cargo test --test dirs_baselines figures --
/// --ignored` with MECRL_FIGURES=<dir>).
#[test]
#[ignore]
fn figures() {
    use mecrl::experiment::plot::{bar_chart, line_chart, BarChart, LineChart, Series};
    let dir = std::path::PathBuf::from(std::env::var("MECRL_FIGURES").unwrap_or_else(|_| {
        std::env::temp_dir().join(format!("mecrl-figs-{}", std::process::id())).to_string_lossy().into_owned()
    }));
    let mec = MecConfig::default();
    let mut ac = ActorCritic::new(cpu(), &mec, &AcConfig::default()).unwrap();
    let mut dd = Ddpg::new(cpu(), &mec, &DdpgConfig::default()).unwrap();
    let timed = |a: &mut dyn FnMut() -> Vec<StepMetrics>| {
        let t0 = std::time::Instant::now();
        (a(), t0.elapsed().as_secs_f64())
    };
    let (ra, ta) = timed(&mut || ac.train_logged(50, &mut || {}).unwrap());
    let (rd, td) = timed(&mut || dd.train_logged(50, &mut || {}).unwrap());
    // The same seed gives both the same layouts and states; 16 held-out instances for all.
    let (ea, ed) = (
        ac.evaluate(&mut ac.heldout_env(16).unwrap(), 20).unwrap(),
        dd.evaluate(&mut dd.heldout_env(16).unwrap(), 20).unwrap(),
    );
    let mut heur = vec![];
    for h in [Heuristic::Local, Heuristic::Greedy, Heuristic::Random] {
        heur.push((format!("{h:?}"), evaluate_heuristic(&mut ac.heldout_env(16).unwrap(), 20, h).unwrap().objective));
        let same = evaluate_heuristic(&mut dd.heldout_env(16).unwrap(), 20, h).unwrap().objective;
        assert_eq!(same, heur.last().unwrap().1, "{h:?}: the two baselines' held-out states are the same");
    }
    let curve = |name: &str, r: &[StepMetrics]| Series {
        name: name.into(),
        points: r.iter().map(|m| (m.step as f64, m.objective)).collect(),
    };
    let p = line_chart(
        &dir.join("ac_ddpg_training"),
        &LineChart {
            title: "Training on mec (N = 30, M = 2)".into(),
            x_label: "step".into(),
            y_label: "objective sum Phi (batch mean)".into(),
            series: vec![curve("Actor-Critic", &ra), curve("DDPG", &rd)],
            log_y: true,
        },
    )
    .unwrap();
    let mut groups = vec!["Actor-Critic".to_string(), "DDPG".into()];
    let mut vals = vec![ea.objective, ed.objective];
    for (n, v) in heur {
        groups.push(n);
        vals.push(v);
    }
    let q = bar_chart(
        &dir.join("ac_ddpg_heldout"),
        &BarChart {
            title: "Held-out states".into(),
            y_label: "objective".into(),
            groups,
            series: vec![("objective".into(), vals)],
            log_y: false,
        },
    )
    .unwrap();
    eprintln!(
        "{p:?} {q:?}\nAC: train {:.2} s, inference {:.3e} s/decision, objective {:.3}, reward {:.4}\nDDPG: train {:.2} s, inference {:.3e} s/decision, objective {:.3}, reward {:.4}",
        ta, ea.inference_s_per_decision, ea.objective, ea.reward, td, ed.inference_s_per_decision, ed.objective, ed.reward
    );
    assert!(p.iter().chain(&q).all(|f| f.exists()));
}
