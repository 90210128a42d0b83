//! `mecrl run` for the mixed-MAPPO `crowd` system (`configs/crowd.toml`): the heuristics
//! (drift-plus-penalty, Greedy, Random) over the task cases of §VI-A, with the metrics of Table III
//! (unit delay AD, node load rate ANLR, E2E and E2D link load rates) and per-slot time series.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backend::{download_f32, Backend};
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::crowd::contract::CrowdBatchEnv;
use crate::env::crowd::{count, metric, Case, CrowdConfig, Policy};
use crate::error::{Error, Result};

/// `mecrl run` configuration of the `crowd` system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrowdRunConfig {
    /// Must be `"crowd"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (every instance's draws derive from it).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// Independent instances evaluated together (the metrics average over them).
    pub batch: usize,
    /// Cases of §VI-A: "I", "II", "III" (`--case` picks one).
    pub cases: Vec<String>,
    /// Policies, in table order.
    pub policies: Vec<Policy>,
    /// Slots between two rows of the time series (1 = every slot).
    pub series_every: usize,
    /// The system; its λ are set by each case, its horizon is the episode length.
    pub crowd: CrowdConfig,
}

impl Default for CrowdRunConfig {
    fn default() -> Self {
        CrowdRunConfig {
            system: "crowd".into(),
            name: "crowd".into(),
            seed: 1,
            backend: "cpu".into(),
            out_dir: PathBuf::from("runs"),
            batch: 4,
            cases: vec!["I".into(), "II".into(), "III".into()],
            policies: Policy::ALL.to_vec(),
            series_every: 10,
            crowd: CrowdConfig::default(),
        }
    }
}

/// Table III row of one (case, policy), averaged over instances and slots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CrowdRow {
    /// Case name.
    pub case: String,
    /// Policy name.
    pub policy: String,
    /// AD: Σ E / Σ o over dispatched bundles (s per MB).
    pub unit_delay: f64,
    /// ANLR over every unit (MDs, edge servers, cloud).
    pub load_all: f64,
    /// Node load rate of MDs.
    pub load_md: f64,
    /// … of edge servers.
    pub load_edge: f64,
    /// … of the cloud.
    pub load_cloud: f64,
    /// E2E (wired BS–BS) link load rate.
    pub e2e: f64,
    /// E2D (wireless MD–BS) link load rate.
    pub e2d: f64,
    /// Backbone link load rate.
    pub backbone: f64,
    /// Mean reward (13) per slot.
    pub reward: f64,
    /// Mean cost (7) per bundle.
    pub cost_per_bundle: f64,
    /// Shares of tasks: local, MD, edge, cloud.
    pub share: [f64; 4],
}

impl CrowdRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: CrowdRunConfig = super::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        super::common::check_common("crowd", &self.system, &self.name, &self.backend)?;
        if self.batch == 0 || self.batch > 1 << 16 {
            return Err(Error::config("batch", self.batch, "must be in 1..=65536"));
        }
        if self.cases.is_empty() {
            return Err(Error::config("cases", "[]", "list at least one case"));
        }
        for (k, c) in self.cases.iter().enumerate() {
            Case::parse(&format!("cases[{k}]"), c)?;
        }
        if self.policies.is_empty() {
            return Err(Error::config("policies", "[]", "list at least one policy"));
        }
        if self.series_every == 0 {
            return Err(Error::config("series_every", 0, "must be >= 1"));
        }
        self.crowd.validate()
    }

    /// The parsed cases.
    pub fn parsed_cases(&self) -> Result<Vec<Case>> {
        self.cases.iter().enumerate().map(|(k, c)| Case::parse(&format!("cases[{k}]"), c)).collect()
    }

    /// Units of progress: one per simulated slot.
    pub fn work_units(&self) -> u64 {
        (self.cases.len() * self.policies.len() * self.crowd.horizon_slots) as u64
    }
}

