//! `mec` — the DIRS environment (DIRS paper §III; docs/mec.md).
//!
//! B instances × N IoTDs × M MEC servers. Buffers (f32 unless noted, batch outermost):
//! `iotd_pos` \[B,2,N\] (x row, y row), `mec_pos` \[B,2,M\], `task_d` \[B,N\] bits, `task_f` \[B,N\]
//! cycles, `h` \[B,N,M\] channel gains, `hn` \[B,N,M\] = h_ij / Σ_j h_ij, `p_opt` \[B,N,M\] optimal
//! transmit power, `cost` [B,N,M+1] (column 0: local Φ_i; column j: the transmission part
//! (φ_T + φ_E p*)·D_i / r_ij at p*), `sqrt_f` \[B,N\] = √F_i, `obs` \[B,M,N\].
//!
//! With the exact allocation (eq. 13 solved in closed form) the objective of a decision vector a
//! is Σ_i cost[i, a_i] + φ_T/F_max · Σ_j (Σ_{i: a_i = j} √F_i)², because the KKT CPU share
//! f_ij = F_max √F_i / S_j makes Σ_{i∈j} F_i / f_ij = S_j² / F_max.

pub mod config;
pub mod contract;
pub mod cpu;
pub mod env;
pub mod exact;
pub mod kernels;
pub mod model;
pub mod optimum;
pub mod profile;

pub use config::*;
pub use cpu::*;
pub use env::{MecEnv, Summary};
pub use exact::objective_exact_one;
pub use model::*;
