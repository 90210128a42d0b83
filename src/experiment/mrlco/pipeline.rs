//! The MRLCO pipeline: per experiment, the heuristics on the test sets, the learners trained
//! (resuming from their checkpoints) and adapted to every test set; `mecrl run` and
//! `mecrl reproduce mrlco` around it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::config::{ExperimentSpec, MrlcoRunConfig};
use super::outputs::{write_outputs, Results};
use super::results::{read_json, write_atomic, write_json, TestResult, TrainLog};
use crate::algo::mrlco::{adapt, Learner, Method, Task};
use crate::backend::Backend;
use crate::env::dag::eval::evaluate_all;
use crate::error::{Error, Result};
use crate::experiment::common::Report;
use crate::experiment::dag::{Role, TaskData};

/// Units of progress: one per training iteration and per adaptation step of each learner,
/// one per test set for the heuristics.
pub fn work_units(cfg: &MrlcoRunConfig) -> u64 {
    let data = cfg.data();
    let m = cfg.methods.len() as u64;
    cfg.experiment
        .iter()
        .map(|e| {
            let tests = data.count_sets(&e.grids, Role::Test) as u64;
            m * cfg.mrlco.iterations as u64 + tests * (1 + m * cfg.mrlco.adapt_steps() as u64)
        })
        .sum()
}

