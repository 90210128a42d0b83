//! What the benchmarks share: the backends to measure, the Python interpreter of the references
//! and their JSON output, the median.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::experiment::pick_backend;

/// The median (the upper one of an even count).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The backends of a comma-separated list that start here; the others are skipped with a note
/// on stderr (`what` names the benchmark).
pub(crate) fn backends(list: &str, what: &str) -> Vec<Arc<dyn Backend>> {
    let mut out = vec![];
    for name in list.split(',').filter(|x| !x.is_empty()) {
        match pick_backend(name) {
            Ok(b) => out.push(b),
            Err(e) => eprintln!("bench {what}: skipping backend {name}: {e}"),
        }
    }
    out
}

/// The repository root (the reference scripts live under `tools/`).
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter of the references: `explicit`, else the repository's `.venv/bin/python` if
/// present, else `python3`.
pub(crate) fn interpreter(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let v = root().join(".venv/bin/python");
    if v.exists() {
        v
    } else {
        PathBuf::from("python3")
    }
}

/// Run `tools/<script>` with `args` under `py` and read its JSON output; a failed run is an
/// error carrying its stderr.
pub(crate) fn reference(py: &Path, script: &str, args: &[&str]) -> Result<serde_json::Value> {
    let path = root().join("tools").join(script);
    let out = Command::new(py).arg(&path).args(args).output().map_err(|e| Error::io(py, e))?;
    if !out.status.success() {
        let why = format!("{script} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        return Err(Error::device("python reference", why));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| Error::Parse { path, line: 0, why: format!("its output: {e}") })
}

/// The number `key` of a reference's output (`script` names it in the error).
pub(crate) fn number(v: &serde_json::Value, key: &str, script: &str) -> Result<f64> {
    v[key].as_f64().ok_or_else(|| Error::Parse {
        path: root().join("tools").join(script),
        line: 0,
        why: format!("its output has no number `{key}`"),
    })
}

/// A median and its range.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    /// Median.
    pub med: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Stat {
    /// The median and range of `v` (not empty).
    pub fn of(v: Vec<f64>) -> Stat {
        let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        Stat { med: median(v), min, max }
    }
}

/// A side of an alternating measurement: one timed block, returning its rate (units per second).
pub(crate) type Block<'a> = Box<dyn FnMut() -> Result<f64> + 'a>;

/// The rates of several sides measured in rounds: one untimed block of every side first, then
/// `blocks` rounds each timing one block of every side in turn (mecrl's backends, then the
/// reference), so the machine's drift — up to 2× over minutes on a shared VM — falls on all
/// sides alike and the per-round ratios compare like with like.
pub(crate) struct Rounds {
    /// rates\[side\]\[round\].
    pub rates: Vec<Vec<f64>>,
}

impl Rounds {
    /// Runs the rounds (`blocks` ≥ 1; `flag` names the option that set it).
    pub(crate) fn run(flag: &str, blocks: usize, sides: &mut [Block<'_>]) -> Result<Rounds> {
        if blocks == 0 {
            return Err(Error::config(flag, 0, "must be >= 1"));
        }
        for s in sides.iter_mut() {
            s()?;
        }
        let mut rates = vec![vec![]; sides.len()];
        for _ in 0..blocks {
            for (k, s) in sides.iter_mut().enumerate() {
                rates[k].push(s()?);
            }
        }
        Ok(Rounds { rates })
    }

    /// Side k's median rate and range.
    pub(crate) fn stat(&self, k: usize) -> Stat {
        Stat::of(self.rates[k].clone())
    }

    /// Side k's rate over side r's, round by round: median and range.
    pub(crate) fn ratio(&self, k: usize, r: usize) -> Stat {
        Stat::of(self.rates[k].iter().zip(&self.rates[r]).map(|(a, b)| a / b).collect())
    }
}

/// A rate in millions with its range: `1.234 (1.100–1.300)` (`digits` after the point).
pub(crate) fn millions(s: Stat, digits: usize) -> String {
    format!("{:.d$} ({:.d$}–{:.d$})", s.med / 1e6, s.min / 1e6, s.max / 1e6, d = digits)
}

/// `2.33x (2.10–2.52)`.
pub(crate) fn ratio_text(s: Stat) -> String {
    format!("{:.1}x ({:.1}–{:.1})", s.med, s.min, s.max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_alternate_the_sides_after_one_untimed_block_each() {
        let order = std::cell::RefCell::new(vec![]);
        let (mut a, mut b) = (0.0, 0.0);
        let mut sides: Vec<Block<'_>> = vec![
            Box::new(|| {
                order.borrow_mut().push('a');
                a += 1.0;
                Ok(10.0 * a)
            }),
            Box::new(|| {
                order.borrow_mut().push('b');
                b += 1.0;
                Ok(b)
            }),
        ];
        let r = Rounds::run("--blocks", 3, &mut sides).unwrap();
        drop(sides);
        assert_eq!(order.into_inner(), "abababab".chars().collect::<Vec<_>>());
        // the first (untimed) block of each side is not reported: rounds 2, 3, 4
        assert_eq!(r.rates, vec![vec![20.0, 30.0, 40.0], vec![2.0, 3.0, 4.0]]);
        let q = r.ratio(0, 1);
        assert_eq!((q.med, q.min, q.max), (10.0, 10.0, 10.0));
        assert_eq!(r.stat(1).med, 3.0);
        match Rounds::run("--repeats", 0, &mut []) {
            Err(Error::Config { field, .. }) => assert_eq!(field, "--repeats"),
            other => panic!("{:?}", other.err()),
        }
    }
}
