//! The configuration of an MRLCO run (`configs/mrlco.toml`, `system = "mrlco"`): the data
//! sets (the `dag` system's grids), the learner's hyper-parameters and the experiments, each a
//! group of grids whose training sets are the training tasks and whose test sets are adapted to.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::algo::mrlco::{Method, MrlcoConfig};
use crate::env::dag::eval::DagMethod;
use crate::env::dag::gen::DagGenConfig;
use crate::env::dag::model::DagSystem;
use crate::error::{Error, Result};
use crate::experiment::dag::{DagGrid, DagRunConfig};

/// One experiment of Table 3: grids, and the meta batch (the paper: 10; 5 in experiment 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Label (file names, table rows).
    pub name: String,
    /// The figure it reproduces (e.g. "Fig. 6"), for titles.
    pub figure: String,
    /// The grids whose data sets it uses: role `train` sets are the training tasks, role
    /// `test` sets the unseen tasks.
    pub grids: Vec<String>,
    /// Learning tasks per meta-iteration n.
    pub meta_batch: usize,
}

/// `mecrl run` configuration of MRLCO.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MrlcoRunConfig {
    /// Must be `"mrlco"`.
    pub system: String,
    /// Name of the run.
    pub name: String,
    /// Master seed: the data sets derive from it, and the learners from `mrlco.seed`.
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// The learners trained and adapted (Table 3's learned columns).
    pub methods: Vec<Method>,
    /// The heuristic columns of Table 3.
    pub baselines: Vec<DagMethod>,
    /// Save the training state every this many iterations (and at the end).
    pub checkpoint_every: usize,
    /// The UE–MEC system.
    pub dag: DagSystem,
    /// The generator.
    pub dag_gen: DagGenConfig,
    /// The learners' hyper-parameters.
    pub mrlco: MrlcoConfig,
    /// The data set grids.
    pub grid: Vec<DagGrid>,
    /// The experiments.
    pub experiment: Vec<ExperimentSpec>,
}

impl Default for MrlcoRunConfig {
    fn default() -> Self {
        MrlcoRunConfig {
            system: "mrlco".into(),
            name: "mrlco".into(),
            seed: 1,
            backend: "cpu".into(),
            out_dir: PathBuf::from("runs"),
            methods: vec![Method::Mrlco, Method::FineTune],
            baselines: vec![
                DagMethod::Optimal,
                DagMethod::Heft,
                DagMethod::Greedy,
                DagMethod::AllLocal,
                DagMethod::AllMec,
            ],
            checkpoint_every: 10,
            dag: DagSystem::default(),
            dag_gen: DagGenConfig::default(),
            mrlco: MrlcoConfig::default(),
            grid: vec![],
            experiment: vec![],
        }
    }
}

impl MrlcoRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: MrlcoRunConfig = crate::experiment::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The data sets as the `dag` system's run configuration.
    pub fn data(&self) -> DagRunConfig {
        DagRunConfig {
            system: "dag".into(),
            name: self.name.clone(),
            seed: self.seed,
            backend: self.backend.clone(),
            out_dir: self.out_dir.clone(),
            methods: self.baselines.clone(),
            write_dot: false,
            dag: self.dag.clone(),
            dag_gen: self.dag_gen.clone(),
            grid: self.grid.clone(),
        }
    }

    /// The learner configuration of experiment `e`.
    pub fn learner(&self, e: &ExperimentSpec) -> MrlcoConfig {
        MrlcoConfig { meta_batch: e.meta_batch, ..self.mrlco.clone() }
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        crate::experiment::common::check_common("mrlco", &self.system, &self.name, &self.backend)?;
        if self.methods.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one of mrlco, fine_tune"));
        }
        if self.checkpoint_every == 0 {
            return Err(Error::config("checkpoint_every", 0, "must be >= 1"));
        }
        self.mrlco.validate()?;
        self.data().validate()?;
        if self.experiment.is_empty() {
            return Err(Error::config("experiment", "[]", "list at least one [[experiment]]"));
        }
        for (i, e) in self.experiment.iter().enumerate() {
            let f = |x: &str| format!("experiment[{i}].{x}");
            if e.name.is_empty() || !e.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(Error::config(f("name"), &e.name, "must be non-empty: letters, digits, '_' or '-'"));
            }
            if self.experiment[..i].iter().any(|o| o.name == e.name) {
                return Err(Error::config(f("name"), &e.name, "experiment names must be unique"));
            }
            if e.grids.is_empty() {
                return Err(Error::config(f("grids"), "[]", "list at least one grid"));
            }
            if let Some(g) = e.grids.iter().find(|g| !self.grid.iter().any(|x| &x.name == *g)) {
                return Err(Error::config(f("grids"), g, "names no [[grid]]"));
            }
            self.learner(e).validate().map_err(|err| match err {
                Error::Config { field, value, why } if field == "mrlco.meta_batch" => {
                    Error::Config { field: f("meta_batch"), value, why }
                }
                other => other,
            })?;
        }
        Ok(())
    }
}
