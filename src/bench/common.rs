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
