//! A complete checkpoint of a DIRS training run (issue 5 part 4: "resumable from a checkpoint if
//! interrupted"): everything [`Dirs`] carries from one online step to the next, so that a run
//! restored from it continues exactly as the uninterrupted run would have (bit-identical on the
//! same backend).
//!
//! One safetensors file (`nn::checkpoint`: atomic temporary sibling + rename, validated on load):
//! - the agents' parameters (their own names) and Adam's moments (`<name>.opt_m`, `<name>.opt_v`);
//! - the replay memory's filled slots: `replay.obs` [size, M, N] f32, `replay.label` [size, N] u32,
//!   `replay.demo` [size] u32, `replay.delta` [size] f32 (the |Δδ| the priorities come from),
//!   `replay.maxd` [1] f32 (the largest |Δδ|: the priority of the next transition);
//! - `last_loss` [1] f32 when a training iteration ran (the loss the next logged step reports);
//! - `__metadata__`: `format`, `state` (JSON: online step t, episode, training iterations, the
//!   Lévy refinement call counter, the environment's channel step, Adam's step count, the
//!   replay's ring position / fill / kept floor / sampling call counter), `config` (JSON: the
//!   `dirs` and `mec` configs and the backend kind; a resume under another config is refused
//!   with an error naming the first field that differs) and `run` (the caller's JSON: its own
//!   fingerprint fields under `run.config`, compared the same way, and whatever it logged so far
//!   under `run.data`, handed back by [`Dirs::load_state`]).
//!
//! Every other random stream is a pure function of the master seed and these counters (the
//! environment's fading of its step, the replay's draws of its call counter, each search of its
//! call number), so nothing else needs storing.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Dirs;
use crate::algo::replay::ReplayCursor;
use crate::backend::Buffer;
use crate::error::{Error, Result};
use crate::nn::checkpoint::{Checkpoint, Stored};
use crate::tensor::{DType, Tensor};

/// The `format` of a DIRS training-state checkpoint.
pub const FORMAT: &str = "mecrl-dirs-training-state-1";

/// The host-side counters of a training run (metadata `state`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counters {
    t: usize,
    episode: u32,
    iterations: usize,
    levy_calls: u64,
    env_step: u32,
    optimizer_steps: u32,
    replay: ReplayCursor,
}