/// Train `method` on `train` in `work` (resuming from its checkpoint), `tick` per iteration.
fn train(
    be: &Arc<dyn Backend>,
    cfg: &MrlcoRunConfig,
    e: &ExperimentSpec,
    method: Method,
    train: &[Task],
    work: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(Learner, TrainLog)> {
    let lc = cfg.learner(e);
    let mut l = Learner::new(be, &lc, method)?;
    let stem = format!("{}.{}", e.name, method.name());
    let ckpt = work.join(format!("{stem}.safetensors"));
    let tmp = work.join(format!("{stem}.safetensors.tmp"));
    let log_path = work.join(format!("{stem}.log.json"));
    let mut log = TrainLog::default();
    if ckpt.exists() {
        l.load(&ckpt)?;
        log = read_json(&log_path)?.unwrap_or_default();
        log.rows.truncate(l.iteration);
        if log.rows.len() != l.iteration {
            return Err(Error::input("work file", 0, log_path.display(), "the log does not match the checkpoint"));
        }
        tick(l.iteration as u64);
    }
    while l.iteration < lc.iterations {
        let s = l.iterate(train)?;
        log.push(&s);
        tick(1);
        if l.iteration % cfg.checkpoint_every == 0 || l.iteration == lc.iterations {
            // the log first: a checkpoint never claims iterations its log lacks
            write_json(&log_path, &log)?;
            l.save(&tmp)?;
            std::fs::rename(&tmp, &ckpt).map_err(|err| Error::io(&ckpt, err))?;
        }
    }
    Ok((l, log))
}

/// Run every experiment of `cfg` with its work files in `work` (created if missing). Returns
/// the results the outputs are written from.
pub fn run_in(cfg: &MrlcoRunConfig, be: Arc<dyn Backend>, work: &Path, tick: &mut dyn FnMut(u64)) -> Result<Results> {
    cfg.validate()?;
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    let data = cfg.data();
    let mut results = Results::default();
    for (ei, e) in cfg.experiment.iter().enumerate() {
        let sets = data.task_data(&e.grids, &format!("experiment[{ei}].grids"))?;
        let (train_d, test_d): (Vec<&TaskData>, Vec<&TaskData>) = sets.iter().partition(|t| t.info.role == Role::Train);
        if train_d.is_empty() || test_d.is_empty() {
            return Err(Error::config(
                format!("experiment[{ei}].grids"),
                format!("{:?}", e.grids),
                format!("need training and test sets (found {} and {})", train_d.len(), test_d.len()),
            ));
        }
        let lc = cfg.learner(e);
        let task = |t: &TaskData| {
            let name = format!("{}@{}", t.info.set, t.info.rate_mbps);
            Task::new(&be, &name, &t.dags, &t.sys, lc.parents, lc.scaled_reward)
        };
        let train_tasks: Vec<Task> = train_d.iter().map(|t| task(t)).collect::<Result<_>>()?;
        let test_tasks: Vec<Task> = test_d.iter().map(|t| task(t)).collect::<Result<_>>()?;
        let mut tests: Vec<TestResult> = vec![];
        for t in &test_d {
            let path = work.join(format!("{}.{}@{}.baselines.json", e.name, t.info.set, t.info.rate_mbps));
            let r = match read_json::<TestResult>(&path)? {
                Some(r) => r,
                None => {
                    let per: Vec<Vec<Option<f64>>> =
                        t.dags.par_iter().map(|d| evaluate_all(d, &t.sys, &cfg.baselines)).collect::<Result<_>>()?;
                    let baselines = cfg
                        .baselines
                        .iter()
                        .enumerate()
                        .map(|(j, m)| {
                            let v: Vec<f64> = per.iter().filter_map(|r| r[j]).collect();
                            let mean = (v.len() == per.len()).then(|| v.iter().sum::<f64>() / v.len() as f64);
                            (m.name().to_string(), mean)
                        })
                        .collect();
                    let r = TestResult {
                        experiment: e.name.clone(),
                        set: t.info.set.clone(),
                        n: t.info.n,
                        rate_mbps: t.info.rate_mbps,
                        baselines,
                        curves: vec![],
                    };
                    write_json(&path, &r)?;
                    r
                }
            };
            tick(1);
            tests.push(r);
        }
        for &m in &cfg.methods {
            let (learner, log) = train(&be, cfg, e, m, &train_tasks, work, tick)?;
            results.logs.push((e.name.clone(), m, log));
            for (k, (t, tt)) in test_d.iter().zip(&test_tasks).enumerate() {
                let path = work.join(format!("{}.{}.{}@{}.curve.json", e.name, m.name(), t.info.set, t.info.rate_mbps));
                let curve = match read_json::<Vec<(usize, f64)>>(&path)? {
                    Some(c) => {
                        tick(lc.adapt_steps() as u64);
                        c
                    }
                    None => {
                        let seed = crate::rng::derive_seed(lc.seed, 0xADA7_0000 + k as u64);
                        let c = adapt(&lc, &learner.net, tt, seed, &mut || tick(1))?;
                        write_json(&path, &c)?;
                        c
                    }
                };
                tests[k].curves.push((m.name().to_string(), curve));
            }
        }
        results.experiments.push((e.clone(), tests));
    }
    Ok(results)
}

/// `mecrl run`: [`run_in`] with the work directory [`work_dir`], the outputs written there
/// and handed over as the report's files; the work directory is removed afterwards.
pub fn run(cfg: &MrlcoRunConfig, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<Report> {
    let work = work_dir(cfg);
    let backend = be.describe();
    let res = run_in(cfg, be, &work, tick)?;
    let out = work.join("outputs");
    let table = write_outputs(&res, &out, cfg.mrlco.adapt_steps())?;
    let mut files = crate::experiment::common::output_files(&out)?;
    for e in &cfg.experiment {
        for m in &cfg.methods {
            let name = format!("{}.{}.safetensors", e.name, m.name());
            let p = work.join(&name);
            files.push((format!("policies/{name}"), std::fs::read(&p).map_err(|err| Error::io(&p, err))?));
        }
    }
    std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let summary = serde_json::json!({ "experiments": res.experiments.len(), "learners": cfg.methods });
    Ok(Report { table, files, summary, backend })
}

/// The paper's configuration (`configs/mrlco.toml`, built in) under `seed`, or with `quick`
/// its reduced form (docs/mrlco.md): a 64-unit network, 20 graphs per set, fewer iterations
/// and 20 adaptation steps.
pub fn paper_config(quick: bool, seed: u64) -> Result<MrlcoRunConfig> {
    let text = include_str!("../../../configs/mrlco.toml");
    let mut c = MrlcoRunConfig::from_toml(text, Path::new("configs/mrlco.toml"))?;
    c.seed = seed;
    c.mrlco.seed = seed;
    if quick {
        c.name = "mrlco-quick".into();
        c.mrlco.hidden = 64;
        c.mrlco.attention = 64;
        c.mrlco.iterations = 6;
        c.mrlco.graphs_per_task = 5;
        c.mrlco.trajectories = 10;
        c.mrlco.eval_steps = vec![0, 1, 2, 5, 10, 20];
        c.checkpoint_every = 2;
        for g in &mut c.grid {
            g.graphs = 20;
        }
    }
    c.validate()?;
    Ok(c)
}

/// `mecrl reproduce mrlco`: [`run_in`] with the work files in `<dir>/work/` (kept: rerun to
/// continue), then the outputs and `manifest.json` in `dir`. Returns the markdown summary.
pub fn reproduce(cfg: &MrlcoRunConfig, dir: &Path, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<String> {
    let backend = be.describe();
    let res = run_in(cfg, be, &dir.join("work"), tick)?;
    let md = write_outputs(&res, dir, cfg.mrlco.adapt_steps())?;
    let manifest = serde_json::json!({
        "mecrl_version": crate::VERSION,
        "git_commit": crate::GIT_COMMIT,
        "system": "mrlco",
        "config": cfg,
        "backend_device": backend,
    });
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::config("manifest", "?", e.to_string()))?;
    write_atomic(&dir.join("manifest.json"), &bytes)?;
    Ok(md)
}

/// The work directory of `mecrl run` for `cfg`: `<out_dir>/<name>.partial/`.
pub fn work_dir(cfg: &MrlcoRunConfig) -> PathBuf {
    cfg.out_dir.join(format!("{}.partial", cfg.name))
}
