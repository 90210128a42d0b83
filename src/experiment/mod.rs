//! Experiments: TOML configs, the runners that evaluate methods on a batch of instances, and the
//! run directory (results CSV + JSON manifest) they write.
//!
//! A config names its system with the top-level key `system` (`"mec"` when absent);
//! [`AnyConfig`] reads the key and hands the file to that system's config type.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::Backend;
use crate::error::{Error, Result};

pub mod common;
pub mod config;
pub mod coop;
pub mod crbdrqn;
pub mod crowd;
pub mod dag;
pub mod dag_dot;
pub mod dirs;
pub mod dirs_reproduce;
pub mod endedge;
pub mod finish;
pub mod mappo;
pub mod memory;
pub mod mrlco;
pub mod o2o;
pub mod plot;
pub mod progress;
pub mod rundir;
pub mod runner;
pub mod sweep;

pub use common::{check_common, parse_toml, pick_backend, Report};
pub use config::{Method, RunConfig};
pub use coop::CoopRunConfig;
pub use crbdrqn::CrbDrqnRunConfig;
pub use crowd::CrowdRunConfig;
pub use dag::DagRunConfig;
pub use dirs::DirsRunConfig;
pub use endedge::EndedgeRunConfig;
pub use mappo::MappoRunConfig;
pub use mrlco::MrlcoRunConfig;
pub use o2o::O2oRunConfig;
pub use runner::{run_mec, MethodResult, RunReport};

/// The systems `mecrl run` knows.
pub const SYSTEMS: [&str; 10] = ["mec", "dirs", "dag", "mrlco", "crowd", "mappo", "coop", "o2o", "endedge", "crbdrqn"];

/// A run config of any system.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyConfig {
    /// DIRS `mec` (`configs/mec.toml`).
    Mec(RunConfig),
    /// DIRS training and evaluation on `mec` (`configs/dirs.toml`).
    Dirs(DirsRunConfig),
    /// MRLCO `dag` (`configs/dag.toml`).
    Dag(DagRunConfig),
    /// MRLCO training and adaptation on `dag` (`configs/mrlco.toml`).
    Mrlco(MrlcoRunConfig),
    /// Mixed-MAPPO `crowd` (`configs/crowd.toml`).
    Crowd(CrowdRunConfig),
    /// MAPPO and mixed MAPPO on `crowd` (`configs/mappo.toml`).
    Mappo(MappoRunConfig),
    /// O2O-DRL `coop` (`configs/coop.toml`).
    Coop(CoopRunConfig),
    /// O2O-DRL and its comparison on `coop` (`configs/o2o.toml`).
    O2o(O2oRunConfig),
    /// CRB-DRQN `endedge` (`configs/endedge.toml`).
    Endedge(EndedgeRunConfig),
    /// CRB-DRQN and its baselines on `endedge` (`configs/crbdrqn.toml`).
    Crbdrqn(CrbDrqnRunConfig),
}

