//! Learning algorithms, one file per algorithm (a Config with a doc comment per field), and the
//! shared replay memory.

pub mod dirs;
pub mod replay;
