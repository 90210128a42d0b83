//! The O2O-DRL experiments (`configs/o2o.toml`, `mecrl reproduce o2o`): Fig. 3–6 of the paper
//! on the `coop` system. Decisions: docs/o2o.md.

pub mod config;
pub mod outputs;
pub mod pipeline;
pub mod results;

pub use config::O2oRunConfig;
pub use pipeline::{paper_config, reproduce, run, run_in};
