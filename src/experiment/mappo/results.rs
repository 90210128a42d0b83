//! What a mixed-MAPPO run keeps: the training curves and the test rows.

use serde::{Deserialize, Serialize};

use crate::algo::mappo::Metrics;
use crate::env::crowd::{metric, Case};

/// One training episode of a learner (the training curve, Fig. 3; the critic loss, Fig. 5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRow {
    /// Episodes done after this one.
    pub episode: usize,
    /// Unit delay of the episode while training (s per MB).
    pub unit_delay: f64,
    /// Mean reward (13) per slot.
    pub reward: f64,
    /// Share of decisions that took the drift-plus-penalty action.
    pub dpp_share: f64,
    /// The critics' mean loss over the episode's updates.
    pub critic_loss: f64,
    /// The actor's mean entropy over the episode's updates.
    pub entropy: f64,
}

/// One row of the test table (Fig. 4, Fig. 6, Table III).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRow {
    /// Case name.
    pub case: String,
    /// Method or heuristic.
    pub method: String,
    /// AD, s per MB.
    pub unit_delay: f64,
    /// Node load rates: MDs, edge servers, cloud.
    pub load: [f64; 3],
    /// E2E (wired BS–BS), E2D (wireless MD–BS) link load rates.
    pub links: [f64; 2],
    /// Mean reward (13) per slot.
    pub reward: f64,
    /// Share of decisions that took the drift-plus-penalty action (learners).
    pub dpp_share: f64,
}

impl TestRow {
    /// The row of `method` on `case` from its test metrics.
    pub fn of(case: Case, method: &str, m: &Metrics) -> TestRow {
        TestRow {
            case: case.name().into(),
            method: method.into(),
            unit_delay: m.unit_delay(),
            load: [m.mean(metric::LOAD_MD), m.mean(metric::LOAD_EDGE), m.mean(metric::LOAD_CLOUD)],
            links: [m.mean(metric::LINK_E2E), m.mean(metric::LINK_E2D)],
            reward: m.mean(metric::REWARD),
            dpp_share: m.dpp_share(),
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// (case, learner, its training episodes).
    pub curves: Vec<(String, String, Vec<EpisodeRow>)>,
    /// The test rows: per case, the learners then the heuristics.
    pub tests: Vec<TestRow>,
}
