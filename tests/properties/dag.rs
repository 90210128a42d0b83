//! `dag` (MRLCO; docs/dag.md "Baselines", `src/env/dag/eval.rs`, `optimal.rs`): Optimal ≤ every
//! plan and every baseline that is a plan, through the model, the contract and the batched kernel;
//! the rank order (eq. 10) schedules parents first.

use super::*;
use mecrl::env::dag::contract::DagBatchEnv;
use mecrl::env::dag::eval::{evaluate_all, DagMethod};
use mecrl::env::dag::model::{DagSystem, HeftMode, Prepared, Scratch, Semantics};
use mecrl::env::dag::optimal::optimal_batch;
use mecrl::env::dag::Dag;

/// Every task size the DOT reader accepts (finite, ≥ 0): 0 and fractions of a byte (which
/// `reference` truncates to 0) included — a weight w = 0 in the rank (10), where the parents-first
/// order matters.
pub fn any_sizes() -> BoxedStrategy<f64> {
    prop_oneof![Just(0.0f64), 0.0f64..1.0, 1.0f64..60_000.0].boxed()
}

/// A random DAG of 1..=10 tasks with sizes from `size` (edges i → j for i < j, so acyclic,
/// with a random density), a random system and 1..=4 random plans.
pub fn case(size: BoxedStrategy<f64>) -> impl Strategy<Value = (Dag, DagSystem, Vec<Vec<u8>>)> {
    (1usize..=10, 0.0f64..=1.0)
        .prop_flat_map(move |(n, density)| {
            let pairs = n * (n - 1) / 2;
            (
                prop::collection::vec(size.clone(), n),
                prop::collection::vec(prop_oneof![Just(0.0f64), 0.0f64..60_000.0], n),
                prop::collection::vec((0.0f64..1.0, 0.0f64..20_000.0), pairs),
                Just(density),
                (2f64.powi(18)..2f64.powi(22), 0.5f64..20.0, 1.0f64..25.0, 1.0f64..25.0, any::<bool>()),
                prop::collection::vec(prop::collection::vec(0u8..=1, n), 1..=4),
            )
        })
        .prop_map(|(size, expect_size, edge_draws, density, sysp, plans)| {
            let n = size.len();
            let mut edges = vec![];
            let mut it = edge_draws.into_iter();
            for a in 0..n {
                for b in a + 1..n {
                    let (u, bytes) = it.next().unwrap();
                    if u < density {
                        edges.push((a, b, bytes));
                    }
                }
            }
            let dag = Dag { alpha: vec![0.0; n], size, expect_size, edges };
            let (ue, ratio, up, down, paper) = sysp;
            let sys = DagSystem {
                ue_speed: ue,
                mec_speed: ue * ratio,
                rate_up_mbps: up,
                rate_down_mbps: down,
                semantics: if paper { Semantics::Paper } else { Semantics::Reference },
                max_optimal_tasks: 24,
                heft: HeftMode::RankOrderPlan,
            };
            (dag, sys, plans)
        })
}

/// The rank order (10) schedules every parent before its children (docs/dag.md: "every
/// w > 0, so parents always precede children"; eq. (5)–(8) read the parents' finish times),
/// and a plan's makespan does not depend on what was evaluated before with the same scratch.
pub fn order(dag: &Dag, sys: &DagSystem, plans: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let p = Prepared::new(dag, sys).unwrap();
    let n = p.n();
    let mut pos = vec![0usize; n];
    for (k, &i) in p.order.iter().enumerate() {
        pos[i] = k;
    }
    for &(a, b, _) in &dag.edges {
        prop_assert!(
            pos[a] < pos[b],
            "task {a} is a parent of task {b} but is scheduled after it: order {:?}",
            p.order
        );
    }
    let mut s = Scratch::new(n);
    for plan in plans {
        let fresh = p.makespan(plan, &mut Scratch::new(n));
        let other: Vec<u8> = plan.iter().map(|&x| 1 - x).collect();
        p.makespan(&other, &mut s);
        let reused = p.makespan(plan, &mut s);
        prop_assert_eq!(fresh, reused, "plan {:?}: the makespan depends on the scratch's history", plan);
    }
    Ok(())
}

