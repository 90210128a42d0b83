//! `mecrl run` for the CRB-DRQN `endedge` system (`configs/endedge.toml`): the heuristic
//! baselines on a batch of instances at the base system and along the sweep axes of the paper's
//! Fig. 5 (terminals D = 5…35) and Fig. 6 (task arrival rate 1.0–3.0 Mbps), each axis varied
//! alone around the base. Metrics (§5): average delay of finished tasks (slots), drop (failure)
//! rate, mean reward per task (eq. 18–19).
//!
//! Every method of a sweep point sees the same arrivals (the arrival stream depends on the seed
//! of the point and episode only), so differences between methods are the methods'.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::endedge::contract::EndedgeBatchEnv;
use crate::env::endedge::{EndedgeConfig, Heuristic, Stats};
use crate::error::{Error, Result};
use crate::rng::derive_seed;

/// The sweep axes; an empty list skips that axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndedgeSweep {
    /// D values (Fig. 5).
    pub devices: Vec<usize>,
    /// Offered load per terminal in Mbit/s (Fig. 6); sets `endedge.arrival_rate_mbps`.
    pub arrival_rate_mbps: Vec<f64>,
}

impl Default for EndedgeSweep {
    fn default() -> Self {
        EndedgeSweep { devices: vec![5, 10, 15, 20, 25, 30, 35], arrival_rate_mbps: vec![1.0, 1.5, 2.0, 2.5, 3.0] }
    }
}

/// `mecrl run` configuration of the `endedge` system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndedgeRunConfig {
    /// Must be `"endedge"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// B, independent instances per point.
    pub batch: usize,
    /// Episodes of T slots per point (each from empty queues, fresh arrivals).
    pub episodes: usize,
    /// Methods, in table order.
    pub methods: Vec<Heuristic>,
    /// The base system.
    pub endedge: EndedgeConfig,
    /// The sweep axes.
    pub sweep: EndedgeSweep,
}

impl Default for EndedgeRunConfig {
    fn default() -> Self {
        EndedgeRunConfig {
            system: "endedge".into(),
            name: "endedge".into(),
            seed: 1,
            backend: "auto".into(),
            out_dir: PathBuf::from("runs"),
            batch: 16,
            episodes: 1,
            methods: Heuristic::ALL.to_vec(),
            endedge: EndedgeConfig::default(),
            sweep: EndedgeSweep::default(),
        }
    }
}

/// One evaluated system: (axis, value, config).
type Point = (&'static str, String, EndedgeConfig);

impl EndedgeRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: EndedgeRunConfig = super::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field (and every sweep point's system).
    pub fn validate(&self) -> Result<()> {
        super::common::check_common("endedge", &self.system, &self.name, &self.backend)?;
        if self.batch == 0 || self.batch > 1 << 20 {
            return Err(Error::config("batch", self.batch, "must be in 1..=1048576"));
        }
        if self.episodes == 0 {
            return Err(Error::config("episodes", self.episodes, "must be >= 1"));
        }
        if self.methods.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one method"));
        }
        self.endedge.validate()?;
        for (k, &d) in self.sweep.devices.iter().enumerate() {
            let c = EndedgeConfig { devices: d, ..self.endedge.clone() };
            c.validate().map_err(|_| Error::config(format!("sweep.devices[{k}]"), d, "must be in 1..=16000000"))?;
        }
        for (k, &r) in self.sweep.arrival_rate_mbps.iter().enumerate() {
            let c = EndedgeConfig { arrival_rate_mbps: Some(r), ..self.endedge.clone() };
            c.validate().map_err(|e| Error::config(format!("sweep.arrival_rate_mbps[{k}]"), r, e.to_string()))?;
        }
        Ok(())
    }

    /// The evaluated systems: the base, then each axis value.
    fn points(&self) -> Vec<Point> {
        let mut v: Vec<Point> = vec![("base", String::new(), self.endedge.clone())];
        for &d in &self.sweep.devices {
            v.push(("devices", d.to_string(), EndedgeConfig { devices: d, ..self.endedge.clone() }));
        }
        for &r in &self.sweep.arrival_rate_mbps {
            v.push((
                "arrival_rate_mbps",
                r.to_string(),
                EndedgeConfig { arrival_rate_mbps: Some(r), ..self.endedge.clone() },
            ));
        }
        v
    }

    /// Units of progress (slots simulated, all points and methods).
    pub fn work_units(&self) -> u64 {
        (self.points().len() * self.methods.len() * self.episodes * self.endedge.slots) as u64
    }
}

