//! The resumable pipeline: per point, the source heuristic's task log (a work file in the
//! `mecrl coop log` format), O2O trained offline with an evaluation at every curve point, its
//! offline-only test, its online updates (a checkpoint and the curve every `checkpoint_every`
//! updates) and its test; online-only alike without the offline phase; the heuristics on the
//! same test episodes. Every finished piece is a work file a rerun reuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::{offline_points, O2oRunConfig, Point};
use super::outputs::write_outputs;
use super::results::{Curve, CurveRow, Results, TestRow};
use crate::algo::o2o::learner::TEST_EPISODES;
use crate::algo::o2o::{O2o, O2oConfig, OfflineReplay, Variant};
use crate::backend::Backend;
use crate::env::coop::dataset::{collect, OfflineDataset};
use crate::env::coop::{CoopConfig, CoopEnv, Heuristic, Stats};
use crate::error::{Error, Result};
use crate::experiment::common::{cached, run_report, write_manifest, Report, WorkFiles};

/// A heuristic on the test episodes (`TEST_EPISODES..`, `instances` instances of the seed
/// `seed`): the statistics of every episode and instance, as [`O2o::evaluate`] returns them.
pub fn heuristic_test(
    be: &Arc<dyn Backend>,
    sys: &CoopConfig,
    instances: usize,
    h: Heuristic,
    seed: u64,
    episodes: u32,
    tick: &mut dyn FnMut(u64),
) -> Result<Vec<Stats>> {
    let mut env = CoopEnv::new(be.clone(), sys, instances, seed)?;
    let reward = be.alloc(instances)?;
    let mut out = vec![];
    for k in 0..episodes {
        env.reseed_into(seed, TEST_EPISODES + k, &reward)?;
        while !env.done() {
            env.policy(h)?;
            env.step_device()?;
            tick(1);
        }
        out.extend(env.stats()?);
    }
    Ok(out)
}

/// The task log of `point`'s source (collected once, kept in `work`).
fn task_log(
    be: &Arc<dyn Backend>,
    cfg: &O2oRunConfig,
    point: &Point,
    work: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(OfflineDataset, PathBuf)> {
    let slots = point.system.episode_slots() as u64;
    if let (Some(user), "base") = (&cfg.log, point.figure) {
        tick(cfg.log_episodes as u64 * slots);
        return Ok((OfflineDataset::read(user)?, user.clone()));
    }
    let path = work.join(format!("{}.{}.log", point.stem(), point.source.name()));
    if path.exists() {
        tick(cfg.log_episodes as u64 * slots);
        return Ok((OfflineDataset::read(&path)?, path));
    }
    // the learners' seed: with a fixed network the log is of the network they act in
    let seed = cfg.seed;
    let mut env = CoopEnv::new(be.clone(), &point.system, cfg.log_instances, seed)?;
    let (ds, _) = collect(&mut env, point.source, 0, cfg.log_episodes, seed)?;
    tick(cfg.log_episodes as u64 * slots);
    ds.write(&path)?;
    Ok((ds, path))
}

/// The log source of `point`'s learners in the tables: the heuristic, or `file` for a
/// configured log.
fn source_label(cfg: &O2oRunConfig, point: &Point) -> &'static str {
    if cfg.log.is_some() && point.figure == "base" {
        "file"
    } else {
        point.source.name()
    }
}

/// Curve rows a checkpoint at (offline step, online update) holds.
fn rows_at(l: &O2o) -> usize {
    let o = &l.cfg.offline;
    let off = if l.cfg.variant.offline() {
        offline_points(o.steps, o.eval_every).iter().filter(|&&p| p <= l.offline_step).count()
    } else {
        0
    };
    off + l.online_update as usize
}

