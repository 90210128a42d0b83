//! What an O2O-DRL run keeps: the learning curves (Fig. 3) and the test rows (Fig. 4–6).

use serde::{Deserialize, Serialize};

use crate::env::coop::Stats;

/// One point of a learner's curve: the actor evaluated on the curve's episodes (the same at
/// every point, so the curve moves only with the policy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    /// "offline" (after `step` gradient steps) or "online" (after `step` updates).
    pub phase: String,
    /// Offline steps or online updates done.
    pub step: u64,
    /// Success rate (eq. 9).
    pub success: f64,
    /// Online: the success rate of the update's own training episodes.
    pub train_success: Option<f64>,
    /// Offline: the last step's losses (mean Q(o, a) of the logged actions, mean target y,
    /// mean CQL regularizer, actor loss −mean V(o′)).
    pub offline: Option<[f64; 4]>,
    /// Drop rate.
    pub drop: f64,
    /// Failure rate.
    pub fail: f64,
}

impl CurveRow {
    /// The row of `stats` (every instance summed).
    pub fn of(phase: &str, step: u64, stats: &Stats) -> Self {
        let done = (stats.success + stats.dropped + stats.failed).max(1) as f64;
        CurveRow {
            phase: phase.into(),
            step,
            success: stats.success_rate(),
            train_success: None,
            offline: None,
            drop: stats.dropped as f64 / done,
            fail: stats.failed as f64 / done,
        }
    }
}

/// One test row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRow {
    /// "base", "fig4", "fig5a", "fig5b", "fig5c" or "fig6".
    pub figure: String,
    /// The x value (Fig. 4: the source's index).
    pub x: f64,
    /// The log source of the learners ("" for a heuristic).
    pub source: String,
    /// Learner or heuristic.
    pub method: String,
    /// Success rate over every test task (eq. 9).
    pub success: f64,
    /// Standard deviation of the per-episode, per-instance success rates (the paper's error
    /// bars over its 10 episodes).
    pub sd: f64,
    /// Drop rate.
    pub drop: f64,
    /// Failure rate.
    pub fail: f64,
    /// Tasks in the test episodes.
    pub arrivals: u64,
}

impl TestRow {
    /// The row of `method` from its per-episode, per-instance statistics.
    pub fn of(figure: &str, x: f64, source: &str, method: &str, per: &[Stats]) -> Self {
        let t = Stats::sum(per);
        let rates: Vec<f64> = per.iter().map(|s| s.success_rate()).filter(|r| r.is_finite()).collect();
        let n = rates.len().max(1) as f64;
        let mean = rates.iter().sum::<f64>() / n;
        let sd = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        let c = CurveRow::of("", 0, &t);
        TestRow {
            figure: figure.into(),
            x,
            source: source.into(),
            method: method.into(),
            success: c.success,
            sd,
            drop: c.drop,
            fail: c.fail,
            arrivals: t.arrivals as u64,
        }
    }
}

/// A learner's curve at a point.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The point's stem.
    pub point: String,
    /// The learner.
    pub variant: String,
    /// Its rows in order.
    pub rows: Vec<CurveRow>,
}

/// Everything a run produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// Learning curves.
    pub curves: Vec<Curve>,
    /// Test rows.
    pub tests: Vec<TestRow>,
}

/// The cold-start check of Fig. 3: (offline end point, mean success of the first 10 % of the
/// online updates (at least one)), when the curve has both phases.
pub fn cold_start(rows: &[CurveRow]) -> Option<(f64, f64)> {
    let end = rows.iter().rev().find(|r| r.phase == "offline")?.success;
    let online: Vec<f64> = rows.iter().filter(|r| r.phase == "online").map(|r| r.success).collect();
    if online.is_empty() {
        return None;
    }
    let k = online.len().div_ceil(10);
    Some((end, online[..k].iter().sum::<f64>() / k as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_start_takes_the_first_tenth() {
        let row = |phase: &str, step, success| CurveRow {
            phase: phase.into(),
            step,
            success,
            train_success: None,
            offline: None,
            drop: 0.0,
            fail: 0.0,
        };
        let mut rows = vec![row("offline", 0, 0.2), row("offline", 10, 0.7)];
        rows.extend((1..=20).map(|k| row("online", k, if k <= 2 { 0.6 } else { 0.9 })));
        assert_eq!(cold_start(&rows), Some((0.7, 0.6)));
        assert_eq!(cold_start(&rows[2..]), None);
        let s = Stats { arrivals: 10, success: 6, dropped: 3, failed: 1, ..Default::default() };
        let t = TestRow::of("base", 0.0, "ratc", "o2o", &[s, Stats { success: 2, dropped: 2, ..s }]);
        assert!((t.success - 8.0 / 15.0).abs() < 1e-12);
        // per-instance rates 0.6 and 0.4: sd 0.1
        assert!((t.sd - 0.1).abs() < 1e-12, "{}", t.sd);
    }
}
