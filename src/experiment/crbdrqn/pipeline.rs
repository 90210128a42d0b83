//! The resumable pipeline: per point, each learner trained episode by episode (a checkpoint and
//! its log every `checkpoint_every` episodes in the work directory), tested, and the heuristics
//! tested on the same episodes; every finished piece is a work file a rerun reuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::config::{CrbDrqnRunConfig, Point};
use super::outputs::write_outputs;
use super::results::{convergence_episode, Convergence, EpisodeRow, Results, TestRow};
use crate::algo::crbdrqn::{CrbDrqn, CrbDrqnConfig, EpisodeStats, Method, OnPolicy, Qmix};
use crate::backend::Backend;
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::endedge::contract::EndedgeBatchEnv;
use crate::env::endedge::{EndedgeConfig, Heuristic, Stats};
use crate::error::{Error, Result};
use crate::experiment::common::Report;
use crate::experiment::common::{cached, run_report, write_manifest, WorkFiles};
use crate::rng;

/// A heuristic over the learners' test episodes of `seed` (`instances` instances each).
pub fn heuristic_test(
    be: &Arc<dyn Backend>,
    sys: &EndedgeConfig,
    instances: usize,
    h: Heuristic,
    seed: u64,
    episodes: usize,
    tick: &mut dyn FnMut(u64),
) -> Result<Stats> {
    let mut env = EndedgeBatchEnv::new(be.clone(), sys, instances)?;
    let out = EnvBuffers::new(&**be, env.spec())?;
    let actions = be.alloc(env.spec().action_words())?;
    let mut total = Stats::default();
    for k in 0..episodes as u64 {
        env.reset(rng::episode_seed(seed, k, true, rng::stream::CRBDRQN_EPISODES), &out)?;
        for _ in 0..sys.slots {
            env.heuristic(h, &actions)?;
            env.step(&actions, &out)?;
            tick(1);
        }
        total.add(&env.inner().stats()?);
    }
    Ok(total)
}

/// Any learner of the comparison.
enum AnyLearner {
    /// CRB-DRQN.
    Drqn(Box<CrbDrqn>),
    /// Decentralized, MAPPO.
    OnPolicy(Box<OnPolicy>),
    /// QMIX.
    Qmix(Box<Qmix>),
}

impl AnyLearner {
    fn new(be: &Arc<dyn Backend>, method: Method, cfg: &CrbDrqnConfig, sys: &EndedgeConfig) -> Result<Self> {
        Ok(match method {
            Method::CrbDrqn => AnyLearner::Drqn(Box::new(CrbDrqn::new(be, cfg, sys)?)),
            Method::Decentralized | Method::Mappo => {
                AnyLearner::OnPolicy(Box::new(OnPolicy::new(be, method, cfg, sys)?))
            }
            Method::Qmix => AnyLearner::Qmix(Box::new(Qmix::new(be, cfg, sys)?)),
        })
    }
    fn episode(&self) -> u64 {
        match self {
            AnyLearner::Drqn(l) => l.episode,
            AnyLearner::OnPolicy(l) => l.episode,
            AnyLearner::Qmix(l) => l.episode,
        }
    }
    fn train_episode(&mut self, tick: &mut dyn FnMut()) -> Result<EpisodeStats> {
        match self {
            AnyLearner::Drqn(l) => l.train_episode(tick),
            AnyLearner::OnPolicy(l) => l.train_episode(tick),
            AnyLearner::Qmix(l) => l.train_episode(tick),
        }
    }
    fn test(&mut self, episodes: u64, tick: &mut dyn FnMut()) -> Result<Stats> {
        match self {
            AnyLearner::Drqn(l) => l.test(episodes, tick),
            AnyLearner::OnPolicy(l) => l.test(episodes, tick),
            AnyLearner::Qmix(l) => l.test(episodes, tick),
        }
    }
    fn save(&self, path: &Path) -> Result<()> {
        match self {
            AnyLearner::Drqn(l) => l.save(path),
            AnyLearner::OnPolicy(l) => l.save(path),
            AnyLearner::Qmix(l) => l.save(path),
        }
    }
    fn load(&mut self, path: &Path) -> Result<()> {
        match self {
            AnyLearner::Drqn(l) => l.load(path),
            AnyLearner::OnPolicy(l) => l.load(path),
            AnyLearner::Qmix(l) => l.load(path),
        }
    }
}

