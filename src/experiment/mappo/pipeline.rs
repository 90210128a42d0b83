//! The resumable pipeline: per case, each learner trained episode by episode (a checkpoint and
//! its log every `checkpoint_every` episodes in the work directory), tested, and the heuristics
//! tested on the same episodes; every finished piece is a work file a rerun reuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::MappoRunConfig;
use super::outputs::write_outputs;
use super::results::{EpisodeRow, Results, TestRow};
use crate::algo::mappo::driver::{accumulate, episode_seed};
use crate::algo::mappo::Metrics;
use crate::algo::mappo::{DqnLearner, Learner, MappoConfig, Method, RoundStats};
use crate::backend::Backend;
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::crowd::contract::CrowdBatchEnv;
use crate::env::crowd::{metric, Case, CrowdConfig, Policy};
use crate::error::{Error, Result};
use crate::experiment::common::Report;
use crate::experiment::common::{cached, run_report, write_manifest, WorkFiles};
use crate::tensor::Tensor;

/// A heuristic over the test episodes of `seed` (the learners' test seeds).
pub fn heuristic_test(
    be: &Arc<dyn Backend>,
    crowd: &CrowdConfig,
    batch: usize,
    policy: Policy,
    seed: u64,
    episodes: usize,
    tick: &mut dyn FnMut(u64),
) -> Result<Metrics> {
    let mut env = CrowdBatchEnv::new(be.clone(), crowd, batch)?;
    let out = EnvBuffers::new(&**be, env.spec())?;
    let actions = be.alloc(env.spec().action_words())?;
    let acc = Tensor::zeros(be, &[batch * metric::WIDTH])?;
    let mut sums = vec![0f64; metric::WIDTH];
    for k in 0..episodes as u64 {
        env.reset(episode_seed(seed, k, true), &out)?;
        for _ in 0..crowd.horizon_slots {
            env.heuristic(policy, &out, &actions)?;
            env.step(&actions, &out)?;
            accumulate(&out.info, &acc)?;
            tick(1);
        }
    }
    for row in acc.to_vec()?.chunks(metric::WIDTH) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += x as f64;
        }
    }
    Ok(Metrics { slots: (episodes * crowd.horizon_slots * batch) as f64, sums, decisions: 0.0, from_dpp: 0.0 })
}

/// Either kind of learner of the paper.
enum AnyLearner {
    /// MAPPO, mixed MAPPO, MAA3C.
    Pg(Box<Learner>),
    /// MADQN.
    Dqn(Box<DqnLearner>),
}

impl AnyLearner {
    fn new(be: &Arc<dyn Backend>, mc: &MappoConfig, sys: &CrowdConfig, batch: usize) -> Result<Self> {
        Ok(match mc.method {
            Method::Madqn => AnyLearner::Dqn(Box::new(DqnLearner::new(be, mc, sys, batch)?)),
            _ => AnyLearner::Pg(Box::new(Learner::new(be, mc, sys, batch)?)),
        })
    }
    fn episode(&self) -> u64 {
        match self {
            AnyLearner::Pg(l) => l.episode,
            AnyLearner::Dqn(l) => l.episode,
        }
    }
    fn train_episode(&mut self, tick: &mut dyn FnMut(&RoundStats)) -> Result<Metrics> {
        match self {
            AnyLearner::Pg(l) => l.train_episode(tick),
            AnyLearner::Dqn(l) => l.train_episode(tick),
        }
    }
    fn test(&mut self, episodes: u64, greedy: bool, tick: &mut dyn FnMut()) -> Result<Metrics> {
        match self {
            AnyLearner::Pg(l) => l.test(episodes, greedy, tick),
            AnyLearner::Dqn(l) => l.test(episodes, tick),
        }
    }
    fn save(&self, path: &Path) -> Result<()> {
        match self {
            AnyLearner::Pg(l) => l.save(path),
            AnyLearner::Dqn(l) => l.save(path),
        }
    }
    fn load(&mut self, path: &Path) -> Result<()> {
        match self {
            AnyLearner::Pg(l) => l.load(path),
            AnyLearner::Dqn(l) => l.load(path),
        }
    }
}

