//! DIRS training that survives an interruption: the complete training state
//! ([`Dirs::save_state`], `algo/dirs/checkpoint.rs`) is written every `checkpoint_every` online
//! steps, after pre-training and at the end of training into a work directory, and a rerun with
//! the same config continues from it — with the parameters, replay memory and logged metrics an
//! uninterrupted run would have had (bit-identical on the same backend; `tests/dirs_resume.rs`).
//!
//! `mecrl run` uses `<out_dir>/<name>.partial/` ([`DirsRunConfig::work_dir`]) and removes it
//! once the run directory is complete; `mecrl reproduce dirs` uses `points/.<point>.work/` per
//! experiment, removed when the experiment's result file is written.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::config::{DirsRunConfig, Outcome, PhaseTimes, HELD_OUT_STEP};
use crate::algo::agent::Agent;
use crate::algo::dirs::{Dirs, LossPoint, StepMetrics};
use crate::backend::Backend;
use crate::error::{Error, Result};

/// File name of the training checkpoint inside the work directory.
pub const CHECKPOINT: &str = "training.safetensors";

/// What the run logged before a checkpoint (its `run.data`); the f64 values as their bits, so
/// that a resumed run reports exactly what the uninterrupted one would (NaN included).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Logged {
    imitation: Option<[u64; 2]>,
    #[serde(default)]
    imitation_set: Option<[u64; 2]>,
    /// step, voted, refined, reward, loss, mean_time, mean_energy.
    log: Vec<[u64; 7]>,
    /// Each logged step's per-agent losses (Fig. 5).
    #[serde(default)]
    agent_loss: Vec<Vec<u64>>,
    /// The imitation losses logged: iteration, loss, per-agent losses.
    #[serde(default)]
    pretrain_loss: Vec<(usize, u64, Vec<u64>)>,
    pretrain_s: f64,
    train_s: f64,
    phase_s: PhaseTimes,
}

impl Logged {
    fn of(o: &Outcome) -> Self {
        let b = f64::to_bits;
        Logged {
            imitation: o.imitation.map(|(x, y)| [b(x), b(y)]),
            imitation_set: o.imitation_set.map(|(x, y)| [b(x), b(y)]),
            log: o
                .log
                .iter()
                .map(|s| {
                    [s.step as u64, b(s.voted), b(s.refined), b(s.reward), b(s.loss), b(s.mean_time), b(s.mean_energy)]
                })
                .collect(),
            agent_loss: o.log.iter().map(|s| s.agent_loss.iter().map(|&x| b(x)).collect()).collect(),
            pretrain_loss: o
                .pretrain_loss
                .iter()
                .map(|p| (p.iteration, b(p.loss), p.agent_loss.iter().map(|&x| b(x)).collect()))
                .collect(),
            pretrain_s: o.pretrain_s,
            train_s: o.train_s,
            phase_s: o.phase_s,
        }
    }

    fn into_outcome(self) -> Outcome {
        let f = f64::from_bits;
        Outcome {
            imitation: self.imitation.map(|[x, y]| (f(x), f(y))),
            imitation_set: self.imitation_set.map(|[x, y]| (f(x), f(y))),
            log: self
                .log
                .iter()
                .enumerate()
                .map(|(k, r)| StepMetrics {
                    step: r[0] as usize,
                    voted: f(r[1]),
                    refined: f(r[2]),
                    reward: f(r[3]),
                    loss: f(r[4]),
                    mean_time: f(r[5]),
                    mean_energy: f(r[6]),
                    agent_loss: self.agent_loss.get(k).map(|v| v.iter().map(|&x| f(x)).collect()).unwrap_or_default(),
                })
                .collect(),
            pretrain_loss: self
                .pretrain_loss
                .iter()
                .map(|(it, l, a)| LossPoint {
                    iteration: *it,
                    loss: f(*l),
                    agent_loss: a.iter().map(|&x| f(x)).collect(),
                })
                .collect(),
            pretrain_s: self.pretrain_s,
            train_s: self.train_s,
            phase_s: self.phase_s,
            ..Default::default()
        }
    }
}

/// The run-level settings a checkpoint must match besides the `dirs`/`mec` configs and the
/// backend ([`Dirs::load_state`] compares those): the metrics logged depend on `log_every`.
fn run_config(cfg: &DirsRunConfig) -> serde_json::Value {
    serde_json::json!({ "log_every": cfg.log_every })
}

fn save(d: &Dirs, path: &Path, cfg: &DirsRunConfig, out: &Outcome) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let data = serde_json::to_value(Logged::of(out))
        .map_err(|e| Error::config("checkpoint metadata", "run.data", e.to_string()))?;
    d.save(path, &serde_json::json!({ "config": run_config(cfg), "data": data }))
}

