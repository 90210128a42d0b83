//! What an MRLCO run keeps: each test set's results, each learner's training log, and the
//! work files they are kept in (written whole through a temporary sibling).

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algo::mrlco::learner::IterStats;
use crate::error::{Error, Result};

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

pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::input("work file", 0, path.display(), format!("does not parse: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Write `bytes` to `path` through a temporary sibling (never a partial file).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

pub(crate) fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_vec_pretty(v).map_err(|e| Error::input("work file", 0, path.display(), e.to_string()))?;
    write_atomic(path, &s)
}
