//! What an MRLCO run keeps: each test set's results, each learner's training log, and the
//! work files they are kept in (written whole through a temporary sibling).

use serde::{Deserialize, Serialize};

use crate::algo::mrlco::learner::IterStats;

/// One test set's results: the heuristics' mean latencies and each learner's curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Experiment.
    pub experiment: String,
    /// Data set label.
    pub set: String,
    /// Task number.
    pub n: usize,
    /// Rate (Mbps).
    pub rate_mbps: f64,
    /// (method name, mean latency or None where n/a), in `baselines` order.
    pub baselines: Vec<(String, Option<f64>)>,
    /// (learner name, [(adaptation step, mean greedy latency)]).
    pub curves: Vec<(String, Vec<(usize, f64)>)>,
}

/// Training log of one learner in one experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainLog {
    /// Per iteration: (iteration, sampled makespan, loss, approx-KL, explained variance), the
    /// floats as their bits (a resumed run reports exactly the uninterrupted one's values).
    pub rows: Vec<(usize, u64, u32, u32, u32)>,
}

impl TrainLog {
    pub(crate) fn push(&mut self, s: &IterStats) {
        self.rows.push((
            s.iteration,
            s.sampled_makespan.to_bits(),
            s.ppo.loss.to_bits(),
            s.ppo.approx_kl.to_bits(),
            s.ppo.explained_var.to_bits(),
        ));
    }
}

pub(crate) use crate::experiment::common::{read_json, write_atomic, write_json};
