//! `mecrl run` for DIRS (`configs/dirs.toml`, system `dirs`): imitation pre-training (Alg. 2),
//! online training (Alg. 1, 3), then decentralized inference against the Greedy, Random and
//! Local baselines on (a) held-out channel states of the training scenario (its layouts at
//! channel steps training never reached) and (b) a batch of new layouts, with the inference time
//! per decision. Writes `training.csv` (the online metrics), `results.csv` and the trained
//! agents (`agents.safetensors`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::algo::agent::{Agent, Decisions};
use crate::algo::dirs::{Dirs, DirsConfig, LossPoint, StepMetrics};
use crate::backend::Backend;
use crate::env::mec::{Heuristic, MecConfig, MecEnv, Summary};
use crate::error::{Error, Result};
use crate::rng::derive_seed;

mod resume;
pub use resume::{clear_work, train_resumable, CHECKPOINT};

/// Channel step where the held-out states start (training uses steps from 0 and never gets near).
const HELD_OUT_STEP: u32 = 1 << 31;

/// `mecrl run` configuration of DIRS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirsRunConfig {
    /// Must be `"dirs"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (replaces `dirs.seed`).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// Online metrics every `log_every` steps (0: none; each costs a host read).
    pub log_every: usize,
    /// Held-out channel states of the training scenario evaluated (per training instance).
    pub eval_steps: usize,
    /// Instances with new layouts for batched decentralized inference (0: skip).
    pub inference_batch: usize,
    /// Write the complete training state every `checkpoint_every` online steps (and after
    /// pre-training, and at the end of training) into the work directory
    /// `<out_dir>/<name>.partial/`; a rerun of the same config continues from it. 0: off.
    pub checkpoint_every: usize,
    /// The system.
    pub mec: MecConfig,
    /// The algorithm.
    pub dirs: DirsConfig,
}

impl Default for DirsRunConfig {
    fn default() -> Self {
        DirsRunConfig {
            system: "dirs".into(),
            name: "dirs".into(),
            seed: 1,
            backend: "auto".into(),
            out_dir: PathBuf::from("runs"),
            log_every: 10,
            eval_steps: 100,
            inference_batch: 4096,
            checkpoint_every: 500,
            mec: MecConfig::default(),
            dirs: DirsConfig::default(),
        }
    }
}

impl DirsRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: DirsRunConfig = super::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        super::check_common("dirs", &self.system, &self.name, &self.backend)?;
        if self.eval_steps == 0 {
            return Err(Error::config("eval_steps", 0, "must be >= 1"));
        }
        if self.inference_batch > 1 << 20 {
            return Err(Error::config("inference_batch", self.inference_batch, "must be <= 1048576"));
        }
        self.mec.validate()?;
        self.dirs.validate()
    }

    /// Units of progress: pre-training iterations, online steps, evaluated states.
    pub fn work_units(&self) -> u64 {
        let pre = if self.dirs.use_imitation { self.dirs.t_d } else { 0 };
        (pre + self.dirs.t_drl + self.eval_steps) as u64
    }

    /// Where `mecrl run` keeps the in-progress training checkpoint: `<out_dir>/<name>.partial/`
    /// (removed when the run completes; the run directory itself appears only when complete).
    pub fn work_dir(&self) -> PathBuf {
        self.out_dir.join(format!("{}.partial", self.name))
    }

    fn algo(&self) -> DirsConfig {
        DirsConfig { seed: self.seed, ..self.dirs.clone() }
    }
}

/// Mean Σ Φ, mean T, mean E over instances.
fn means(s: &[Summary]) -> [f64; 3] {
    let k = s.len() as f64;
    [
        s.iter().map(|x| x.objective).sum::<f64>() / k,
        s.iter().map(|x| x.mean_time).sum::<f64>() / k,
        s.iter().map(|x| x.mean_energy).sum::<f64>() / k,
    ]
}

pub(crate) const METHODS: [&str; 4] = ["dirs", "greedy", "random", "local"];

/// Decisions of the four methods on the current state of `env` (host, for the f64 summaries).
fn decisions(d: &Dirs, env: &MecEnv) -> Result<[Vec<u32>; 4]> {
    let host = |a: Decisions| env.backend().download(a.buffer());
    Ok([
        host(d.act(env)?)?,
        host(Heuristic::Greedy.act(env)?)?,
        host(Heuristic::Random.act(env)?)?,
        host(Heuristic::Local.act(env)?)?,
    ])
}

