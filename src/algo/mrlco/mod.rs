//! MRLCO (MRLCO paper §4, Algorithm 1): the Seq2Seq policy ([`crate::nn::seq2seq`]) trained by
//! first-order meta-reinforcement learning over learning tasks (data sets of DAGs), with PPO
//! ([`crate::algo::ppo`]) in the inner loop, and the fine-tuning DRL baseline (the same network
//! pretrained on all training tasks without meta-learning). Decisions the paper leaves open
//! and where mecrl differs from the published code: docs/mrlco.md.
//!
//! - [`config`]: the hyper-parameters;
//! - [`task`]: a learning task on the device (graphs, features, rollouts, greedy latency);
//! - [`policy`]: the network as a PPO policy and the meta-gradient's parameter arithmetic;
//! - [`learner`]: the meta-learner, the pretrainer, adaptation to a new task, checkpoints.

pub mod config;
pub mod learner;
pub mod policy;
pub mod task;

pub use config::{InnerOptimizer, MrlcoConfig, OuterRule};
pub use learner::{adapt, load_policy, Learner, Method};
pub use task::Task;
