//! DIRS at small scale with fixed seeds (issue 5, part 6): imitation accuracy, DIRS against the
//! Greedy / Random / Local baselines on held-out instances, Lévy refinement never worse than the
//! voted action, the prioritized sampling of eq. (16), the same run on every backend, no host
//! round trip inside a training or online step, and typed errors for bad configs.

use std::sync::Arc;

use mecrl::algo::dirs::{self, Dirs, DirsConfig};
use mecrl::algo::replay::{Replay, ReplayConfig};
use mecrl::algo::Agent;
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::env::mec::{Heuristic, MecConfig, MecEnv};
use mecrl::search::levy::LevyConfig;
use mecrl::Error;

mod common;
use common::backends;

fn cpu() -> Arc<dyn Backend> {
    backend::create(BackendKind::Cpu).unwrap()
}

/// N = 10 IoTDs, M = 2 MECs (the paper's M, a third of its N so that tests stay fast).
fn mec() -> MecConfig {
    MecConfig { n_iotd: 10, n_mec: 2, ..MecConfig::default() }
}

/// Small-scale DIRS: 256 demonstrations (the paper's count), a shorter pre-training and online
/// stage, minibatch 64, a lighter search (16 candidates, 40 generations).
fn small(seed: u64) -> DirsConfig {
    DirsConfig {
        seed,
        t_d: 300,
        t_drl: 200,
        minibatch: 64,
        levy: LevyConfig { population: 16, generations: 40, ..LevyConfig::default() },
        ..DirsConfig::default()
    }
}

fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64
}

/// Fraction of decisions equal to the most frequent label (a classifier that ignores the state).
fn majority_rate(labels: &[u32], m: usize) -> f64 {
    let mut count = vec![0usize; m + 1];
    for &a in labels {
        count[a as usize] += 1;
    }
    *count.iter().max().unwrap() as f64 / labels.len() as f64
}

#[test]
fn imitation_accuracy_above_threshold() {
    let be = cpu();
    let mut d = Dirs::new(be.clone(), &mec(), &small(3)).unwrap();
    // Held-out demonstrations: the training layout at channel steps training never reaches.
    let mut env = d.scenario(1 << 30).unwrap();
    let held_out = d.demonstrations(&mut env, 256, false).unwrap();
    let before = d.accuracy(&held_out).unwrap();
    let demos = d.pretrain(&mut |_| {}).unwrap();
    let train = d.accuracy(&demos).unwrap();
    let test = d.accuracy(&held_out).unwrap();
    let labels = (0..held_out.len() as u32).collect::<Vec<_>>();
    let (_, labels, _) = held_out.set.gather(&be.upload(&labels).unwrap(), held_out.len()).unwrap();
    let majority = majority_rate(&be.download(&labels).unwrap(), 2);
    eprintln!("imitation: before {before:.3}, train {train:.3}, test {test:.3}, majority {majority:.3}");
    // Per-decision accuracy against labels of a near-optimal search. 256 demonstrations of one
    // layout leave the agents far from the paper's 90–96% (docs/dirs.md: 0.6–0.7 on unseen
    // fading at N = 10–30 here), so the bar is relative: on unseen channel states the trained
    // agents beat by 15 points both the best state-blind classifier (every IoTD gets the most
    // frequent label) and their own untrained vote, and fit the training set to 75%.
    assert!(test > majority + 0.15, "test accuracy {test:.3} vs majority {majority:.3}");
    assert!(test > before + 0.15, "test accuracy {test:.3} vs untrained {before:.3}");
    assert!(train > 0.75, "train accuracy {train:.3}");
}

#[test]
fn dirs_beats_greedy_random_and_local_on_held_out_instances() {
    let be = cpu();
    // Four layouts trained together (four transitions per online step).
    let mut d = Dirs::new(be.clone(), &mec(), &DirsConfig { train_envs: 4, ..small(5) }).unwrap();
    d.train_logged(0, &mut || {}).unwrap();
    // Held out: 32 channel states of each layout at steps training never reached.
    let mut env = d.scenario(1 << 30).unwrap();
    let (mut ours, mut greedy, mut random, mut local) = (0.0, 0.0, 0.0, 0.0);
    for _ in 0..32 {
        ours += mean(&d.evaluate(&env).unwrap());
        let base = |h: Heuristic| mean(&env.objective_exact(&env.heuristic(h).unwrap(), 1).unwrap());
        greedy += base(Heuristic::Greedy);
        random += base(Heuristic::Random);
        local += base(Heuristic::Local);
        env.step().unwrap();
    }
    eprintln!("held-out Σ Φ ×32: DIRS {ours:.3}, Greedy {greedy:.3}, Random {random:.3}, Local {local:.3}");
    assert!(ours < greedy && ours < random && ours < local);
}

