//! The `dag` latency model on generated graphs: the depth-first exhaustive optimum equals brute
//! force over every plan, and Optimal ≤ every other method (a property test over seeds).

use mecrl::env::dag::eval::{evaluate_all, DagMethod};
use mecrl::env::dag::gen::{generate, DagGenConfig};
use mecrl::env::dag::model::{DagSystem, HeftMode, Prepared, Scratch, Semantics};

#[test]
fn optimal_equals_brute_force_and_bounds_every_method() {
    for sem in [Semantics::Reference, Semantics::Paper] {
        for (k, n) in [6usize, 9, 11, 13].into_iter().enumerate() {
            for seed in 0..6u64 {
                let cfg = DagGenConfig {
                    n,
                    fat: 0.4 + 0.1 * (seed % 5) as f64,
                    density: 0.4 + 0.1 * k as f64,
                    ..Default::default()
                };
                let dag = generate(&cfg, seed, k as u32).unwrap();
                let sys = DagSystem {
                    semantics: sem,
                    rate_up_mbps: 4.0 + seed as f64 * 3.0,
                    rate_down_mbps: 8.5,
                    heft: HeftMode::RankOrderPlan,
                    ..Default::default()
                };
                let p = Prepared::new(&dag, &sys).unwrap();
                let (best, idx) = p.optimal(24).unwrap();
                let mut s = Scratch::new(p.n());
                let mut brute = (f64::INFINITY, u64::MAX);
                for i in 0..(1u64 << p.n()) {
                    let t = p.makespan_of_index(i, &mut s);
                    if t < brute.0 {
                        brute = (t, i);
                    }
                }
                assert_eq!((best, idx), brute, "{sem:?} n={n} seed={seed}");
                let local = p.makespan(&vec![0; p.n()], &mut s);
                let mec = p.makespan(&vec![1; p.n()], &mut s);
                assert!(best <= local && best <= mec, "{sem:?} n={n} seed={seed}");
                // every reported method (Greedy's published account under `reference` included;
                // HEFT as a rank-order plan: its own schedule reorders tasks and is not bounded)
                let all = evaluate_all(&dag, &sys, &DagMethod::ALL).unwrap();
                assert_eq!(all[4], Some(best));
                for (m, v) in DagMethod::ALL.iter().zip(&all) {
                    let v = v.unwrap();
                    assert!(
                        v.is_finite() && best <= v * (1.0 + 1e-12),
                        "{sem:?} n={n} seed={seed} {m:?}: {v} < {best}"
                    );
                }
            }
        }
    }
}

/// The batched optimum kernels on every available backend agree with the f64 search.
#[test]
fn optimal_batch_on_every_backend_matches_the_model() {
    use mecrl::backend::{self, BackendKind};
    use mecrl::env::dag::optimal::optimal_batch;
    for sem in [Semantics::Reference, Semantics::Paper] {
        let graphs: Vec<Prepared> = [5usize, 9, 12, 1]
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let dag = generate(&DagGenConfig { n, ..Default::default() }, 7, k as u32).unwrap();
                Prepared::new(&dag, &DagSystem { semantics: sem, ..Default::default() }).unwrap()
            })
            .collect();
        for kind in [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::CudaHost, BackendKind::Cuda] {
            let Ok(be) = backend::create(kind) else { continue };
            let got = optimal_batch(&*be, &graphs).unwrap_or_else(|e| panic!("{kind}: {e}"));
            for (g, p) in graphs.iter().enumerate() {
                let (want, _) = p.optimal(24).unwrap();
                let (m, idx) = got[g];
                assert!((m as f64 - want).abs() <= 1e-5 * want, "{kind} {sem:?} graph {g}: {m} vs {want}");
                let mut s = Scratch::new(p.n());
                let t = p.makespan_of_index(idx as u64, &mut s);
                assert!((t - want).abs() <= 1e-5 * want, "{kind} {sem:?} graph {g}: plan {idx} gives {t}");
            }
        }
    }
}

/// The batched MDP on every available backend: whole episodes (host actions, no state fed from
/// the CPU) give the CPU's rewards, statuses and makespans.
#[test]
fn mdp_episodes_on_every_backend_match_the_cpu() {
    use mecrl::backend::{self, BackendKind};
    use mecrl::env::dag::mdp::DagEnv;
    let dags: Vec<_> = (0..37u32)
        .map(|k| generate(&DagGenConfig { n: 3 + (k as usize * 7) % 20, ..Default::default() }, 11, k).unwrap())
        .collect();
    for sem in [Semantics::Reference, Semantics::Paper] {
        let sys = DagSystem { semantics: sem, ..Default::default() };
        let run = |be: std::sync::Arc<dyn backend::Backend>| {
            let env = DagEnv::new(be, &dags, &sys, 6, true).unwrap();
            let mut out = vec![];
            for step in 0..env.n_max() as u32 {
                let a: Vec<u32> = (0..dags.len() as u32).map(|g| (g * 7 + step * 3) % 5 / 3).collect();
                env.step(&a).unwrap();
                out.push((env.rewards().unwrap(), env.status().unwrap()));
            }
            (out, env.makespans().unwrap())
        };
        let (want, want_span) = run(backend::create(BackendKind::Cpu).unwrap());
        for kind in [BackendKind::Wgpu, BackendKind::CudaHost, BackendKind::Cuda] {
            let Ok(be) = backend::create(kind) else { continue };
            let (got, got_span) = run(be);
            for (step, ((wr, ws), (gr, gs))) in want.iter().zip(&got).enumerate() {
                assert_eq!(ws, gs, "{kind} {sem:?} step {step}: statuses");
                for (g, (a, b)) in wr.iter().zip(gr).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-6,
                        "{kind} {sem:?} step {step} g{g}: {a} vs {b}"
                    );
                }
            }
            assert_eq!(want_span, got_span, "{kind} {sem:?}: makespans (max and additions only: bit-exact)");
        }
    }
}