/// Evaluate every (case, policy) for one episode of `horizon_slots` on `backend`.
pub fn run(
    cfg: &CrowdRunConfig,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<super::common::Report> {
    cfg.validate()?;
    let mut rows = vec![];
    let mut files = vec![];
    for case in cfg.parsed_cases()? {
        let sys = cfg.crowd.clone().with_case(case);
        let mut series = String::from(
            "slot,policy,unit_delay_s_per_mb,load_md,load_edge,load_cloud,e2e,e2d,backbone,reward,bundles\n",
        );
        for &policy in &cfg.policies {
            // Through the environment contract: the heuristic reads the observations of `out`
            // and writes `actions`; the slot metrics are the info columns.
            let mut env = CrowdBatchEnv::new(backend.clone(), &sys, cfg.batch)?;
            let out = EnvBuffers::new(&*backend, env.spec())?;
            let actions = backend.alloc(env.spec().action_words())?;
            env.reset(cfg.seed, &out)?;
            let (b, n, s) = (cfg.batch, env.inner().agents(), sys.n_servers);
            let mut acc = [0f64; metric::WIDTH];
            let mut win = [0f64; metric::WIDTH];
            let mut win_slots = 0usize;
            for t in 0..sys.horizon_slots {
                env.heuristic(policy, &out, &actions)?;
                env.step(&actions, &out)?;
                let m = download_f32(&*backend, &out.info)?;
                for g in 0..b {
                    for (k, x) in m[g * metric::WIDTH..(g + 1) * metric::WIDTH].iter().enumerate() {
                        acc[k] += *x as f64;
                        win[k] += *x as f64;
                    }
                }
                win_slots += 1;
                if (t + 1) % cfg.series_every == 0 || t + 1 == sys.horizon_slots {
                    let d = (win_slots * b) as f64;
                    let ud = if win[metric::DATA_MB] > 0.0 { win[metric::DELAY] / win[metric::DATA_MB] } else { 0.0 };
                    let _ = writeln!(
                        series,
                        "{},{},{ud:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3}",
                        t + 1,
                        policy.name(),
                        win[metric::LOAD_MD] / d,
                        win[metric::LOAD_EDGE] / d,
                        win[metric::LOAD_CLOUD] / d,
                        win[metric::LINK_E2E] / d,
                        win[metric::LINK_E2D] / d,
                        win[metric::LINK_CLOUD] / d,
                        win[metric::REWARD] / d,
                        win[metric::BUNDLES] / d,
                    );
                    win = [0.0; metric::WIDTH];
                    win_slots = 0;
                }
                tick(1);
            }
            let c = env.inner().counts()?;
            let mut tasks = [0u64; count::WIDTH];
            for g in 0..b {
                for (k, x) in c[g * count::WIDTH..(g + 1) * count::WIDTH].iter().enumerate() {
                    tasks[k] += *x as u64;
                }
            }
            let d = (sys.horizon_slots * b) as f64;
            let gen = tasks[count::GENERATED].max(1) as f64;
            let (lm, le, lc) = (acc[metric::LOAD_MD] / d, acc[metric::LOAD_EDGE] / d, acc[metric::LOAD_CLOUD] / d);
            rows.push(CrowdRow {
                case: case.name().into(),
                policy: policy.name().into(),
                unit_delay: if acc[metric::DATA_MB] > 0.0 { acc[metric::DELAY] / acc[metric::DATA_MB] } else { 0.0 },
                load_all: (lm * n as f64 + le * s as f64 + lc) / (n + s + 1) as f64,
                load_md: lm,
                load_edge: le,
                load_cloud: lc,
                e2e: acc[metric::LINK_E2E] / d,
                e2d: acc[metric::LINK_E2D] / d,
                backbone: acc[metric::LINK_CLOUD] / d,
                reward: acc[metric::REWARD] / d,
                cost_per_bundle: acc[metric::COST] / acc[metric::BUNDLES].max(1.0),
                share: [count::LOCAL, count::MD, count::EDGE, count::CLOUD].map(|k| tasks[k] as f64 / gen),
            });
        }
        files.push((format!("series_case_{}.csv", case.name()), series.into_bytes()));
    }
    let mut table = format!(
        "crowd: {} instances × {} slots, seed {} (Table III metrics; AD in s per MB)\n",
        cfg.batch, cfg.crowd.horizon_slots, cfg.seed
    );
    let _ = writeln!(
        table,
        "{:<5} {:<7} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>27}",
        "case",
        "policy",
        "AD",
        "ANLR",
        "LR md",
        "LR edge",
        "LR cloud",
        "E2E",
        "E2D",
        "reward",
        "tasks local/md/edge/cloud"
    );
    let mut csv = String::from(
        "case,policy,unit_delay_s_per_mb,anlr,load_md,load_edge,load_cloud,e2e,e2d,backbone,reward,cost_per_bundle,\
         share_local,share_md,share_edge,share_cloud\n",
    );
    for r in &rows {
        let _ = writeln!(
            table,
            "{:<5} {:<7} {:>9.4} {:>10.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>12.2} {:>6.3}/{:.3}/{:.3}/{:.3}",
            r.case,
            r.policy,
            r.unit_delay,
            r.load_all,
            r.load_md,
            r.load_edge,
            r.load_cloud,
            r.e2e,
            r.e2d,
            r.reward,
            r.share[0],
            r.share[1],
            r.share[2],
            r.share[3]
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.case,
            r.policy,
            r.unit_delay,
            r.load_all,
            r.load_md,
            r.load_edge,
            r.load_cloud,
            r.e2e,
            r.e2d,
            r.backbone,
            r.reward,
            r.cost_per_bundle,
            r.share[0],
            r.share[1],
            r.share[2],
            r.share[3]
        );
    }
    table.push_str(concat!(
        "AD       unit delay: seconds per MB of dispatched data\n",
        "ANLR     average node load rate: pending computation over capacity, mean over all units\n",
        "LR md/edge/cloud   the same load rate per kind of unit\n",
        "E2E, E2D link load rates (pending data over bandwidth): wired BS-BS, wireless MD-BS links\n",
        "reward   per slot (eq. 13); tasks: shares by where they ran (docs/crowd.md, \"Metrics\")\n",
    ));
    files.insert(0, ("table3.csv".into(), csv.into_bytes()));
    Ok(super::common::Report {
        table,
        files,
        summary: serde_json::to_value(&rows).unwrap_or(serde_json::Value::Null),
        backend: backend.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};

    #[test]
    fn small_run_reports_every_case_and_policy() {
        let cfg = CrowdRunConfig {
            batch: 2,
            crowd: CrowdConfig { horizon_slots: 60, ..CrowdConfig::default() },
            ..CrowdRunConfig::default()
        };
        let mut ticks = 0;
        let r = run(&cfg, create(BackendKind::Cpu).unwrap(), &mut |k| ticks += k).unwrap();
        assert_eq!(ticks, cfg.work_units());
        let rows = r.summary.as_array().unwrap();
        assert_eq!(rows.len(), 9);
        for row in rows {
            let ad = row["unit_delay"].as_f64().unwrap();
            assert!(ad.is_finite() && ad > 0.0, "{row}");
            let share: f64 = row["share"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).sum();
            assert!((share - 1.0).abs() < 1e-9, "{row}");
        }
        // Random spreads tasks over every kind of target; DPP's cost per bundle beats Random's
        for case in ["I", "II", "III"] {
            let get = |p: &str| rows.iter().find(|r| r["case"] == case && r["policy"] == p).unwrap();
            assert!(get("random")["share"].as_array().unwrap().iter().all(|x| x.as_f64().unwrap() > 0.0));
            let (d, r) =
                (get("dpp")["cost_per_bundle"].as_f64().unwrap(), get("random")["cost_per_bundle"].as_f64().unwrap());
            assert!(d < r, "case {case}: dpp {d} vs random {r}");
        }
        assert_eq!(r.files.len(), 4);
        assert!(std::str::from_utf8(&r.files[0].1).unwrap().starts_with("case,policy,unit_delay"));
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = [
            (CrowdRunConfig { system: "dag".into(), ..Default::default() }, "system"),
            (CrowdRunConfig { cases: vec!["IV".into()], ..Default::default() }, "cases[0]"),
            (CrowdRunConfig { batch: 0, ..Default::default() }, "batch"),
            (CrowdRunConfig { series_every: 0, ..Default::default() }, "series_every"),
            (CrowdRunConfig { policies: vec![], ..Default::default() }, "policies"),
        ];
        for (c, f) in bad {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(f), "{e}");
        }
    }
}
