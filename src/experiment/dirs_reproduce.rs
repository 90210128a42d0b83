//! `mecrl reproduce dirs [--quick]` (issue 5): the DIRS paper's experiments (§VI) into one
//! run directory — Table II (imitation accuracy), Table III (DIRS, Actor-Critic, DDPG), the data
//! of Figs. 5–10 as CSV files and the figures as PNG + SVG (`figures/`), and `summary.md`.
//!
//! Every experiment ([`Point`]) is kept as `points/<id>[_quick][_<profile>]_s<seed>_<digest>.json`
//! (the digest: CRC-32 of its settings) when it finishes and skipped when the command runs again
//! in the same directory (resume per experiment).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;

use self::outputs::{write_outputs, Done};
use super::dirs::{clear_work, train_and_evaluate_in, DirsRunConfig};
use crate::algo::ac::ActorCritic;
use crate::algo::ddpg::Ddpg;
use crate::algo::mec_drl::{self as drl, Baseline};
use crate::backend::Backend;
use crate::env::mec::{Heuristic, MecConfig, MecEnv, MecProfile};
use crate::error::{Error, Result};
use crate::rng::derive_seed;
use crate::search::levy::{self, LevyConfig, LevyVariant};

mod outputs;
mod points;

pub use points::{
    reproduce_points, reproduce_points_for, reproduce_work_units, BaselineEval, BaselineOutcome, Job, LevyOutcome,
    Point, Tuned, TABLE3_SEEDS,
};

/// Seed tag of the Fig. 7 instances (and of their searches, `+ 1`).
const TAG_FIG7: u64 = 0xF167_0007;
/// Seed tag of the new layouts on which inference is timed (the one `mecrl run` uses).
const TAG_INFERENCE: u64 = 0xd1e5;
/// Repetitions of the timed inference.
const INFERENCE_REPS: usize = 5;

/// Run (or resume) `mecrl reproduce dirs` into `dir`: each finished experiment is kept as
/// `points/<id>[_quick][_<profile>]_s<seed>_<digest>.json` and skipped when the command runs again; then the tables
/// (`table2.csv`, `table3.csv`, `fig5.csv` … `fig10.csv`), the figures (`figures/*.png`, `.svg`)
/// and `summary.md` are written (each file through a temporary sibling: none is left partial).
/// Returns the summary (markdown).
/// `profile` picks the `mec` constants ([`MecProfile`]; `mecrl` is today's default, `calibrated`
/// the one fitted to the paper's Table III reward); its experiments are kept under their own
/// names, so one directory never mixes profiles.
pub fn reproduce(
    quick: bool,
    seed: u64,
    profile: MecProfile,
    dir: &Path,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<String> {
    reproduce_with(reproduce_points_for(quick, seed, profile), quick, seed, dir, backend, tick)
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
        // The mode, profile and seed are part of the name: a directory never mixes experiments.
        let profile = match p.job.mec().profile {
            MecProfile::Mecrl => "",
            MecProfile::Calibrated => "_calibrated",
        };
        // So is a digest of the experiment's settings: a point whose settings changed (another
        // mecrl version, another tuning) is run again, not read back.
        let digest = crate::checksum::crc32(format!("{:?}", p.job).as_bytes());
        let path =
            pdir.join(format!("{}{}{profile}_s{seed}_{digest:08x}.json", p.id, if quick { "_quick" } else { "" }));
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
            Job::Ac { mec, cfg, eval } => Done::Baseline(
                "ac",
                cfg.seed,
                cached(&path, &p.id, units, tick, |t| {
                    baseline_job(&mut ActorCritic::new(be.clone(), &mec, &cfg)?, be, &mec, cfg.seed, &eval, t)
                })?,
            ),
            Job::Ddpg { mec, cfg, eval } => Done::Baseline(
                "ddpg",
                cfg.seed,
                cached(&path, &p.id, units, tick, |t| {
                    baseline_job(&mut Ddpg::new(be.clone(), &mec, &cfg)?, be, &mec, cfg.seed, &eval, t)
                })?,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ac::AcConfig;
    use crate::algo::ddpg::DdpgConfig;
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
        assert!(reproduce_work_units(true, 1, MecProfile::Mecrl) < reproduce_work_units(false, 1, MecProfile::Mecrl));
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
            // Table III's DIRS rows (here one seed, with inference), and Table II with optimal labels.
            dirs(
                "table3",
                "table3_dirs_s1",
                DirsRunConfig { mec: MecConfig { n_iotd: 30, ..c.mec.clone() }, ..n30 },
                true,
            ),
            dirs(
                "table2",
                "table2_d8_L1_opt",
                DirsRunConfig {
                    dirs: DirsConfig {
                        t_drl: 0,
                        demo_solver: crate::algo::dirs::DemoSolver::Optimal,
                        ..c.dirs.clone()
                    },
                    ..c.clone()
                },
                false,
            ),
            Point {
                fig: "fig7",
                id: "fig7_levy".into(),
                job: Job::Levy { mec: c.mec.clone(), levy: c.dirs.levy.clone(), instances: 3, seed: 5 },
            },
            Point {
                fig: "table3",
                id: "table3_ac_s1".into(),
                job: Job::Ac {
                    mec: c.mec.clone(),
                    cfg: AcConfig { train_envs: 2, steps: 3, ..Default::default() },
                    eval,
                },
            },
            Point {
                fig: "table3",
                id: "table3_ddpg_s1".into(),
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

    const FIGURES: [&str; 8] =
        ["fig5", "fig6a_time", "fig6b_energy", "fig7", "fig8", "fig9", "fig10", "table3_training"];

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
        let labels: Vec<&str> = table2.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(labels, ["levy", "optimal"], "{table2}");
        for l in table2.lines().skip(1) {
            // accuracy ≤ set accuracy ≤ 1, on the demonstrations and held out
            let v: Vec<f64> = l.split(',').skip(3).map(|x| x.parse().unwrap()).collect();
            assert!(v[0] <= v[2] && v[1] <= v[3] && v[2] <= 1.0 && v[3] <= 1.0, "{l}");
        }
        let table3 = std::fs::read_to_string(dir.join("table3.csv")).unwrap();
        let methods: Vec<&str> = table3.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(methods, ["dirs", "ac", "ddpg"]);
        let seeds = std::fs::read_to_string(dir.join("table3_seeds.csv")).unwrap();
        assert_eq!(seeds.lines().count(), 4, "one row per method and seed: {seeds}");
        assert!(table3.lines().skip(1).all(|l| l.split(',').nth(1) == Some("1")), "{table3}");
        for f in ["fig5.csv", "fig7.csv", "fig8.csv", "fig9.csv", "fig10.csv", "table3_curves.csv"] {
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
        let point = |id: &str| {
            let prefix = format!("{id}_quick_s3_");
            let f = std::fs::read_dir(dir.join("points"))
                .unwrap()
                .filter_map(|e| e.ok())
                .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .unwrap();
            std::fs::read_to_string(f.path()).unwrap()
        };
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
