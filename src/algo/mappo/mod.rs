//! MAPPO and mixed MAPPO (the mixed-MAPPO paper, Yao et al., §V-B, Algorithm 2) on the `crowd`
//! system: recurrent parameter-shared actors over each user's observation, K recurrent critics
//! over the global state averaged with weights ς_n, the drift-plus-penalty comparison of
//! Algorithm 1 (line 5), on the shared on-policy core (`algo::rollout`, `algo::gae`,
//! `algo::ppo`). Decisions: docs/mappo.md.

pub mod config;
pub mod driver;
pub mod kernels;
pub mod learner;
pub mod madqn;
pub mod nets;

pub use config::{MadqnConfig, MappoConfig, Method, Mix};
pub use driver::{Metrics, ValueNorm};
pub use learner::{Learner, RoundStats};
pub use madqn::DqnLearner;