fn bad(path: &Path, why: impl Into<String>) -> Error {
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

fn stored(be: &dyn crate::backend::Backend, buf: &Buffer, dtype: DType, shape: Vec<usize>) -> Result<Stored> {
    let n: usize = shape.iter().product();
    let mut words = be.download(buf)?;
    words.truncate(n);
    if words.len() != n {
        return Err(Error::shape("dirs checkpoint buffer", n, words.len()));
    }
    Ok(Stored { dtype, shape, words })
}

/// The replay memory's tensors in a checkpoint: name, buffer, element type and the shape of
/// its first `size` slots (N IoTDs, M MECs).
fn replay_tensors(
    r: &crate::algo::replay::Replay,
    size: usize,
    m: usize,
    n: usize,
) -> [(&'static str, &Buffer, DType, Vec<usize>); 5] {
    [
        ("replay.obs", &r.obs, DType::F32, vec![size, m, n]),
        ("replay.label", &r.label, DType::U32, vec![size, n]),
        ("replay.demo", &r.demo, DType::U32, vec![size]),
        ("replay.delta", &r.delta, DType::F32, vec![size]),
        ("replay.maxd", &r.maxd, DType::F32, vec![1]),
    ]
}

impl Dirs {
    /// The configuration a checkpoint must match: the `dirs` and `mec` configs and the backend.
    fn fingerprint(&self) -> serde_json::Value {
        serde_json::json!({"dirs": self.cfg, "mec": self.mec, "backend": self.be.kind().to_string()})
    }

    /// Write the complete training state to `path` atomically (see the module docs). `run` is
    /// the caller's: `{"config": …}` (compared on load) and `{"data": …}` (handed back).
    pub fn save_state(&self, path: &Path, run: &serde_json::Value) -> Result<()> {
        let be = &*self.be;
        let mut c = Checkpoint::default();
        let params = self.agents.params();
        for (k, p) in params.iter().enumerate() {
            c.insert(&p.name, &p.value)?;
            let (m, v) = self
                .opt
                .state(k)
                .ok_or_else(|| Error::config("checkpoint.optimizer", k, "has no state for this parameter"))?;
            c.insert(&format!("{}.opt_m", p.name), m)?;
            c.insert(&format!("{}.opt_v", p.name), v)?;
        }
        let r = &self.replay;
        let cur = r.cursor();
        let (n, m, size) = (self.mec.n_iotd, self.mec.n_mec, cur.size);
        for (name, buf, dtype, shape) in replay_tensors(r, size, m, n) {
            c.tensors.insert(name.into(), stored(be, buf, dtype, shape)?);
        }
        if let Some(l) = &self.last_loss {
            c.insert("last_loss", l)?;
        }
        let counters = Counters {
            t: self.t,
            episode: self.episode,
            iterations: self.iterations,
            levy_calls: self.levy_calls,
            env_step: self.env.current_step(),
            optimizer_steps: self.opt.steps(),
            replay: cur,
        };
        c.metadata.insert("format".into(), FORMAT.into());
        c.metadata.insert("state".into(), to_json(&counters)?);
        c.metadata.insert("config".into(), to_json(&self.fingerprint())?);
        c.metadata.insert("run".into(), to_json(run)?);
        c.metadata.insert("mecrl_version".into(), crate::VERSION.into());
        c.save(path)
    }

    /// Restore what [`Dirs::save_state`] wrote into this freshly built `Dirs` (the same configs
    /// and backend), checking the configuration first: `run_config` must equal the `run.config`
    /// the checkpoint was saved with. Returns the checkpoint's `run.data`. A checkpoint from
    /// another configuration is an `Error::Config` naming the field; a truncated or corrupt file
    /// an `Error::Parse` naming the file and what is wrong; neither leaves a partial restore
    /// behind that a caller could mistake for a valid state (restore into a fresh `Dirs`).
    pub fn load_state(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value> {
        let c = Checkpoint::load(path)?;
        let meta = |k: &str| c.metadata.get(k).ok_or_else(|| bad(path, format!("__metadata__.{k} is missing")));
        let parse = |k: &str| -> Result<serde_json::Value> {
            serde_json::from_str(meta(k)?).map_err(|e| bad(path, format!("__metadata__.{k}: {e}")))
        };
        let format = meta("format")?;
        if format != FORMAT {
            return Err(bad(path, format!("format `{format}`, expected `{FORMAT}` (not a DIRS training checkpoint)")));
        }
        check_same(path, &parse("config")?, &self.fingerprint())?;
        let run = parse("run")?;
        check_same(path, run.get("config").unwrap_or(&serde_json::Value::Null), run_config)?;
        let k: Counters =
            serde_json::from_value(parse("state")?).map_err(|e| bad(path, format!("__metadata__.state: {e}")))?;
        // The counters must describe a state this configuration can reach.
        let cfg = &self.cfg;
        if k.t > cfg.t_drl {
            return Err(bad(path, format!("online step {} beyond T_DRL = {}", k.t, cfg.t_drl)));
        }
        let episode = k.t.checked_div(cfg.episode_steps).unwrap_or(0);
        if k.episode as usize != episode {
            return Err(bad(path, format!("episode {} at online step {} (expected {episode})", k.episode, k.t)));
        }
        if k.optimizer_steps as usize != k.iterations {
            return Err(bad(
                path,
                format!("{} optimizer steps for {} training iterations", k.optimizer_steps, k.iterations),
            ));
        }
        if c.tensors.contains_key("last_loss") != (k.iterations > 0) {
            return Err(bad(path, "tensor `last_loss` present without a training iteration, or missing after one"));
        }
        // Device state: parameters, Adam's moments, the replay memory.
        let params = self.agents.params();
        for (i, p) in params.iter().enumerate() {
            c.restore(path, &p.name, &p.value)?;
            let (m, v) = self
                .opt
                .state(i)
                .ok_or_else(|| Error::config("checkpoint.optimizer", i, "has no state for this parameter"))?;
            c.restore(path, &format!("{}.opt_m", p.name), m)?;
            c.restore(path, &format!("{}.opt_v", p.name), v)?;
        }
        let (n, m, size) = (self.mec.n_iotd, self.mec.n_mec, k.replay.size);
        let be = self.be.clone();
        let r = &mut self.replay;
        r.set_cursor(k.replay).map_err(|e| bad(path, format!("__metadata__.state.replay: {e}")))?;
        for (name, buf, dtype, shape) in replay_tensors(r, size, m, n) {
            let s = c.tensors.get(name).ok_or_else(|| bad(path, format!("tensor `{name}` is missing")))?;
            if s.dtype != dtype || s.shape != shape {
                return Err(bad(
                    path,
                    format!("tensor `{name}`: {:?} {:?}, expected {dtype:?} {shape:?}", s.dtype, s.shape),
                ));
            }
            if name == "replay.label" {
                if let Some(i) = s.words.iter().position(|&a| a as usize > m) {
                    return Err(bad(
                        path,
                        format!("tensor `replay.label`: element {i} = {} exceeds M = {m}", s.words[i]),
                    ));
                }
            }
            if !s.words.is_empty() {
                be.write(buf, &s.words)?;
            }
        }
        self.last_loss = match c.tensors.get("last_loss") {
            Some(_) => {
                let l = Tensor::zeros(&be, &[1])?;
                c.restore(path, "last_loss", &l)?;
                Some(l)
            }
            None => None,
        };
        // Host counters, then the environment at its episode and channel step.
        self.opt.set_steps(k.optimizer_steps);
        (self.t, self.episode, self.iterations, self.levy_calls) = (k.t, k.episode, k.iterations, k.levy_calls);
        if k.episode > 0 {
            self.env.reset(k.episode)?;
        }
        self.env.seek(k.env_step)?;
        Ok(run.get("data").cloned().unwrap_or(serde_json::Value::Null))
    }
}

/// JSON text of a serializable value (an `Error::Config` when it cannot be encoded).
fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::config("checkpoint metadata", "?", e.to_string()))
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
