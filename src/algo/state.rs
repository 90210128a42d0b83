//! The training-state file of every [`Agent`](super::agent::Agent) ([`Agent::save`] /
//! [`Agent::load`]): one safetensors file (`nn::checkpoint`: atomic temporary sibling + rename,
//! validated on load) holding the algorithm's tensors, and in `__metadata__`:
//! - `format`: the algorithm's (a checkpoint of another algorithm is refused);
//! - `state`: its host counters (JSON);
//! - `config`: what a resume must match (the algorithm's and the system's configs and the
//!   backend kind), refused with an error naming the first field that differs;
//! - `run`: the caller's JSON, its own fingerprint under `run.config` (compared the same way)
//!   and whatever it logged so far under `run.data` (handed back on load);
//! - `mecrl_version`.
//!
//! [`Agent::save`]: super::agent::Agent::save
//! [`Agent::load`]: super::agent::Agent::load

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::autograd::Param;
use crate::backend::{Backend, Buffer};
use crate::error::{Error, Result};
use crate::nn::checkpoint::{Checkpoint, Stored};
use crate::nn::Optimizer;
use crate::tensor::DType;

/// A parse error naming the checkpoint file.
pub(crate) fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), line: 0, why: why.into() }
}

/// The first leaf where two JSON values differ, as (dotted path, stored, current); None if equal.
pub fn first_difference(
    prefix: &str,
    stored: &serde_json::Value,
    current: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (stored, current) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                first_difference(&p, a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null))
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some((prefix.to_string(), a.to_string(), b.to_string())),
    }
}

/// Refuse a checkpoint written under another configuration, naming the first field that differs.
fn check_same(path: &Path, stored: &serde_json::Value, current: &serde_json::Value) -> Result<()> {
    match first_difference("", stored, current) {
        None => Ok(()),
        Some((field, was, now)) => Err(Error::config(
            field,
            now,
            format!(
                "differs from the training checkpoint {} (written with {was}); restore the config to resume, \
                 or delete the checkpoint to start over",
                path.display()
            ),
        )),
    }
}

/// JSON text of a serializable value (an `Error::Config` when it cannot be encoded).
fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::config("checkpoint metadata", "?", e.to_string()))
}

/// Write `c` to `path` with the metadata of the module docs.
pub(crate) fn save(
    path: &Path,
    mut c: Checkpoint,
    format: &str,
    state: &impl Serialize,
    config: &serde_json::Value,
    run: &serde_json::Value,
) -> Result<()> {
    c.metadata.insert("format".into(), format.into());
    c.metadata.insert("state".into(), to_json(state)?);
    c.metadata.insert("config".into(), to_json(config)?);
    c.metadata.insert("run".into(), to_json(run)?);
    c.metadata.insert("mecrl_version".into(), crate::VERSION.into());
    c.metadata.insert("git_commit".into(), crate::GIT_COMMIT.into());
    c.save(path)
}

/// What [`load`] read: the tensors, the counters and the caller's `run.data`.
pub(crate) struct Loaded<S> {
    /// The file (its tensors for the algorithm to restore).
    pub c: Checkpoint,
    /// The counters (metadata `state`).
    pub state: S,
    /// `run.data` (null when absent).
    pub data: serde_json::Value,
}

/// Read `path`, refusing another `format` (`what` names the algorithm in the message), another
/// `config` or `run.config` (naming the first field that differs), then parse the counters.
pub(crate) fn load<S: DeserializeOwned>(
    path: &Path,
    format: &str,
    what: &str,
    config: &serde_json::Value,
    run_config: &serde_json::Value,
) -> Result<Loaded<S>> {
    let c = Checkpoint::load(path)?;
    let meta = |k: &str| c.metadata.get(k).ok_or_else(|| bad(path, format!("__metadata__.{k} is missing")));
    let parse = |k: &str| -> Result<serde_json::Value> {
        serde_json::from_str(meta(k)?).map_err(|e| bad(path, format!("__metadata__.{k}: {e}")))
    };
    let found = meta("format")?;
    if found != format {
        return Err(bad(path, format!("format `{found}`, expected `{format}` (not a {what} training checkpoint)")));
    }
    check_same(path, &parse("config")?, config)?;
    let run = parse("run")?;
    check_same(path, run.get("config").unwrap_or(&serde_json::Value::Null), run_config)?;
    let state = serde_json::from_value(parse("state")?).map_err(|e| bad(path, format!("__metadata__.state: {e}")))?;
    let data = run.get("data").cloned().unwrap_or(serde_json::Value::Null);
    Ok(Loaded { c, state, data })
}

