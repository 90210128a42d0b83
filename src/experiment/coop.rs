//! `mecrl run` for the O2O-DRL `coop` system (`configs/coop.toml`): the heuristics RATC, RDA and
//! Random on a batch of instances (the paper's "10 episodes" per setting, §V-B), at the base
//! setting or along the axes of its figures: task size (Fig. 5a), arrival probability (Fig. 5b),
//! node failure rate (Fig. 5c) and node count (Fig. 6). Metrics: task success rate (eq. 9), drop
//! and failure rates, over every task of every instance; plus the mean and standard deviation of
//! the per-instance success rate.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::coop::contract::CoopBatchEnv;
use crate::env::coop::{CoopConfig, CoopEnv, Heuristic, Stats};
use crate::error::{Error, Result};
use crate::rng;

/// A sweep axis (the x axis of one of the paper's figures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoopAxis {
    /// Fig. 5(a): the largest task size `coop.task_bits_max` (bits).
    TaskBitsMax,
    /// Fig. 5(b): the largest arrival probability `coop.arrival_prob_max`.
    ArrivalProbMax,
    /// Fig. 5(c): the largest node failure rate `coop.node_failure_max` (1/s).
    NodeFailureMax,
    /// Fig. 6: the number of nodes `coop.n_nodes`.
    Nodes,
}

impl CoopAxis {
    /// The name in configs and tables.
    pub fn name(self) -> &'static str {
        match self {
            CoopAxis::TaskBitsMax => "task_bits_max",
            CoopAxis::ArrivalProbMax => "arrival_prob_max",
            CoopAxis::NodeFailureMax => "node_failure_max",
            CoopAxis::Nodes => "nodes",
        }
    }

    /// `base` with this axis set to `v`.
    pub fn apply(self, base: &CoopConfig, v: f64) -> CoopConfig {
        let mut c = base.clone();
        match self {
            CoopAxis::TaskBitsMax => c.task_bits_max = v,
            CoopAxis::ArrivalProbMax => c.arrival_prob_max = v,
            CoopAxis::NodeFailureMax => c.node_failure_max = v,
            CoopAxis::Nodes => c.n_nodes = v as usize,
        }
        c
    }
}

/// One `[[sweep]]`: an axis and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoopSweep {
    /// The axis.
    pub axis: CoopAxis,
    /// Its values, in table order.
    pub values: Vec<f64>,
}

/// `mecrl run` configuration of the `coop` system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoopRunConfig {
    /// Must be `"coop"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed; each setting's environment key derives from it.
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// B, instances per setting (independent node draws and arrivals).
    pub batch: usize,
    /// Episodes per instance (episode k redraws nodes and arrivals).
    pub episodes: u32,
    /// Heuristics, in table order.
    pub methods: Vec<Heuristic>,
    /// The base setting.
    pub coop: CoopConfig,
    /// Sweeps; with none, the base setting alone.
    pub sweep: Vec<CoopSweep>,
}

impl Default for CoopRunConfig {
    fn default() -> Self {
        CoopRunConfig {
            system: "coop".into(),
            name: "coop".into(),
            seed: 1,
            backend: "auto".into(),
            out_dir: PathBuf::from("runs"),
            batch: 10,
            episodes: 1,
            methods: Heuristic::ALL.to_vec(),
            coop: CoopConfig::default(),
            sweep: vec![],
        }
    }
}

/// One evaluated setting.
#[derive(Clone, Debug, PartialEq)]
pub struct CoopPoint {
    /// Sweep index (None: the base setting).
    pub sweep: Option<usize>,
    /// The axis value.
    pub value: Option<f64>,
    /// The setting.
    pub cfg: CoopConfig,
}

/// Outcome of one (setting, method).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoopResult {
    /// Axis name, or "base".
    pub axis: String,
    /// Axis value (NaN for the base setting).
    pub value: f64,
    /// Method.
    pub method: Heuristic,
    /// Tasks over every instance and episode.
    pub arrivals: u64,
    /// Eq. (9) over every task.
    pub success_rate: f64,
    /// Dropped / resolved.
    pub drop_rate: f64,
    /// Failed / resolved.
    pub fail_rate: f64,
    /// Mean of the per-instance success rates.
    pub success_mean: f64,
    /// Standard deviation of the per-instance success rates.
    pub success_std: f64,
}

