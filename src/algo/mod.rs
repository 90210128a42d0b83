//! Learning algorithms, one file per algorithm (a Config with a doc comment per field), and the
//! shared replay memory.

pub mod ac;
pub mod ddpg;
pub mod dirs;
pub mod mec_drl;
pub mod replay;