#[test]
fn levy_refinement_is_never_worse_than_the_voted_action() {
    let be = cpu();
    let mut d = Dirs::new(be.clone(), &mec(), &small(7)).unwrap();
    // Untrained agents: a poor vote leaves room for the search to improve.
    let env = MecEnv::new(be.clone(), &mec(), 64, 99).unwrap();
    let a_e = d.decide(&env).unwrap();
    let cfg = d.config().levy.clone();
    let (a_star, fit) = dirs::refine(&env, &a_e, &cfg, 12, 0).unwrap();
    let voted = env.objective_exact_dev(&a_e, 1).unwrap();
    let voted = backend::download_f32(&*be, &voted).unwrap();
    let refined = backend::download_f32(&*be, &env.objective_exact_dev(&a_star, 1).unwrap()).unwrap();
    let fit = backend::download_f32(&*be, &fit).unwrap();
    let mut better = 0;
    for b in 0..64 {
        assert!(refined[b] <= voted[b], "instance {b}: refined {} > voted {}", refined[b], voted[b]);
        assert_eq!(refined[b], fit[b], "the search reports the objective of its decision");
        better += (refined[b] < voted[b]) as usize;
    }
    // And the refinement does something (so the inequality is not vacuous).
    assert!(better > 32, "only {better} of 64 instances improved");
    // Training before anything was stored is an error, not a panic.
    assert!(matches!(d.train_step(), Err(Error::Config { .. })));
}

#[test]
fn prioritized_sampling_matches_eq16() {
    let be = cpu();
    let (n, m, cap) = (3usize, 2usize, 12usize);
    let cfg = ReplayConfig { capacity: cap, tau: 0.6, eps_agent: 0.08, eps_demo: 0.02, initial_delta: 0.0 };
    let mut r = Replay::new(be.clone(), cfg, n, m, 4).unwrap();
    let obs = be.alloc(cap * m * n).unwrap();
    let lab = be.alloc(cap * n).unwrap();
    // 4 demonstrations and 8 agent transitions, all with |Δδ| = 0: only ε differs.
    r.push(&obs, &lab, 4, true).unwrap();
    r.push(&obs, &lab, 8, false).unwrap();
    // Then distinct |Δδ| for slots 0, 5, 6 (one update of a 3-transition minibatch).
    let idx = be.upload(&[0, 5, 6]).unwrap();
    let v = backend::upload_f32(&*be, &[0.5, 2.0, 0.01]).unwrap();
    r.update(&idx, &v, 3).unwrap();
    let p = r.probabilities().unwrap();
    // Eq. (16) by hand for slot 5 (agent, |Δδ| = 2) and slot 1 (demonstration, |Δδ| = 0).
    let w = |d: f64, e: f64| (d + e).powf(0.6);
    let total = w(0.5, 0.02) + 3.0 * w(0.0, 0.02) + w(2.0, 0.08) + w(0.01, 0.08) + 6.0 * w(0.0, 0.08);
    assert!((p[5] - w(2.0, 0.08) / total).abs() < 1e-6);
    assert!((p[1] - w(0.0, 0.02) / total).abs() < 1e-6);
    // Empirical frequencies of 400 minibatches of 256: every slot within 4.5 standard errors of
    // its probability (a fixed seed: deterministic; a wrong ε, τ or a biased scan fails it).
    let (k, calls) = (256usize, 400usize);
    let mut count = vec![0usize; cap];
    for _ in 0..calls {
        let mb = r.sample(k).unwrap();
        for s in be.download(&mb.idx).unwrap() {
            count[s as usize] += 1;
        }
    }
    let draws = (k * calls) as f64;
    for s in 0..cap {
        let f = count[s] as f64 / draws;
        let se = (p[s] * (1.0 - p[s]) / draws).sqrt();
        assert!((f - p[s]).abs() < 4.5 * se, "slot {s}: frequency {f:.5} vs P {:.5}", p[s]);
    }
}

/// The same short run (demonstrations, pre-training, online steps with refinement) on every
/// backend: the demonstration labels are equal and the losses and parameters agree within the
/// parity tolerance (f32 sums in the same order; the CPU's linear uses FMAs: ~1e-6 relative).
#[test]
fn dirs_is_the_same_on_every_backend_and_steps_download_nothing() {
    let cfg = DirsConfig {
        demonstrations: 24,
        t_d: 6,
        t_drl: 12,
        minibatch: 16,
        train_every: 3,
        replay_capacity: 32,
        levy: LevyConfig { population: 4, generations: 6, ..LevyConfig::default() },
        ..DirsConfig::default()
    };
    let mut runs = vec![];
    for be in backends() {
        let mut d = Dirs::new(be.clone(), &mec(), &cfg).unwrap();
        let demos = d.pretrain(&mut |_| {}).unwrap();
        let labels = be.download(&demos.set.label).unwrap();
        let before = be.downloads();
        for _ in 0..cfg.t_drl {
            d.online_step(false).unwrap();
        }
        d.train_step().unwrap();
        assert_eq!(be.downloads(), before, "{}: online and training steps download nothing", be.kind());
        // 12 online steps wrapped the 8 free slots: the 24 demonstrations are all still there.
        let flags = be.download(&d.replay.demo).unwrap();
        assert_eq!(d.replay.protected(), 24);
        assert!(flags[..24].iter().all(|&f| f == 1) && flags[24..].iter().all(|&f| f == 0), "{flags:?}");
        let loss = d.last_loss().unwrap().unwrap();
        let params: Vec<f32> = d.agents.params().iter().flat_map(|p| p.value.to_vec().unwrap()).collect();
        runs.push((be.kind(), labels, loss, params));
    }
    let (_, l0, loss0, p0) = &runs[0];
    for (kind, l, loss, p) in &runs[1..] {
        assert_eq!(l, l0, "{kind}: demonstration labels");
        assert!((loss - loss0).abs() <= 1e-4 * loss0.abs(), "{kind}: loss {loss} vs cpu {loss0}");
        let scale = p0.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        let worst = p.iter().zip(p0).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-4 * scale, "{kind}: parameters differ by {worst} (scale {scale})");
    }
}

