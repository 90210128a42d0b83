//! Property tests of the invariants each system promises (issue 22), with proptest over random
//! valid configs (drawn inside the ranges each `validate()` accepts, kept small) and random valid
//! action sequences (within the masks), on the CPU backend:
//!
//! - `endedge`, `coop`, `crowd`: conservation after every step — what arrives is done, dropped
//!   (or failed) or still queued, counted once; the reward is that of the outcomes counted in the
//!   step; the queues follow their documented update rules;
//! - `dag`: the exhaustive Optimal is no worse than any plan — all-local, all-MEC, Greedy, HEFT
//!   as a rank-order plan, random plans, also played through the contract — and the rank order
//!   puts parents first;
//! - `mec`: the exact allocation (eq. 13) satisfies eq. (6)–(7) and is optimal for its decision;
//!   the heuristics respect their capacity rule.
//!
//! The checks of each system are in `tests/properties/<system>.rs`. Each case is small (a few
//! agents, a few dozen slots): the file runs in about a second. Cases are drawn from a random
//! seed (`PROPTEST_RNG_SEED=<u64>` fixes it); no regression files are written, a failure prints
//! its minimal input.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use mecrl::backend::{self, download_f32, Backend, BackendKind};
use mecrl::env::contract::{BatchEnv, EnvBuffers};

fn cpu() -> Arc<dyn Backend> {
    static CPU: OnceLock<Arc<dyn Backend>> = OnceLock::new();
    CPU.get_or_init(|| backend::create(BackendKind::Cpu).expect("the cpu backend starts")).clone()
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// The `raw`-th allowed choice (modulo their number) of an agent whose mask row is `row`.
fn pick(row: &[u32], raw: u32) -> Result<u32, TestCaseError> {
    let allowed: Vec<u32> = (0..row.len() as u32).filter(|&k| row[k as usize] == 1).collect();
    prop_assert!(!allowed.is_empty(), "an agent has no allowed action: mask {row:?}");
    Ok(allowed[raw as usize % allowed.len()])
}

/// |got − want| ≤ rel·scale + abs.
fn near(got: f64, want: f64, rel: f64, scale: f64, abs: f64) -> bool {
    (got - want).abs() <= rel * scale.abs() + abs
}

// One module per system under tests/properties/: strategies of valid configs and the checks.
#[path = "properties/coop.rs"]
mod coop;
#[path = "properties/crowd.rs"]
mod crowd;
#[path = "properties/dag.rs"]
mod dag;
#[path = "properties/endedge.rs"]
mod endedge;
#[path = "properties/mec.rs"]
mod mec;

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn endedge_conserves_tasks(
        (cfg, batch) in endedge::cfg(),
        seed in any::<u64>(),
        raws in prop::collection::vec(any::<u32>(), 1..=256),
    ) {
        endedge::run(&cfg, batch, seed, &raws)?;
    }

    #[test]
    fn coop_conserves_tasks(
        (cfg, batch) in coop::cfg(),
        seed in any::<u64>(),
        raws in prop::collection::vec(any::<u32>(), 1..=256),
    ) {
        coop::run(&cfg, batch, seed, &raws)?;
    }

    #[test]
    fn crowd_conserves_demand_and_bits(
        (cfg, batch) in crowd::cfg(),
        seed in any::<u64>(),
        raws in prop::collection::vec(any::<u32>(), 1..=256),
    ) {
        crowd::run(&cfg, batch, seed, &raws)?;
    }

    #[test]
    fn dag_optimal_bounds_every_plan((dag, sys, plans) in dag::case(dag::any_sizes())) {
        dag::run(&dag, &sys, &plans)?;
    }

    #[test]
    fn dag_rank_order_puts_parents_first((dag, sys, plans) in dag::case(dag::any_sizes())) {
        dag::order(&dag, &sys, &plans)?;
    }

    #[test]
    fn mec_allocation_is_feasible_and_optimal(
        (cfg, batch) in mec::cfg(),
        seed in any::<u64>(),
        steps in 1u32..=3,
        draws in mec::draws(),
    ) {
        mec::run(&cfg, batch, seed, steps, &draws)?;
    }
}