/// What one DIRS run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Imitation accuracy (train, held-out) when pre-training ran.
    pub imitation: Option<(f64, f64)>,
    /// Online metrics every `log_every` steps.
    pub log: Vec<StepMetrics>,
    /// (Σ Φ, mean T, mean E) of dirs, greedy, random, local on held-out channel states.
    pub held_out: [[f64; 3]; 4],
    /// The same on new layouts, and the inference time per batch (s), when run.
    pub fresh: Option<([[f64; 3]; 4], f64)>,
    /// Wall time of pre-training (s).
    pub pretrain_s: f64,
    /// Wall time of pre-training and online training (s).
    pub train_s: f64,
    /// Wall time of each phase (s).
    #[serde(default)]
    pub phase_s: PhaseTimes,
    /// The online step training resumed from (a checkpoint), if it did.
    #[serde(default)]
    pub resumed_at: Option<usize>,
    /// The imitation loss every `log_every` iterations (Fig. 5).
    #[serde(default)]
    pub pretrain_loss: Vec<LossPoint>,
}

/// Wall time of each phase of a DIRS run (s). Resumed from a checkpoint, the training phases
/// add the time spent before the checkpoint (recorded in it) to the time after the restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseTimes {
    /// The demonstrations of the training scenario (Alg. 2 line 1).
    pub demonstrations: f64,
    /// T_D imitation iterations (Alg. 2).
    pub imitation: f64,
    /// Table II accuracy: the held-out demonstrations (a second search) and both accuracies.
    pub accuracy: f64,
    /// T_DRL online steps (Alg. 1), checkpoints included.
    pub online: f64,
    /// Writing training checkpoints: those during online training are also part of `online`;
    /// the one after pre-training is counted only here.
    pub checkpoints: f64,
    /// The comparison on held-out channel states.
    pub evaluation: f64,
    /// New layouts: inference timing and the comparison.
    pub inference: f64,
}

/// Train DIRS (Alg. 2, then Alg. 1) and, with `evaluate`, compare it with the baselines.
pub fn train_and_evaluate(
    cfg: &DirsRunConfig,
    backend: Arc<dyn Backend>,
    evaluate: bool,
    tick: &mut dyn FnMut(u64),
) -> Result<(Outcome, Dirs)> {
    train_and_evaluate_in(cfg, backend, evaluate, None, tick)
}

/// [`train_and_evaluate`] with the training checkpoint in `work` (see [`train_resumable`]).
pub fn train_and_evaluate_in(
    cfg: &DirsRunConfig,
    backend: Arc<dyn Backend>,
    evaluate: bool,
    work: Option<&Path>,
    tick: &mut dyn FnMut(u64),
) -> Result<(Outcome, Dirs)> {
    let (mut out, d) = train_resumable(cfg, backend.clone(), work, None, tick)?;
    if !evaluate {
        return Ok((out, d));
    }
    let t_eval = Instant::now();
    // (a) Held-out channel states of the training scenario.
    let mut env = d.scenario(HELD_OUT_STEP + (1 << 20))?;
    for _ in 0..cfg.eval_steps {
        for (k, a) in decisions(&d, &env)?.iter().enumerate() {
            let m = means(&env.summarize_exact(a)?);
            for (acc, v) in out.held_out[k].iter_mut().zip(m) {
                *acc += v / cfg.eval_steps as f64;
            }
        }
        env.step()?;
        tick(1);
    }
    out.phase_s.evaluation = t_eval.elapsed().as_secs_f64();
    // (b) New layouts, batched decentralized inference with its time per decision.
    let t_inf = Instant::now();
    if cfg.inference_batch > 0 {
        let env = MecEnv::new(backend.clone(), &cfg.mec, cfg.inference_batch, derive_seed(cfg.seed, 0xd1e5))?;
        d.decide(&env)?; // warm-up (pipelines, caches)
        backend.sync()?;
        let reps = 5;
        let ti = Instant::now();
        for _ in 0..reps {
            let a = d.decide(&env)?;
            env.objective_exact_dev(&a, 1)?;
        }
        backend.sync()?;
        let per_batch = ti.elapsed().as_secs_f64() / reps as f64;
        let mut rows = [[0.0f64; 3]; 4];
        for (k, a) in decisions(&d, &env)?.iter().enumerate() {
            rows[k] = means(&env.summarize_exact(a)?);
        }
        out.fresh = Some((rows, per_batch));
    }
    out.phase_s.inference = t_inf.elapsed().as_secs_f64();
    Ok((out, d))
}

