//! Parameter initializers, seeded through Philox (a parameter is a pure function of
//! (seed, tag)), computed on the host once and uploaded.

use crate::rng;

/// Philox stream of parameter initialization.
pub const INIT_STREAM: u32 = 0x1A17;

/// `n` uniform draws in [−a, a) for parameter `tag` under `seed`.
pub fn uniform(seed: u64, tag: u32, n: usize, a: f32) -> Vec<f32> {
    let key = rng::key_of(seed);
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, (i >> 32) as u32, tag, INIT_STREAM], key)[0];
            (2.0 * rng::uniform(w) - 1.0) * a
        })
        .collect()
}

/// Xavier (Glorot) uniform for a [fan_in, fan_out] weight: U(−a, a), a = √(6 / (fan_in + fan_out)).
pub fn xavier_uniform(seed: u64, tag: u32, fan_in: usize, fan_out: usize, count: usize) -> Vec<f32> {
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    uniform(seed, tag, count, a)
}
