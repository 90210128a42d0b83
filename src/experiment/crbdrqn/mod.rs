//! CRB-DRQN experiments on `endedge` (seed 004, §5): the learners trained at every point of
//! Fig. 5 (terminals D) and Fig. 6 (arrival rate), tested with the heuristics on the same
//! episodes; Fig. 4's curves and convergence; resumable (`configs/crbdrqn.toml`,
//! `mecrl reproduce crbdrqn`).

pub mod config;
pub mod outputs;
pub mod pipeline;
pub mod results;

pub use config::CrbDrqnRunConfig;
pub use pipeline::{paper_config, reproduce, run, run_in};