/// Train and evaluate DIRS on `backend`: the report of `mecrl run`. `tick` advances a progress bar.
pub fn run(cfg: &DirsRunConfig, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<super::Report> {
    let work = cfg.work_dir();
    let (o, d) = train_and_evaluate_in(cfg, backend.clone(), true, Some(&work), tick)?;
    let algo = cfg.algo();
    let (imitation, t_pre, t_train, acc, fresh) = (o.imitation, o.pretrain_s, o.train_s, o.held_out, o.fresh);
    let mut csv_train = String::from("step,voted_objective,refined_objective,reward,loss,mean_time_s,mean_energy_j\n");
    for s in &o.log {
        csv_train.push_str(&format!(
            "{},{:.6},{:.6},{:.8},{:.6},{:.6},{:.6}\n",
            s.step, s.voted, s.refined, s.reward, s.loss, s.mean_time, s.mean_energy
        ));
    }
    let (n, m) = (cfg.mec.n_iotd, cfg.mec.n_mec);
    let mut table = format!("DIRS  N = {n} IoTDs, M = {m} MECs, {}\n", backend.describe());
    if let Some((tr, te)) = imitation {
        table.push_str(&format!(
            "imitation ({} demonstrations, T_D = {}): accuracy train {:.1}%, held-out {:.1}%  ({t_pre:.1} s)\n",
            algo.demonstrations,
            algo.t_d,
            100.0 * tr,
            100.0 * te
        ));
    }
    table.push_str(&format!("online training: T_DRL = {} steps, {:.1} s in all\n", algo.t_drl, t_train));
    if let Some(t) = o.resumed_at {
        table.push_str(&format!("(resumed at online step {t} from {})\n", work.join(CHECKPOINT).display()));
    }
    let mut csv = String::from("set,method,objective,mean_time_s,mean_energy_j\n");
    let mut summary = vec![];
    let mut section = |title: String, set: &str, rows: &[[f64; 3]; 4], table: &mut String| {
        table.push_str(&format!("{title}\n{:<8} {:>12} {:>12} {:>12}\n", "method", "Σ Φ", "mean T (s)", "mean E (J)"));
        for (k, r) in rows.iter().enumerate() {
            table.push_str(&format!("{:<8} {:>12.4} {:>12.5} {:>12.5}\n", METHODS[k], r[0], r[1], r[2]));
            csv.push_str(&format!("{set},{},{:.6},{:.6},{:.6}\n", METHODS[k], r[0], r[1], r[2]));
            summary.push(serde_json::json!({"set": set, "method": METHODS[k], "objective": r[0],
                "mean_time_s": r[1], "mean_energy_j": r[2]}));
        }
    };
    section(
        format!(
            "held-out channel states of the training layouts ({} × {} instances):",
            cfg.eval_steps, algo.train_envs
        ),
        "held_out_states",
        &acc,
        &mut table,
    );
    if let Some((rows, per_batch)) = fresh {
        section(format!("new layouts ({} instances):", cfg.inference_batch), "new_layouts", &rows, &mut table);
        table.push_str(&format!(
            "decentralized inference (agents + vote + allocation): {:.3} ms per batch of {}, {:.3} µs per instance\n",
            1e3 * per_batch,
            cfg.inference_batch,
            1e6 * per_batch / cfg.inference_batch as f64
        ));
        summary.push(serde_json::json!({"inference_s_per_batch": per_batch, "batch": cfg.inference_batch}));
    }
    if let Some((tr, te)) = imitation {
        summary.push(serde_json::json!({"imitation_train_accuracy": tr, "imitation_test_accuracy": te}));
    }
    summary.push(serde_json::json!({"pretrain_s": t_pre, "train_s": t_train}));
    let p = &o.phase_s;
    table.push_str(&format!(
        "wall time (s): demonstrations {:.1}, imitation {:.1}, accuracy {:.1}, online {:.1} (checkpoints {:.1}), \
         evaluation {:.1}, inference {:.1}\n",
        p.demonstrations, p.imitation, p.accuracy, p.online, p.checkpoints, p.evaluation, p.inference
    ));
    summary.push(serde_json::json!({"phase_s": p, "resumed_at": o.resumed_at}));
    // The trained agents (safetensors, through a uniquely named temporary file).
    let tmp = std::env::temp_dir().join(format!("mecrl-dirs-{}-{}.safetensors", std::process::id(), cfg.seed));
    crate::nn::checkpoint::save_training(&tmp, &d.agents.params(), None, &algo)?;
    let weights = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let _ = std::fs::remove_file(&tmp);
    // Everything is in the report now: the training checkpoint has done its job.
    clear_work(&work)?;
    Ok(super::Report {
        table,
        files: vec![
            ("results.csv".into(), csv.into_bytes()),
            ("training.csv".into(), csv_train.into_bytes()),
            ("agents.safetensors".into(), weights),
        ],
        summary: serde_json::Value::Array(summary),
        backend: backend.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_field() {
        let p = std::path::Path::new("x.toml");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\neval_steps = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("eval_steps"), "{e}");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\n[dirs]\nminibatch = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("dirs.minibatch"), "{e}");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\n[dirs]\nbogus = 1\n", p).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\n[mec]\nn_mec = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("mec.n_mec"), "{e}");
    }
}
