//! Grouped linear layer: K independent weight sets (an ensemble of K identical networks, one
//! per agent or critic) applied in one launch; K = 1 is the ordinary linear layer.
//!
//! Shapes: x [K, B, I], w [K, I, O], bias [K, O], y [K, B, O].
//! - forward: y[k,b,o] = (Σ_i x[k,b,i]·w[k,i,o]) + bias[k,o] (sum over i from 0 in order, the
//!   bias added last; no bias when `has_bias` = 0);
//! - `linear_bwd_x`: dx[k,b,i] += Σ_o dy[k,b,o]·w[k,i,o];
//! - `linear_bwd_w`: dw[k,i,o] += Σ_b x[k,b,i]·dy[k,b,o] and db[k,o] += Σ_b dy[k,b,o] (the
//!   thread of i = 0 owns db).
//!
//! Backward kernels accumulate (`+=` the finished sum), so gradients of a tensor used twice add.
//! The CPU functions vectorize over the contiguous index (o for the forward and dw, i for dx
//! through a transposed copy of w) without changing any sum's order.

use rayon::prelude::*;

use super::Real;
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::registry::params as decode;
use crate::error::Result;

/// Parameters of the `linear_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LinearParams {
    /// K, groups.
    pub k: u32,
    /// B, rows per group.
    pub b: u32,
    /// I, inputs.
    pub i: u32,
    /// O, outputs.
    pub o: u32,
    /// 1: add (and differentiate) the bias; 0: no bias (its buffer is not read).
    pub has_bias: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

impl LinearParams {
    /// (K, B, I, O) as usize.
    pub fn dims(&self) -> (usize, usize, usize, usize) {
        (self.k as usize, self.b as usize, self.i as usize, self.o as usize)
    }
}

/// Forward of one group row: y[o] = Σ_i x[i]·w[i,o] (+ bias[o]).
#[inline]
fn fwd_row<T: Real>(x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], acc: &mut [T]) {
    let o = y.len();
    acc.fill(T::ZERO);
    for (i, &xi) in x.iter().enumerate() {
        let wr = &w[i * o..(i + 1) * o];
        for (a, &wv) in acc.iter_mut().zip(wr) {
            *a = *a + xi * wv;
        }
    }
    match bias {
        Some(bv) => y.iter_mut().zip(acc.iter().zip(bv)).for_each(|(y, (&a, &b))| *y = a + b),
        None => y.copy_from_slice(acc),
    }
}

/// The forward of every group (generic; `bias` empty when absent): the reference the f32 fast
/// path is tested against and the function the f64 gradient checks differentiate.
pub fn forward<T: Real>(p: &LinearParams, x: &[T], w: &[T], bias: &[T], y: &mut [T]) {
    let (_, b, i, o) = p.dims();
    let mut acc = vec![T::ZERO; o];
    for (r, yr) in y[..p.k as usize * b * o].chunks_mut(o.max(1)).enumerate() {
        let g = r / b;
        let bv = (p.has_bias != 0).then(|| &bias[g * o..(g + 1) * o]);
        fwd_row(&x[r * i..(r + 1) * i], &w[g * i * o..(g + 1) * i * o], bv, yr, &mut acc);
    }
}

/// Multiply-adds below which the CPU functions stay on the calling thread (rayon's fork costs
/// more than the work).
const PAR_WORK: usize = 1 << 22;

/// dx += dy·wᵀ for every group (generic reference).
pub fn backward_x<T: Real>(p: &LinearParams, dy: &[T], w: &[T], dx: &mut [T]) {
    let (_, b, i, o) = p.dims();
    for (r, dxr) in dx[..p.k as usize * b * i].chunks_mut(i.max(1)).enumerate() {
        let g = r / b;
        for (ii, x) in dxr.iter_mut().enumerate() {
            let mut acc = T::ZERO;
            for (oo, &d) in dy[r * o..(r + 1) * o].iter().enumerate() {
                acc = acc + d * w[(g * i + ii) * o + oo];
            }
            *x = *x + acc;
        }
    }
}

