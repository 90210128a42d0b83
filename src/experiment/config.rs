//! The run config (`configs/mec.toml`): one file, validated on load; errors name the field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::mec::MecConfig;
use crate::error::{Error, Result};
use crate::search::levy::LevyConfig;

/// A method evaluated by `mecrl run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Every task local.
    Local,
    /// Random target, local when the MEC is full.
    Random,
    /// Nearest MEC, largest tasks local when full.
    Greedy,
    /// Proposed Lévy search, mode `exact` (a evolved; f, p by the allocation).
    LevyExact,
    /// Proposed Lévy search, mode `paper` (a, f, p evolved, eq. 24).
    LevyPaper,
    /// Classic Lévy flight of Fig. 7 (eq. 23 with rounding), exact allocation.
    LevyClassic,
}

impl Method {
    /// Name in tables and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Method::Local => "local",
            Method::Random => "random",
            Method::Greedy => "greedy",
            Method::LevyExact => "levy_exact",
            Method::LevyPaper => "levy_paper",
            Method::LevyClassic => "levy_classic",
        }
    }
}

fn default_methods() -> Vec<Method> {
    vec![Method::Local, Method::Random, Method::Greedy, Method::LevyClassic, Method::LevyPaper, Method::LevyExact]
}

/// `mecrl run` configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The system: `"mec"` (the key may be omitted).
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (environment and search keys derive from it).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// B, independent instances evaluated together.
    pub batch: usize,
    /// Channel realizations (steps) evaluated per instance.
    pub steps: usize,
    /// Methods to evaluate, in table order.
    pub methods: Vec<Method>,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// The system.
    pub mec: MecConfig,
    /// The Lévy search (its `mode` and `variant` are set per method).
    pub levy: LevyConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            system: "mec".into(),
            name: "mec".into(),
            seed: 1,
            backend: "auto".into(),
            batch: 64,
            steps: 1,
            methods: default_methods(),
            out_dir: PathBuf::from("runs"),
            mec: MecConfig::default(),
            levy: LevyConfig::default(),
        }
    }
}

impl RunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let cfg: RunConfig = super::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        super::common::check_common("mec", &self.system, &self.name, &self.backend)?;
        if self.batch == 0 {
            return Err(Error::config("batch", self.batch, "must be >= 1"));
        }
        if self.steps == 0 {
            return Err(Error::config("steps", self.steps, "must be >= 1"));
        }
        if self.methods.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one method"));
        }
        self.mec.validate()?;
        self.levy.validate()?;
        Ok(())
    }
}
