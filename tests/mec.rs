//! The `mec` system end to end on the CPU backend: determinism, the Lévy search's guarantees,
//! the exact allocation against eq. (8)–(11), bad input, and scale.

use std::sync::Arc;

use mecrl::backend::{self, Backend, BackendKind};
use mecrl::env::mec::kernels::MEC_OBJECTIVE_EXACT;
use mecrl::env::mec::{Heuristic, MecConfig, MecEnv};
use mecrl::search::levy::{self, LevyConfig, LevyMode, LevyVariant};
use mecrl::Error;

fn cpu() -> Arc<dyn Backend> {
    backend::create(BackendKind::Cpu).unwrap()
}

fn small() -> MecConfig {
    MecConfig { n_iotd: 40, n_mec: 4, ..MecConfig::default() }
}

fn state(env: &MecEnv) -> Vec<Vec<u32>> {
    let be = env.backend();
    [&env.iotd_pos, &env.mec_pos, &env.task_d, &env.task_f, &env.h, &env.cost, &env.obs]
        .iter()
        .map(|b| be.download(b).unwrap())
        .collect()
}

#[test]
fn same_seed_same_state_different_seed_differs() {
    let a = MecEnv::new(cpu(), &small(), 4, 5).unwrap();
    let b = MecEnv::new(cpu(), &small(), 4, 5).unwrap();
    let c = MecEnv::new(cpu(), &small(), 4, 6).unwrap();
    assert_eq!(state(&a), state(&b));
    let (sa, sc) = (state(&a), state(&c));
    for k in 0..sa.len() {
        if k == 2 || k == 3 {
            continue; // homogeneous task sizes are equal by design
        }
        assert_ne!(sa[k], sc[k], "buffer {k} must depend on the seed");
    }
    // Steps redraw the fading; positions stay.
    let mut d = MecEnv::new(cpu(), &small(), 4, 5).unwrap();
    d.step().unwrap();
    let sd = state(&d);
    assert_eq!(sd[0], sa[0]);
    assert_ne!(sd[4], sa[4]);
}

#[test]
fn levy_search_is_deterministic_and_never_worse_than_its_start() {
    let env = MecEnv::new(cpu(), &small(), 6, 9).unwrap();
    for init in [Heuristic::Greedy, Heuristic::Local, Heuristic::Random] {
        let a0 = env.heuristic_dev(init).unwrap();
        let start = env.objective_exact(&env.backend().download(&a0).unwrap(), 1).unwrap();
        for (mode, variant) in [
            (LevyMode::Exact, LevyVariant::Proposed),
            (LevyMode::Exact, LevyVariant::Classic),
            (LevyMode::Paper, LevyVariant::Proposed),
        ] {
            let cfg = LevyConfig { population: 8, generations: 30, mode, variant, ..LevyConfig::default() };
            let r1 = levy::search(&env, &cfg, &a0, 3, 0, true, &mut |_| {}).unwrap();
            let r2 = levy::search(&env, &cfg, &a0, 3, 0, false, &mut |_| {}).unwrap();
            assert_eq!(r1.best_fit, r2.best_fit, "same seed, same result");
            let r3 = levy::search(&env, &cfg, &a0, 4, 0, false, &mut |_| {}).unwrap();
            assert_ne!(r1.best_fit, r3.best_fit, "different seed, different search");
            // Greedy selection (28): the best fitness never increases over generations.
            assert!(r1.history.windows(2).all(|w| w[1] <= w[0]), "{:?}", r1.history);
            if mode == LevyMode::Exact {
                for (b, s) in r1.best_fit.iter().zip(&start) {
                    assert!(b <= s, "{mode:?}/{variant:?} from {init:?}: {b} > start {s}");
                }
                // The reported fitness is the objective of the returned decisions.
                let a = env.backend().download(&r1.best_a).unwrap();
                let phi = env.objective_exact(&a, 1).unwrap();
                for (x, y) in phi.iter().zip(&r1.best_fit) {
                    assert!((x - y).abs() <= 1e-6 * y.abs());
                }
            }
        }
    }
}

#[test]
fn proposed_levy_beats_the_baselines_on_held_out_instances() {
    let env = MecEnv::new(cpu(), &MecConfig { n_iotd: 30, n_mec: 2, ..MecConfig::default() }, 16, 1234).unwrap();
    let mean = |v: Vec<f32>| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let base: Vec<f64> = [Heuristic::Local, Heuristic::Greedy, Heuristic::Random]
        .iter()
        .map(|&h| mean(env.objective_exact(&env.heuristic(h).unwrap(), 1).unwrap()))
        .collect();
    let a0 = env.heuristic_dev(Heuristic::Greedy).unwrap();
    let proposed = mean(levy::search(&env, &LevyConfig::default(), &a0, 1, 0, false, &mut |_| {}).unwrap().best_fit);
    for b in &base {
        assert!(proposed < *b, "Lévy {proposed} vs baseline {b}");
    }
}

#[test]
fn summary_matches_objective_kernel() {
    let env = MecEnv::new(cpu(), &MecConfig { task_cycles_max: Some(4e9), ..small() }, 3, 2).unwrap();
    for h in [Heuristic::Local, Heuristic::Greedy, Heuristic::Random] {
        let a = env.heuristic(h).unwrap();
        let phi = env.objective_exact(&a, 1).unwrap();
        let s = env.summarize_exact(&a).unwrap();
        for (x, y) in phi.iter().zip(&s) {
            assert!(
                (*x as f64 - y.objective).abs() <= 1e-5 * y.objective,
                "{h:?}: kernel {x} vs f64 summary {}",
                y.objective
            );
        }
    }
}

