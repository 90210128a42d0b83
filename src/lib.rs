//! mecrl — batched task-offloading environments, search and learning for mobile edge
//! computing, on CPU (rayon), WGSL (wgpu) and CUDA (NVRTC + cudarc).
//!
//! Five published systems, each as a batch of B instances stepped together on a [`backend`]:
//!
//! | system | paper | environment | baselines | learner |
//! |---|---|---|---|---|
//! | `mec` | DIRS (Jiang et al.) | [`env::mec`] | Local, Greedy, Random; [`search::levy`] | [`algo::dirs`]; [`algo::ac`], [`algo::ddpg`] |
//! | `dag` | MRLCO (Wang et al.) | [`env::dag`] | Greedy, HEFT, all-local, all-MEC, Optimal | [`algo::mrlco`] |
//! | `crowd` | mixed MAPPO (Yao et al.) | [`env::crowd`] | drift-plus-penalty, Greedy, Random | [`algo::mappo`] (mixed MAPPO; MAPPO, MAA3C, MADQN) |
//! | `coop` | O2O-DRL (Lin et al.) | [`env::coop`] | RATC, RDA, Random | [`algo::o2o`] (offline SAC + CQL, online PPO) |
//! | `endedge` | CRB-DRQN (Mao et al.) | [`env::endedge`] | Local, Random, Greedy | [`algo::crbdrqn`] (Decentralized, QMIX, MAPPO) |
//!
//! Every system also implements the one environment contract [`env::contract::BatchEnv`]
//! (caller-owned device buffers, masks, episodes). The learners are built from [`nn`] (layers
//! over the reverse-mode tape of [`autograd`], optimizers, checkpoints) and the shared on-policy
//! core ([`algo::rollout`], [`algo::gae`], [`algo::ppo`]); [`experiment`] runs configs into run
//! directories and reproduces the papers' tables and figures. The model reference — formulas with
//! the papers' equation numbers, defaults, decisions — is in the repository's `docs/`.
//!
//! ```no_run
//! use mecrl::env::contract::{BatchEnv, EnvBuffers};
//! use mecrl::env::endedge::{contract::EndedgeBatchEnv, EndedgeConfig};
//!
//! # fn main() -> mecrl::Result<()> {
//! let be = mecrl::backend::create(mecrl::BackendKind::Cpu)?;
//! let mut env = EndedgeBatchEnv::new(be.clone(), &EndedgeConfig::default(), 256)?;
//! let out = EnvBuffers::new(be.as_ref(), env.spec())?;
//! env.reset(7, &out)?;
//! let actions = vec![0u32; env.spec().batch * env.spec().agents]; // every terminal computes locally
//! env.step_host(&actions, &out)?;
//! let reward: Vec<f32> = be.download(&out.reward)?.into_iter().map(f32::from_bits).collect();
//! # let _ = reward;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod algo;
pub mod autograd;
pub mod backend;
pub mod bench;
pub mod catalog;
pub mod checksum;
pub mod env;
pub mod error;
pub mod experiment;
pub mod isa;
pub mod math;
pub mod memory;
pub mod nn;
pub mod ops;
pub mod output;
pub mod rng;
pub mod search;
pub mod tensor;

pub use backend::{Backend, BackendChoice, BackendKind, Buffer};
pub use error::{Error, Result};

/// The crate version (written into run manifests).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the crate was built from (`git describe --always --dirty --abbrev=40`, so a
/// build with uncommitted changes ends in `-dirty`), or `"unknown"` outside a git checkout.
/// Written into run manifests and `mecrl --version`.
pub const GIT_COMMIT: &str = env!("MECRL_GIT_COMMIT");