impl CoopResult {
    /// Aggregate per-instance statistics.
    pub fn from_stats(axis: &str, value: f64, method: Heuristic, stats: &[Stats]) -> Self {
        let sum = |f: fn(&Stats) -> u32| stats.iter().map(|s| f(s) as u64).sum::<u64>();
        let (ok, dr, fa) = (sum(|s| s.success), sum(|s| s.dropped), sum(|s| s.failed));
        let done = (ok + dr + fa) as f64;
        let per: Vec<f64> = stats.iter().map(Stats::success_rate).filter(|x| x.is_finite()).collect();
        let mean = per.iter().sum::<f64>() / per.len() as f64;
        let var = per.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / per.len() as f64;
        CoopResult {
            axis: axis.into(),
            value,
            method,
            arrivals: sum(|s| s.arrivals),
            success_rate: ok as f64 / done,
            drop_rate: dr as f64 / done,
            fail_rate: fa as f64 / done,
            success_mean: mean,
            success_std: var.sqrt(),
        }
    }
}

impl CoopRunConfig {
    /// Parse and validate TOML text; errors name the file and line, or the field.
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: CoopRunConfig = super::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field, and every swept setting.
    pub fn validate(&self) -> Result<()> {
        super::common::check_common("coop", &self.system, &self.name, &self.backend)?;
        if self.batch == 0 {
            return Err(Error::config("batch", self.batch, "must be >= 1"));
        }
        if self.episodes == 0 || self.episodes > 0x10000 {
            return Err(Error::config("episodes", self.episodes, "must be in 1..=65536"));
        }
        if self.methods.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one of random, ratc, rda"));
        }
        self.coop.validate()?;
        for (k, s) in self.sweep.iter().enumerate() {
            if s.values.is_empty() {
                return Err(Error::config(format!("sweep[{k}].values"), "[]", "list at least one value"));
            }
            for (j, &v) in s.values.iter().enumerate() {
                if s.axis == CoopAxis::Nodes && (v.fract() != 0.0 || v < 1.0) {
                    return Err(Error::config(format!("sweep[{k}].values[{j}]"), v, "a node count is an integer >= 1"));
                }
                s.axis.apply(&self.coop, v).validate().map_err(|e| match e {
                    Error::Config { field, value, why } => {
                        Error::config(format!("sweep[{k}].values[{j}]"), v, format!("{field} = {value}: {why}"))
                    }
                    other => other,
                })?;
            }
        }
        Ok(())
    }

    /// The settings to evaluate: the base, or every sweep value.
    pub fn points(&self) -> Vec<CoopPoint> {
        if self.sweep.is_empty() {
            return vec![CoopPoint { sweep: None, value: None, cfg: self.coop.clone() }];
        }
        self.sweep
            .iter()
            .enumerate()
            .flat_map(|(k, s)| {
                s.values.iter().map(move |&v| CoopPoint {
                    sweep: Some(k),
                    value: Some(v),
                    cfg: s.axis.apply(&self.coop, v),
                })
            })
            .collect()
    }

    /// Progress units: episodes over every (setting, method).
    pub fn work_units(&self) -> u64 {
        (self.points().len() * self.methods.len()) as u64 * self.episodes as u64
    }
}