#[test]
fn bad_configs_are_typed_errors_naming_the_field() {
    let be = cpu();
    let cases: Vec<(DirsConfig, &str)> = vec![
        (DirsConfig { minibatch: 0, ..DirsConfig::default() }, "dirs.minibatch"),
        (DirsConfig { train_every: 0, ..DirsConfig::default() }, "dirs.train_every"),
        (DirsConfig { lambda2: -1.0, ..DirsConfig::default() }, "dirs.lambda2"),
        (DirsConfig { eps_demo: 0.0, ..DirsConfig::default() }, "dirs.eps_demo"),
        (DirsConfig { tau: f64::NAN, ..DirsConfig::default() }, "dirs.tau"),
        (DirsConfig { lr: 0.0, ..DirsConfig::default() }, "dirs.lr"),
        (DirsConfig { demo_beta: 2.0, ..DirsConfig::default() }, "dirs.demo_beta"),
        (DirsConfig { replay_capacity: 0, ..DirsConfig::default() }, "dirs.replay_capacity"),
        (DirsConfig { hidden: vec![80, 0], ..DirsConfig::default() }, "dirs.hidden"),
        (DirsConfig { accuracy_tolerance: -0.1, ..DirsConfig::default() }, "dirs.accuracy_tolerance"),
    ];
    for (cfg, field) in cases {
        match Dirs::new(be.clone(), &mec(), &cfg) {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected a config error, got {:?}", other.err()),
        }
    }
    // The exact optimum needs equal task cycles.
    let het = MecConfig { task_cycles_max: Some(2e9), ..mec() };
    let opt = DirsConfig { demo_solver: dirs::DemoSolver::Optimal, ..DirsConfig::default() };
    match Dirs::new(be.clone(), &het, &opt) {
        Err(Error::Config { field, .. }) => assert_eq!(field, "dirs.demo_solver"),
        other => panic!("expected a config error, got {:?}", other.err()),
    }
    // An environment of another size is refused, not misread.
    let d = Dirs::new(be.clone(), &mec(), &small(1)).unwrap();
    let other = MecEnv::new(be, &MecConfig { n_iotd: 11, ..mec() }, 2, 1).unwrap();
    assert!(matches!(d.decide(&other), Err(Error::Shape { .. })));
}

/// `demo_solver = "optimal"`: the labels are a function of the instance (two runs with other
/// seeds label the same states alike, where two Lévy searches disagree), no Lévy label beats
/// them, and the set accuracy is never below the accuracy.
#[test]
fn optimal_demonstrations_are_canonical_and_no_search_beats_them() {
    let be = cpu();
    let cfg = MecConfig { n_iotd: 30, ..mec() };
    let labels = |seed: u64, solver| {
        let d = Dirs::new(be.clone(), &cfg, &DirsConfig { seed, demo_solver: solver, ..small(seed) }).unwrap();
        // The same states for every run: one fixed layout seed, not the run's.
        let mut env = MecEnv::new(be.clone(), &cfg, 4, 77).unwrap();
        let mut d = d;
        let demos = d.demonstrations(&mut env, 32, false).unwrap();
        let idx: Vec<u32> = (0..demos.len() as u32).collect();
        let (_, l, _) = demos.set.gather(&be.upload(&idx).unwrap(), demos.len()).unwrap();
        let acc = d.accuracies(&demos).unwrap();
        assert!(acc.exact <= acc.set && acc.set <= 1.0, "{acc:?}");
        (be.download(&l).unwrap(), demos.objective.clone())
    };
    let (a1, f1) = labels(1, dirs::DemoSolver::Optimal);
    let (a2, f2) = labels(2, dirs::DemoSolver::Optimal);
    assert_eq!(a1, a2, "optimal labels do not depend on the run's seed");
    assert_eq!(f1, f2);
    let (l1, g1) = labels(1, dirs::DemoSolver::Levy);
    let (l2, _) = labels(2, dirs::DemoSolver::Levy);
    let agree = l1.iter().zip(&l2).filter(|(x, y)| x == y).count() as f64 / l1.len() as f64;
    eprintln!("Lévy labels of two seeds agree on {:.1}% of decisions", 100.0 * agree);
    for (k, (o, l)) in f1.iter().zip(&g1).enumerate() {
        assert!(*o <= l * (1.0 + 1e-5), "state {k}: optimum {o} above the Lévy label's {l}");
    }
}
