//! The configuration of the mixed-MAPPO experiments (`configs/mappo.toml`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::algo::mappo::{MappoConfig, Method};
use crate::env::crowd::{Case, CrowdConfig, Policy};
use crate::error::{Error, Result};

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
    /// Episodes between two checkpoints of a learner (a rerun resumes from the last).
    pub checkpoint_every: usize,
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
            methods: vec![Method::MixedMappo, Method::Mappo, Method::Maa3c, Method::Madqn],
            heuristics: vec![Policy::Dpp, Policy::Random],
            episodes: 10,
            test_episodes: 1,
            greedy_test: false,
            checkpoint_every: 1,
            mappo: MappoConfig::default(),
            crowd: CrowdConfig { horizon_slots: 500, ..CrowdConfig::default() },
        }
    }
}

impl MappoRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: MappoRunConfig = crate::experiment::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        crate::experiment::common::check_common("mappo", &self.system, &self.name, &self.backend)?;
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
        for (name, v) in [
            ("episodes", self.episodes),
            ("test_episodes", self.test_episodes),
            ("checkpoint_every", self.checkpoint_every),
        ] {
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
