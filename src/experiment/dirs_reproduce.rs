//! `mecrl reproduce dirs [--quick]` (issue 5): the paper's experiments (seed 000 §VI) into one
//! run directory — Table II (imitation accuracy), Table III (DIRS, Actor-Critic, DDPG), the data
//! of Figs. 5–10 as CSV files and the figures as PNG + SVG (`figures/`), and `summary.md`.
//!
//! Every experiment ([`Point`]) is kept as `points/<id>[_quick]_s<seed>.json` when it finishes
//! and skipped when the command runs again in the same directory (resume per experiment).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::dirs::{clear_work, train_and_evaluate_in, DirsRunConfig, Outcome, METHODS};
use super::plot::{self, LineChart, Series};
use crate::algo::ac::{AcConfig, ActorCritic};
use crate::algo::ddpg::{Ddpg, DdpgConfig};
use crate::algo::mec_drl::{self as drl, Baseline};
use crate::backend::Backend;
use crate::env::mec::{Heuristic, MecConfig, MecEnv};
use crate::error::{Error, Result};
use crate::rng::derive_seed;
use crate::search::levy::{self, LevyConfig, LevyVariant};

/// Seed tag of the Fig. 7 instances (and of their searches, `+ 1`).
const TAG_FIG7: u64 = 0xF167_0007;
/// Seed tag of the new layouts on which inference is timed (the one `mecrl run` uses).
const TAG_INFERENCE: u64 = 0xd1e5;
/// Repetitions of the timed inference.
const INFERENCE_REPS: usize = 5;
/// Logged points averaged by the moving average of the training curves (Figs. 6, 8).
const SMOOTH: usize = 10;

/// How a DRL baseline is evaluated (Table III).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BaselineEval {
    /// Held-out instances (the training layouts, later channel states).
    pub batch: usize,
    /// Held-out channel states.
    pub steps: usize,
    /// Instances of new layouts on which inference is timed (as DIRS's Table III row).
    pub inference_batch: usize,
    /// Training metrics every `log_every` steps.
    pub log_every: usize,
}

/// What one experiment runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// DIRS training (Alg. 1, 2), with the held-out comparison when `evaluate`.
    Dirs {
        /// The run.
        cfg: DirsRunConfig,
        /// Compare with the baselines on held-out states (Figs. 9, 10).
        evaluate: bool,
    },
    /// Fig. 7: the classic and the proposed Lévy search on the same instances.
    Levy {
        /// The system.
        mec: MecConfig,
        /// The search (its `variant` is replaced by each of the two).
        levy: LevyConfig,
        /// Instances searched.
        instances: usize,
        /// Seed of the instances and the searches.
        seed: u64,
    },
    /// Table III: Actor-Critic.
    Ac {
        /// The system.
        mec: MecConfig,
        /// The agent.
        cfg: AcConfig,
        /// Its evaluation.
        eval: BaselineEval,
    },
    /// Table III: DDPG.
    Ddpg {
        /// The system.
        mec: MecConfig,
        /// The agent.
        cfg: DdpgConfig,
        /// Its evaluation.
        eval: BaselineEval,
    },
}

impl Job {
    /// Check every setting.
    pub fn validate(&self) -> Result<()> {
        match self {
            Job::Dirs { cfg, .. } => cfg.validate(),
            Job::Levy { mec, levy, instances, .. } => {
                if *instances == 0 {
                    return Err(Error::config("fig7.instances", 0, "must be >= 1"));
                }
                mec.validate()?;
                levy.validate()
            }
            Job::Ac { mec, cfg, eval } => {
                check_eval(eval)?;
                mec.validate()?;
                cfg.validate()
            }
            Job::Ddpg { mec, cfg, eval } => {
                check_eval(eval)?;
                mec.validate()?;
                cfg.validate()
            }
        }
    }

    /// Units of progress (training steps and iterations, evaluated states, search generations).
    pub fn work_units(&self) -> u64 {
        match self {
            Job::Dirs { cfg, evaluate } => cfg.work_units() - if *evaluate { 0 } else { cfg.eval_steps as u64 },
            Job::Levy { levy, .. } => 2 * levy.generations as u64,
            Job::Ac { cfg, eval, .. } => (cfg.steps + eval.steps) as u64,
            Job::Ddpg { cfg, eval, .. } => (cfg.steps + eval.steps) as u64,
        }
    }
}

fn check_eval(e: &BaselineEval) -> Result<()> {
    if e.batch == 0 || e.steps == 0 || e.inference_batch == 0 {
        return Err(Error::config("table3.eval", format!("{e:?}"), "batch, steps and inference_batch must be >= 1"));
    }
    Ok(())
}

