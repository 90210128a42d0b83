//! A complete checkpoint of a DIRS training run (issue 5 part 4: "resumable from a checkpoint if
//! interrupted"; DIRS's [`Agent::save`] and [`Agent::load`]): everything [`Dirs`] carries from
//! one online step to the next, so that a run restored from it continues exactly as the
//! uninterrupted run would have (bit-identical on the same backend).
//!
//! One safetensors file (`nn::checkpoint`: atomic temporary sibling + rename, validated on load):
//! - the agents' parameters (their own names) and Adam's moments (`<name>.opt_m`, `<name>.opt_v`);
//! - the replay memory's filled slots: `replay.obs` [size, M, N] f32, `replay.label` [size, N] u32,
//!   `replay.demo` \[size\] u32, `replay.delta` \[size\] f32 (the |Δδ| the priorities come from),
//!   `replay.maxd` \[1\] f32 (the largest |Δδ|: the priority of the next transition);
//! - `last_loss` \[1\] f32 when a training iteration ran (the loss the next logged step reports);
//! - in `__metadata__` (the envelope of [`crate::algo::state`]: `format`, `config`, `run`), the
//!   `state`: online step t, episode, training iterations, the Lévy refinement call counter,
//!   the environment's channel step, Adam's step count, the replay's ring position / fill /
//!   kept floor / sampling call counter; `config` holds the `dirs` and `mec` configs and the
//!   backend kind.
//!
//! Every other random stream is a pure function of the master seed and these counters (the
//! environment's fading of its step, the replay's draws of its call counter, each search of its
//! call number), so nothing else needs storing.
//!
//! [`Agent::save`]: crate::algo::agent::Agent::save
//! [`Agent::load`]: crate::algo::agent::Agent::load

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Dirs;
use crate::algo::replay::{Replay, ReplayCursor};
use crate::algo::state::{self, bad};
use crate::backend::Buffer;
use crate::error::Result;
use crate::nn::checkpoint::Checkpoint;
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

/// The replay memory's tensors in a checkpoint: name, buffer, element type and the shape of
/// its first `size` slots (N IoTDs, M MECs).
fn replay_tensors(r: &Replay, size: usize, m: usize, n: usize) -> [(&'static str, &Buffer, DType, Vec<usize>); 5] {
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
    pub(super) fn save_state(&self, path: &Path, run: &serde_json::Value) -> Result<()> {
        let be = &*self.be;
        let mut c = Checkpoint::default();
        state::insert_trained(&mut c, &self.agents.params(), &self.opt)?;
        let r = &self.replay;
        let cur = r.cursor();
        let (n, m, size) = (self.mec.n_iotd, self.mec.n_mec, cur.size);
        for (name, buf, dtype, shape) in replay_tensors(r, size, m, n) {
            c.tensors.insert(name.into(), state::prefix(be, buf, dtype, shape)?);
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
        state::save(path, c, FORMAT, &counters, &self.fingerprint(), run)
    }

    /// Restore what [`Dirs::save_state`] wrote into this freshly built `Dirs` (the same configs
    /// and backend), checking the configuration first: `run_config` must equal the `run.config`
    /// the checkpoint was saved with. Returns the checkpoint's `run.data`. A checkpoint from
    /// another configuration is an `Error::Config` naming the field; a truncated or corrupt file
    /// an `Error::Parse` naming the file and what is wrong; neither leaves a partial restore
    /// behind that a caller could mistake for a valid state (restore into a fresh `Dirs`).
    pub(super) fn load_state(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value> {
        let state::Loaded { c, state: k, data } =
            state::load::<Counters>(path, FORMAT, "DIRS", &self.fingerprint(), run_config)?;
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
        state::restore_trained(&c, path, &self.agents.params(), &self.opt)?;
        let (n, m, size) = (self.mec.n_iotd, self.mec.n_mec, k.replay.size);
        let be = self.be.clone();
        let r = &mut self.replay;
        r.set_cursor(k.replay).map_err(|e| bad(path, format!("__metadata__.state.replay: {e}")))?;
        for (name, buf, dtype, shape) in replay_tensors(r, size, m, n) {
            let s = state::stored(&c, path, name, dtype, &shape)?;
            if name == "replay.label" {
                if let Some(i) = s.words.iter().position(|&a| a as usize > m) {
                    return Err(bad(
                        path,
                        format!("tensor `replay.label`: element {i} = {} exceeds M = {m}", s.words[i]),
                    ));
                }
            }
            state::write_prefix(&*be, buf, s)?;
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
        Ok(data)
    }
}