/// dw += xᵀ·dy and db += Σ_b dy for every group (generic reference).
pub fn backward_w<T: Real>(p: &LinearParams, x: &[T], dy: &[T], dw: &mut [T], db: &mut [T]) {
    let (k, b, i, o) = p.dims();
    for (r, dwr) in dw[..k * i * o].chunks_mut(o.max(1)).enumerate() {
        let (g, ii) = (r / i, r % i);
        let mut acc = vec![T::ZERO; o];
        for bb in 0..b {
            let xv = x[(g * b + bb) * i + ii];
            for (a, &d) in acc.iter_mut().zip(&dy[(g * b + bb) * o..(g * b + bb + 1) * o]) {
                *a = *a + xv * d;
            }
        }
        for (w, a) in dwr.iter_mut().zip(acc) {
            *w = *w + a;
        }
    }
    bias_backward(p, dy, db);
}

/// db += Σ_b dy (when the layer has a bias).
fn bias_backward<T: Real>(p: &LinearParams, dy: &[T], db: &mut [T]) {
    if p.has_bias == 0 {
        return;
    }
    let (k, b, _, o) = p.dims();
    for g in 0..k {
        let mut acc = vec![T::ZERO; o];
        for bb in 0..b {
            for (a, &d) in acc.iter_mut().zip(&dy[(g * b + bb) * o..(g * b + bb + 1) * o]) {
                *a = *a + d;
            }
        }
        for (d, a) in db[g * o..(g + 1) * o].iter_mut().zip(acc) {
            *d = *d + a;
        }
    }
}

/// The f32 CPU path: a register-blocked product (4 rows × 16 columns of accumulators kept in
/// registers across the whole sum) that adds the same terms in the same order as the generic
/// functions above (each output's sum runs over k = 0, 1, … from 0.0), each step a fused
/// multiply-add: twice the throughput of separate multiplies and adds, one rounding per term
/// instead of two, so it agrees with the GPU kernels (which never fuse) to within the parity
/// tolerance rather than bit for bit (tested against the generic functions).
mod fast {
    const MR: usize = 4;
    const NR: usize = 16;

    /// MR × NR accumulators over k: acc[r][j] = Σ_k a[k][r]·b(k)[j], k ascending from 0.0.
    #[inline(always)]
    fn micro<'b>(ap: &[[f32; MR]], b: impl Fn(usize) -> &'b [f32; NR]) -> [[f32; NR]; MR] {
        let mut acc = [[0.0f32; NR]; MR];
        for (k, av) in ap.iter().enumerate() {
            let bv = b(k);
            for r in 0..MR {
                for j in 0..NR {
                    acc[r][j] = av[r].mul_add(bv[j], acc[r][j]);
                }
            }
        }
        acc
    }

    /// out[r·ldc + j] = comb(r, j, out, Σ_k a(r, k)·b[k·ldb + j]) for r < m, j < n. A is packed
    /// per block of MR rows (rows past m repeat the last one and are not written); the last
    /// partial block of columns is packed once, zero-padded.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm(
        m: usize,
        n: usize,
        kk: usize,
        a: impl Fn(usize, usize) -> f32,
        b: &[f32],
        ldb: usize,
        out: &mut [f32],
        ldc: usize,
        comb: impl Fn(usize, usize, f32, f32) -> f32,
    ) {
        let (full, tail) = (n / NR, n % NR);
        let btail: Vec<[f32; NR]> = if tail > 0 {
            (0..kk)
                .map(|k| {
                    let mut t = [0.0f32; NR];
                    t[..tail].copy_from_slice(&b[k * ldb + full * NR..k * ldb + full * NR + tail]);
                    t
                })
                .collect()
        } else {
            vec![]
        };
        let mut ap = vec![[0.0f32; MR]; kk];
        for r0 in (0..m).step_by(MR) {
            let rows = (m - r0).min(MR);
            for (k, row) in ap.iter_mut().enumerate() {
                for (r, v) in row.iter_mut().enumerate() {
                    *v = a(r0 + r.min(rows - 1), k);
                }
            }
            let mut store = |j0: usize, cols: usize, acc: [[f32; NR]; MR]| {
                for (r, row) in acc.iter().enumerate().take(rows) {
                    for (j, &v) in row.iter().enumerate().take(cols) {
                        let o = &mut out[(r0 + r) * ldc + j0 + j];
                        *o = comb(r0 + r, j0 + j, *o, v);
                    }
                }
            };
            for jb in 0..full {
                let acc = micro(&ap, |k| b[k * ldb + jb * NR..k * ldb + jb * NR + NR].try_into().expect("NR columns"));
                store(jb * NR, NR, acc);
            }
            if tail > 0 {
                let acc = micro(&ap, |k| &btail[k]);
                store(full * NR, tail, acc);
            }
        }
    }
}