/// One experiment of `mecrl reproduce dirs`: the figure or table it belongs to, its id (names
/// its resume file) and what it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// `table2`, `table3`, `fig7`, `fig8`, `fig9` or `fig10`.
    pub fig: &'static str,
    /// Unique id.
    pub id: String,
    /// The experiment.
    pub job: Job,
}

/// Fig. 7: mean over the instances of the best objective, before the search and after every
/// generation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LevyOutcome {
    /// Mean Σ Φ of the start decisions (generation 0).
    pub start: f64,
    /// The classic search, after generations 1..=G_max.
    pub classic: Vec<f64>,
    /// The proposed search, after generations 1..=G_max.
    pub proposed: Vec<f64>,
}

/// Table III row of a DRL baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineOutcome {
    /// Training wall time (s).
    pub train_s: f64,
    /// Training metrics (sampled / noisy actions) every `log_every` steps.
    pub log: Vec<drl::StepMetrics>,
    /// Held-out Σ Φ of the greedy policy.
    pub objective: f64,
    /// Held-out mean reward 1/Σ Φ.
    pub reward: f64,
    /// Held-out mean time and energy per IoTD.
    pub mean_time: f64,
    /// (J)
    pub mean_energy: f64,
    /// Local's Σ Φ on the same held-out states.
    pub local: f64,
    /// Inference (policy + rounding + allocation) per batch of new layouts (s).
    pub inference_s_per_batch: f64,
    /// That batch.
    pub batch: usize,
}

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
    let dirs = |fig, id: String, cfg, evaluate| Point { fig, id, job: Job::Dirs { cfg, evaluate } };
    // Table II: demonstrations × {L1, L_D}, imitation only.
    let demos: &[usize] = if quick { &[64, 256] } else { &[64, 128, 256, 512] };
    for &dm in demos {
        for (loss, l1) in [("L1", 1e-4), ("LD", 0.0)] {
            let mut c = base.clone();
            c.dirs.demonstrations = dm;
            c.dirs.lambda1 = l1;
            c.dirs.t_drl = 0;
            v.push(dirs("table2", format!("table2_d{dm}_{loss}"), c, false));
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
        v.push(dirs("fig9", format!("fig9_n{n}"), c, true));
    }
    // Fig. 10: M = 2…10 (N = 30).
    let ms: &[usize] = if quick { &[2, 6, 10] } else { &[2, 4, 6, 8, 10] };
    for &m in ms {
        let mut c = base.clone();
        c.mec.n_mec = m;
        v.push(dirs("fig10", format!("fig10_m{m}"), c, true));
    }
    // Fig. 8: ablations at the paper's scale (reward curves); `fig8_dirs` also gives Figs. 5, 6.
    for (name, levy, imit) in
        [("dirs", true, true), ("no_levy", false, true), ("no_imitation", true, false), ("neither", false, false)]
    {
        let mut c = base.clone();
        c.dirs.use_levy = levy;
        c.dirs.use_imitation = imit;
        v.push(dirs("fig8", format!("fig8_{name}"), c, true));
    }
    // Fig. 7: the online search's settings (β = 1.5, P = 32, G_max = 100) from Greedy's decisions.
    let mec = base.mec.clone();
    v.push(Point {
        fig: "fig7",
        id: "fig7_levy".into(),
        job: Job::Levy { mec: mec.clone(), levy: base.dirs.levy.clone(), instances: 100, seed },
    });
    // Table III: the DRL baselines on the paper's system (docs/ac_ddpg.md).
    let eval = BaselineEval { batch: 16, steps: if quick { 10 } else { 20 }, inference_batch: 4096, log_every: 10 };
    // Their default budgets (2000 steps × B = 32 / 16); quick: 300 and 150 steps.
    let (ac_steps, ddpg_steps) = if quick { (300, 150) } else { (2000, 2000) };
    v.push(Point {
        fig: "table3",
        id: "table3_ac".into(),
        job: Job::Ac { mec: mec.clone(), cfg: AcConfig { seed, steps: ac_steps, ..Default::default() }, eval },
    });
    v.push(Point {
        fig: "table3",
        id: "table3_ddpg".into(),
        job: Job::Ddpg { mec, cfg: DdpgConfig { seed, steps: ddpg_steps, ..Default::default() }, eval },
    });
    v
}

/// Units of progress of [`reproduce`].
pub fn reproduce_work_units(quick: bool, seed: u64) -> u64 {
    reproduce_points(quick, seed).iter().map(|p| p.job.work_units()).sum()
}

