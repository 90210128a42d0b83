//! What a CRB-DRQN run keeps: the training curves, the test rows, the convergence points.

use serde::{Deserialize, Serialize};

use crate::env::endedge::Stats;

/// One training episode of a learner (Fig. 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRow {
    /// Episodes done after this one.
    pub episode: usize,
    /// Mean reward per task (eq. 18–19).
    pub reward: f64,
    /// Failure (drop) rate.
    pub failure: f64,
    /// Mean delay of the finished tasks, s.
    pub delay_s: f64,
    /// Mean training loss of the episode.
    pub loss: f64,
    /// ε (value-based learners; 0 otherwise).
    pub epsilon: f64,
    /// Wall-clock seconds the episode took (Fig. 4's convergence time).
    pub seconds: f64,
}

/// One test row (Fig. 5, Fig. 6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRow {
    /// "fig5" or "fig6".
    pub figure: String,
    /// D (Fig. 5) or Mbit/s (Fig. 6).
    pub x: f64,
    /// Method or heuristic.
    pub method: String,
    /// Mean delay of the finished tasks, s (Fig. 5a, 6a).
    pub delay_s: f64,
    /// Failure rate: (dropped + unfinished) / arrivals (Fig. 5b, 6b).
    pub failure: f64,
    /// Mean reward per task.
    pub reward: f64,
    /// Tasks that arrived in the test episodes.
    pub arrivals: u64,
}

impl TestRow {
    /// The row of `method` at (`figure`, `x`) from its test totals.
    pub fn of(figure: &str, x: f64, method: &str, s: &Stats, slot_s: f64, drop_reward: f64) -> TestRow {
        TestRow {
            figure: figure.into(),
            x,
            method: method.into(),
            delay_s: s.avg_delay() * slot_s,
            failure: s.drop_rate(),
            reward: s.avg_reward(drop_reward),
            arrivals: s.arrivals,
        }
    }
}

/// Fig. 4 (right): where a learner's training converged at one D.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Method.
    pub method: String,
    /// D.
    pub devices: usize,
    /// The first episode (1-based) from which the moving average stays within the tolerance
    /// of the final level; None when it never settles.
    pub episode: Option<usize>,
    /// Wall-clock seconds of training up to that episode.
    pub seconds: Option<f64>,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// (point stem, learner, its training episodes).
    pub curves: Vec<(String, String, Vec<EpisodeRow>)>,
    /// The test rows, per point the learners then the heuristics.
    pub tests: Vec<TestRow>,
    /// Convergence of every learner at every D of Fig. 5.
    pub convergence: Vec<Convergence>,
}

/// The convergence episode of a reward curve: the first episode k (1-based, ≥ window) from
/// which the moving average over `window` episodes stays within `tol`·|final| of the final
/// level (the mean of the last `window` episodes). None when the curve is shorter than two
/// windows.
pub fn convergence_episode(rewards: &[f64], window: usize, tol: f64) -> Option<usize> {
    let n = rewards.len();
    if window == 0 || n < 2 * window {
        return None;
    }
    let final_level: f64 = rewards[n - window..].iter().sum::<f64>() / window as f64;
    let band = tol * final_level.abs().max(1e-9);
    let ma: Vec<f64> = (window..=n).map(|k| rewards[k - window..k].iter().sum::<f64>() / window as f64).collect();
    // the last moving average outside the band; convergence is the episode after it
    match ma.iter().rposition(|m| (m - final_level).abs() > band) {
        None => Some(window),
        Some(i) if i + 1 < ma.len() => Some(window + i + 1),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convergence_by_hand() {
        // reward −20 for 5 episodes, then −10: with window 2 and 5 %, the moving averages are
        // −20 ×4, −15, −10 …; the last outside ±0.5 of −10 is the average of episodes 5–6
        let mut r = vec![-20.0; 5];
        r.extend(vec![-10.0; 10]);
        assert_eq!(convergence_episode(&r, 2, 0.05), Some(7));
        assert_eq!(convergence_episode(&[-1.0; 4], 2, 0.05), Some(2));
        assert_eq!(convergence_episode(&[-1.0; 3], 2, 0.05), None);
    }
}
