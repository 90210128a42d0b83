//! CRB-DRQN (seed 004, Mao et al., §4): per-terminal agents sharing one LSTM dueling double-DQN
//! trained by the edge server from a central pool of n-step trajectories drawn by familiarity
//! (eq. 20–25), on the `endedge` system. Decisions: docs/crbdrqn.md.

pub mod config;
pub mod episodes;
pub mod kernels;
pub mod learner;
pub mod net;
pub mod onpolicy;
pub mod pool;
pub mod qmix;

pub use config::{BaselineConfig, CrbDrqnConfig, Method, QmixConfig};
pub use learner::{CrbDrqn, EpisodeStats};
pub use onpolicy::OnPolicy;
pub use qmix::Qmix;
