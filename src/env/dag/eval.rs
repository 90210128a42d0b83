//! The baselines of one graph (MRLCO paper §5; docs/dag.md): what `mecrl dag baselines` and
//! `mecrl run configs/dag.toml` report per graph.

use serde::{Deserialize, Serialize};

use super::model::{DagSystem, HeftMode, Prepared, Scratch, Semantics};
use super::Dag;
use crate::error::Result;

/// A baseline of Table 3 (and the two trivial plans).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DagMethod {
    /// Exhaustive optimum over all 2^n plans (refused above `max_optimal_tasks`: reported n/a).
    Optimal,
    /// HEFT-based earliest finish.
    Heft,
    /// The published Greedy.
    Greedy,
    /// Every task on the UE.
    AllLocal,
    /// Every task offloaded.
    AllMec,
}

impl DagMethod {
    /// Every method, in the column order of the CSVs.
    pub const ALL: [DagMethod; 5] =
        [DagMethod::Greedy, DagMethod::Heft, DagMethod::AllLocal, DagMethod::AllMec, DagMethod::Optimal];

    /// Column name.
    pub fn name(self) -> &'static str {
        match self {
            DagMethod::Optimal => "optimal",
            DagMethod::Heft => "heft",
            DagMethod::Greedy => "greedy",
            DagMethod::AllLocal => "all_local",
            DagMethod::AllMec => "all_mec",
        }
    }
}

/// The makespan (s) of `method` on `dag`, or `None` for the optimum of a graph larger than
/// `sys.max_optimal_tasks` (the paper's "N/A").
///
/// Every method is a plan (a decision per task) run by the system in rank order under
/// `sys.semantics`, so Optimal ≤ every method, with two documented exceptions:
/// - under `reference` semantics Greedy reports its own finish-time account, as the published
///   `greedy_solution` does (it marks the uplink busy for entry tasks too, so the account is
///   never below the model's makespan of its plan, and Optimal ≤ Greedy still holds);
/// - HEFT-based reports its own schedule's finish time (tasks in HEFT's order, the paper's
///   description) unless `sys.heft` is [`HeftMode::RankOrderPlan`].
pub fn evaluate(p: &Prepared, dag: &Dag, sys: &DagSystem, method: DagMethod, s: &mut Scratch) -> Result<Option<f64>> {
    Ok(Some(match method {
        DagMethod::Optimal if p.n() > sys.max_optimal_tasks => return Ok(None),
        DagMethod::Optimal => p.optimal(sys.max_optimal_tasks)?.0,
        DagMethod::Heft if sys.heft == HeftMode::OwnSchedule => p.heft(dag).0,
        DagMethod::Heft => {
            let (_, decisions, heft_order) = p.heft(dag);
            let mut by_task = vec![0u8; p.n()];
            for (k, &i) in heft_order.iter().enumerate() {
                by_task[i] = decisions[k];
            }
            let plan: Vec<u8> = p.order.iter().map(|&i| by_task[i]).collect();
            p.makespan(&plan, s)
        }
        DagMethod::Greedy => match p.semantics {
            Semantics::Reference => p.greedy().0,
            Semantics::Paper => p.makespan(&p.greedy().1, s),
        },
        DagMethod::AllLocal => p.makespan(&vec![0; p.n()], s),
        DagMethod::AllMec => p.makespan(&vec![1; p.n()], s),
    }))
}

/// [`evaluate`] for each of `methods`.
pub fn evaluate_all(dag: &Dag, sys: &DagSystem, methods: &[DagMethod]) -> Result<Vec<Option<f64>>> {
    let p = Prepared::new(dag, sys)?;
    let mut s = Scratch::new(dag.n());
    methods.iter().map(|&m| evaluate(&p, dag, sys, m, &mut s)).collect()
}