impl AnyConfig {
    /// Parse and validate TOML text; the system comes from the `system` key (`mec` if absent).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let table: toml::Table = parse_toml(text, path)?;
        let system = match table.get("system") {
            None => "mec",
            Some(toml::Value::String(s)) => s.as_str(),
            Some(v) => return Err(Error::config("system", v, "must be a string")),
        };
        match system {
            "mec" => Ok(AnyConfig::Mec(RunConfig::from_toml(text, path)?)),
            "dirs" => Ok(AnyConfig::Dirs(DirsRunConfig::from_toml(text, path)?)),
            "dag" => Ok(AnyConfig::Dag(DagRunConfig::from_toml(text, path)?)),
            "mrlco" => Ok(AnyConfig::Mrlco(MrlcoRunConfig::from_toml(text, path)?)),
            "crowd" => Ok(AnyConfig::Crowd(CrowdRunConfig::from_toml(text, path)?)),
            "mappo" => Ok(AnyConfig::Mappo(MappoRunConfig::from_toml(text, path)?)),
            "coop" => Ok(AnyConfig::Coop(CoopRunConfig::from_toml(text, path)?)),
            "o2o" => Ok(AnyConfig::O2o(O2oRunConfig::from_toml(text, path)?)),
            "endedge" => Ok(AnyConfig::Endedge(EndedgeRunConfig::from_toml(text, path)?)),
            "crbdrqn" => Ok(AnyConfig::Crbdrqn(CrbDrqnRunConfig::from_toml(text, path)?)),
            other => Err(Error::config("system", other, format!("expected one of {SYSTEMS:?}"))),
        }
    }

    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Apply command-line overrides, then validate again. `case` (`--case`) is the `crowd`
    /// system's only; any other system answers it with an error.
    pub fn override_with(
        &mut self,
        backend: Option<String>,
        seed: Option<u64>,
        out_dir: Option<PathBuf>,
        case: Option<String>,
    ) -> Result<()> {
        if let Some(c) = case {
            match self {
                AnyConfig::Crowd(cfg) => cfg.cases = vec![crate::env::crowd::Case::parse("--case", &c)?.name().into()],
                AnyConfig::Mappo(cfg) => cfg.cases = vec![crate::env::crowd::Case::parse("--case", &c)?.name().into()],
                other => return Err(Error::config("--case", c, format!("the {} system has no cases", other.system()))),
            }
        }
        let (b, s, o) = match self {
            AnyConfig::Mec(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Dirs(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Dag(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Mrlco(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Crowd(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Mappo(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Coop(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Endedge(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::O2o(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
            AnyConfig::Crbdrqn(c) => (&mut c.backend, &mut c.seed, &mut c.out_dir),
        };
        if let Some(x) = backend {
            *b = x;
        }
        if let Some(x) = seed {
            *s = x;
        }
        if let Some(x) = out_dir {
            *o = x;
        }
        self.validate()
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        match self {
            AnyConfig::Mec(c) => c.validate(),
            AnyConfig::Dirs(c) => c.validate(),
            AnyConfig::Dag(c) => c.validate(),
            AnyConfig::Mrlco(c) => c.validate(),
            AnyConfig::Crowd(c) => c.validate(),
            AnyConfig::Mappo(c) => c.validate(),
            AnyConfig::Coop(c) => c.validate(),
            AnyConfig::Endedge(c) => c.validate(),
            AnyConfig::O2o(c) => c.validate(),
            AnyConfig::Crbdrqn(c) => c.validate(),
        }
    }

    /// The system's name.
    pub fn system(&self) -> &'static str {
        match self {
            AnyConfig::Mec(_) => "mec",
            AnyConfig::Dirs(_) => "dirs",
            AnyConfig::Dag(_) => "dag",
            AnyConfig::Mrlco(_) => "mrlco",
            AnyConfig::Crowd(_) => "crowd",
            AnyConfig::Mappo(_) => "mappo",
            AnyConfig::Coop(_) => "coop",
            AnyConfig::Endedge(_) => "endedge",
            AnyConfig::O2o(_) => "o2o",
            AnyConfig::Crbdrqn(_) => "crbdrqn",
        }
    }

    /// Run name (the run directory's prefix).
    pub fn name(&self) -> &str {
        match self {
            AnyConfig::Mec(c) => &c.name,
            AnyConfig::Dirs(c) => &c.name,
            AnyConfig::Dag(c) => &c.name,
            AnyConfig::Mrlco(c) => &c.name,
            AnyConfig::Crowd(c) => &c.name,
            AnyConfig::Mappo(c) => &c.name,
            AnyConfig::Coop(c) => &c.name,
            AnyConfig::Endedge(c) => &c.name,
            AnyConfig::O2o(c) => &c.name,
            AnyConfig::Crbdrqn(c) => &c.name,
        }
    }

    /// The backend choice (`auto`, `cpu`, `wgpu`, `cuda`).
    pub fn backend(&self) -> &str {
        match self {
            AnyConfig::Mec(c) => &c.backend,
            AnyConfig::Dirs(c) => &c.backend,
            AnyConfig::Dag(c) => &c.backend,
            AnyConfig::Mrlco(c) => &c.backend,
            AnyConfig::Crowd(c) => &c.backend,
            AnyConfig::Mappo(c) => &c.backend,
            AnyConfig::Coop(c) => &c.backend,
            AnyConfig::Endedge(c) => &c.backend,
            AnyConfig::O2o(c) => &c.backend,
            AnyConfig::Crbdrqn(c) => &c.backend,
        }
    }

    /// Where run directories are created.
    pub fn out_dir(&self) -> &Path {
        match self {
            AnyConfig::Mec(c) => &c.out_dir,
            AnyConfig::Dirs(c) => &c.out_dir,
            AnyConfig::Dag(c) => &c.out_dir,
            AnyConfig::Mrlco(c) => &c.out_dir,
            AnyConfig::Crowd(c) => &c.out_dir,
            AnyConfig::Mappo(c) => &c.out_dir,
            AnyConfig::Coop(c) => &c.out_dir,
            AnyConfig::Endedge(c) => &c.out_dir,
            AnyConfig::O2o(c) => &c.out_dir,
            AnyConfig::Crbdrqn(c) => &c.out_dir,
        }
    }

    /// The work directory of a learner's run (`<out_dir>/<name>.partial/`: checkpoints a rerun
    /// continues from); None for the systems without training.
    pub fn work_dir(&self) -> Option<PathBuf> {
        match self {
            AnyConfig::Dirs(c) => Some(c.work_dir()),
            AnyConfig::Mrlco(c) => Some(mrlco::work_dir(c)),
            AnyConfig::Mappo(c) => Some(mappo::pipeline::work_dir(c)),
            AnyConfig::O2o(c) => Some(o2o::pipeline::work_dir(c)),
            AnyConfig::Crbdrqn(c) => Some(crbdrqn::pipeline::work_dir(c)),
            _ => None,
        }
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        match self {
            AnyConfig::Mec(c) => c.seed,
            AnyConfig::Dirs(c) => c.seed,
            AnyConfig::Dag(c) => c.seed,
            AnyConfig::Mrlco(c) => c.seed,
            AnyConfig::Crowd(c) => c.seed,
            AnyConfig::Mappo(c) => c.seed,
            AnyConfig::Coop(c) => c.seed,
            AnyConfig::Endedge(c) => c.seed,
            AnyConfig::O2o(c) => c.seed,
            AnyConfig::Crbdrqn(c) => c.seed,
        }
    }

    /// Units of progress of the run (for a progress bar).
    pub fn work_units(&self) -> u64 {
        match self {
            AnyConfig::Mec(c) => runner::work_units(c),
            AnyConfig::Dirs(c) => c.work_units(),
            AnyConfig::Dag(c) => c.work_units(),
            AnyConfig::Mrlco(c) => mrlco::work_units(c),
            AnyConfig::Crowd(c) => c.work_units(),
            AnyConfig::Mappo(c) => c.work_units(),
            AnyConfig::Coop(c) => c.work_units(),
            AnyConfig::Endedge(c) => c.work_units(),
            AnyConfig::O2o(c) => c.work_units(),
            AnyConfig::Crbdrqn(c) => c.work_units(),
        }
    }

    /// The config as JSON (for the manifest).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AnyConfig::Mec(c) => serde_json::to_value(c),
            AnyConfig::Dirs(c) => serde_json::to_value(c),
            AnyConfig::Dag(c) => serde_json::to_value(c),
            AnyConfig::Mrlco(c) => serde_json::to_value(c),
            AnyConfig::Crowd(c) => serde_json::to_value(c),
            AnyConfig::Mappo(c) => serde_json::to_value(c),
            AnyConfig::Coop(c) => serde_json::to_value(c),
            AnyConfig::Endedge(c) => serde_json::to_value(c),
            AnyConfig::O2o(c) => serde_json::to_value(c),
            AnyConfig::Crbdrqn(c) => serde_json::to_value(c),
        }
        .unwrap_or(serde_json::Value::Null)
    }

    /// Refuse a config whose run would not fit the memory budget ([`crate::memory`]): the
    /// error names the field that sizes the largest allocation.
    pub fn check_memory(&self) -> Result<()> {
        self.memory().check()
    }

    /// What a run of this config allocates, estimated ([`memory`]).
    pub fn memory(&self) -> crate::memory::Need {
        match self {
            AnyConfig::Mec(c) => memory::mec(c),
            AnyConfig::Dirs(c) => memory::dirs(c),
            AnyConfig::Dag(c) => memory::dag(&c.grid),
            AnyConfig::Mrlco(c) => memory::mrlco(c),
            AnyConfig::Crowd(c) => memory::crowd_env(&c.crowd, c.batch, "batch"),
            AnyConfig::Mappo(c) => memory::mappo(c),
            AnyConfig::Coop(c) => {
                let nodes = c
                    .sweep
                    .iter()
                    .filter(|s| s.axis == coop::CoopAxis::Nodes)
                    .flat_map(|s| s.values.iter().map(|&v| v.clamp(0.0, 1e15) as usize))
                    .fold(c.coop.n_nodes, usize::max);
                let field = if nodes > c.coop.n_nodes { "sweep.values" } else { "coop.n_nodes" };
                memory::coop_env(&c.coop, nodes, c.batch, "batch", field)
            }
            AnyConfig::O2o(c) => memory::o2o(c),
            AnyConfig::Endedge(c) => memory::endedge(c),
            AnyConfig::Crbdrqn(c) => memory::crbdrqn(c),
        }
    }

    /// Run every method of the config on `backend` (after [`AnyConfig::check_memory`]). `tick`
    /// advances a progress bar.
    pub fn run(&self, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<Report> {
        self.check_memory()?;
        match self {
            AnyConfig::Mec(c) => Ok(run_mec(c, backend, tick)?.report(c.batch)),
            AnyConfig::Dirs(c) => dirs::run(c, backend, tick),
            AnyConfig::Dag(c) => dag::run(c, backend, tick),
            AnyConfig::Mrlco(c) => mrlco::run(c, backend, tick),
            AnyConfig::Crowd(c) => crowd::run(c, backend, tick),
            AnyConfig::Mappo(c) => mappo::run(c, backend, tick),
            AnyConfig::Coop(c) => coop::run(c, backend, tick),
            AnyConfig::Endedge(c) => endedge::run(c, backend, tick),
            AnyConfig::O2o(c) => o2o::run(c, backend, tick),
            AnyConfig::Crbdrqn(c) => crbdrqn::run(c, backend, tick),
        }
    }
}
