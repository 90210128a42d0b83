//! `coop` — cooperative edge nodes with FIFO queues, deadlines and failures (O2O-DRL, Lin et al.,
//! §III–V; the model and every decision the paper leaves open are in `docs/coop.md`).
//!
//! B instances × N edge nodes, slotted (Δ = `slot_s`). A task arrives at node i in slot t with
//! probability λ_i (Bernoulli); node i sends it to a target j (itself = local) or, with no task,
//! takes the action N ("no task"). Each node has one FIFO execution queue and N − 1 FIFO send
//! queues. A task is alive for at most D = ⌊deadline/Δ⌋ slots, so each node has at most D live
//! tasks: the task pool holds W = D entries per node, entry `i·W + t_a mod W`.
//!
//! Buffers (batch outermost, 32-bit words):
//! - `node` [B, N, 3] f32: λ_i, F_i (Hz), α_i (1/s);
//! - `link` [B, N, N, 2] f32: r_ij (bit/s), β_ij (1/s), symmetric, zero on the diagonal;
//! - `arr_u` [B, N] u32: 1 when a task arrived in the current slot; `arr_f` [B, N, 4] f32: its
//!   s (bits), c (cycles), and the failure uniforms u_link, u_node;
//! - `pool_u` [B, N·W, 4] u32: state | flags, target, arrival slot, resolution slot;
//!   `pool_f` [B, N·W, 4] f32: s, c, remaining (bits while sending, cycles after), R^c·R^t;
//! - `xq` [B, N, 1 + N·W] u32: per node the execution queue length, then its pool indices in
//!   FIFO order;
//! - `stats_u` [B, 8] u32: arrivals, successes, drops, failures, invalid actions, link failures,
//!   node failures, offloaded tasks (cumulative over the episode);
//!   `stats_f` [B, 4] f32: bits arrived, bits succeeded, bits dropped, bits failed;
//! - `reward` \[B\] f32: the team reward of the last slot; `act` [B, N] u32;
//! - `obs` [B, N, 3N + 5] f32 and `mask` [B, N, N + 1] u32.

pub mod config;
pub mod contract;
pub mod cpu;
pub mod dataset;
pub mod env;
pub mod kernels;
pub mod policy;

pub use config::*;
pub use env::CoopEnv;
