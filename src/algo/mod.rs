//! Learning algorithms, one file per algorithm (a Config with a doc comment per field), behind
//! one backbone: the [`Agent`] trait (config, train with callbacks, act, save/load) that DIRS,
//! Actor-Critic, DDPG and the heuristics implement; the training-state files they share
//! ([`state`]) and the shared replay memory.

pub mod ac;
pub mod agent;
pub mod crbdrqn;
pub mod ddpg;
pub mod dirs;
pub mod gae;
pub mod mappo;
pub mod mec_drl;
pub mod mrlco;
pub mod o2o;
pub mod ppo;
pub mod replay;
pub mod rollout;
pub mod sequence_replay;
pub mod state;

pub use agent::{Agent, Decisions, OnStep};