#[test]
fn bad_actions_and_inputs_are_typed_errors() {
    let mut env = MecEnv::new(cpu(), &small(), 2, 1).unwrap();
    let n = 40;
    let mut a = vec![0u32; 2 * n];
    a[17] = 5; // M = 4
    match env.objective_exact(&a, 1) {
        Err(Error::Input { field, index, value, .. }) => {
            assert_eq!((field.as_str(), index, value.as_str()), ("a", 17, "5"))
        }
        other => panic!("expected Input error, got {other:?}"),
    }
    assert!(matches!(env.objective_exact(&a[..10], 1), Err(Error::Shape { .. })));
    let mut h = vec![1e-6f32; 2 * n * 4];
    h[3] = f32::NAN;
    match env.set_channel(&h) {
        Err(Error::Input { field, index, .. }) => assert_eq!((field.as_str(), index), ("h", 3)),
        other => panic!("expected Input error, got {other:?}"),
    }
    h[3] = -1.0;
    assert!(env.set_channel(&h).is_err());
    let (ok_a, f, mut p) = (vec![1u32; 2 * n], vec![1e9f32; 2 * n], vec![0.5f32; 2 * n]);
    p[7] = -0.1;
    match env.objective_paper(&ok_a, &f, &p, 1) {
        Err(Error::Input { field, index, .. }) => assert_eq!((field.as_str(), index), ("p", 7)),
        other => panic!("expected Input error, got {other:?}"),
    }
    assert!(matches!(MecEnv::new(cpu(), &MecConfig { n_iotd: 0, ..small() }, 1, 1), Err(Error::Config { .. })));
    assert!(matches!(MecEnv::new(cpu(), &small(), 0, 1), Err(Error::Config { .. })));
    let bad = LevyConfig { beta: 2.0, ..LevyConfig::default() };
    let a0 = env.heuristic_dev(Heuristic::Local).unwrap();
    assert!(matches!(levy::search(&env, &bad, &a0, 1, 0, false, &mut |_| {}), Err(Error::Config { .. })));
}

#[test]
fn user_channel_gains_drive_the_allocation() {
    // A single IoTD next to MEC 1 (strong gain) and far from MEC 2: offloading to MEC 1 wins.
    let cfg = MecConfig { n_iotd: 1, n_mec: 2, ..MecConfig::default() };
    let mut env = MecEnv::new(cpu(), &cfg, 1, 1).unwrap();
    env.set_channel(&[1e-3, 1e-9]).unwrap();
    let phi = env.objective_exact(&[0, 1, 2], 3).unwrap();
    assert_eq!(phi[0], 1.0); // local: Φ = 0.5·1 s + 0.5·1 J
    assert!(phi[1] < phi[0] && phi[2] > phi[0], "{phi:?}");
}

/// N = 100,000 IoTDs and M = 1,000 MECs: memory is O(B·N·M), nothing quadratic in N.
#[test]
fn scales_to_100k_iotds_and_1000_mecs() {
    let cfg = MecConfig { n_iotd: 100_000, n_mec: 1000, area_m: 5000.0, ..MecConfig::default() };
    let env = MecEnv::new(cpu(), &cfg, 1, 1).unwrap();
    let a0 = env.heuristic_dev(Heuristic::Greedy).unwrap();
    let lc = LevyConfig { population: 2, generations: 2, ..LevyConfig::default() };
    let r = levy::search(&env, &lc, &a0, 1, 0, false, &mut |_| {}).unwrap();
    let greedy = env.objective_exact(&env.backend().download(&a0).unwrap(), 1).unwrap();
    assert!(r.best_fit[0].is_finite() && r.best_fit[0] <= greedy[0]);
}

#[test]
fn short_buffers_are_refused_before_launch_on_every_backend() {
    let env = MecEnv::new(cpu(), &small(), 2, 1).unwrap();
    let mut kinds = vec![BackendKind::Cpu];
    kinds.extend([BackendKind::Wgpu, BackendKind::CudaHost, BackendKind::Cuda]);
    for kind in kinds {
        let Ok(be) = backend::create(kind) else { continue };
        let mut p = env.params();
        p.p = 3;
        let cost = be.alloc(2 * 40 * 5).unwrap();
        let sf = be.alloc(2 * 40).unwrap();
        let a = be.alloc(2 * 3 * 40 - 1).unwrap(); // one word short
        let bins = be.alloc(2 * 3 * 5).unwrap();
        let phi = be.alloc(6).unwrap();
        match be.launch(&MEC_OBJECTIVE_EXACT, bytemuck::bytes_of(&p), 6, &[&cost, &sf, &a, &bins, &phi]) {
            Err(Error::Shape { op, expected, got }) => {
                assert!(op.contains("mec_objective_exact") && op.contains("`a`"), "{op}");
                assert_eq!((expected.as_str(), got.as_str()), (">= 240 words", "239"));
            }
            other => panic!("{kind}: expected a Shape error, got {other:?}"),
        }
    }
}

#[test]
fn drivers_that_cut_long_loops_refuse_sizes_beyond_their_budget() {
    for kind in [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::CudaHost] {
        let Ok(be) = backend::create(kind) else { continue };
        let big = MecConfig { n_iotd: 30_000, n_mec: 10, ..MecConfig::default() };
        match be.max_loop_iterations() {
            Some(limit) => match MecEnv::new(be.clone(), &big, 1, 1) {
                Err(Error::Config { field, why, .. }) => {
                    assert_eq!(field, "mec.n_iotd");
                    assert!(why.contains(&limit.to_string()), "{why}");
                }
                other => panic!("{kind}: expected a Config error, got {:?}", other.map(|_| ())),
            },
            None => assert!(kind != BackendKind::Wgpu || !be.describe().contains("llvmpipe")),
        }
        // the parity-test size always fits
        assert!(MecEnv::new(be, &small(), 2, 1).is_ok());
    }
}