/// f32 forward through [`fast::gemm`], parallel over groups × row blocks when large.
pub fn forward_f32(p: &LinearParams, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    let rows_per = 64usize;
    let run = |(t, yb): (usize, &mut [f32])| {
        let per_group = b.div_ceil(rows_per);
        let (g, blk) = (t / per_group.max(1), t % per_group.max(1));
        let r0 = blk * rows_per;
        let m = yb.len() / o.max(1);
        let xg = &x[(g * b + r0) * i..];
        fast::gemm(
            m,
            o,
            i,
            |r, kk| xg[r * i + kk],
            &w[g * i * o..(g + 1) * i * o],
            o,
            yb,
            o,
            |_, j, _, acc| {
                if p.has_bias != 0 {
                    acc + bias[g * o + j]
                } else {
                    acc
                }
            },
        );
    };
    if o == 0 || b == 0 {
        return;
    }
    let chunks: Vec<&mut [f32]> = y[..k * b * o].chunks_mut(b * o).flat_map(|yg| yg.chunks_mut(rows_per * o)).collect();
    if k * b * i * o >= PAR_WORK {
        chunks.into_par_iter().enumerate().for_each(run);
    } else {
        chunks.into_iter().enumerate().for_each(run);
    }
}

/// f32 dx += dy·wᵀ through [`fast::gemm`] on the transposed weights.
pub fn backward_x_f32(p: &LinearParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    if i == 0 || b == 0 {
        return;
    }
    let mut wt = vec![0.0f32; k * i * o];
    for g in 0..k {
        for ii in 0..i {
            for oo in 0..o {
                wt[(g * o + oo) * i + ii] = w[(g * i + ii) * o + oo];
            }
        }
    }
    let rows_per = 64usize;
    let per_group = b.div_ceil(rows_per);
    let run = |(t, xb): (usize, &mut [f32])| {
        let (g, blk) = (t / per_group, t % per_group);
        let r0 = blk * rows_per;
        let m = xb.len() / i;
        let dyg = &dy[(g * b + r0) * o..];
        fast::gemm(
            m,
            i,
            o,
            |r, kk| dyg[r * o + kk],
            &wt[g * o * i..(g + 1) * o * i],
            i,
            xb,
            i,
            |_, _, old, acc| old + acc,
        );
    };
    let chunks: Vec<&mut [f32]> =
        dx[..k * b * i].chunks_mut(b * i).flat_map(|xg| xg.chunks_mut(rows_per * i)).collect();
    if k * b * i * o >= PAR_WORK {
        chunks.into_par_iter().enumerate().for_each(run);
    } else {
        chunks.into_iter().enumerate().for_each(run);
    }
}

