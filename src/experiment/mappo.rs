//! `mecrl run` for the learners of the mixed-MAPPO paper (`configs/mappo.toml`): per task case,
//! each learner trains for `episodes` episodes (the training curve of Fig. 3: unit delay per
//! episode), then every learner and heuristic runs the same `test_episodes` (Fig. 4 and the
//! Table III metrics: unit delay, node load rates per kind, E2E and E2D link load rates).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::algo::mappo::learner::{episode_seed, Metrics};
use crate::algo::mappo::{Learner, MappoConfig, Method};
use crate::backend::Backend;
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::crowd::contract::CrowdBatchEnv;
use crate::env::crowd::{metric, Case, CrowdConfig, Policy};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `mecrl run` configuration of the mixed-MAPPO learners.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MappoRunConfig {
    /// Must be `"mappo"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (the learners' initialization, sampling and episodes derive from it).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// Independent instances trained together (B; every user of each is an agent).
    pub batch: usize,
    /// Cases of §VI-A: "I", "II", "III" (`--case` picks one).
    pub cases: Vec<String>,
    /// The learners, in table order.
    pub methods: Vec<Method>,
    /// The heuristics tested beside them.
    pub heuristics: Vec<Policy>,
    /// Training episodes per learner (each `crowd.horizon_slots` slots).
    pub episodes: usize,
    /// Test episodes (their own seeds, the same for every method).
    pub test_episodes: usize,
    /// Test with the actor's most likely action (true) or a sample.
    pub greedy_test: bool,
    /// The learners' hyper-parameters (`method` is set per learner).
    pub mappo: MappoConfig,
    /// The system; its λ are set by each case.
    pub crowd: CrowdConfig,
}

impl Default for MappoRunConfig {
    fn default() -> Self {
        MappoRunConfig {
            system: "mappo".into(),
            name: "mappo".into(),
            seed: 1,
            backend: "cpu".into(),
            out_dir: PathBuf::from("runs"),
            batch: 4,
            cases: vec!["I".into(), "II".into(), "III".into()],
            methods: vec![Method::MixedMappo, Method::Mappo],
            heuristics: vec![Policy::Dpp, Policy::Random],
            episodes: 10,
            test_episodes: 1,
            greedy_test: false,
            mappo: MappoConfig::default(),
            crowd: CrowdConfig { horizon_slots: 500, ..CrowdConfig::default() },
        }
    }
}

impl MappoRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: MappoRunConfig = super::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        super::common::check_common("mappo", &self.system, &self.name, &self.backend)?;
        if self.batch == 0 || self.batch > 1 << 16 {
            return Err(Error::config("batch", self.batch, "must be in 1..=65536"));
        }
        if self.cases.is_empty() {
            return Err(Error::config("cases", "[]", "list at least one case"));
        }
        for (k, c) in self.cases.iter().enumerate() {
            Case::parse(&format!("cases[{k}]"), c)?;
        }
        if self.methods.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one learner"));
        }
        for (name, v) in [("episodes", self.episodes), ("test_episodes", self.test_episodes)] {
            if v == 0 || v > 1 << 20 {
                return Err(Error::config(name, v, "must be in 1..=1048576"));
            }
        }
        self.crowd.validate()?;
        for &m in &self.methods {
            MappoConfig { method: m, seed: self.seed, ..self.mappo.clone() }.validate()?;
        }
        if !self.crowd.horizon_slots.is_multiple_of(self.mappo.rollout_slots) {
            return Err(Error::config(
                "mappo.rollout_slots",
                self.mappo.rollout_slots,
                format!("must divide the episode (crowd.horizon_slots = {})", self.crowd.horizon_slots),
            ));
        }
        Ok(())
    }

    /// The parsed cases.
    pub fn parsed_cases(&self) -> Result<Vec<Case>> {
        self.cases.iter().enumerate().map(|(k, c)| Case::parse(&format!("cases[{k}]"), c)).collect()
    }

    /// Units of progress: one per slot simulated (training and test).
    pub fn work_units(&self) -> u64 {
        let per_learner = (self.episodes + self.test_episodes) * self.crowd.horizon_slots;
        let per_heuristic = self.test_episodes * self.crowd.horizon_slots;
        (self.cases.len() * (self.methods.len() * per_learner + self.heuristics.len() * per_heuristic)) as u64
    }
}

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
            let p = crate::ops::elementwise::AxpbyParams { n: acc.numel() as u32, a: 1.0, ..Default::default() };
            let n = acc.numel() as u32;
            be.launch(&crate::ops::elementwise::SCALE_ACC, bytemuck::bytes_of(&p), n, &[&out.info, acc.buffer()])?;
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

/// One row of the test table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestRow {
    /// Case name.
    pub case: String,
    /// Method or heuristic.
    pub method: String,
    /// AD, s per MB.
    pub unit_delay: f64,
    /// Node load rates: MDs, edge servers, cloud.
    pub load: [f64; 3],
    /// E2E (wired BS–BS), E2D (wireless MD–BS) link load rates.
    pub links: [f64; 2],
    /// Mean reward (13) per slot.
    pub reward: f64,
    /// Share of decisions that took the drift-plus-penalty action (learners).
    pub dpp_share: f64,
}