/// Run (or resume) `mecrl reproduce dirs` into `dir`: each finished experiment is kept as
/// `points/<id>[_quick]_s<seed>.json` and skipped when the command runs again; then the tables
/// (`table2.csv`, `table3.csv`, `fig5.csv` … `fig10.csv`), the figures (`figures/*.png`, `.svg`)
/// and `summary.md` are written (each file through a temporary sibling: none is left partial).
/// Returns the summary (markdown).
pub fn reproduce(
    quick: bool,
    seed: u64,
    dir: &Path,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<String> {
    reproduce_with(reproduce_points(quick, seed), quick, seed, dir, backend, tick)
}

/// A finished experiment.
enum Done {
    Dirs(Box<DirsRunConfig>, bool, Box<Outcome>),
    Levy(LevyOutcome),
    Baseline(BaselineOutcome),
}

/// The outcome kept at `path`, or `run`'s (then kept there, through a temporary sibling).
fn cached<T: Serialize + DeserializeOwned>(
    path: &Path,
    id: &str,
    units: u64,
    tick: &mut dyn FnMut(u64),
    run: impl FnOnce(&mut dyn FnMut(u64)) -> Result<T>,
) -> Result<T> {
    if let Some(o) = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<T>(&t).ok()) {
        tick(units);
        return Ok(o);
    }
    let o = run(tick)?;
    let text = serde_json::to_string(&o).map_err(|e| Error::config("reproduce point", id, e.to_string()))?;
    let tmp = path.with_file_name(format!(".{id}.json.partial"));
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(o)
}

/// Fig. 7: both variants from the same start decisions (`levy.init`) on the same instances,
/// with the same random streams.
fn levy_job(
    be: &Arc<dyn Backend>,
    mec: &MecConfig,
    lc: &LevyConfig,
    instances: usize,
    seed: u64,
    tick: &mut dyn FnMut(u64),
) -> Result<LevyOutcome> {
    let env = MecEnv::new(be.clone(), mec, instances, derive_seed(seed, TAG_FIG7))?;
    let a0 = env.heuristic_dev(lc.init.into())?;
    let f0 = crate::backend::download_f32(&**be, &env.objective_exact_dev(&a0, 1)?)?;
    let start = f0.iter().map(|&x| x as f64).sum::<f64>() / f0.len() as f64;
    let mut run = |variant| -> Result<Vec<f64>> {
        let c = LevyConfig { variant, ..lc.clone() };
        Ok(levy::search(&env, &c, &a0, derive_seed(seed, TAG_FIG7 + 1), 0, true, &mut |_| tick(1))?.history)
    };
    let classic = run(LevyVariant::Classic)?;
    let proposed = run(LevyVariant::Proposed)?;
    Ok(LevyOutcome { start, classic, proposed })
}

/// Train a baseline, evaluate its greedy policy on held-out states (and Local on the same
/// states), and time its inference on new layouts as DIRS's (policy, rounding, allocation).
fn baseline_job(
    agent: &mut impl Baseline,
    be: &Arc<dyn Backend>,
    mec: &MecConfig,
    seed: u64,
    eval: &BaselineEval,
    tick: &mut dyn FnMut(u64),
) -> Result<BaselineOutcome> {
    let t_train = Instant::now();
    let log = agent.train_logged(eval.log_every, &mut || tick(1))?;
    be.sync()?;
    let train_s = t_train.elapsed().as_secs_f64();
    let r = agent.evaluate(&mut agent.heldout_env(eval.batch)?, eval.steps)?;
    let local = drl::evaluate_heuristic(&mut agent.heldout_env(eval.batch)?, eval.steps, Heuristic::Local)?;
    tick(eval.steps as u64);
    let env = MecEnv::new(be.clone(), mec, eval.inference_batch, derive_seed(seed, TAG_INFERENCE))?;
    agent.act(&env)?; // warm-up
    be.sync()?;
    let t0 = Instant::now();
    for _ in 0..INFERENCE_REPS {
        let a = agent.act(&env)?;
        env.objective_exact_dev(a.buffer(), 1)?;
    }
    be.sync()?;
    Ok(BaselineOutcome {
        train_s,
        log,
        objective: r.objective,
        reward: r.reward,
        mean_time: r.mean_time,
        mean_energy: r.mean_energy,
        local: local.objective,
        inference_s_per_batch: t0.elapsed().as_secs_f64() / INFERENCE_REPS as f64,
        batch: eval.inference_batch,
    })
}

/// A trailing moving average over `w` points (the first points average what exists).
fn smooth(p: &[(f64, f64)], w: usize) -> Vec<(f64, f64)> {
    (0..p.len())
        .map(|k| {
            let lo = (k + 1).saturating_sub(w);
            let s = &p[lo..=k];
            (p[k].0, s.iter().map(|x| x.1).sum::<f64>() / s.len() as f64)
        })
        .collect()
}

fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
    Series { name: name.into(), points }
}

fn chart(title: &str, x: &str, y: &str, series: Vec<Series>, log_y: bool) -> LineChart {
    LineChart { title: title.into(), x_label: x.into(), y_label: y.into(), series, log_y }
}

