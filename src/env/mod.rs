//! Environments, one file per system. Each keeps its state as struct-of-arrays device buffers
//! (batch index outermost) and defines its kernels' CPU references next to its formulas.

pub mod contract;
pub mod coop;
pub mod crowd;
pub mod dag;
pub mod endedge;
pub mod mec;
pub mod toy;