/// Train `variant` at `point` (resuming from its work files): its curve, its offline-only test
/// (O2O) and its final test.
fn train(
    be: &Arc<dyn Backend>,
    cfg: &O2oRunConfig,
    point: &Point,
    variant: Variant,
    work: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(Vec<CurveRow>, Option<TestRow>, TestRow)> {
    let sys = &point.system;
    let slots = sys.episode_slots() as u64;
    let lc = O2oConfig { seed: cfg.seed, variant, ..cfg.o2o.clone() };
    let mut l = O2o::new(be, &lc, sys)?;
    let stem = format!("{}.{}", point.stem(), variant.name());
    let files = WorkFiles::new(work, &stem);
    let mut rows: Vec<CurveRow> = vec![];
    let o = &lc.offline;
    let evals = offline_points(o.steps, o.eval_every);
    let ev_k = lc.eval_episodes;
    if files.ckpt.exists() {
        l.load(&files.ckpt)?;
        rows = files.read_log(rows_at(&l))?;
        let done_evals = rows.iter().filter(|r| r.phase == "offline").count() as u64;
        tick(l.offline_step + (done_evals + l.online_update) * ev_k as u64 * slots + l.online_update * slots);
    }
    let mut offline_test = None;
    if variant.offline() {
        let done = rows.iter().filter(|r| r.phase == "offline").count();
        let pending: Vec<u64> = evals[done.min(evals.len())..].to_vec();
        if !pending.is_empty() {
            let (ds, path) = task_log(be, cfg, point, work, tick)?;
            let mut replay = OfflineReplay::new(be, &ds, &path, o.capacity)?;
            for p in pending {
                let st = l.offline_steps(&mut replay, p - l.offline_step, &mut || tick(1))?;
                let ev = l.evaluate(0, ev_k, &mut || tick(1))?;
                let mut row = CurveRow::of("offline", p, &Stats::sum(&ev));
                if p > 0 {
                    row.offline = Some([st.q_mean, st.y_mean, st.cql, st.actor_loss].map(f64::from));
                }
                rows.push(row);
                files.save(&rows, |f| l.save(f))?;
            }
        } else {
            tick(cfg.log_episodes as u64 * slots);
        }
        // the log has served (online-only never reads one): free its disk
        let log = work.join(format!("{}.{}.log", point.stem(), point.source.name()));
        if log.exists() {
            std::fs::remove_file(&log).map_err(|e| Error::io(&log, e))?;
        }
        let path = work.join(format!("{}.offline_only.test.json", point.stem()));
        let test_slots = cfg.test_episodes as u64 * slots;
        offline_test = Some(cached(&path, test_slots, tick, &mut |tick| {
            let s = l.evaluate(0, cfg.test_episodes, &mut || tick(1))?;
            Ok(TestRow::of(point.figure, point.x, source_label(cfg, point), Variant::OfflineOnly.name(), &s))
        })?);
    }
    // offline-only alone: its test is the offline one
    if let (false, Some(t)) = (variant.online(), offline_test.clone()) {
        return Ok((rows, offline_test, t));
    }
    let every = cfg.checkpoint_every;
    while l.online_update < lc.online.updates {
        let s = l.online_update(&mut || tick(1))?;
        let ev = l.evaluate(0, ev_k, &mut || tick(1))?;
        let mut row = CurveRow::of("online", s.update, &Stats::sum(&ev));
        row.train_success = Some(s.stats.success_rate());
        rows.push(row);
        if s.update.is_multiple_of(every) || s.update == lc.online.updates {
            files.save(&rows, |f| l.save(f))?;
        }
    }
    let path = work.join(format!("{stem}.after{}.test.json", lc.online.updates));
    let test_slots = cfg.test_episodes as u64 * slots;
    let source = if variant.offline() { source_label(cfg, point) } else { "" };
    let test = cached(&path, test_slots, tick, &mut |tick| {
        let s = l.evaluate(0, cfg.test_episodes, &mut || tick(1))?;
        Ok(TestRow::of(point.figure, point.x, source, variant.name(), &s))
    })?;
    Ok((rows, offline_test, test))
}

/// Every point's learners trained and tested and its heuristics tested, with the work files in
/// `work` (created if missing; a rerun continues from them).
pub fn run_in(cfg: &O2oRunConfig, be: Arc<dyn Backend>, work: &Path, tick: &mut dyn FnMut(u64)) -> Result<Results> {
    cfg.validate()?;
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    let mut res = Results::default();
    for point in cfg.points() {
        for v in cfg.learners(&point) {
            let (rows, offline_test, test) = train(&be, cfg, &point, v, work, tick)?;
            res.curves.push(Curve { point: point.stem(), variant: v.name().into(), rows });
            if let Some(t) = offline_test {
                if cfg.variants.contains(&Variant::OfflineOnly) && point.full() {
                    res.tests.push(t);
                }
            }
            if v != Variant::OfflineOnly && cfg.variants.contains(&v) {
                res.tests.push(test);
            }
        }
        if !point.full() {
            continue;
        }
        let slots = point.system.episode_slots() as u64;
        for &h in &cfg.heuristics {
            let path = work.join(format!("{}.{}.test.json", point.stem(), h.name()));
            let row: TestRow = cached(&path, cfg.test_episodes as u64 * slots, tick, &mut |tick| {
                let s = heuristic_test(&be, &point.system, cfg.o2o.instances, h, cfg.seed, cfg.test_episodes, tick)?;
                Ok(TestRow::of(point.figure, point.x, "", h.name(), &s))
            })?;
            res.tests.push(row);
        }
    }
    Ok(res)
}

/// The work directory of `mecrl run` for `cfg`: `<out_dir>/<name>.partial/` (kept when a run
/// stops: rerunning continues it; removed when the run finishes).
pub fn work_dir(cfg: &O2oRunConfig) -> PathBuf {
    cfg.out_dir.join(format!("{}.partial", cfg.name))
}

/// `mecrl run`: [`run_in`] in [`work_dir`], the outputs as the report's files (tables, curves,
/// figures, the learners' checkpoints at the base point).
pub fn run(cfg: &O2oRunConfig, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<Report> {
    let work = work_dir(cfg);
    let backend = be.describe();
    let res = run_in(cfg, be, &work, tick)?;
    let out = work.join("outputs");
    let table = write_outputs(cfg, &res, &out)?;
    let base = &cfg.points()[0];
    let policies: Vec<String> = cfg.learners(base).iter().map(|v| format!("base.{}.safetensors", v.name())).collect();
    let summary = serde_json::to_value(&res.tests).unwrap_or(serde_json::Value::Null);
    run_report(&work, &out, table, &policies, summary, backend)
}

/// The paper's experiment (`configs/o2o.toml`, built in) under `seed`; with `quick`, one point
/// per figure beside the default one and shorter phases (8,000 offline steps, 20 updates).
pub fn paper_config(quick: bool, seed: u64) -> Result<O2oRunConfig> {
    let text = include_str!("../../../configs/o2o.toml");
    let mut c = O2oRunConfig::from_toml(text, Path::new("configs/o2o.toml"))?;
    c.seed = seed;
    c.o2o.seed = seed;
    if quick {
        c.name = "o2o-quick".into();
        c.log_episodes = 6;
        c.test_episodes = 4;
        c.task_kb_max = vec![4000.0];
        c.arrival_prob_max = vec![0.6];
        c.node_failure_max = vec![0.3];
        c.nodes = vec![10];
        c.o2o.eval_episodes = 1;
        c.o2o.offline.steps = 8000;
        c.o2o.offline.eval_every = 2000;
        c.o2o.online.updates = 20;
        c.checkpoint_every = 5;
    } else {
        c.name = "o2o-paper".into();
    }
    c.validate()?;
    Ok(c)
}

/// `mecrl reproduce o2o`: [`run_in`] with the work files in `<dir>/work/` (kept: rerun to
/// continue), then the outputs and `manifest.json` in `dir`. Returns the markdown summary.
pub fn reproduce(cfg: &O2oRunConfig, dir: &Path, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<String> {
    let backend = be.describe();
    let res = run_in(cfg, be, &dir.join("work"), tick)?;
    let md = write_outputs(cfg, &res, dir)?;
    write_manifest(dir, "o2o", cfg, &backend)?;
    Ok(md)
}
