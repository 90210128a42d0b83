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

use crate::algo::dirs::{Dirs, DirsConfig, StepMetrics};
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

const METHODS: [&str; 4] = ["dirs", "greedy", "random", "local"];

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
    /// Wall time of each phase (s).
    #[serde(default)]
    pub phase_s: PhaseTimes,
    /// The online step training resumed from (a checkpoint), if it did.
    #[serde(default)]
    pub resumed_at: Option<usize>,
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

/// One experiment of `mecrl reproduce dirs`: (figure or table, point id, config, evaluate).
type Point = (&'static str, String, DirsRunConfig, bool);

/// The experiments of `mecrl reproduce dirs` (paper scale, or `quick`: fewer points, shorter
/// training; see docs/dirs.md).
pub fn reproduce_points(quick: bool, seed: u64) -> Vec<Point> {
    let mut base =
        DirsRunConfig { seed, backend: "cpu".into(), log_every: 10, inference_batch: 0, ..Default::default() };
    if quick {
        base.dirs.t_d = 300;
        base.dirs.t_drl = 600;
        base.eval_steps = 20;
    }
    let mut v: Vec<Point> = vec![];
    // Table II: demonstrations × {L1, L_D}, imitation only.
    let demos: &[usize] = if quick { &[64, 256] } else { &[64, 128, 256, 512] };
    for &dm in demos {
        for (loss, l1) in [("L1", 1e-4), ("LD", 0.0)] {
            let mut c = base.clone();
            c.dirs.demonstrations = dm;
            c.dirs.lambda1 = l1;
            c.dirs.t_drl = 0;
            v.push(("table2", format!("table2_d{dm}_{loss}"), c, false));
        }
    }
    // Fig. 9: N = 10…100 (M = 2); the N = 30 point is the paper's and also times inference (Table III).
    let ns: Vec<usize> = if quick { vec![10, 30, 50] } else { (1..=10).map(|k| 10 * k).collect() };
    for &n in &ns {
        let mut c = base.clone();
        c.mec.n_iotd = n;
        if n == 30 {
            c.inference_batch = 4096;
        }
        v.push(("fig9", format!("fig9_n{n}"), c, true));
    }
    // Fig. 10: M = 2…10 (N = 30).
    let ms: &[usize] = if quick { &[2, 6, 10] } else { &[2, 4, 6, 8, 10] };
    for &m in ms {
        let mut c = base.clone();
        c.mec.n_mec = m;
        v.push(("fig10", format!("fig10_m{m}"), c, true));
    }
    // Fig. 8: ablations at the paper's scale (reward curves).
    for (name, levy, imit) in
        [("dirs", true, true), ("no_levy", false, true), ("no_imitation", true, false), ("neither", false, false)]
    {
        let mut c = base.clone();
        c.dirs.use_levy = levy;
        c.dirs.use_imitation = imit;
        v.push(("fig8", format!("fig8_{name}"), c, true));
    }
    v
}

/// Run (or resume) `mecrl reproduce dirs` into `dir`: each finished experiment is kept as
/// `points/<id>[_quick]_s<seed>.json` and skipped when the command runs again; then the tables (`table2.csv`,
/// `table3.csv`, `fig8.csv`, `fig9.csv`, `fig10.csv`) and `summary.md` are written. Returns the
/// summary (markdown).
pub fn reproduce(
    quick: bool,
    seed: u64,
    dir: &std::path::Path,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<String> {
    reproduce_with(reproduce_points(quick, seed), quick, seed, dir, backend, tick)
}

/// [`reproduce`] over the given experiments.
fn reproduce_with(
    points: Vec<Point>,
    quick: bool,
    seed: u64,
    dir: &std::path::Path,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<String> {
    let pdir = dir.join("points");
    std::fs::create_dir_all(&pdir).map_err(|e| Error::io(&pdir, e))?;
    let mut done: Vec<(&'static str, String, DirsRunConfig, Outcome)> = vec![];
    for (fig, id, cfg, evaluate) in points {
        // The mode and seed are part of the name: a directory never mixes experiments.
        let path = pdir.join(format!("{id}{}_s{seed}.json", if quick { "_quick" } else { "" }));
        let units = if evaluate { cfg.work_units() } else { cfg.work_units() - cfg.eval_steps as u64 };
        let cached = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<Outcome>(&t).ok());
        let o = match cached {
            Some(o) => {
                tick(units);
                o
            }
            None => {
                let work = pdir.join(format!(".{}.work", path.file_stem().and_then(|s| s.to_str()).unwrap_or(&id)));
                let (o, _) = train_and_evaluate_in(&cfg, backend.clone(), evaluate, Some(&work), tick)?;
                let text =
                    serde_json::to_string(&o).map_err(|e| Error::config("reproduce point", &id, e.to_string()))?;
                let tmp = pdir.join(format!(".{id}.json.partial"));
                std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
                std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
                clear_work(&work)?;
                o
            }
        };
        done.push((fig, id, cfg, o));
    }
    // a temporary sibling renamed into place: no partial table is left if the write fails
    let write = |name: &str, text: &str| -> Result<()> {
        let (p, tmp) = (dir.join(name), dir.join(format!(".{name}.partial")));
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
    };
    let mut md = format!(
        "# mecrl reproduce dirs{} (seed {seed}, {})\n\n",
        if quick { " --quick" } else { "" },
        backend.describe()
    );
    // Table II.
    let mut t2 = String::from("demonstrations,loss,train_accuracy,test_accuracy\n");
    md.push_str(
        "## Table II: imitation accuracy (per decision)\n| demonstrations | loss | train | test |\n|---|---|---|---|\n",
    );
    for (_, _, c, o) in done.iter().filter(|p| p.0 == "table2") {
        let (tr, te) = o.imitation.unwrap_or((f64::NAN, f64::NAN));
        let loss = if c.dirs.lambda1 > 0.0 { "L1" } else { "LD" };
        t2.push_str(&format!("{},{loss},{tr:.4},{te:.4}\n", c.dirs.demonstrations));
        md.push_str(&format!("| {} | {loss} | {:.1}% | {:.1}% |\n", c.dirs.demonstrations, 100.0 * tr, 100.0 * te));
    }
    write("table2.csv", &t2)?;
    // Figs. 9 and 10.
    for (fig, axis, title) in
        [("fig9", "n_iotd", "Fig. 9: objective vs N (M = 2)"), ("fig10", "n_mec", "Fig. 10: objective vs M (N = 30)")]
    {
        let mut csv = format!("{axis},method,objective,mean_time_s,mean_energy_j\n");
        md.push_str(&format!(
            "\n## {title}, held-out channel states\n| {axis} | DIRS | Greedy | Random | Local |\n|---|---|---|---|---|\n"
        ));
        for (_, _, c, o) in done.iter().filter(|p| p.0 == fig) {
            let x = if fig == "fig9" { c.mec.n_iotd } else { c.mec.n_mec };
            for (k, r) in o.held_out.iter().enumerate() {
                csv.push_str(&format!("{x},{},{:.6},{:.6},{:.6}\n", METHODS[k], r[0], r[1], r[2]));
            }
            let h = &o.held_out;
            md.push_str(&format!("| {x} | {:.3} | {:.3} | {:.3} | {:.3} |\n", h[0][0], h[1][0], h[2][0], h[3][0]));
        }
        write(&format!("{fig}.csv"), &csv)?;
    }
    // Fig. 8: reward curves of the ablations.
    let mut f8 = String::from("variant,step,reward,voted_objective,refined_objective,loss,mean_time_s,mean_energy_j\n");
    md.push_str("\n## Fig. 8: mean reward of the voted action per fifth of T_DRL\n| variant | 1st | 2nd | 3rd | 4th | 5th | held-out Σ Φ |\n|---|---|---|---|---|---|---|\n");
    for (_, id, c, o) in done.iter().filter(|p| p.0 == "fig8") {
        let name = id.trim_start_matches("fig8_");
        for s in &o.log {
            f8.push_str(&format!(
                "{name},{},{:.8},{:.6},{:.6},{:.6},{:.6},{:.6}\n",
                s.step, s.reward, s.voted, s.refined, s.loss, s.mean_time, s.mean_energy
            ));
        }
        let fifth = (c.dirs.t_drl / 5).max(1);
        let bins: Vec<String> = (0..5)
            .map(|b| {
                let v: Vec<f64> = o.log.iter().filter(|s| s.step / fifth == b).map(|s| s.reward).collect();
                format!("{:.4}", v.iter().sum::<f64>() / v.len().max(1) as f64)
            })
            .collect();
        md.push_str(&format!("| {name} | {} | {:.3} |\n", bins.join(" | "), o.held_out[0][0]));
    }
    write("fig8.csv", &f8)?;
    // Table III (DIRS row): training time, inference time, average reward.
    let mut t3 = String::from("method,training_s,inference_s_per_batch,batch,average_reward\n");
    if let Some((_, _, c, o)) = done.iter().find(|p| p.0 == "fig9" && p.2.mec.n_iotd == 30) {
        let tail: Vec<f64> = o.log.iter().rev().take(50).map(|s| s.reward).collect();
        let reward = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
        let inf = o.fresh.as_ref().map(|f| f.1).unwrap_or(f64::NAN);
        t3.push_str(&format!("dirs,{:.3},{inf:.6},{},{reward:.6}\n", o.train_s, c.inference_batch));
        md.push_str(&format!(
            "\n## Table III (DIRS row)\ntraining {:.1} s, inference {:.3} ms per batch of {} ({:.2} µs per instance), average reward {reward:.4} (last 50 logged steps)\n",
            o.train_s,
            1e3 * inf,
            c.inference_batch,
            1e6 * inf / c.inference_batch.max(1) as f64
        ));
    }
    write("table3.csv", &t3)?;
    write("summary.md", &md)?;
    Ok(md)
}

/// Units of progress of [`reproduce`].
pub fn reproduce_work_units(quick: bool, seed: u64) -> u64 {
    reproduce_points(quick, seed)
        .iter()
        .map(|(_, _, c, e)| if *e { c.work_units() } else { c.work_units() - c.eval_steps as u64 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduce_points_are_valid_and_unique() {
        for quick in [true, false] {
            let pts = reproduce_points(quick, 1);
            let mut ids: Vec<&str> = pts.iter().map(|p| p.1.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), pts.len(), "ids are unique (they name the resume files)");
            for (_, id, c, _) in &pts {
                c.validate().unwrap_or_else(|e| panic!("{id}: {e}"));
            }
        }
        assert!(reproduce_work_units(true, 1) < reproduce_work_units(false, 1));
    }

    /// A second run in the same directory reuses every finished experiment (no training: all
    /// progress arrives at once per experiment) and writes the same tables.
    #[test]
    fn reproduce_resumes_from_finished_experiments() {
        let be = crate::backend::create(crate::backend::BackendKind::Cpu).unwrap();
        let mut c = DirsRunConfig { backend: "cpu".into(), eval_steps: 2, inference_batch: 0, ..Default::default() };
        c.mec.n_iotd = 6;
        c.dirs.demonstrations = 8;
        c.dirs.t_d = 3;
        c.dirs.t_drl = 6;
        c.dirs.minibatch = 4;
        c.dirs.levy = crate::search::levy::LevyConfig { population: 4, generations: 3, ..Default::default() };
        let points = || -> Vec<Point> {
            vec![
                (
                    "table2",
                    "table2_d8_L1".into(),
                    DirsRunConfig { dirs: DirsConfig { t_drl: 0, ..c.dirs.clone() }, ..c.clone() },
                    false,
                ),
                ("fig9", "fig9_n6".into(), c.clone(), true),
            ]
        };
        let dir = std::env::temp_dir().join(format!("mecrl-reproduce-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut ticks = vec![];
        let first = reproduce_with(points(), true, 3, &dir, be.clone(), &mut |k| ticks.push(k)).unwrap();
        assert!(ticks.iter().all(|&k| k == 1), "fresh experiments advance one unit at a time");
        let total: u64 = ticks.iter().sum();
        let table2 = std::fs::read_to_string(dir.join("table2.csv")).unwrap();
        assert_eq!(table2.lines().count(), 2);
        let mut again = vec![];
        let second = reproduce_with(points(), true, 3, &dir, be, &mut |k| again.push(k)).unwrap();
        assert_eq!(again.len(), 2, "one jump per reused experiment: {again:?}");
        assert_eq!(again.iter().sum::<u64>(), total);
        assert_eq!(first, second);
        assert_eq!(std::fs::read_to_string(dir.join("table2.csv")).unwrap(), table2);
        let _ = std::fs::remove_dir_all(&dir);
    }

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