/// The optimizer's moments of parameter `k` (an error, not a panic, when it has none).
fn moments(opt: &Optimizer, k: usize) -> Result<&(crate::tensor::Tensor, crate::tensor::Tensor)> {
    opt.state(k).ok_or_else(|| Error::config("checkpoint.optimizer", k, "has no state for this parameter"))
}

/// Parameters under their names and their optimizer's moments (`<name>.opt_m`, `<name>.opt_v`)
/// into `c` (downloads).
pub(crate) fn insert_trained(c: &mut Checkpoint, params: &[Param], opt: &Optimizer) -> Result<()> {
    for (k, p) in params.iter().enumerate() {
        c.insert(&p.name, &p.value)?;
        let (m, v) = moments(opt, k)?;
        c.insert(&format!("{}.opt_m", p.name), m)?;
        c.insert(&format!("{}.opt_v", p.name), v)?;
    }
    Ok(())
}

/// What [`insert_trained`] stored, back into `params` and `opt` (its step count is the caller's).
pub(crate) fn restore_trained(c: &Checkpoint, path: &Path, params: &[Param], opt: &Optimizer) -> Result<()> {
    for (k, p) in params.iter().enumerate() {
        c.restore(path, &p.name, &p.value)?;
        let (m, v) = moments(opt, k)?;
        c.restore(path, &format!("{}.opt_m", p.name), m)?;
        c.restore(path, &format!("{}.opt_v", p.name), v)?;
    }
    Ok(())
}

/// The first `shape.iter().product()` words of a device buffer (the filled slots of a ring).
pub(crate) fn prefix(be: &dyn Backend, buf: &Buffer, dtype: DType, shape: Vec<usize>) -> Result<Stored> {
    let n: usize = shape.iter().product();
    let mut words = be.download(buf)?;
    words.truncate(n);
    if words.len() != n {
        return Err(Error::shape("checkpoint buffer", n, words.len()));
    }
    Ok(Stored { dtype, shape, words })
}

/// The stored tensor `name`, checked against the dtype and shape expected of it.
pub(crate) fn stored<'a>(
    c: &'a Checkpoint,
    path: &Path,
    name: &str,
    dtype: DType,
    shape: &[usize],
) -> Result<&'a Stored> {
    let s = c.tensors.get(name).ok_or_else(|| bad(path, format!("tensor `{name}` is missing")))?;
    if s.dtype != dtype || s.shape != shape {
        return Err(bad(path, format!("tensor `{name}`: {:?} {:?}, expected {dtype:?} {shape:?}", s.dtype, s.shape)));
    }
    Ok(s)
}

/// Write a stored tensor into the first slots of a device buffer (the inverse of [`prefix`]).
pub(crate) fn write_prefix(be: &dyn Backend, buf: &Buffer, s: &Stored) -> Result<()> {
    if s.words.is_empty() {
        return Ok(());
    }
    be.write(buf, &s.words)
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn first_difference_names_the_leaf() {
        let a = serde_json::json!({"dirs": {"t_drl": 3000, "lr": 0.001}, "mec": {"n_iotd": 30}});
        let b = serde_json::json!({"dirs": {"t_drl": 1000, "lr": 0.001}, "mec": {"n_iotd": 30}});
        assert_eq!(first_difference("", &a, &a), None);
        assert_eq!(first_difference("", &a, &b), Some(("dirs.t_drl".into(), "3000".into(), "1000".into())));
        let c = serde_json::json!({"dirs": {"t_drl": 3000, "lr": 0.001}, "mec": {"n_iotd": 30}, "extra": 1});
        assert_eq!(first_difference("", &a, &c), Some(("extra".into(), "null".into(), "1".into())));
    }
}