/// Remove a work directory (the run it belonged to completed); a missing one is fine.
pub fn clear_work(work: &Path) -> Result<()> {
    match std::fs::remove_dir_all(work) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(work, e)),
    }
}

/// Pre-training (Alg. 2, with the Table II accuracies) and online training (Alg. 1) of `cfg`,
/// checkpointed into `work` every `cfg.checkpoint_every` online steps, after pre-training and
/// at the end of training (`work` None or `checkpoint_every` 0: never). When `work` holds a
/// checkpoint, training continues from it instead of starting over: a checkpoint of another
/// config is an `Error::Config` naming the field that differs, a corrupt or truncated one an
/// `Error::Parse` naming the file.
///
/// `stop_after = Some(k)` returns right after online step k (with a checkpoint only where one
/// falls due), as if the process had been killed there: the returned `Dirs` has `t = k` (tests
/// of the resume). Returns the training part of the [`Outcome`] and the agents.
pub fn train_resumable(
    cfg: &DirsRunConfig,
    backend: Arc<dyn Backend>,
    work: Option<&Path>,
    stop_after: Option<usize>,
    tick: &mut dyn FnMut(u64),
) -> Result<(Outcome, Dirs)> {
    cfg.validate()?;
    let algo = cfg.algo();
    let mut d = Dirs::new(backend.clone(), &cfg.mec, &algo)?;
    let every = cfg.checkpoint_every;
    let path = work.filter(|_| every > 0).map(|w| w.join(CHECKPOINT));
    let t0 = Instant::now();
    let mut out = match path.as_deref().filter(|p| p.exists()) {
        Some(p) => {
            let data = d.load(p, &run_config(cfg))?;
            let logged: Logged = serde_json::from_value(data).map_err(|e| Error::Parse {
                path: p.to_path_buf(),
                line: 0,
                why: format!("__metadata__.run.data: {e}"),
            })?;
            let mut o = logged.into_outcome();
            o.resumed_at = Some(d.t);
            tick(if algo.use_imitation { algo.t_d as u64 } else { 0 } + d.t as u64);
            o
        }
        None => {
            let mut o = Outcome::default();
            if algo.use_imitation {
                // Alg. 2 (Table II: accuracy on the demonstrations and on held-out channel states).
                let demos = d.pretrain_demonstrations()?;
                backend.sync()?;
                o.phase_s.demonstrations = t0.elapsed().as_secs_f64();
                let t = Instant::now();
                for it in 0..algo.t_d {
                    d.train_step()?;
                    // Fig. 5: the imitation loss and its per-agent parts (downloads at these points only)
                    if cfg.log_every > 0 && (it % cfg.log_every == 0 || it + 1 == algo.t_d) {
                        o.pretrain_loss.push(d.loss_point()?);
                    }
                    tick(1);
                }
                backend.sync()?;
                o.phase_s.imitation = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let train = d.accuracies(&demos)?;
                let mut env = d.scenario(HELD_OUT_STEP)?;
                let held = d.demonstrations(&mut env, algo.demonstrations, false)?;
                let held = d.accuracies(&held)?;
                o.imitation = Some((train.exact, held.exact));
                o.imitation_set = Some((train.set, held.set));
                o.phase_s.accuracy = t.elapsed().as_secs_f64();
            }
            o.pretrain_s = t0.elapsed().as_secs_f64();
            o.train_s = o.pretrain_s;
            if let Some(p) = &path {
                let t = Instant::now();
                save(&d, p, cfg, &o)?;
                o.phase_s.checkpoints += t.elapsed().as_secs_f64();
            }
            o
        }
    };
    // Alg. 1 online, from step d.t (0, or where the checkpoint left off).
    let (online0, train0, t1) = (out.phase_s.online, out.train_s, Instant::now());
    d.train(cfg.log_every, &mut |d, metrics| {
        out.log.extend(metrics);
        tick(1);
        if let Some(p) = &path {
            if d.t.is_multiple_of(every) || d.t == algo.t_drl {
                backend.sync()?;
                out.phase_s.online = online0 + t1.elapsed().as_secs_f64();
                out.train_s = train0 + t1.elapsed().as_secs_f64();
                let t = Instant::now();
                save(d, p, cfg, &out)?;
                out.phase_s.checkpoints += t.elapsed().as_secs_f64();
            }
        }
        Ok(if stop_after == Some(d.t) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    if stop_after == Some(d.t) {
        return Ok((out, d));
    }
    backend.sync()?;
    out.phase_s.online = online0 + t1.elapsed().as_secs_f64();
    out.train_s = train0 + t1.elapsed().as_secs_f64();
    Ok((out, d))
}