fn row(case: Case, method: &str, m: &Metrics) -> TestRow {
    TestRow {
        case: case.name().into(),
        method: method.into(),
        unit_delay: m.unit_delay(),
        load: [m.mean(metric::LOAD_MD), m.mean(metric::LOAD_EDGE), m.mean(metric::LOAD_CLOUD)],
        links: [m.mean(metric::LINK_E2E), m.mean(metric::LINK_E2D)],
        reward: m.mean(metric::REWARD),
        dpp_share: m.dpp_share(),
    }
}

/// Train and test every (case, learner), test every heuristic; `tick` counts slots.
pub fn run(
    cfg: &MappoRunConfig,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<super::common::Report> {
    cfg.validate()?;
    let mut curves =
        String::from("case,method,episode,unit_delay_s_per_mb,reward_per_slot,dpp_share,critic_loss,entropy\n");
    let mut rows = vec![];
    for case in cfg.parsed_cases()? {
        let sys = cfg.crowd.clone().with_case(case);
        for &method in &cfg.methods {
            let mc = MappoConfig { method, seed: cfg.seed, ..cfg.mappo.clone() };
            let mut l = Learner::new(&backend, &mc, &sys, cfg.batch)?;
            let slots = mc.rollout_slots as u64;
            for ep in 0..cfg.episodes {
                let (mut loss, mut ent, mut n) = (0.0f64, 0.0f64, 0usize);
                let m = l.train_episode(&mut |s| {
                    loss += s.critic_loss as f64;
                    ent += s.ppo.entropy as f64;
                    n += 1;
                    tick(slots);
                })?;
                let _ = writeln!(
                    curves,
                    "{},{},{},{},{},{},{},{}",
                    case.name(),
                    method.name(),
                    ep + 1,
                    m.unit_delay(),
                    m.mean(metric::REWARD),
                    m.dpp_share(),
                    loss / n.max(1) as f64,
                    ent / n.max(1) as f64
                );
            }
            let t = l.test(cfg.test_episodes as u64, cfg.greedy_test, &mut || tick(1))?;
            rows.push(row(case, method.name(), &t));
        }
        for &p in &cfg.heuristics {
            let m = heuristic_test(&backend, &sys, cfg.batch, p, cfg.seed, cfg.test_episodes, tick)?;
            rows.push(row(case, p.name(), &m));
        }
    }
    let mut table = format!(
        "mappo: {} instances × {} slots, {} training episodes, {} test episode(s), seed {} (AD in s per MB)\n",
        cfg.batch, cfg.crowd.horizon_slots, cfg.episodes, cfg.test_episodes, cfg.seed
    );
    let _ = writeln!(
        table,
        "{:<5} {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6}",
        "case", "method", "AD", "LR md", "LR edge", "LR cloud", "E2E", "E2D", "reward", "dpp"
    );
    let mut csv =
        String::from("case,method,unit_delay_s_per_mb,load_md,load_edge,load_cloud,e2e,e2d,reward,dpp_share\n");
    for r in &rows {
        let _ = writeln!(
            table,
            "{:<5} {:<12} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>10.2} {:>6.3}",
            r.case,
            r.method,
            r.unit_delay,
            r.load[0],
            r.load[1],
            r.load[2],
            r.links[0],
            r.links[1],
            r.reward,
            r.dpp_share
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            r.case,
            r.method,
            r.unit_delay,
            r.load[0],
            r.load[1],
            r.load[2],
            r.links[0],
            r.links[1],
            r.reward,
            r.dpp_share
        );
    }
    table.push_str(concat!(
        "AD       unit delay at test: seconds per MB of dispatched data (Fig. 4)\n",
        "LR       node load rate (pending computation over capacity) per kind of unit (Fig. 5-6)\n",
        "E2E, E2D link load rates: wired BS-BS, wireless MD-BS (Table III)\n",
        "dpp      share of decisions that took the drift-plus-penalty action (mixed MAPPO's comparison)\n",
        "training curves (Fig. 3): curves.csv\n",
    ));
    Ok(super::common::Report {
        table,
        files: vec![("table3.csv".into(), csv.into_bytes()), ("curves.csv".into(), curves.into_bytes())],
        summary: serde_json::to_value(&rows).unwrap_or(serde_json::Value::Null),
        backend: backend.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_fields_are_named() {
        let bad = [
            (MappoRunConfig { system: "crowd".into(), ..Default::default() }, "system"),
            (MappoRunConfig { cases: vec!["IV".into()], ..Default::default() }, "cases[0]"),
            (MappoRunConfig { batch: 0, ..Default::default() }, "batch"),
            (MappoRunConfig { episodes: 0, ..Default::default() }, "episodes"),
            (MappoRunConfig { methods: vec![], ..Default::default() }, "methods"),
            (
                MappoRunConfig {
                    crowd: CrowdConfig { horizon_slots: 510, ..CrowdConfig::default() },
                    ..Default::default()
                },
                "mappo.rollout_slots",
            ),
        ];
        for (c, f) in bad {
            match c.validate() {
                Err(Error::Config { field, .. }) => assert_eq!(field, f),
                other => panic!("{f}: {other:?}"),
            }
        }
    }
}