/// One episode of `slots` slots of heuristic `m` through the environment contract; the totals.
fn episode(
    sys: &EndedgeConfig,
    batch: usize,
    seed: u64,
    m: Heuristic,
    backend: &Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<Stats> {
    let mut env = EndedgeBatchEnv::new(backend.clone(), sys, batch)?;
    let out = EnvBuffers::new(&**backend, env.spec())?;
    let actions = backend.alloc(env.spec().action_words())?;
    env.reset(seed, &out)?;
    for _ in 0..sys.slots {
        env.heuristic(m, &actions)?;
        env.step(&actions, &out)?;
        tick(1);
    }
    env.inner().stats()
}

/// Run every method at every point on `backend`. `tick` advances a progress bar (one per slot).
pub fn run(
    cfg: &EndedgeRunConfig,
    backend: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<super::common::Report> {
    cfg.validate()?;
    let mut csv = String::from(
        "axis,value,method,devices,arrivals,finished,dropped,unfinished,avg_delay_slots,drop_rate,avg_reward\n",
    );
    let mut rows = vec![];
    for (pi, (axis, value, sys)) in cfg.points().into_iter().enumerate() {
        let mut per_method = vec![];
        for &m in &cfg.methods {
            let mut tot = Stats::default();
            for ep in 0..cfg.episodes {
                let seed = derive_seed(cfg.seed, ((pi as u64) << 20) | ep as u64);
                let s = episode(&sys, cfg.batch, seed, m, &backend, tick)?;
                tot.arrivals += s.arrivals;
                tot.finished += s.finished;
                tot.dropped += s.dropped;
                tot.unfinished += s.unfinished;
                tot.delay_sum += s.delay_sum;
                tot.unfinished_delay_sum += s.unfinished_delay_sum;
            }
            let (d, r) = (tot.avg_delay(), tot.drop_rate());
            let rew = tot.avg_reward(sys.drop_reward());
            csv.push_str(&format!(
                "{axis},{value},{},{},{},{},{},{},{d:.6},{r:.6},{rew:.6}\n",
                m.name(),
                sys.devices,
                tot.arrivals,
                tot.finished,
                tot.dropped,
                tot.unfinished
            ));
            per_method.push((m, d, r, rew));
        }
        rows.push((axis, value, per_method));
    }
    let mut table =
        format!("{:<24} {:<8} {:>12} {:>10} {:>10}\n", "point", "method", "delay (slot)", "drop rate", "reward");
    let mut summary = vec![];
    for (axis, value, per) in &rows {
        let label = if value.is_empty() { axis.to_string() } else { format!("{axis}={value}") };
        for &(m, d, r, rew) in per {
            table.push_str(&format!("{label:<24} {:<8} {d:>12.4} {r:>10.4} {rew:>10.4}\n", m.name()));
            summary.push(serde_json::json!({"axis": axis, "value": value, "method": m.name(),
                "avg_delay_slots": d, "drop_rate": r, "avg_reward": rew}));
        }
    }
    Ok(super::common::Report {
        table,
        files: vec![("results.csv".into(), csv.into_bytes())],
        summary: serde_json::Value::Array(summary),
        backend: backend.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{self, BackendKind};

    #[test]
    fn config_errors_name_the_field() {
        let p = std::path::Path::new("x.toml");
        let e = EndedgeRunConfig::from_toml("system = \"endedge\"\nbatch = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("`batch` = 0"), "{e}");
        let e = EndedgeRunConfig::from_toml("system = \"endedge\"\n[sweep]\ndevices = [5, 0]\n", p).unwrap_err();
        assert!(e.to_string().contains("sweep.devices[1]"), "{e}");
        let e = EndedgeRunConfig::from_toml("system = \"endedge\"\n[endedge]\ndeadline_slots = 40\n", p).unwrap_err();
        assert!(e.to_string().contains("endedge.deadline_slots"), "{e}");
        let e = EndedgeRunConfig::from_toml("system = \"endedge\"\nbogus = 1\n", p).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = EndedgeRunConfig::from_toml("system = \"mec\"\n", p).unwrap_err();
        assert!(e.to_string().contains("system"), "{e}");
    }

    /// At the paper's default load the heuristics order as in its Fig. 5: Greedy fails least,
    /// Local-only most (the terminal CPU alone cannot keep up).
    #[test]
    fn greedy_beats_random_beats_local_at_the_default_load() {
        let cfg = EndedgeRunConfig {
            backend: "cpu".into(),
            batch: 4,
            endedge: EndedgeConfig { devices: 20, arrival_prob: 0.3, ..EndedgeConfig::default() },
            sweep: EndedgeSweep { devices: vec![], arrival_rate_mbps: vec![] },
            ..Default::default()
        };
        let rep = run(&cfg, backend::create(BackendKind::Cpu).unwrap(), &mut |_| {}).unwrap();
        let rate = |m: &str| {
            rep.summary.as_array().unwrap().iter().find(|o| o["method"] == m).unwrap()["drop_rate"].as_f64().unwrap()
        };
        assert!(rate("greedy") < rate("random") && rate("random") < rate("local"), "{}", rep.table);
    }
}
