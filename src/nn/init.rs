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

/// Philox stream of the normal draws of [`orthogonal`].
pub const ORTHO_STREAM: u32 = 0x1A18;

/// A (semi-)orthogonal [rows, cols] weight (torch `orthogonal_`) times `gain`: a matrix of
/// standard normals (Philox, parameter `tag` under `seed`) orthonormalized on the host in f64 by
/// modified Gram–Schmidt, run twice for accuracy, over its rows when rows ≤ cols (then
/// W·Wᵀ = I) or over its columns otherwise (Wᵀ·W = I). Gram–Schmidt gives QR's Q with a
/// positive diagonal of R, the sign convention of torch's `orthogonal_`.
pub fn orthogonal(seed: u64, tag: u32, rows: usize, cols: usize, gain: f32) -> Vec<f32> {
    let (m, n) = (rows.min(cols), rows.max(cols));
    if m == 0 {
        return vec![];
    }
    let key = rng::key_of(seed);
    // a [m, n], row i the vector to orthonormalize
    let mut a: Vec<f64> = Vec::with_capacity(m * n + 1);
    for c in 0..(m * n).div_ceil(2) {
        let w = rng::philox4x32_10([c as u32, (c >> 32) as u32, tag, ORTHO_STREAM], key);
        let (z0, z1) = rng::normal2(w[0], w[1]);
        a.push(z0 as f64);
        a.push(z1 as f64);
    }
    a.truncate(m * n);
    for i in 0..m {
        for _ in 0..2 {
            for j in 0..i {
                let dot: f64 = (0..n).map(|l| a[i * n + l] * a[j * n + l]).sum();
                for l in 0..n {
                    a[i * n + l] -= dot * a[j * n + l];
                }
            }
        }
        let norm = (0..n).map(|l| a[i * n + l] * a[i * n + l]).sum::<f64>().sqrt();
        // a standard normal vector is linearly dependent on the others with probability 0
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        a[i * n..(i + 1) * n].iter_mut().for_each(|v| *v *= inv);
    }
    let g = gain as f64;
    if rows <= cols {
        a.iter().map(|&v| (v * g) as f32).collect()
    } else {
        // W [rows = n, cols = m] = aᵀ
        (0..n).flat_map(|r| (0..m).map(move |c| (r, c))).map(|(r, c)| (a[c * n + r] * g) as f32).collect()
    }
}
