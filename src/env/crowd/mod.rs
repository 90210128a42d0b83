//! `crowd` — the crowd-edge system of mixed MAPPO (the mixed-MAPPO paper, Yao et al.,
//! §III–§VI; the model and every modelling decision in `docs/crowd.md`).
//!
//! Each mobile device (MD) is both a user (an agent that generates tasks and decides where they
//! run) and a computation unit. S base stations (BSs) each host an edge server and form a cell;
//! the MDs of a cell sit in `clusters_per_cell` clusters; a cloud sits behind every BS.
//!
//! Indices (identical in every instance of a batch; the topology is shared, the state is not):
//! - users/MDs `i` in `0..N`, grouped by cell: cell `c` holds `cell_off[c]..cell_off[c+1]`;
//! - units `u`: MD `j` → `j`, edge server `b` → `N + b`, cloud → `N + S` (U = N + S + 1);
//! - links `l`: wireless link of MD `j` (MD ↔ its BS) → `j`, wired link between BSs `b1 < b2`
//!   → `N + pair(b1, b2)`, backbone BS `b` ↔ cloud → `N + S(S−1)/2 + b` (L = N + S(S−1)/2 + S);
//! - an action is `slot · R + level`: target slot 0 = local, `1..=K` = the k-th next MD of the
//!   user's cell (cyclic), `K+1..=K+S` = edge server `slot − K − 1`, `K+S+1` = cloud (A = K+S+2
//!   slots), `level` indexes `rate_levels` (the requested rate is level × the route's bottleneck).
//!
//! Buffers (batch outermost): `ctl` \[B,N\] u32 slots to the next arrival, `task` \[B,N,3\] u32
//! (tasks K, demand s in units, data o in MB), `cap` \[B,N\] f32 MD capacity F_j(t) (Hz), `q`
//! \[B,U\] f32 backlog Q_u (cycles), `v` \[B,L\] f32 virtual queue V_l (bits), `action` \[B,N\] u32,
//! `obs` [B,N,3+3A] f32, `est` \[B,N\] f32, `load` [B,U+L] f32 (Σ s per unit in cycles, Σ x per link
//! in bit/s), `out` \[B,N,2\] f32 (E_i, cost_i), `reward` \[B\] f32, `slot` \[B,16\] f32 slot metrics
//! ([`metric`]), `counts` \[B,8\] u32 cumulative task accounting ([`count`]).

pub mod config;
pub mod contract;
pub mod cpu;
pub mod env;
pub mod kernels;
pub mod model;

pub use config::*;
pub use env::CrowdEnv;
