//! Layer normalization over the last dimension (torch `nn.LayerNorm(D)`), with a learnable gain
//! γ and bias β per group: x [N, D] in G groups of N/G consecutive rows (G = 1: one γ, β \[D\]
//! shared by every row; G = K: an ensemble of K networks, γ, β [K, D]).
//!
//! Per row, every sum over j = 0, 1, … from 0 in order:
//! - μ = (Σ_j x_j) / D, σ² = (Σ_j (x_j − μ)²) / D (biased, as torch), ρ = 1 / √(σ² + ε)
//! - x̂_j = (x_j − μ)·ρ, y_j = x̂_j·γ_j + β_j
//!
//! The forward saves `stats` [N, 2] = (μ, ρ); the backward kernels recompute x̂ from them:
//! - `layer_norm_bwd_x` (one thread per row): with d_j = dy_j·γ_j, a = (Σ_j d_j) / D and
//!   b = (Σ_j d_j·x̂_j) / D, dx_j += ρ·((d_j − a) − x̂_j·b);
//! - `layer_norm_bwd_w` (one thread per (group, j)): dγ_j += Σ_rows dy·x̂, dβ_j += Σ_rows dy, the
//!   rows of the group in order.

use rayon::prelude::*;

use super::{par_rows, Real, PAR_ELEMS};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of the `layer_norm_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayerNormParams {
    /// N, rows.
    pub n: u32,
    /// D, the normalized (last) dimension.
    pub d: u32,
    /// Rows per gain group (N / G); row r uses γ, β of group r / `per_group`.
    pub per_group: u32,
    /// ε added to the variance.
    pub eps: f32,
}

impl LayerNormParams {
    /// (N, D, rows per group, G) as usize; G = 0 when N = 0.
    pub fn dims(&self) -> (usize, usize, usize, usize) {
        let (n, d, pg) = (self.n as usize, self.d as usize, self.per_group.max(1) as usize);
        (n, d, pg, n.div_ceil(pg))
    }
}

/// (μ, ρ) of one row.
#[inline]
pub fn row_stats<T: Real>(x: &[T], eps: T) -> (T, T) {
    let dn = T::c(x.len() as f64);
    let mut s = T::ZERO;
    for &v in x {
        s = s + v;
    }
    // μ = (Σ_j x_j) / D
    let mean = s / dn;
    let mut q = T::ZERO;
    for &v in x {
        let c = v - mean;
        q = q + c * c;
    }
    // ρ = 1 / √(σ² + ε), σ² = (Σ_j (x_j − μ)²) / D
    (mean, T::ONE / (q / dn + eps).sqrt())
}

/// Forward: y [N, D] and stats [N, 2] from x [N, D], gain and bias [G, D].
pub fn forward<T: Real>(p: &LayerNormParams, x: &[T], gain: &[T], bias: &[T], y: &mut [T], stats: &mut [T]) {
    let (n, d, pg, _) = p.dims();
    if n == 0 || d == 0 {
        return;
    }
    let eps = T::c(p.eps as f64);
    let run = |(r, (yr, sr)): (usize, (&mut [T], &mut [T]))| {
        let xr = &x[r * d..(r + 1) * d];
        let g = r / pg;
        let (mean, rho) = row_stats(xr, eps);
        sr[0] = mean;
        sr[1] = rho;
        for j in 0..d {
            // y = x̂·γ + β, x̂ = (x − μ)·ρ
            yr[j] = ((xr[j] - mean) * rho) * gain[g * d + j] + bias[g * d + j];
        }
    };
    if n * d >= PAR_ELEMS {
        y[..n * d]
            .par_chunks_mut(d)
            .zip(stats[..2 * n].par_chunks_mut(2))
            .with_min_len(par_rows(d))
            .enumerate()
            .for_each(run);
    } else {
        y[..n * d].chunks_mut(d).zip(stats[..2 * n].chunks_mut(2)).enumerate().for_each(run);
    }
}

/// dx [N, D] += … from x, gain, stats and dy.
pub fn backward_x<T: Real>(p: &LayerNormParams, x: &[T], gain: &[T], stats: &[T], dy: &[T], dx: &mut [T]) {
    let (n, d, pg, _) = p.dims();
    if n == 0 || d == 0 {
        return;
    }
    let dn = T::c(d as f64);
    let run = |(r, dxr): (usize, &mut [T])| {
        let (xr, dyr, g) = (&x[r * d..(r + 1) * d], &dy[r * d..(r + 1) * d], &gain[(r / pg) * d..(r / pg + 1) * d]);
        let (mean, rho) = (stats[2 * r], stats[2 * r + 1]);
        let (mut sa, mut sb) = (T::ZERO, T::ZERO);
        for j in 0..d {
            let dj = dyr[j] * g[j];
            sa = sa + dj;
            sb = sb + dj * ((xr[j] - mean) * rho);
        }
        let (a, b) = (sa / dn, sb / dn);
        for j in 0..d {
            // dx_j += ρ·((d_j − a) − x̂_j·b)
            let xh = (xr[j] - mean) * rho;
            dxr[j] = dxr[j] + rho * ((dyr[j] * g[j] - a) - xh * b);
        }
    };
    if n * d >= PAR_ELEMS {
        dx[..n * d].par_chunks_mut(d).with_min_len(par_rows(d)).enumerate().for_each(run);
    } else {
        dx[..n * d].chunks_mut(d).enumerate().for_each(run);
    }
}

/// dgain, dbias [G, D] += … from x, stats and dy.
pub fn backward_w<T: Real>(p: &LayerNormParams, x: &[T], stats: &[T], dy: &[T], dgain: &mut [T], dbias: &mut [T]) {
    let (n, d, pg, groups) = p.dims();
    if n == 0 || d == 0 {
        return;
    }
    for g in 0..groups {
        for j in 0..d {
            let (mut sg, mut sb) = (T::ZERO, T::ZERO);
            for r in g * pg..((g + 1) * pg).min(n) {
                let xh = (x[r * d + j] - stats[2 * r]) * stats[2 * r + 1];
                sg = sg + dy[r * d + j] * xh;
                sb = sb + dy[r * d + j];
            }
            dgain[g * d + j] = dgain[g * d + j] + sg;
            dbias[g * d + j] = dbias[g * d + j] + sb;
        }
    }
}

fn check(entry: &str, bufs: &[&mut [u32]], names: &[&str], want: &[u64]) -> Result<()> {
    for (k, (name, w)) in names.iter().zip(want).enumerate() {
        need(entry, name, bufs[k].len(), *w as usize)?;
    }
    Ok(())
}

/// `layer_norm_fwd`: bufs x, gain, bias, y, stats.
pub fn cpu_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LayerNormParams = decode(params);
    check("layer_norm_fwd", bufs, &["x", "gain", "bias", "y", "stats"], &sizes_fwd(params))?;
    let [x, gain, bias, y, stats] = bufs else { unreachable!("the spec has 5 buffers") };
    forward(&p, f32s(x), f32s(gain), f32s(bias), f32s_mut(y), f32s_mut(stats));
    Ok(())
}

/// `layer_norm_bwd_x`: bufs x, gain, stats, dy, dx.
pub fn cpu_bwd_x(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LayerNormParams = decode(params);
    check("layer_norm_bwd_x", bufs, &["x", "gain", "stats", "dy", "dx"], &sizes_bwd_x(params))?;
    let [x, gain, stats, dy, dx] = bufs else { unreachable!("the spec has 5 buffers") };
    backward_x(&p, f32s(x), f32s(gain), f32s(stats), f32s(dy), f32s_mut(dx));
    Ok(())
}

/// `layer_norm_bwd_w`: bufs x, stats, dy, dgain, dbias.
pub fn cpu_bwd_w(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LayerNormParams = decode(params);
    check("layer_norm_bwd_w", bufs, &["x", "stats", "dy", "dgain", "dbias"], &sizes_bwd_w(params))?;
    let [x, stats, dy, dgain, dbias] = bufs else { unreachable!("the spec has 5 buffers") };
    backward_w(&p, f32s(x), f32s(stats), f32s(dy), f32s_mut(dgain), f32s_mut(dbias));
    Ok(())
}

fn ndg(bytes: &[u8]) -> (u64, u64, u64) {
    let (n, d, _, g) = decode::<LayerNormParams>(bytes).dims();
    (n as u64, d as u64, g as u64)
}

/// Sizes of `layer_norm_fwd`.
pub fn sizes_fwd(bytes: &[u8]) -> Vec<u64> {
    let (n, d, g) = ndg(bytes);
    vec![n * d, g * d, g * d, n * d, 2 * n]
}

/// Sizes of `layer_norm_bwd_x`.
pub fn sizes_bwd_x(bytes: &[u8]) -> Vec<u64> {
    let (n, d, g) = ndg(bytes);
    vec![n * d, g * d, 2 * n, n * d, n * d]
}

/// Sizes of `layer_norm_bwd_w`.
pub fn sizes_bwd_w(bytes: &[u8]) -> Vec<u64> {
    let (n, d, g) = ndg(bytes);
    vec![n * d, 2 * n, n * d, g * d, g * d]
}

crate::kernel_params!(LayerNormParams { n, d, per_group, eps });

crate::kernels! {
    stem "ops" / "layer_norm";
    /// nn: layer normalization forward.
    LAYER_NORM_FWD = layer_norm_fwd(LayerNormParams;
        x: R F32, gain: R F32, bias: R F32, y: W F32, stats: W F32
    )
        cpu cpu_fwd, sizes sizes_fwd;
    /// nn: layer normalization, gradient of the input.
    LAYER_NORM_BWD_X = layer_norm_bwd_x(LayerNormParams;
        x: R F32, gain: R F32, stats: R F32, dy: R F32, dx: W F32
    )
        cpu cpu_bwd_x, sizes sizes_bwd_x;
    /// nn: layer normalization, gradients of the gain and bias.
    LAYER_NORM_BWD_W = layer_norm_bwd_w(LayerNormParams;
        x: R F32, stats: R F32, dy: R F32, dgain: W F32, dbias: W F32
    )
        cpu cpu_bwd_w, sizes sizes_bwd_w;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_by_hand() {
        // rows (1, 2, 3, 6) and (0, 0, 0, 0): μ = 3, σ² = (4 + 1 + 0 + 9)/4 = 3.5; the zero row
        // normalizes to 0 (ρ = 1/√ε) and y = β; two groups of one row each
        let p = LayerNormParams { n: 2, d: 4, per_group: 1, eps: 0.5 };
        let x = [1.0, 2.0, 3.0, 6.0, 0.0, 0.0, 0.0, 0.0];
        let gain = [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let bias = [0.0, 0.0, 0.0, 1.0, 5.0, 6.0, 7.0, 8.0];
        let (mut y, mut st) = ([0.0f64; 8], [0.0f64; 4]);
        forward(&p, &x, &gain, &bias, &mut y, &mut st);
        let rho = 1.0 / (3.5f64 + 0.5).sqrt();
        assert_eq!(rho, 0.5);
        assert_eq!(st, [3.0, 0.5, 0.0, 1.0 / 0.5f64.sqrt()]);
        assert_eq!(y, [-1.0, -1.0, 0.0, 2.5, 5.0, 6.0, 7.0, 8.0]);
        // dy = (1, 0, 0, 0) on row 0 with γ = 1 everywhere but γ_1 = 2: d = (1, 0, 0, 0),
        // a = 1/4, x̂ = (−1, −1/2, 0, 3/2), b = −1/4; dx = ρ·((d − a) − x̂·b)
        let dy = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut dx = [0.0f64; 8];
        backward_x(&p, &x, &gain, &st, &dy, &mut dx);
        let xh = [-1.0, -0.5, 0.0, 1.5];
        let d = [1.0, 0.0, 0.0, 0.0];
        for j in 0..4 {
            assert_eq!(dx[j], 0.5 * ((d[j] - 0.25) - xh[j] * -0.25), "dx[{j}]");
        }
        assert_eq!(&dx[4..], &[0.0; 4]);
        let (mut dg, mut db) = ([1.0f64; 8], [0.0f64; 8]);
        backward_w(&p, &x, &st, &dy, &mut dg, &mut db);
        assert_eq!(dg, [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(db, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