/// Evaluate every method at every setting on `backend`. Methods of one setting see the same
/// nodes, links and arrivals (one environment seed per setting).
pub fn run(cfg: &CoopRunConfig, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<super::common::Report> {
    cfg.validate()?;
    let mut results = vec![];
    for (pi, pt) in cfg.points().iter().enumerate() {
        let seed = rng::derive_seed(cfg.seed, 0xC00F_u64 ^ pi as u64);
        let axis = pt.sweep.map_or("base", |k| cfg.sweep[k].axis.name());
        // Through the environment contract; episode e of the point's seed is the instance
        // draw (`reset_episode`), as the heuristics' task logs number them.
        let mut env = CoopBatchEnv::new(backend.clone(), &pt.cfg, cfg.batch)?;
        let out = EnvBuffers::new(&*backend, env.spec())?;
        let actions = backend.alloc(env.spec().action_words())?;
        for &m in &cfg.methods {
            let mut all = vec![];
            for e in 0..cfg.episodes {
                env.reset_episode(seed, e, &out)?;
                for _ in 0..pt.cfg.episode_slots() {
                    env.heuristic(m, &actions)?;
                    env.step(&actions, &out)?;
                }
                all.extend(env.inner().stats()?);
                tick(1);
            }
            results.push(CoopResult::from_stats(axis, pt.value.unwrap_or(f64::NAN), m, &all));
        }
    }
    Ok(report(cfg, &backend.describe(), &results))
}

/// What `mecrl coop log` runs: `episodes` episodes of heuristic `method` on `batch` instances.
#[derive(Clone, Copy, Debug)]
pub struct LogRun {
    /// The heuristic whose decisions are logged.
    pub method: Heuristic,
    /// Instances per episode.
    pub batch: usize,
    /// Episodes (1..=65536).
    pub episodes: u32,
    /// Seed.
    pub seed: u64,
}

/// `mecrl coop log`: run `run` and write the task log as an offline data set (`docs/coop.md`)
/// to `out`, streamed (`tick(1)` per slot). Returns the rows written and the success rate
/// (eq. 9) of the logged episodes.
pub fn write_log(
    cfg: &CoopConfig,
    run: LogRun,
    backend: Arc<dyn Backend>,
    out: &std::path::Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(usize, f64)> {
    let LogRun { method: h, batch, episodes, seed } = run;
    if episodes == 0 || episodes > 0x10000 {
        return Err(Error::config("episodes", episodes, "must be in 1..=65536"));
    }
    crate::output::check_writable(out, "--out")?;
    super::memory::coop_log(cfg, batch).check()?;
    let scratch = crate::output::scratch_dir(out, "--out")?;
    // The file: its rows of every node of every slot, written twice (the columns, then the file).
    let rows =
        crate::memory::product(&[episodes as u128, cfg.episode_slots() as u128, batch as u128, cfg.n_nodes as u128]);
    let per_row = 4 * (2 * cfg.obs_dim() as u128 + cfg.n_actions() as u128 + 3);
    let bytes = crate::memory::product(&[rows, per_row, 2]);
    // Named: the setting furthest above its default (10 instances, 1 episode, 20 nodes).
    let (field, value) = [
        ("--batch", batch as f64 / 10.0, batch),
        ("--episodes", episodes as f64, episodes as usize),
        ("--nodes", cfg.n_nodes as f64 / 20.0, cfg.n_nodes),
    ]
    .into_iter()
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .map(|(f, _, v)| (f, v))
    .unwrap_or(("--episodes", episodes as usize));
    crate::memory::check_disk(
        &scratch,
        bytes,
        field,
        value,
        &format!("the log ({rows} rows of {per_row} B, written twice)"),
    )?;
    let mut env = CoopEnv::new(backend, cfg, batch, seed)?;
    let mut w = crate::env::coop::dataset::DatasetWriter::new(&scratch, cfg.n_nodes as u32, Some(h), seed)?;
    let stats = crate::env::coop::dataset::collect_into(&mut env, h, 0, episodes, seed, &mut |slot| {
        tick(1);
        w.append(slot, out)
    })?;
    let rows = w.finish(out)?;
    let all: Vec<Stats> = stats.into_iter().flatten().collect();
    Ok((rows as usize, CoopResult::from_stats("base", f64::NAN, h, &all).success_rate))
}

fn report(cfg: &CoopRunConfig, backend: &str, results: &[CoopResult]) -> super::common::Report {
    let mut table = format!(
        "coop: {} instance(s) x {} episode(s) per setting, N = {} (base), {} slots of {} s, deadline {} s\n",
        cfg.batch, cfg.episodes, cfg.coop.n_nodes, cfg.coop.horizon, cfg.coop.slot_s, cfg.coop.deadline_s
    );
    let _ = writeln!(
        table,
        "{:<18} {:>10} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "axis", "value", "method", "success", "drop", "fail", "succ.mean", "succ.std", "tasks"
    );
    let mut csv = String::from("axis,value,method,tasks,success_rate,drop_rate,fail_rate,success_mean,success_std\n");
    for r in results {
        let v = if r.value.is_nan() { "-".to_string() } else { format!("{}", r.value) };
        let _ = writeln!(
            table,
            "{:<18} {:>10} {:<8} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            r.axis,
            v,
            r.method.name(),
            r.success_rate,
            r.drop_rate,
            r.fail_rate,
            r.success_mean,
            r.success_std,
            r.arrivals
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{}",
            r.axis,
            if r.value.is_nan() { String::new() } else { r.value.to_string() },
            r.method.name(),
            r.arrivals,
            r.success_rate,
            r.drop_rate,
            r.fail_rate,
            r.success_mean,
            r.success_std
        );
    }
    let summary = serde_json::json!(results
        .iter()
        .map(|r| serde_json::json!({
            "axis": r.axis, "value": if r.value.is_nan() { serde_json::Value::Null } else { r.value.into() },
            "method": r.method.name(), "tasks": r.arrivals, "success_rate": r.success_rate,
            "drop_rate": r.drop_rate, "fail_rate": r.fail_rate,
        }))
        .collect::<Vec<_>>());
    super::common::Report {
        table,
        files: vec![("results.csv".into(), csv.into_bytes())],
        summary,
        backend: backend.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn config_errors_name_the_field() {
        let p = Path::new("c.toml");
        let e = CoopRunConfig::from_toml("system = \"coop\"\nbatch = 0\n", p).unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "batch"), "{e}");
        let e = CoopRunConfig::from_toml("system = \"coop\"\n[coop]\nn_nodes = 0\n", p).unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "coop.n_nodes"), "{e}");
        let e = CoopRunConfig::from_toml("system = \"coop\"\nbogus = 1\n", p).unwrap_err();
        assert!(matches!(e, Error::Parse { ref why, .. } if why.contains("bogus")), "{e}");
        let e = CoopRunConfig::from_toml(
            "system = \"coop\"\n[[sweep]]\naxis = \"arrival_prob_max\"\nvalues = [0.5, 1.5]\n",
            p,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "sweep[0].values[1]"), "{e}");
        let e = CoopRunConfig::from_toml("system = \"coop\"\n[[sweep]]\naxis = \"nodes\"\nvalues = [2.5]\n", p)
            .unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "sweep[0].values[0]"), "{e}");
        let e = CoopRunConfig::from_toml("system = \"mec\"\n", p).unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "system"), "{e}");
    }

    #[test]
    fn rates_by_hand() {
        // Eq. (9) over all tasks: (3 + 1) / (4 + 2); per instance 3/4 and 1/2 → mean 0.625, std 0.125.
        let a = Stats { arrivals: 4, success: 3, dropped: 1, ..Default::default() };
        let b = Stats { arrivals: 2, success: 1, failed: 1, ..Default::default() };
        assert_eq!(a.success_rate(), 0.75);
        let r = CoopResult::from_stats("base", f64::NAN, Heuristic::Rda, &[a, b]);
        assert_eq!((r.arrivals, r.success_rate, r.drop_rate, r.fail_rate), (6, 4.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0));
        assert_eq!((r.success_mean, r.success_std), (0.625, 0.125));
    }

    #[test]
    fn sweep_points_and_rates() {
        let cfg = CoopRunConfig::from_toml(
            "system = \"coop\"\nbatch = 3\nbackend = \"cpu\"\n[coop]\nn_nodes = 5\nhorizon = 20\n\
             [[sweep]]\naxis = \"nodes\"\nvalues = [3, 6]\n[[sweep]]\naxis = \"task_bits_max\"\nvalues = [2e7, 8e7]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let pts = cfg.points();
        assert_eq!(pts.len(), 4);
        assert_eq!((pts[1].cfg.n_nodes, pts[3].cfg.task_bits_max), (6, 8e7));
        let be = crate::backend::create(crate::backend::BackendKind::Cpu).unwrap();
        let mut ticks = 0;
        let rep = run(&cfg, be, &mut |k| ticks += k).unwrap();
        assert_eq!(ticks, cfg.work_units());
        let csv = String::from_utf8(rep.files[0].1.clone()).unwrap();
        assert_eq!(csv.lines().count(), 1 + 4 * 3);
        // Rates add up to 1 per row; bigger tasks succeed less often (Fig. 5a) for every method.
        let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
        for r in &rows {
            let s: f64 = r[4..7].iter().map(|x| x.parse::<f64>().unwrap()).sum();
            assert!((s - 1.0).abs() < 1e-9, "{r:?}");
        }
        for m in 0..3 {
            let small: f64 = rows[6 + m][4].parse().unwrap();
            let big: f64 = rows[9 + m][4].parse().unwrap();
            assert!(small > big, "{}: {small} vs {big}", rows[6 + m][2]);
        }
    }
}