/// Train `method` on case `case` (resuming from its checkpoint in `work`), `tick` per slot.
fn train(
    be: &Arc<dyn Backend>,
    cfg: &MappoRunConfig,
    case: Case,
    method: Method,
    work: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(AnyLearner, Vec<EpisodeRow>)> {
    let sys = cfg.crowd.clone().with_case(case);
    let mc = MappoConfig { method, seed: cfg.seed, ..cfg.mappo.clone() };
    let mut l = AnyLearner::new(be, &mc, &sys, cfg.batch)?;
    let stem = format!("case_{}.{}", case.name(), method.name());
    let files = WorkFiles::new(work, &stem);
    let mut log: Vec<EpisodeRow> = vec![];
    if files.ckpt.exists() {
        l.load(&files.ckpt)?;
        log = files.read_log(l.episode() as usize)?;
        tick((l.episode() as usize * sys.horizon_slots) as u64);
    }
    let slots = mc.rollout_slots as u64;
    while (l.episode() as usize) < cfg.episodes {
        let (mut loss, mut ent, mut n) = (0.0f64, 0.0f64, 0usize);
        let m = l.train_episode(&mut |s| {
            loss += s.critic_loss as f64;
            ent += s.ppo.entropy as f64;
            n += 1;
            tick(slots);
        })?;
        let k = n.max(1) as f64;
        log.push(EpisodeRow {
            episode: l.episode() as usize,
            unit_delay: m.unit_delay(),
            reward: m.mean(metric::REWARD),
            dpp_share: m.dpp_share(),
            critic_loss: loss / k,
            entropy: ent / k,
        });
        let done = l.episode() as usize;
        if done.is_multiple_of(cfg.checkpoint_every) || done == cfg.episodes {
            files.save(&log, |p| l.save(p))?;
        }
    }
    Ok((l, log))
}

/// Every (case, learner) trained and tested and every heuristic tested, with the work files
/// in `work` (created if missing; a rerun continues from them).
pub fn run_in(cfg: &MappoRunConfig, be: Arc<dyn Backend>, work: &Path, tick: &mut dyn FnMut(u64)) -> Result<Results> {
    cfg.validate()?;
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    let mut res = Results::default();
    let test_slots = (cfg.test_episodes * cfg.crowd.horizon_slots) as u64;
    for case in cfg.parsed_cases()? {
        let sys = cfg.crowd.clone().with_case(case);
        for &method in &cfg.methods {
            let (mut l, log) = train(&be, cfg, case, method, work, tick)?;
            res.curves.push((case.name().into(), method.name().into(), log));
            // a test belongs to the training it followed
            let path = work.join(format!("case_{}.{}.after{}.test.json", case.name(), method.name(), cfg.episodes));
            let row: TestRow = cached(&path, test_slots, tick, &mut |tick| {
                let m = l.test(cfg.test_episodes as u64, cfg.greedy_test, &mut || tick(1))?;
                Ok(TestRow::of(case, method.name(), &m))
            })?;
            res.tests.push(row);
        }
        for &p in &cfg.heuristics {
            let path = work.join(format!("case_{}.{}.test.json", case.name(), p.name()));
            let row: TestRow = cached(&path, test_slots, tick, &mut |tick| {
                let m = heuristic_test(&be, &sys, cfg.batch, p, cfg.seed, cfg.test_episodes, tick)?;
                Ok(TestRow::of(case, p.name(), &m))
            })?;
            res.tests.push(row);
        }
    }
    Ok(res)
}

/// The work directory of `mecrl run` for `cfg`: `<out_dir>/<name>.partial/` (kept when a run
/// stops: rerunning continues it; removed when the run finishes).
pub fn work_dir(cfg: &MappoRunConfig) -> PathBuf {
    cfg.out_dir.join(format!("{}.partial", cfg.name))
}

/// `mecrl run`: [`run_in`] in [`work_dir`], the outputs as the report's files (tables,
/// curves, figures, the learners' checkpoints).
pub fn run(cfg: &MappoRunConfig, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<Report> {
    let work = work_dir(cfg);
    let backend = be.describe();
    let res = run_in(cfg, be, &work, tick)?;
    let out = work.join("outputs");
    let table = write_outputs(cfg, &res, &out)?;
    let mut policies = vec![];
    for case in cfg.parsed_cases()? {
        policies.extend(cfg.methods.iter().map(|m| format!("case_{}.{}.safetensors", case.name(), m.name())));
    }
    let summary = serde_json::to_value(&res.tests).unwrap_or(serde_json::Value::Null);
    run_report(&work, &out, table, &policies, summary, backend)
}

/// The paper's experiment (`configs/mappo.toml`, built in) under `seed`: 100 training episodes
/// of 500 slots (the paper's 50,000 s) per learner and case, 2 test episodes; with `quick`,
/// 6 episodes of 200 slots on 2 instances and 1 test episode.
pub fn paper_config(quick: bool, seed: u64) -> Result<MappoRunConfig> {
    let text = include_str!("../../../configs/mappo.toml");
    let mut c = MappoRunConfig::from_toml(text, Path::new("configs/mappo.toml"))?;
    c.seed = seed;
    c.mappo.seed = seed;
    c.episodes = 100;
    c.test_episodes = 2;
    c.checkpoint_every = 5;
    if quick {
        c.name = "mappo-quick".into();
        c.batch = 2;
        c.episodes = 6;
        c.test_episodes = 1;
        c.checkpoint_every = 2;
        c.crowd.horizon_slots = 200;
    } else {
        c.name = "mappo-paper".into();
    }
    c.validate()?;
    Ok(c)
}

/// `mecrl reproduce mappo`: [`run_in`] with the work files in `<dir>/work/` (kept: rerun to
/// continue), then the outputs and `manifest.json` in `dir`. Returns the markdown summary.
pub fn reproduce(cfg: &MappoRunConfig, dir: &Path, be: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<String> {
    let backend = be.describe();
    let res = run_in(cfg, be, &dir.join("work"), tick)?;
    let md = write_outputs(cfg, &res, dir)?;
    write_manifest(dir, "mappo", cfg, &backend)?;
    Ok(md)
}