/// [`reproduce`] over the given experiments.
pub(crate) fn reproduce_with(
    points: Vec<Point>,
    quick: bool,
    seed: u64,
    dir: &Path,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<String> {
    let pdir = dir.join("points");
    std::fs::create_dir_all(&pdir).map_err(|e| Error::io(&pdir, e))?;
    let mut done: Vec<(&'static str, String, Done)> = vec![];
    for p in points {
        p.job.validate()?;
        // The mode and seed are part of the name: a directory never mixes experiments.
        let path = pdir.join(format!("{}{}_s{seed}.json", p.id, if quick { "_quick" } else { "" }));
        let units = p.job.work_units();
        let be = &backend;
        let d = match p.job {
            Job::Dirs { cfg, evaluate } => {
                // The same training run as an earlier point (Fig. 9's N = 30 is Fig. 10's M = 2
                // and Fig. 8's DIRS): training is deterministic, so its outcome is reused.
                let same = done.iter().find_map(|(_, _, d)| match d {
                    Done::Dirs(c, e, o) if *e == evaluate && same_run(c, &cfg) => Some((**o).clone()),
                    _ => None,
                });
                // An interrupted training run continues from its checkpoint in this folder
                // (removed once the point's file is written).
                let work = pdir.join(format!(".{}.work", path.file_stem().and_then(|s| s.to_str()).unwrap_or(&p.id)));
                let o = cached(&path, &p.id, units, tick, |t| match same {
                    Some(o) => {
                        t(units);
                        Ok(o)
                    }
                    None => Ok(train_and_evaluate_in(&cfg, be.clone(), evaluate, Some(&work), t)?.0),
                })?;
                clear_work(&work)?;
                Done::Dirs(Box::new(cfg), evaluate, Box::new(o))
            }
            Job::Levy { mec, levy, instances, seed } => {
                Done::Levy(cached(&path, &p.id, units, tick, |t| levy_job(be, &mec, &levy, instances, seed, t))?)
            }
            Job::Ac { mec, cfg, eval } => Done::Baseline(cached(&path, &p.id, units, tick, |t| {
                baseline_job(&mut ActorCritic::new(be.clone(), &mec, &cfg)?, be, &mec, cfg.seed, &eval, t)
            })?),
            Job::Ddpg { mec, cfg, eval } => Done::Baseline(cached(&path, &p.id, units, tick, |t| {
                baseline_job(&mut Ddpg::new(be.clone(), &mec, &cfg)?, be, &mec, cfg.seed, &eval, t)
            })?),
        };
        done.push((p.fig, p.id, d));
    }
    write_outputs(&done, quick, seed, dir, &*backend)
}

/// Whether DIRS point `b` is the training run `a` already made: the same config apart from the
/// inference batch, which `b` does not need or `a` had too.
fn same_run(a: &DirsRunConfig, b: &DirsRunConfig) -> bool {
    (b.inference_batch == 0 || b.inference_batch == a.inference_batch)
        && *a == DirsRunConfig { inference_batch: a.inference_batch, ..b.clone() }
}

/// DIRS experiments of one figure or table.
fn dirs_of<'a>(done: &'a [(&'static str, String, Done)], fig: &str) -> Vec<(&'a str, &'a DirsRunConfig, &'a Outcome)> {
    done.iter()
        .filter(|p| p.0 == fig)
        .filter_map(|(_, id, d)| match d {
            Done::Dirs(c, _, o) => Some((id.as_str(), &**c, &**o)),
            _ => None,
        })
        .collect()
}

/// Tables, figures and the summary from the finished experiments.
fn write_outputs(
    done: &[(&'static str, String, Done)],
    quick: bool,
    seed: u64,
    dir: &Path,
    backend: &dyn Backend,
) -> Result<String> {
    // a temporary sibling renamed into place: no partial table is left if the write fails
    let write = |name: &str, text: &str| -> Result<()> {
        let (p, tmp) = (dir.join(name), dir.join(format!(".{name}.partial")));
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
    };
    let fdir = dir.join("figures");
    let mut figures: Vec<(String, String)> = vec![]; // (caption, stem relative to dir)
    let draw = |figures: &mut Vec<(String, String)>, stem: &str, c: &LineChart| -> Result<()> {
        plot::line_chart(&fdir.join(stem), c)?;
        figures.push((c.title.clone(), format!("figures/{stem}")));
        Ok(())
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
    for (_, c, o) in dirs_of(done, "table2") {
        let (tr, te) = o.imitation.unwrap_or((f64::NAN, f64::NAN));
        let loss = if c.dirs.lambda1 > 0.0 { "L1" } else { "LD" };
        t2.push_str(&format!("{},{loss},{tr:.4},{te:.4}\n", c.dirs.demonstrations));
        md.push_str(&format!("| {} | {loss} | {:.1}% | {:.1}% |\n", c.dirs.demonstrations, 100.0 * tr, 100.0 * te));
    }
    write("table2.csv", &t2)?;
    // Table III: training time, inference time, average reward.
    let mut t3 = String::from(
        "method,training_s,inference_s_per_batch,batch,inference_us_per_instance,average_reward,held_out_objective,local_objective\n",
    );
    md.push_str(
        "\n## Table III: DIRS vs the DRL baselines (N = 30, M = 2)\n| method | training (s) | inference per batch | per instance | average reward 1/Σ Φ | held-out Σ Φ | Local Σ Φ (same states) |\n|---|---|---|---|---|---|---|\n",
    );
    let mut t3md = String::new();
    let mut row = |name: &str, train: f64, inf: f64, batch: usize, reward: f64, obj: f64, local: f64| {
        let us = 1e6 * inf / batch.max(1) as f64;
        t3.push_str(&format!("{name},{train:.3},{inf:.6},{batch},{us:.3},{reward:.6},{obj:.4},{local:.4}\n"));
        t3md.push_str(&format!(
            "| {name} | {train:.1} | {:.3} ms ({batch}) | {us:.2} µs | {reward:.4} | {obj:.3} | {local:.3} |\n",
            1e3 * inf
        ));
    };
    if let Some((_, c, o)) = dirs_of(done, "fig9").into_iter().find(|p| p.1.mec.n_iotd == 30 && p.2.fresh.is_some()) {
        let tail: Vec<f64> = o.log.iter().rev().take(50).map(|s| s.reward).collect();
        let reward = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
        let inf = o.fresh.as_ref().map(|f| f.1).unwrap_or(f64::NAN);
        row("dirs", o.train_s, inf, c.inference_batch, reward, o.held_out[0][0], o.held_out[3][0]);
    }
    let mut baselines = vec![];
    for (fig, id, d) in done {
        if let (&"table3", Done::Baseline(b)) = (fig, d) {
            let name = id.trim_start_matches("table3_");
            row(name, b.train_s, b.inference_s_per_batch, b.batch, b.reward, b.objective, b.local);
            baselines.push((name, b));
        }
    }
    md.push_str(&t3md);
    md.push_str(
        "\nAverage reward: DIRS, the voted action over its last 50 logged online steps (each a channel state \
         seen for the first time); the baselines, their greedy policy on held-out states of their own training \
         layouts (docs/ac_ddpg.md), where Local is the reference. Inference: policy, rounding or vote, and the \
         allocation (13) for a batch of new layouts.\n",
    );
    write("table3.csv", &t3)?;
    // Figs. 9 and 10.
    for (fig, axis, title, label) in [
        ("fig9", "n_iotd", "Fig. 9: objective vs N (M = 2)", "N (IoTDs)"),
        ("fig10", "n_mec", "Fig. 10: objective vs M (N = 30)", "M (MECs)"),
    ] {
        let mut csv = format!("{axis},method,objective,mean_time_s,mean_energy_j\n");
        md.push_str(&format!(
            "\n## {title}, held-out channel states\n| {axis} | DIRS | Greedy | Random | Local |\n|---|---|---|---|---|\n"
        ));
        let mut lines: Vec<Vec<(f64, f64)>> = vec![vec![]; 4];
        for (_, c, o) in dirs_of(done, fig) {
            let x = if fig == "fig9" { c.mec.n_iotd } else { c.mec.n_mec };
            for (k, r) in o.held_out.iter().enumerate() {
                csv.push_str(&format!("{x},{},{:.6},{:.6},{:.6}\n", METHODS[k], r[0], r[1], r[2]));
                lines[k].push((x as f64, r[0]));
            }
            let h = &o.held_out;
            md.push_str(&format!("| {x} | {:.3} | {:.3} | {:.3} | {:.3} |\n", h[0][0], h[1][0], h[2][0], h[3][0]));
        }
        write(&format!("{fig}.csv"), &csv)?;
        if !lines[0].is_empty() {
            let names = ["DIRS", "Greedy", "Random", "Local"];
            let s = lines.into_iter().zip(names).map(|(p, n)| series(n, p)).collect();
            draw(
                &mut figures,
                fig,
                &chart(title, label, "mean Σ Φ per instance (held-out, lower is better)", s, true),
            )?;
        }
    }
    // Fig. 8: reward curves of the ablations.
    let mut f8 = String::from("variant,step,reward,voted_objective,refined_objective,loss,mean_time_s,mean_energy_j\n");
    md.push_str("\n## Fig. 8: mean reward of the voted action per fifth of T_DRL\n| variant | 1st | 2nd | 3rd | 4th | 5th | held-out Σ Φ |\n|---|---|---|---|---|---|---|\n");
    let mut curves = vec![];
    for (id, c, o) in dirs_of(done, "fig8") {
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
        let label = match name {
            "dirs" => "DIRS",
            "no_levy" => "without Lévy",
            "no_imitation" => "without imitation",
            "neither" => "without Lévy and imitation",
            other => other,
        };
        let pts: Vec<(f64, f64)> = o.log.iter().map(|s| (s.step as f64, s.reward)).collect();
        if !pts.is_empty() {
            curves.push(series(label, smooth(&pts, SMOOTH)));
        }
    }
    write("fig8.csv", &f8)?;
    if !curves.is_empty() {
        let t = format!("Fig. 8: reward during training (moving average of {SMOOTH} logged steps)");
        draw(&mut figures, "fig8", &chart(&t, "online step t", "reward 1/Σ Φ of the voted action", curves, false))?;
    }
    // Figs. 5 and 6 from the full DIRS run of Fig. 8.
    let full = dirs_of(done, "fig8").into_iter().find(|p| p.1.dirs.use_levy && p.1.dirs.use_imitation);
    if let Some((_, c, o)) = full {
        let m = c.mec.n_mec;
        // Fig. 5: per-agent loss (15) in imitation, (17) online, per training iteration.
        let pre = if c.dirs.use_imitation { c.dirs.t_d } else { 0 };
        let mut rows: Vec<(&str, usize, f64, &[f64])> =
            o.pretrain_loss.iter().map(|p| ("imitation", p.iteration, p.loss, &p.agent_loss[..])).collect();
        for s in o.log.iter().filter(|s| s.agent_loss.len() == m) {
            rows.push(("online", pre + s.step / c.dirs.train_every + 1, s.loss, &s.agent_loss[..]));
        }
        let mut f5 = String::from("phase,iteration,loss");
        for j in 1..=m {
            f5.push_str(&format!(",agent_{j}"));
        }
        f5.push('\n');
        for (ph, it, l, a) in &rows {
            f5.push_str(&format!("{ph},{it},{l:.6}"));
            for v in a.iter() {
                f5.push_str(&format!(",{v:.6}"));
            }
            f5.push('\n');
        }
        write("fig5.csv", &f5)?;
        let per: Vec<Series> = (0..m)
            .map(|j| {
                series(
                    &format!("agent {} (MEC {})", j + 1, j + 1),
                    rows.iter().filter(|r| r.3.len() == m && r.3[j] > 0.0).map(|r| (r.1 as f64, r.3[j])).collect(),
                )
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if !per.is_empty() {
            let t = format!("Fig. 5: loss per agent (imitation: iterations 1–{pre}, then online)");
            draw(&mut figures, "fig5", &chart(&t, "training iteration", "loss L_j (eq. 15 / 17)", per, true))?;
        }
        // Fig. 6: mean time and energy per IoTD of the voted action during training.
        for (stem, what, unit, get) in [
            (
                "fig6a_time",
                "time",
                "mean completion time T_i (s)",
                (|s: &crate::algo::dirs::StepMetrics| s.mean_time) as fn(&_) -> f64,
            ),
            ("fig6b_energy", "energy", "mean energy E_i (J)", |s| s.mean_energy),
        ] {
            let pts: Vec<(f64, f64)> = o.log.iter().map(|s| (s.step as f64, get(s))).collect();
            if pts.is_empty() {
                continue;
            }
            let t = format!("Fig. 6: average {what} per IoTD during DIRS training");
            let s = vec![
                series("logged step", pts.clone()),
                series(&format!("moving average ({SMOOTH})"), smooth(&pts, SMOOTH)),
            ];
            draw(&mut figures, stem, &chart(&t, "online step t", unit, s, false))?;
        }
    }
    // Fig. 7: classic vs proposed Lévy flight.
    for (_, _, d) in done.iter().filter(|p| p.0 == "fig7") {
        if let Done::Levy(l) = d {
            let mut f7 = String::from("generation,classic,proposed\n");
            f7.push_str(&format!("0,{:.6},{:.6}\n", l.start, l.start));
            for (g, (a, b)) in l.classic.iter().zip(&l.proposed).enumerate() {
                f7.push_str(&format!("{},{a:.6},{b:.6}\n", g + 1));
            }
            write("fig7.csv", &f7)?;
            let curve = |h: &[f64]| -> Vec<(f64, f64)> {
                std::iter::once((0.0, l.start)).chain(h.iter().enumerate().map(|(g, &v)| ((g + 1) as f64, v))).collect()
            };
            md.push_str(&format!(
                "\n## Fig. 7: Lévy flight fitness (mean best Σ Φ)\nstart {:.3}; after {} generations: classic {:.3}, proposed {:.3}\n",
                l.start,
                l.proposed.len(),
                l.classic.last().copied().unwrap_or(f64::NAN),
                l.proposed.last().copied().unwrap_or(f64::NAN)
            ));
            let s = vec![
                series("classic Lévy flight (eq. 23)", curve(&l.classic)),
                series("proposed (h-mutation, crossover)", curve(&l.proposed)),
            ];
            draw(
                &mut figures,
                "fig7",
                &chart(
                    "Fig. 7: fitness of the best candidate per generation",
                    "generation",
                    "mean best Σ Φ (fitness)",
                    s,
                    false,
                ),
            )?;
        }
    }
    if !figures.is_empty() {
        md.push_str("\n## Figures\n");
        for (title, stem) in &figures {
            md.push_str(&format!("- [{title}]({stem}.png) ([SVG]({stem}.svg))\n"));
        }
    }
    write("summary.md", &md)?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::dirs::DirsConfig;

    #[test]
    fn reproduce_points_are_valid_and_unique() {
        for quick in [true, false] {
            let pts = reproduce_points(quick, 1);
            let mut ids: Vec<&str> = pts.iter().map(|p| p.id.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), pts.len(), "ids are unique (they name the resume files)");
            for p in &pts {
                p.job.validate().unwrap_or_else(|e| panic!("{}: {e}", p.id));
            }
            for fig in ["table2", "table3", "fig7", "fig8", "fig9", "fig10"] {
                assert!(pts.iter().any(|p| p.fig == fig), "{fig} has experiments");
            }
        }
        assert!(reproduce_work_units(true, 1) < reproduce_work_units(false, 1));
    }

    fn unique_dir(tag: &str) -> std::path::PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let d = std::env::temp_dir().join(format!("mecrl-reproduce-{tag}-{}-{nanos}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// One small experiment of every kind (N = 6, a few steps each).
    fn small_points() -> Vec<Point> {
        let mut c = DirsRunConfig { backend: "cpu".into(), eval_steps: 2, inference_batch: 0, ..Default::default() };
        c.mec.n_iotd = 6;
        c.log_every = 1;
        c.dirs.demonstrations = 8;
        c.dirs.t_d = 3;
        c.dirs.t_drl = 6;
        c.dirs.train_every = 2;
        c.dirs.minibatch = 4;
        c.dirs.levy = LevyConfig { population: 4, generations: 3, ..Default::default() };
        let dirs = |fig, id: &str, cfg, evaluate| Point { fig, id: id.into(), job: Job::Dirs { cfg, evaluate } };
        let n30 = DirsRunConfig { inference_batch: 8, ..c.clone() };
        let m3 = DirsRunConfig { mec: MecConfig { n_mec: 3, ..c.mec.clone() }, ..c.clone() };
        let eval = BaselineEval { batch: 2, steps: 2, inference_batch: 4, log_every: 1 };
        vec![
            dirs(
                "table2",
                "table2_d8_L1",
                DirsRunConfig { dirs: DirsConfig { t_drl: 0, ..c.dirs.clone() }, ..c.clone() },
                false,
            ),
            dirs("fig9", "fig9_n6", c.clone(), true),
            dirs("fig10", "fig10_m2", c.clone(), true),
            dirs("fig10", "fig10_m3", m3, true),
            dirs("fig8", "fig8_dirs", c.clone(), true),
            dirs(
                "fig8",
                "fig8_neither",
                DirsRunConfig {
                    dirs: DirsConfig { use_levy: false, use_imitation: false, ..c.dirs.clone() },
                    ..c.clone()
                },
                true,
            ),
            // Table III takes DIRS's row from the N = 30 point of Fig. 9: here the one with inference.
            dirs("fig9", "fig9_n30", DirsRunConfig { mec: MecConfig { n_iotd: 30, ..c.mec.clone() }, ..n30 }, true),
            Point {
                fig: "fig7",
                id: "fig7_levy".into(),
                job: Job::Levy { mec: c.mec.clone(), levy: c.dirs.levy.clone(), instances: 3, seed: 5 },
            },
            Point {
                fig: "table3",
                id: "table3_ac".into(),
                job: Job::Ac {
                    mec: c.mec.clone(),
                    cfg: AcConfig { train_envs: 2, steps: 3, ..Default::default() },
                    eval,
                },
            },
            Point {
                fig: "table3",
                id: "table3_ddpg".into(),
                job: Job::Ddpg {
                    mec: c.mec.clone(),
                    cfg: DdpgConfig {
                        train_envs: 2,
                        steps: 4,
                        minibatch: 4,
                        learn_start: 4,
                        replay_capacity: 16,
                        ..Default::default()
                    },
                    eval,
                },
            },
        ]
    }

    const FIGURES: [&str; 8] = ["fig5", "fig6a_time", "fig6b_energy", "fig7", "fig8", "fig9", "fig10", ""];

    /// A second run in the same directory reuses every finished experiment (no training: all
    /// progress arrives at once per experiment) and writes the same tables; the figures of
    /// Figs. 5–10 exist in both formats and are linked from the summary.
    #[test]
    fn reproduce_resumes_from_finished_experiments() {
        let be = crate::backend::create(crate::backend::BackendKind::Cpu).unwrap();
        let dir = unique_dir("resume");
        let mut ticks = vec![];
        let first = reproduce_with(small_points(), true, 3, &dir, be.clone(), &mut |k| ticks.push(k)).unwrap();
        assert!(ticks.iter().all(|&k| k >= 1), "progress advances");
        let total: u64 = ticks.iter().sum();
        assert_eq!(total, small_points().iter().map(|p| p.job.work_units()).sum::<u64>(), "every unit ticked once");
        let table2 = std::fs::read_to_string(dir.join("table2.csv")).unwrap();
        assert_eq!(table2.lines().count(), 2);
        let table3 = std::fs::read_to_string(dir.join("table3.csv")).unwrap();
        let methods: Vec<&str> = table3.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(methods, ["dirs", "ac", "ddpg"]);
        for f in ["fig5.csv", "fig7.csv", "fig8.csv", "fig9.csv", "fig10.csv"] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        // Fig. 5: per-agent losses that add up to the logged loss; Fig. 7 from generation 0.
        let f5 = std::fs::read_to_string(dir.join("fig5.csv")).unwrap();
        assert!(f5.starts_with("phase,iteration,loss,agent_1,agent_2\n"), "{f5}");
        assert!(f5.contains("\nimitation,1,") && f5.contains("\nonline,"), "{f5}");
        for l in f5.lines().skip(1) {
            let v: Vec<f64> = l.split(',').skip(2).map(|x| x.parse().unwrap()).collect();
            assert!((v[1] + v[2] - v[0]).abs() <= 1e-3 * v[0].abs().max(1.0), "{l}");
        }
        // Fig. 10's M = 2 and Fig. 8's DIRS are Fig. 9's run (same config): reused, and kept.
        let point = |id: &str| std::fs::read_to_string(dir.join(format!("points/{id}_quick_s3.json"))).unwrap();
        assert_eq!(point("fig10_m2"), point("fig9_n6"));
        assert_eq!(point("fig8_dirs"), point("fig9_n6"));
        let f7 = std::fs::read_to_string(dir.join("fig7.csv")).unwrap();
        assert_eq!(f7.lines().count(), 1 + 1 + 3, "{f7}");
        for stem in FIGURES.iter().filter(|s| !s.is_empty()) {
            for ext in ["png", "svg"] {
                let p = dir.join("figures").join(format!("{stem}.{ext}"));
                assert!(std::fs::metadata(&p).map(|m| m.len() > 1000).unwrap_or(false), "{} written", p.display());
            }
            assert!(first.contains(&format!("(figures/{stem}.png)")), "{stem} linked from the summary");
        }
        let mut again = vec![];
        let second = reproduce_with(small_points(), true, 3, &dir, be, &mut |k| again.push(k)).unwrap();
        assert_eq!(again.len(), small_points().len(), "one jump per reused experiment: {again:?}");
        assert_eq!(again.iter().sum::<u64>(), total);
        assert_eq!(first, second);
        assert_eq!(std::fs::read_to_string(dir.join("table2.csv")).unwrap(), table2);
        assert_eq!(std::fs::read_to_string(dir.join("table3.csv")).unwrap(), table3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A figure that cannot be written is a typed error: no temporary is left, no summary is
    /// written, and the finished experiments are kept for the next run.
    #[test]
    fn a_figure_that_cannot_be_written_fails_cleanly() {
        let be = crate::backend::create(crate::backend::BackendKind::Cpu).unwrap();
        let dir = unique_dir("fail");
        // A directory where the Fig. 7 PNG goes: the rename of the drawn file onto it fails.
        std::fs::create_dir_all(dir.join("figures/fig7.png/x")).unwrap();
        let pts: Vec<Point> = small_points().into_iter().filter(|p| p.fig == "fig7").collect();
        let e = reproduce_with(pts.clone(), true, 3, &dir, be.clone(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, Error::Io { .. } | Error::Plot { .. }), "{e}");
        assert!(!dir.join("summary.md").exists(), "no summary after a failed figure");
        let left: Vec<_> = std::fs::read_dir(dir.join("figures"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-") || n.contains("partial"))
            .collect();
        assert!(left.is_empty(), "temporaries left: {left:?}");
        assert_eq!(std::fs::read_dir(dir.join("points")).unwrap().count(), 1, "the experiment is kept");
        // A bad experiment is a typed config error before anything runs.
        let bad = vec![Point {
            fig: "fig7",
            id: "fig7_levy".into(),
            job: Job::Levy { mec: MecConfig::default(), levy: LevyConfig::default(), instances: 0, seed: 1 },
        }];
        let e = reproduce_with(bad, true, 4, &dir, be, &mut |_| {}).unwrap_err();
        assert!(matches!(&e, Error::Config { field, .. } if field == "fig7.instances"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
