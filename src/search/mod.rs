//! Search methods: the population Lévy flight of DIRS (seed 000 Alg. 4).

pub mod levy;
