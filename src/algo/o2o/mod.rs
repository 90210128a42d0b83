//! O2O-DRL (seed 003, Lin et al., §IV-C): one actor, critic and twin Q network shared by the
//! edge nodes of `coop`, trained offline from a heuristic's task log by discrete SAC with the
//! CQL regularizer (Alg. 1, eq. 10–12), then fine-tuned online by PPO with GAE (Alg. 2,
//! eq. 13–19). Decisions: docs/o2o.md.

pub mod config;
pub mod kernels;
pub mod learner;
pub mod offline;
pub mod online;
pub mod replay;

pub use config::{ActorState, O2oConfig, OfflineConfig, OnlineConfig, Variant};
pub use learner::O2o;
pub use offline::OfflineStats;
pub use online::OnlineStats;
pub use replay::OfflineReplay;
