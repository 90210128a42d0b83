//! Learning algorithms, one file per algorithm.

pub mod ac;
pub mod ddpg;
pub mod mec_drl;
