//! The configuration of the CRB-DRQN experiments (`configs/crbdrqn.toml`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::algo::crbdrqn::{CrbDrqnConfig, Method};
use crate::env::endedge::{EndedgeConfig, Heuristic};
use crate::error::{Error, Result};

/// `mecrl run` configuration of the CRB-DRQN experiments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrbDrqnRunConfig {
    /// Must be `"crbdrqn"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (the learners' initialization, sampling and episodes derive from it).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// The learners, in table order.
    pub methods: Vec<Method>,
    /// The heuristics tested beside them.
    pub heuristics: Vec<Heuristic>,
    /// Training episodes per learner and point (each `endedge.slots` slots).
    pub episodes: usize,
    /// Test episodes (their own seeds, the same for every method).
    pub test_episodes: usize,
    /// Episodes between two checkpoints of a learner (a rerun resumes from the last).
    pub checkpoint_every: usize,
    /// Fig. 5's axis: terminals D (at the system's arrival process).
    pub devices: Vec<usize>,
    /// Fig. 6's axis: offered load per terminal, Mbit/s (at `base_devices` terminals).
    pub rates_mbps: Vec<f64>,
    /// D of Fig. 4's curves and of Fig. 6 (one of `devices`).
    pub base_devices: usize,
    /// Episodes of the moving average that defines convergence (Fig. 4).
    pub convergence_window: usize,
    /// Convergence: the moving average of the training reward stays within this fraction of
    /// the final level (the mean of the last `convergence_window` episodes) from then on.
    pub convergence_tolerance: f64,
    /// The learners' hyper-parameters.
    pub crbdrqn: CrbDrqnConfig,
    /// The system (its `devices` and `arrival_rate_mbps` are set per point).
    pub endedge: EndedgeConfig,
}

impl Default for CrbDrqnRunConfig {
    fn default() -> Self {
        CrbDrqnRunConfig {
            system: "crbdrqn".into(),
            name: "crbdrqn".into(),
            seed: 1,
            backend: "cpu".into(),
            out_dir: PathBuf::from("runs"),
            methods: Method::ALL.to_vec(),
            heuristics: Heuristic::ALL.to_vec(),
            episodes: 20,
            test_episodes: 2,
            checkpoint_every: 5,
            devices: vec![5, 10, 15, 20, 25, 30, 35],
            rates_mbps: vec![1.0, 1.5, 2.0, 2.5, 3.0],
            base_devices: 25,
            convergence_window: 10,
            convergence_tolerance: 0.05,
            crbdrqn: CrbDrqnConfig::default(),
            endedge: EndedgeConfig::default(),
        }
    }
}

/// One point of the experiment: (figure, x, the system there).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// "fig5" (x = D) or "fig6" (x = Mbit/s).
    pub figure: &'static str,
    /// The x value.
    pub x: f64,
    /// The system at this point.
    pub system: EndedgeConfig,
}

impl Point {
    /// Its work-file name stem, e.g. `fig5_d25`, `fig6_r2.5`.
    pub fn stem(&self) -> String {
        match self.figure {
            "fig5" => format!("fig5_d{}", self.x),
            _ => format!("fig6_r{}", self.x),
        }
    }
}

impl CrbDrqnRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: CrbDrqnRunConfig = crate::experiment::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        crate::experiment::common::check_common("crbdrqn", &self.system, &self.name, &self.backend)?;
        if self.methods.is_empty() && self.heuristics.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one learner or heuristic"));
        }
        for (name, v) in [
            ("episodes", self.episodes),
            ("test_episodes", self.test_episodes),
            ("checkpoint_every", self.checkpoint_every),
            ("convergence_window", self.convergence_window),
        ] {
            if v == 0 || v > 1 << 20 {
                return Err(Error::config(name, v, "must be in 1..=1048576"));
            }
        }
        if !(self.convergence_tolerance.is_finite() && self.convergence_tolerance > 0.0) {
            return Err(Error::config("convergence_tolerance", self.convergence_tolerance, "must be > 0"));
        }
        if !self.devices.contains(&self.base_devices) {
            return Err(Error::config(
                "base_devices",
                self.base_devices,
                format!("must be one of devices {:?}", self.devices),
            ));
        }
        for (k, &r) in self.rates_mbps.iter().enumerate() {
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::config(format!("rates_mbps[{k}]"), r, "must be > 0"));
            }
        }
        self.crbdrqn.validate()?;
        for p in self.points() {
            p.system.validate()?;
        }
        Ok(())
    }

    /// Every point: Fig. 5's then Fig. 6's.
    pub fn points(&self) -> Vec<Point> {
        let mut v: Vec<Point> = self
            .devices
            .iter()
            .map(|&d| Point {
                figure: "fig5",
                x: d as f64,
                system: EndedgeConfig { devices: d, ..self.endedge.clone() },
            })
            .collect();
        v.extend(self.rates_mbps.iter().map(|&r| Point {
            figure: "fig6",
            x: r,
            system: EndedgeConfig { devices: self.base_devices, arrival_rate_mbps: Some(r), ..self.endedge.clone() },
        }));
        v
    }

    /// Units of progress: one per slot simulated (training and test).
    pub fn work_units(&self) -> u64 {
        let slots = self.endedge.slots;
        let per_point = self.methods.len() * (self.episodes + self.test_episodes) * slots
            + self.heuristics.len() * self.test_episodes * slots;
        (self.points().len() * per_point) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_fields_are_named() {
        let bad = [
            (CrbDrqnRunConfig { system: "endedge".into(), ..Default::default() }, "system"),
            (CrbDrqnRunConfig { episodes: 0, ..Default::default() }, "episodes"),
            (CrbDrqnRunConfig { base_devices: 7, ..Default::default() }, "base_devices"),
            (CrbDrqnRunConfig { rates_mbps: vec![1.0, -2.0], ..Default::default() }, "rates_mbps[1]"),
            (CrbDrqnRunConfig { devices: vec![0, 25], ..Default::default() }, "endedge.devices"),
            (
                CrbDrqnRunConfig { crbdrqn: CrbDrqnConfig { batch: 0, ..Default::default() }, ..Default::default() },
                "crbdrqn.batch",
            ),
        ];
        for (c, f) in bad {
            match c.validate() {
                Err(Error::Config { field, .. }) => assert_eq!(field, f),
                other => panic!("{f}: {other:?}"),
            }
        }
        assert_eq!(CrbDrqnRunConfig::default().points().len(), 12);
    }
}
