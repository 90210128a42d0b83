//! `endedge` — the CRB-DRQN system (CRB-DRQN paper, Mao et al., §3, §5; docs/endedge.md).
//!
//! B instances × D terminals × E edge servers, slotted. Each terminal has a local compute FIFO, a
//! transmit FIFO and, on every server, its own edge FIFO; a server shares f_e equally among its
//! non-empty queues (eq. 7–8). Tasks have a deadline of τ slots and are dropped past it.
//!
//! Buffers (batch outermost; W = τ + 1 ring entries per terminal, see [`model`]):
//! `eta` \[B,D\] f32 Mbit of the task arriving this slot (0: none), `action` \[B,D\] u32 (0 local,
//! k server k − 1), `m` \[B,E\] u32 Q_e at the end of the previous slot, `load` \[B,C,E\] u32 the
//! Load(t) history (eq. 15, oldest row first), `size`/`rem` \[B,D,W\] f32, `arr`/`at`/`result`
//! \[B,D,W\] u32, `pred` \[B,D,2\] u32, `acc` \[B,D,4\] u32, `active` [B,D,⌈E/32⌉] u32,
//! `obs` [B,D,3+E] f32 (eq. 16 without Load), `mask` [B,D,1+E] u32.

pub mod config;
pub mod contract;
pub mod cpu;
pub mod env;
pub mod kernels;
pub mod model;
pub mod trace;

pub use config::*;
pub use cpu::*;
pub use env::{EndedgeEnv, Stats};