/// Train `method` at `point` (resuming from its checkpoint in `work`), `tick` per slot.
fn train(
    be: &Arc<dyn Backend>,
    cfg: &CrbDrqnRunConfig,
    point: &Point,
    method: Method,
    work: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(AnyLearner, Vec<EpisodeRow>)> {
    let sys = &point.system;
    let lc = CrbDrqnConfig { seed: cfg.seed, ..cfg.crbdrqn.clone() };
    let mut l = AnyLearner::new(be, method, &lc, sys)?;
    let stem = format!("{}.{}", point.stem(), method.name());
    let files = WorkFiles::new(work, &stem);
    let mut log: Vec<EpisodeRow> = vec![];
    if files.ckpt.exists() {
        l.load(&files.ckpt)?;
        log = files.read_log(l.episode() as usize)?;
        tick((l.episode() as usize * sys.slots) as u64);
    }
    let (slot_s, drop) = (sys.slot_s, sys.drop_reward());
    while (l.episode() as usize) < cfg.episodes {
        let t0 = Instant::now();
        let s = l.train_episode(&mut || tick(1))?;
        log.push(EpisodeRow {
            episode: l.episode() as usize,
            reward: s.stats.avg_reward(drop),
            failure: s.stats.drop_rate(),
            delay_s: s.stats.avg_delay() * slot_s,
            loss: s.loss as f64,
            epsilon: s.epsilon as f64,
            seconds: t0.elapsed().as_secs_f64(),
        });
        let done = l.episode() as usize;
        if done.is_multiple_of(cfg.checkpoint_every) || done == cfg.episodes {
            files.save(&log, |p| l.save(p))?;
        }
    }
    Ok((l, log))
}

/// Every (point, learner) trained and tested and every heuristic tested, with the work files
/// in `work` (created if missing; a rerun continues from them).
pub fn run_in(cfg: &CrbDrqnRunConfig, be: Arc<dyn Backend>, work: &Path, tick: &mut dyn FnMut(u64)) -> Result<Results> {
    cfg.validate()?;
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    let mut res = Results::default();
    let test_slots = (cfg.test_episodes * cfg.endedge.slots) as u64;
    let instances = cfg.crbdrqn.instances;
    for point in cfg.points() {
        let sys = &point.system;
        let (slot_s, drop) = (sys.slot_s, sys.drop_reward());
        for &method in &cfg.methods {
            let (mut l, log) = train(&be, cfg, &point, method, work, tick)?;
            if point.figure == "fig5" {
                let rewards: Vec<f64> = log.iter().map(|r| r.reward).collect();
                let episode = convergence_episode(&rewards, cfg.convergence_window, cfg.convergence_tolerance);
                let seconds = episode.map(|k| log[..k].iter().map(|r| r.seconds).sum());
                res.convergence.push(Convergence {
                    method: method.name().into(),
                    devices: sys.devices,
                    episode,
                    seconds,
                });
            }
            res.curves.push((point.stem(), method.name().into(), log));
            // a test belongs to the training it followed
            let path = work.join(format!("{}.{}.after{}.test.json", point.stem(), method.name(), cfg.episodes));
            let row: TestRow = cached(&path, test_slots, tick, &mut |tick| {
                let s = l.test(cfg.test_episodes as u64, &mut || tick(1))?;
                Ok(TestRow::of(point.figure, point.x, method.name(), &s, slot_s, drop))
            })?;
            res.tests.push(row);
        }
        for &h in &cfg.heuristics {
            let path = work.join(format!("{}.{}.test.json", point.stem(), h.name()));
            let row: TestRow = cached(&path, test_slots, tick, &mut |tick| {
                let s = heuristic_test(&be, sys, instances, h, cfg.seed, cfg.test_episodes, tick)?;
                Ok(TestRow::of(point.figure, point.x, h.name(), &s, slot_s, drop))
            })?;
            res.tests.push(row);
        }
    }
    Ok(res)
}

/// The work directory of `mecrl run` for `cfg`: `<out_dir>/<name>.partial/` (kept when a run
/// stops: rerunning continues it; removed when the run finishes).
pub fn work_dir(cfg: &CrbDrqnRunConfig) -> PathBuf {
    cfg.out_dir.join(format!("{}.partial", cfg.name))
}

/// `mecrl run`: [`run_in`] in [`work_dir`], the outputs as the report's files (tables,
/// curves, figures, the learners' checkpoints at the base point).
pub fn run(cfg: &CrbDrqnRunConfig, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<Report> {
    let work = work_dir(cfg);
    let backend = be.describe();
    let res = run_in(cfg, be, &work, tick)?;
    let out = work.join("outputs");
    let table = write_outputs(cfg, &res, &out)?;
    let policies: Vec<String> =
        cfg.methods.iter().map(|m| format!("fig5_d{}.{}.safetensors", cfg.base_devices, m.name())).collect();
    let summary = serde_json::to_value(&res.tests).unwrap_or(serde_json::Value::Null);
    run_report(&work, &out, table, &policies, summary, backend)
}

/// The paper's experiment (`configs/crbdrqn.toml`, built in) under `seed`: 300 training
/// episodes per learner and point, 5 test episodes; with `quick`, D ∈ {5, 25}, rates
/// {1.0, 3.0} Mbit/s, 40 episodes and 1 test episode.
pub fn paper_config(quick: bool, seed: u64) -> Result<CrbDrqnRunConfig> {
    let text = include_str!("../../../configs/crbdrqn.toml");
    let mut c = CrbDrqnRunConfig::from_toml(text, Path::new("configs/crbdrqn.toml"))?;
    c.seed = seed;
    c.crbdrqn.seed = seed;
    c.episodes = 300;
    c.test_episodes = 5;
    c.checkpoint_every = 25;
    if quick {
        c.name = "crbdrqn-quick".into();
        c.devices = vec![5, 25];
        c.rates_mbps = vec![1.0, 3.0];
        c.episodes = 40;
        c.test_episodes = 1;
        c.checkpoint_every = 10;
        c.crbdrqn.epsilon_episodes = 25;
    } else {
        c.name = "crbdrqn-paper".into();
    }
    c.validate()?;
    Ok(c)
}

/// `mecrl reproduce crbdrqn`: [`run_in`] with the work files in `<dir>/work/` (kept: rerun to
/// continue), then the outputs and `manifest.json` in `dir`. Returns the markdown summary.
pub fn reproduce(
    cfg: &CrbDrqnRunConfig,
    dir: &Path,
    be: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<String> {
    let backend = be.describe();
    let res = run_in(cfg, be, &dir.join("work"), tick)?;
    let md = write_outputs(cfg, &res, dir)?;
    write_manifest(dir, "crbdrqn", cfg, &backend)?;
    Ok(md)
}
