//! Experiments: TOML configs, the runner that evaluates methods on a batch of instances, and the
//! run directory (results CSV + JSON manifest) it writes.

pub mod config;
pub mod rundir;
pub mod runner;

pub use config::{Method, RunConfig};
pub use runner::{run_mec, MethodResult, RunReport};
