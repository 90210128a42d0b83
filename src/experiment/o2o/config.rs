//! The configuration of the O2O-DRL experiments (`configs/o2o.toml`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::algo::o2o::{O2oConfig, Variant};
use crate::env::coop::{CoopConfig, Heuristic};
use crate::error::{Error, Result};

/// `mecrl run` configuration of the O2O-DRL experiments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct O2oRunConfig {
    /// Must be `"o2o"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (the learners, the logs, the training and test episodes derive from it).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// The learners (offline-only is O2O's actor at the end of its offline phase: no run of
    /// its own).
    pub variants: Vec<Variant>,
    /// The heuristics tested beside them.
    pub heuristics: Vec<Heuristic>,
    /// The heuristic whose log trains the offline phase at every point but Fig. 4's.
    pub source: Heuristic,
    /// Fig. 4: O2O from the log of each of these at the default point.
    pub sources: Vec<Heuristic>,
    /// A task log (`mecrl coop log` file) for the default point's offline phase instead of
    /// collecting one from `source` (checked on load: a corrupt, truncated or mismatched file is
    /// an error naming it).
    pub log: Option<PathBuf>,
    /// Instances of a log run (each logs every node of every slot).
    pub log_instances: usize,
    /// Episodes of a log run.
    pub log_episodes: u32,
    /// Test episodes (every method on the same ones; the paper's 10 per setting).
    pub test_episodes: u32,
    /// Online updates between two checkpoints of a learner (a rerun resumes from the last).
    pub checkpoint_every: u64,
    /// Fig. 5a: the upper end X of the task size U[1000, X] KB.
    pub task_kb_max: Vec<f64>,
    /// Fig. 5b: the upper end X of the arrival probability U[0, X].
    pub arrival_prob_max: Vec<f64>,
    /// Fig. 5c: the upper end X of the node failure rate U[0, X] per second.
    pub node_failure_max: Vec<f64>,
    /// Fig. 6: edge nodes N.
    pub nodes: Vec<usize>,
    /// The learners' hyper-parameters.
    pub o2o: O2oConfig,
    /// The system at the default point.
    pub coop: CoopConfig,
}

impl Default for O2oRunConfig {
    fn default() -> Self {
        O2oRunConfig {
            system: "o2o".into(),
            name: "o2o".into(),
            seed: 1,
            backend: "cpu".into(),
            out_dir: PathBuf::from("runs"),
            variants: Variant::ALL.to_vec(),
            heuristics: vec![Heuristic::Ratc, Heuristic::Rda, Heuristic::Random],
            source: Heuristic::Ratc,
            sources: vec![Heuristic::Ratc, Heuristic::Rda, Heuristic::Random],
            log: None,
            log_instances: 8,
            log_episodes: 20,
            test_episodes: 10,
            checkpoint_every: 10,
            task_kb_max: vec![],
            arrival_prob_max: vec![],
            node_failure_max: vec![],
            nodes: vec![],
            o2o: O2oConfig::default(),
            coop: CoopConfig::default(),
        }
    }
}

/// One setting of the experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// "base" (the default point: Fig. 3 and the table), "fig4", "fig5a", "fig5b", "fig5c",
    /// "fig6".
    pub figure: &'static str,
    /// The x value (0 at the base point; the source's index in Fig. 4).
    pub x: f64,
    /// The system there.
    pub system: CoopConfig,
    /// The log that trains the offline phase.
    pub source: Heuristic,
}

impl Point {
    /// Its work-file name stem, e.g. `base`, `fig4_rda`, `fig5b_0.8`.
    pub fn stem(&self) -> String {
        match self.figure {
            "base" => "base".into(),
            "fig4" => format!("fig4_{}", self.source.name()),
            f => format!("{f}_{}", self.x),
        }
    }

    /// Whether heuristics and every variant run here (Fig. 4 points train O2O only).
    pub fn full(&self) -> bool {
        self.figure != "fig4"
    }
}

