//! mecrl — batched task-offloading environments, search and learning for mobile edge
//! computing, on CPU (rayon), WGSL (wgpu) and CUDA (NVRTC + cudarc).
//!
//! This crate implements the systems that `docs/` describes (one page per system); the walking
//! skeleton covers the DIRS `mec` system: [`env::mec`] (environment and exact allocation),
//! [`search::levy`] (population Lévy flight search) and the baselines, on every [`backend`].
#![warn(missing_docs)]

pub mod algo;
pub mod autograd;
pub mod backend;
pub mod bench;
pub mod catalog;
pub mod env;
pub mod error;
pub mod experiment;
pub mod math;
pub mod nn;
pub mod ops;
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
