//! `mecrl run` for DIRS (`configs/dirs.toml`, system `dirs`): imitation pre-training (Alg. 2),
//! online training (Alg. 1, 3), then decentralized inference against the Greedy, Random and
//! Local baselines on (a) held-out channel states of the training scenario (its layouts at
//! channel steps training never reached) and (b) a batch of new layouts, with the inference time
//! per decision. Writes `training.csv` (the online metrics), `results.csv` and the trained
//! agents (`agents.safetensors`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::algo::dirs::{Dirs, DirsConfig, LossPoint, StepMetrics};
use crate::backend::Backend;
use crate::env::mec::{Heuristic, MecConfig, MecEnv, Summary};
use crate::error::{Error, Result};
use crate::rng::derive_seed;

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
    let be = env.backend();
    Ok([
        be.download(&d.decide(env)?)?,
        env.heuristic(Heuristic::Greedy)?,
        env.heuristic(Heuristic::Random)?,
        env.heuristic(Heuristic::Local)?,
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
    /// The imitation loss every `log_every` iterations (Fig. 5).
    #[serde(default)]
    pub pretrain_loss: Vec<LossPoint>,
}

/// Train DIRS (Alg. 2, then Alg. 1) and, with `evaluate`, compare it with the baselines.
pub fn train_and_evaluate(
    cfg: &DirsRunConfig,
    backend: Arc<dyn Backend>,
    evaluate: bool,
    tick: &mut dyn FnMut(u64),
) -> Result<(Outcome, Dirs)> {
    cfg.validate()?;
    let algo = cfg.algo();
    let mut d = Dirs::new(backend.clone(), &cfg.mec, &algo)?;
    let t0 = Instant::now();
    // Alg. 2 (Table II: accuracy on the demonstrations and on held-out channel states).
    let mut imitation = None;
    let mut pretrain_loss = vec![];
    if algo.use_imitation {
        let (demos, losses) = d.pretrain_logged(cfg.log_every, &mut |_| tick(1))?;
        pretrain_loss = losses;
        let train = d.accuracy(&demos)?;
        let mut env = d.scenario(HELD_OUT_STEP)?;
        let held = d.demonstrations(&mut env, algo.demonstrations, false)?;
        imitation = Some((train, d.accuracy(&held)?));
    }
    let pretrain_s = t0.elapsed().as_secs_f64();
    // Alg. 1 online.
    let log: Vec<StepMetrics> = d.train(cfg.log_every, &mut |_| tick(1))?;
    backend.sync()?;
    let train_s = t0.elapsed().as_secs_f64();
    let mut out = Outcome { imitation, log, pretrain_s, train_s, pretrain_loss, ..Default::default() };
    if !evaluate {
        return Ok((out, d));
    }
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
    // (b) New layouts, batched decentralized inference with its time per decision.
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
    Ok((out, d))
}

/// Train and evaluate DIRS on `backend`: the report of `mecrl run`. `tick` advances a progress bar.
pub fn run(cfg: &DirsRunConfig, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<super::Report> {
    let (o, d) = train_and_evaluate(cfg, backend.clone(), true, tick)?;
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
    // The trained agents (safetensors, through a uniquely named temporary file).
    let tmp = std::env::temp_dir().join(format!("mecrl-dirs-{}-{}.safetensors", std::process::id(), cfg.seed));
    crate::nn::checkpoint::save_training(&tmp, &d.agents.params(), None, &algo)?;
    let weights = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let _ = std::fs::remove_file(&tmp);
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

pub use super::dirs_reproduce::{reproduce, reproduce_points, reproduce_work_units};

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