/// Optimal (the branch and bound) is the brute-force minimum over all 2^n plans and no
/// worse than every baseline that is a plan run in rank order (all-local, all-MEC, Greedy —
/// under `reference` its published account, never below its plan's makespan —, HEFT as a
/// rank-order plan) and than random plans, also when those are played step by step through the
/// contract (−Σ rewards = the makespan, eq. §4.2); the batched kernel finds the same optimum.
pub fn run(dag: &Dag, sys: &DagSystem, plans: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let p = Prepared::new(dag, sys).unwrap();
    let n = p.n();
    let (best, idx) = p.optimal(24).unwrap();
    let mut s = Scratch::new(n);
    let mut brute = (f64::INFINITY, u64::MAX);
    for i in 0..1u64 << n {
        let t = p.makespan_of_index(i, &mut s);
        if t < brute.0 {
            brute = (t, i);
        }
    }
    prop_assert_eq!((best, idx), brute, "branch and bound vs brute force");
    prop_assert!(best.is_finite() && best >= 0.0);
    let methods = [DagMethod::AllLocal, DagMethod::AllMec, DagMethod::Greedy, DagMethod::Heft, DagMethod::Optimal];
    let values = evaluate_all(dag, sys, &methods).unwrap();
    prop_assert_eq!(values[4], Some(best));
    for (m, v) in methods.iter().zip(&values) {
        let v = v.unwrap();
        prop_assert!(v.is_finite() && best <= v, "{m:?} reports {v} < Optimal {best}");
    }
    if sys.semantics == Semantics::Reference {
        // its published account marks the uplink busy for entry tasks too (eval.rs)
        let (account, gplan) = p.greedy();
        prop_assert!(account >= p.makespan(&gplan, &mut s), "Greedy's account below its plan's makespan");
    }
    for plan in plans {
        let t = p.makespan(plan, &mut s);
        prop_assert!(best <= t, "plan {plan:?}: {t} < Optimal {best}");
    }
    // the same plans through the contract (unscaled rewards −ΔT_c)
    let be = cpu();
    let dags = vec![dag.clone(); plans.len()];
    let mut env = DagBatchEnv::new(be.clone(), &dags, sys, 2, false).unwrap();
    let out = EnvBuffers::new(&*be, env.spec()).unwrap();
    env.reset(0, &out).unwrap();
    let mut ret = vec![0.0f64; plans.len()];
    for k in 0..n {
        prop_assert!(be.download(&out.terminated).unwrap().iter().all(|&x| x == 0), "ended before step {k}");
        let a: Vec<u32> = plans.iter().map(|pl| pl[k] as u32).collect();
        env.step_host(&a, &out).unwrap();
        for (r, x) in ret.iter_mut().zip(download_f32(&*be, &out.reward).unwrap()) {
            // the running makespan never decreases: −ΔT_c ≤ 0
            prop_assert!(x <= 0.0, "step {k}: reward {x} > 0");
            *r += x as f64;
        }
    }
    prop_assert!(be.download(&out.terminated).unwrap().iter().all(|&x| x == 1), "not ended after n steps");
    let spans = env.inner().makespans().unwrap();
    for (g, plan) in plans.iter().enumerate() {
        let t = p.makespan(plan, &mut s);
        prop_assert!(near(-ret[g], t, 1e-4, t, 0.0), "plan {plan:?}: −Σ rewards {} vs makespan {t}", -ret[g]);
        prop_assert!(near(spans[g] as f64, t, 1e-5, t, 0.0), "plan {plan:?}: env makespan {} vs {t}", spans[g]);
        prop_assert!(-ret[g] >= best * (1.0 - 1e-4), "plan {plan:?}: return {} beats Optimal {best}", ret[g]);
    }
    let got = optimal_batch(&*be, std::slice::from_ref(&p)).unwrap();
    let (m, i) = got[0];
    prop_assert!(near(m as f64, best, 1e-5, best, 0.0), "kernel optimum {m} vs {best}");
    let t = p.makespan_of_index(i as u64, &mut s);
    prop_assert!(near(t, best, 1e-5, best, 0.0), "kernel's plan {i} has makespan {t}, Optimal {best}");
    Ok(())
}