impl O2oRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: O2oRunConfig = crate::experiment::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        crate::experiment::common::check_common("o2o", &self.system, &self.name, &self.backend)?;
        if self.variants.is_empty() && self.heuristics.is_empty() {
            return Err(Error::config("variants", "[]", "list at least one learner or heuristic"));
        }
        if self.log_episodes > crate::algo::o2o::learner::ONLINE_EPISODES {
            return Err(Error::config(
                "log_episodes",
                self.log_episodes,
                "must be <= 1024 (episodes 0..1024 are the logs')",
            ));
        }
        if self.test_episodes > 4096 {
            return Err(Error::config("test_episodes", self.test_episodes, "must be <= 4096"));
        }
        for (name, v) in [
            ("log_instances", self.log_instances as u64),
            ("log_episodes", self.log_episodes as u64),
            ("test_episodes", self.test_episodes as u64),
            ("checkpoint_every", self.checkpoint_every),
        ] {
            if v == 0 || v > 1 << 16 {
                return Err(Error::config(name, v, "must be in 1..=65536"));
            }
        }
        for (name, xs) in [
            ("task_kb_max", &self.task_kb_max),
            ("arrival_prob_max", &self.arrival_prob_max),
            ("node_failure_max", &self.node_failure_max),
        ] {
            if let Some((k, x)) = xs.iter().enumerate().find(|(_, x)| !(x.is_finite() && **x >= 0.0)) {
                return Err(Error::config(format!("{name}[{k}]"), x, "must be finite and >= 0"));
            }
        }
        self.o2o.validate()?;
        for p in self.points() {
            p.system.validate().map_err(|e| match e {
                Error::Config { field, value, why } => {
                    Error::Config { field: format!("{} ({}): {field}", p.stem(), p.figure), value, why }
                }
                other => other,
            })?;
        }
        Ok(())
    }

    /// Every point: the base, Fig. 4's other sources, Fig. 5a–c's and Fig. 6's settings.
    pub fn points(&self) -> Vec<Point> {
        let base = |figure, x, system| Point { figure, x, system, source: self.source };
        let mut v = vec![base("base", 0.0, self.coop.clone())];
        for (k, &s) in self.sources.iter().enumerate() {
            if s != self.source {
                v.push(Point { figure: "fig4", x: k as f64, system: self.coop.clone(), source: s });
            }
        }
        for &x in &self.task_kb_max {
            v.push(base("fig5a", x, CoopConfig { task_bits_max: x * 8_000.0, ..self.coop.clone() }));
        }
        for &x in &self.arrival_prob_max {
            v.push(base("fig5b", x, CoopConfig { arrival_prob_max: x, ..self.coop.clone() }));
        }
        for &x in &self.node_failure_max {
            v.push(base("fig5c", x, CoopConfig { node_failure_max: x, ..self.coop.clone() }));
        }
        for &n in &self.nodes {
            v.push(base("fig6", n as f64, CoopConfig { n_nodes: n, ..self.coop.clone() }));
        }
        v
    }

    /// The learners trained at `p`: O2O, whose offline phase is offline-only (trained alone,
    /// without the online phase, when only offline-only is asked for), and online-only; at
    /// Fig. 4's points O2O only.
    pub fn learners(&self, p: &Point) -> Vec<Variant> {
        let has = |v: Variant| self.variants.contains(&v);
        let mut out = vec![];
        if has(Variant::O2o) {
            out.push(Variant::O2o);
        } else if has(Variant::OfflineOnly) && p.full() {
            out.push(Variant::OfflineOnly);
        }
        if has(Variant::OnlineOnly) && p.full() {
            out.push(Variant::OnlineOnly);
        }
        out
    }

    /// Units of progress: one per slot simulated (logs, online updates, evaluations, tests)
    /// and one per offline gradient step.
    pub fn work_units(&self) -> u64 {
        let mut total = 0u64;
        let o = &self.o2o;
        for p in self.points() {
            let slots = p.system.episode_slots() as u64;
            let evals = offline_points(o.offline.steps, o.offline.eval_every).len() as u64;
            let test = self.test_episodes as u64 * slots;
            for v in self.learners(&p) {
                if v.offline() {
                    total +=
                        self.log_episodes as u64 * slots + o.offline.steps + evals * o.eval_episodes as u64 * slots;
                    total += test;
                }
                if v.online() {
                    total += o.online.updates * slots * (1 + o.eval_episodes as u64) + test;
                }
            }
            if p.full() {
                total += self.heuristics.len() as u64 * self.test_episodes as u64 * slots;
            }
        }
        total
    }
}

/// The offline steps after which the actor is evaluated (Fig. 3's offline part): 0, every
/// `every` steps, and the last.
pub fn offline_points(steps: u64, every: u64) -> Vec<u64> {
    let mut v = vec![0];
    if let Some(k) = steps.checked_div(every) {
        v.extend((1..=k).map(|k| k * every));
    }
    if *v.last().unwrap_or(&0) != steps {
        v.push(steps);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_bad_fields() {
        let c = O2oRunConfig { task_kb_max: vec![4000.0, 8000.0], nodes: vec![10, 30], ..Default::default() };
        c.validate().unwrap();
        let stems: Vec<String> = c.points().iter().map(|p| p.stem()).collect();
        assert_eq!(stems, ["base", "fig4_rda", "fig4_random", "fig5a_4000", "fig5a_8000", "fig6_10", "fig6_30"]);
        assert_eq!(c.points()[3].system.task_bits_max, 3.2e7);
        assert_eq!(offline_points(10, 4), vec![0, 4, 8, 10]);
        assert_eq!(offline_points(8, 4), vec![0, 4, 8]);
        assert_eq!(offline_points(0, 4), vec![0]);
        let bad = O2oRunConfig { test_episodes: 0, ..Default::default() };
        assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "test_episodes"));
        let bad = O2oRunConfig { arrival_prob_max: vec![0.5, f64::NAN], ..Default::default() };
        assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "arrival_prob_max[1]"));
        let bad = O2oRunConfig { nodes: vec![0], ..Default::default() };
        assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field.starts_with("fig6_0")));
    }
}