/// f32 dw += xᵀ·dy through [`fast::gemm`] (db as the generic function).
pub fn backward_w_f32(p: &LinearParams, x: &[f32], dy: &[f32], dw: &mut [f32], db: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    if i > 0 && o > 0 {
        let rows_per = 16usize;
        let per_group = i.div_ceil(rows_per);
        let run = |(t, wb): (usize, &mut [f32])| {
            let (g, blk) = (t / per_group, t % per_group);
            let r0 = blk * rows_per;
            let m = wb.len() / o;
            let xg = &x[g * b * i..(g + 1) * b * i];
            fast::gemm(
                m,
                o,
                b,
                |r, kk| xg[kk * i + r0 + r],
                &dy[g * b * o..(g + 1) * b * o],
                o,
                wb,
                o,
                |_, _, old, acc| old + acc,
            );
        };
        let chunks: Vec<&mut [f32]> =
            dw[..k * i * o].chunks_mut(i * o).flat_map(|wg| wg.chunks_mut(rows_per * o)).collect();
        if k * b * i * o >= PAR_WORK {
            chunks.into_par_iter().enumerate().for_each(run);
        } else {
            chunks.into_iter().enumerate().for_each(run);
        }
    }
    bias_backward(p, dy, db);
}

fn bias_words(p: &LinearParams) -> usize {
    if p.has_bias != 0 {
        (p.k * p.o) as usize
    } else {
        0
    }
}

/// `linear_fwd`: bufs x, w, bias, y.
pub fn cpu_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    need_all("linear_fwd", bufs, &[("x", k * b * i), ("w", k * i * o), ("bias", bias_words(&p)), ("y", k * b * o)])?;
    let [x, w, bias, y] = bufs else { unreachable!("registry has 4 buffers") };
    forward_f32(&p, f32s(x), f32s(w), f32s(bias), f32s_mut(y));
    Ok(())
}

/// `linear_bwd_x`: bufs dy, w, dx.
pub fn cpu_bwd_x(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    need_all("linear_bwd_x", bufs, &[("dy", k * b * o), ("w", k * i * o), ("dx", k * b * i)])?;
    let [dy, w, dx] = bufs else { unreachable!("registry has 3 buffers") };
    backward_x_f32(&p, f32s(dy), f32s(w), f32s_mut(dx));
    Ok(())
}

/// `linear_bwd_w`: bufs x, dy, dw, db.
pub fn cpu_bwd_w(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    need_all("linear_bwd_w", bufs, &[("x", k * b * i), ("dy", k * b * o), ("dw", k * i * o), ("db", bias_words(&p))])?;
    let [x, dy, dw, db] = bufs else { unreachable!("registry has 4 buffers") };
    backward_w_f32(&p, f32s(x), f32s(dy), f32s_mut(dw), f32s_mut(db));
    Ok(())
}

/// Minimum words per buffer (registry size functions).
pub fn sizes_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: LinearParams = decode(bytes);
    let (k, b, i, o) = (p.k as u64, p.b as u64, p.i as u64, p.o as u64);
    vec![k * b * i, k * i * o, bias_words(&p) as u64, k * b * o]
}

/// Sizes of `linear_bwd_x`.
pub fn sizes_bwd_x(bytes: &[u8]) -> Vec<u64> {
    let p: LinearParams = decode(bytes);
    let (k, b, i, o) = (p.k as u64, p.b as u64, p.i as u64, p.o as u64);
    vec![k * b * o, k * i * o, k * b * i]
}

