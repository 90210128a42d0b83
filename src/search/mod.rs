//! Search methods: the population Lévy flight of DIRS (DIRS paper Alg. 4; docs/mec.md).

pub mod levy;
