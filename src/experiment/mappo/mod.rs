//! The experiments of the mixed-MAPPO paper (`configs/mappo.toml`, `mecrl reproduce mappo`):
//! per task case, each learner trains for `episodes` episodes (the training curve of Fig. 3:
//! unit delay per episode), then every learner and heuristic runs the same `test_episodes`
//! (Fig. 4 and the Table III metrics: unit delay, node load rates per kind, E2E and E2D link
//! load rates). The config in [`config`], what a run keeps in [`results`], the resumable
//! pipeline in [`pipeline`], the tables and figures in [`outputs`].

pub mod config;
pub mod outputs;
pub mod pipeline;
pub mod results;

pub use config::MappoRunConfig;
pub use pipeline::{heuristic_test, paper_config, reproduce, run, run_in};
pub use results::{EpisodeRow, Results, TestRow};