/// Sizes of `linear_bwd_w`.
pub fn sizes_bwd_w(bytes: &[u8]) -> Vec<u64> {
    let p: LinearParams = decode(bytes);
    let (k, b, i, o) = (p.k as u64, p.b as u64, p.i as u64, p.o as u64);
    vec![k * b * i, k * b * o, k * i * o, bias_words(&p) as u64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f32_fast_path_matches_the_generic_functions() {
        let v = |n: usize, t: u32| -> Vec<f32> {
            (0..n)
                .map(|j| {
                    let w = crate::rng::philox4x32_10([j as u32, t, 0, 0x11], [3, 4]);
                    crate::rng::normal2(w[0], w[1]).0
                })
                .collect()
        };
        // tails in every dimension, more than one row block, large enough to run in parallel
        for &(k, b, i, o, has_bias) in
            &[(1, 1, 1, 1, 1), (2, 70, 13, 9, 1), (3, 5, 17, 33, 0), (2, 130, 40, 16, 1), (1, 300, 64, 80, 1)]
        {
            let p = LinearParams { k, b, i, o, has_bias, ..Default::default() };
            let (k, b, i, o) = p.dims();
            let (x, w, bias, dy) = (v(k * b * i, 1), v(k * i * o, 2), v(k * o, 3), v(k * b * o, 4));
            let (mut y1, mut y2) = (vec![0.0f32; k * b * o], vec![0.0f32; k * b * o]);
            forward(&p, &x, &w, &bias, &mut y1);
            forward_f32(&p, &x, &w, &bias, &mut y2);
            let close = |a: &[f32], b: &[f32]| {
                let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * x.abs().max(y.abs()) + 1e-6 * scale)
            };
            assert!(close(&y1, &y2), "forward {k} {b} {i} {o}");
            let (mut d1, mut d2) = (v(k * b * i, 5), v(k * b * i, 5));
            backward_x(&p, &dy, &w, &mut d1);
            backward_x_f32(&p, &dy, &w, &mut d2);
            assert!(close(&d1, &d2), "dx {k} {b} {i} {o}");
            let (mut w1, mut w2, mut b1, mut b2) = (v(k * i * o, 6), v(k * i * o, 6), v(k * o, 7), v(k * o, 7));
            backward_w(&p, &x, &dy, &mut w1, &mut b1);
            backward_w_f32(&p, &x, &dy, &mut w2, &mut b2);
            assert!(close(&w1, &w2), "dw {k} {b} {i} {o}");
            assert_eq!(b1, b2, "db {k} {b} {i} {o}: the bias sum is not fused");
        }
    }

    #[test]
    fn hand_computed_two_groups() {
        // group 0: x = [1, 2], w = [[1, 0, -1], [2, 1, 0]], bias [0.5, 0, 0]: y = [5.5, 2, -1]
        // group 1: x = [3, -1], w = [[1, 1, 1], [0, 1, 2]], bias [0, 0, 1]: y = [3, 2, 2]
        let p = LinearParams { k: 2, b: 1, i: 2, o: 3, has_bias: 1, ..Default::default() };
        let x = [1.0, 2.0, 3.0, -1.0];
        let w = [1.0, 0.0, -1.0, 2.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0];
        let bias = [0.5, 0.0, 0.0, 0.0, 0.0, 1.0];
        let mut y = [0.0f64; 6];
        forward(&p, &x, &w, &bias, &mut y);
        assert_eq!(y, [5.5, 2.0, -1.0, 3.0, 2.0, 2.0]);
        // dy = ones: dx = row sums of w, accumulated onto 10
        let dy = [1.0; 6];
        let mut dx = [10.0; 4];
        backward_x(&p, &dy, &w, &mut dx);
        assert_eq!(dx, [10.0, 13.0, 13.0, 13.0]);
        // dw[i,o] = x[i]·dy[o]; db = dy
        let (mut dw, mut db) = ([0.0; 12], [0.0; 6]);
        backward_w(&p, &x, &dy, &mut dw, &mut db);
        assert_eq!(dw, [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, -1.0, -1.0, -1.0]);
        assert_eq!(db, [1.0; 6]);
        // without bias: y has no bias and db is untouched
        let p0 = LinearParams { has_bias: 0, ..p };
        forward(&p0, &x, &w, &[], &mut y);
        assert_eq!(y, [5.0, 2.0, -1.0, 3.0, 2.0, 1.0]);
    }
}
