//! Grouped linear layer: K independent weight sets (an ensemble of K identical networks, one
//! per agent or critic) applied in one launch; K = 1 is the ordinary linear layer.
//!
//! Shapes: x [K, B, I], w [K, I, O], bias [K, O], y [K, B, O].
//! - forward: y\[k,b,o\] = (Σ_i x\[k,b,i\]·w\[k,i,o\]) + bias\[k,o\] (sum over i from 0 in order, the
//!   bias added last; no bias when `has_bias` = 0);
//! - `linear_bwd_x`: dx\[k,b,i\] += Σ_o dy\[k,b,o\]·w\[k,i,o\];
//! - `linear_bwd_w`: dw\[k,i,o\] += Σ_b x\[k,b,i\]·dy\[k,b,o\] and db\[k,o\] += Σ_b dy\[k,b,o\] (the
//!   thread of i = 0 owns db).
//!
//! Backward kernels accumulate (`+=` the finished sum), so gradients of a tensor used twice add.
//! The f32 CPU functions run on [`gemm`] (register-blocked fused multiply-adds, the same sum
//! order); the generic functions are the sequential references they are tested against.

use super::gemm::{self, transpose, Epilogue, Gemm, Strided};
use super::{team_parts, Real, TEAM_ELEMS};
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
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
    /// `linear_bwd_x` only: 1 when dx is a new gradient buffer, written (dx = dy·wᵀ) rather
    /// than accumulated into (its old contents never read); 0 accumulates.
    pub fresh: u32,
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

/// dx += dy·wᵀ for every group (dx = dy·wᵀ when `p.fresh`; generic reference).
pub fn backward_x<T: Real>(p: &LinearParams, dy: &[T], w: &[T], dx: &mut [T]) {
    let (_, b, i, o) = p.dims();
    for (r, dxr) in dx[..p.k as usize * b * i].chunks_mut(i.max(1)).enumerate() {
        let g = r / b;
        for (ii, x) in dxr.iter_mut().enumerate() {
            let mut acc = T::ZERO;
            for (oo, &d) in dy[r * o..(r + 1) * o].iter().enumerate() {
                acc = acc + d * w[(g * i + ii) * o + oo];
            }
            *x = if p.fresh != 0 { acc } else { *x + acc };
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
        bias_group(&dy[g * b * o..(g + 1) * b * o], o, &mut db[g * o..(g + 1) * o]);
    }
}

/// One group's db += Σ_b dy (dy: the group's B rows of O).
fn bias_group<T: Real>(dy: &[T], o: usize, db: &mut [T]) {
    let mut acc = vec![T::ZERO; o];
    for row in dy.chunks_exact(o.max(1)) {
        for (a, &d) in acc.iter_mut().zip(row) {
            *a = *a + d;
        }
    }
    for (d, a) in db.iter_mut().zip(acc) {
        *d = *d + a;
    }
}

/// [`bias_backward`] with the groups split across the team (the same sums).
fn bias_backward_f32(p: &LinearParams, dy: &[f32], db: &mut [f32]) {
    let (k, b, _, o) = p.dims();
    if p.has_bias == 0 || o == 0 {
        return;
    }
    if k > 1 && k * b * o >= TEAM_ELEMS {
        let parts: Vec<(usize, &mut [f32])> = db[..k * o].chunks_mut(o).enumerate().collect();
        team_parts(parts, &|(g, dbg): (usize, &mut [f32])| bias_group(&dy[g * b * o..(g + 1) * b * o], o, dbg));
    } else {
        bias_backward(p, dy, db);
    }
}

/// f32 forward through [`gemm`] (one product per group; the bias added to the finished sum).
pub fn forward_f32(p: &LinearParams, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    if o == 0 || b == 0 {
        return;
    }
    let jobs: Vec<Gemm<'_>> = (0..k)
        .map(|g| Gemm {
            m: b,
            n: o,
            kk: i,
            a: Strided { data: &x[g * b * i..(g + 1) * b * i], rs: i, ks: 1 },
            b: &w[g * i * o..(g + 1) * i * o],
            ldb: o,
            bt: false,
            ldc: o,
            epi: Epilogue::Set((p.has_bias != 0).then(|| &bias[g * o..(g + 1) * o])),
        })
        .collect();
    gemm::run(&jobs, y[..k * b * o].chunks_mut(b * o).collect());
}

thread_local! {
    /// The transposed output gradients of `backward_x_few_rows`, reused across calls.
    static WT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// f32 dx += dy·wᵀ through [`gemm`] with B = wᵀ (read transposed while its panels are packed)
/// or, for few rows, on a transposed copy of dy.
pub fn backward_x_f32(p: &LinearParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let (_, b, i, o) = p.dims();
    if i == 0 || b == 0 {
        return;
    }
    if b * (o + 2 * i) < i * o / 2 {
        backward_x_few_rows(p, dy, w, dx)
    } else {
        backward_x_bt(p, dy, w, dx)
    }
}

/// dx += dy·wᵀ with B = wᵀ read transposed.
fn backward_x_bt(p: &LinearParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    let jobs: Vec<Gemm<'_>> = (0..k)
        .map(|g| Gemm {
            m: b,
            n: i,
            kk: o,
            a: Strided { data: &dy[g * b * o..(g + 1) * b * o], rs: o, ks: 1 },
            b: &w[g * i * o..(g + 1) * i * o],
            ldb: o,
            bt: true,
            ldc: i,
            epi: if p.fresh != 0 { Epilogue::Set(None) } else { Epilogue::Add },
        })
        .collect();
    gemm::run(&jobs, dx[..k * b * i].chunks_mut(b * i).collect());
}

/// dx += dy·wᵀ for few rows (an LSTM step: B = 20 against 256 × 1024 weights), where
/// transposing dy and the result costs less than transposing w: dxᵀ = w·dyᵀ, each sum the same
/// fused chain over o as [`backward_x_f32`]'s (a·b = b·a exactly), so the bits are the same.
fn backward_x_few_rows(p: &LinearParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    WT.with_borrow_mut(|dyt| {
        dyt.clear();
        dyt.resize(k * (o * b + i * b), 0.0);
        let (dyt, prod) = dyt.split_at_mut(k * o * b);
        for g in 0..k {
            transpose(&dy[g * b * o..(g + 1) * b * o], b, o, &mut dyt[g * o * b..(g + 1) * o * b]);
        }
        let jobs: Vec<Gemm<'_>> = (0..k)
            .map(|g| Gemm {
                m: i,
                n: b,
                kk: o,
                a: Strided { data: &w[g * i * o..(g + 1) * i * o], rs: o, ks: 1 },
                b: &dyt[g * o * b..(g + 1) * o * b],
                ldb: b,
                bt: false,
                ldc: b,
                epi: Epilogue::Set(None),
            })
            .collect();
        gemm::run(&jobs, prod.chunks_mut(i * b).collect());
        for g in 0..k {
            let (pg, dxg) = (&prod[g * i * b..(g + 1) * i * b], &mut dx[g * b * i..(g + 1) * b * i]);
            for (r, row) in dxg.chunks_mut(i).enumerate() {
                for (ii, d) in row.iter_mut().enumerate() {
                    *d = if p.fresh != 0 { pg[ii * b + r] } else { *d + pg[ii * b + r] };
                }
            }
        }
    });
}

/// f32 dw += xᵀ·dy through [`gemm`] (A = x read transposed), then db as the generic function.
pub fn backward_w_f32(p: &LinearParams, x: &[f32], dy: &[f32], dw: &mut [f32], db: &mut [f32]) {
    let (k, b, i, o) = p.dims();
    if i > 0 && o > 0 {
        let jobs: Vec<Gemm<'_>> = (0..k)
            .map(|g| Gemm {
                m: i,
                n: o,
                kk: b,
                a: Strided { data: &x[g * b * i..(g + 1) * b * i], rs: 1, ks: i },
                b: &dy[g * b * o..(g + 1) * b * o],
                ldb: o,
                bt: false,
                ldc: o,
                epi: Epilogue::Add,
            })
            .collect();
        gemm::run(&jobs, dw[..k * i * o].chunks_mut(i * o).collect());
    }
    bias_backward_f32(p, dy, db);
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
    let [x, w, bias, y] = bufs else { unreachable!("the spec has 4 buffers") };
    forward_f32(&p, f32s(x), f32s(w), f32s(bias), f32s_mut(y));
    Ok(())
}

/// `linear_bwd_x`: bufs dy, w, dx.
pub fn cpu_bwd_x(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    need_all("linear_bwd_x", bufs, &[("dy", k * b * o), ("w", k * i * o), ("dx", k * b * i)])?;
    let [dy, w, dx] = bufs else { unreachable!("the spec has 3 buffers") };
    backward_x_f32(&p, f32s(dy), f32s(w), f32s_mut(dx));
    Ok(())
}

/// `linear_bwd_w`: bufs x, dy, dw, db.
pub fn cpu_bwd_w(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    need_all("linear_bwd_w", bufs, &[("x", k * b * i), ("dy", k * b * o), ("dw", k * i * o), ("db", bias_words(&p))])?;
    let [x, dy, dw, db] = bufs else { unreachable!("the spec has 4 buffers") };
    backward_w_f32(&p, f32s(x), f32s(dy), f32s_mut(dw), f32s_mut(db));
    Ok(())
}

/// Minimum words per buffer (the specs' size functions).
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

crate::kernel_params!(LinearParams { k, b, i, o, has_bias, fresh, _pad1, _pad2 });

crate::kernels! {
    stem "ops" / "linear";
    /// nn: grouped linear forward.
    LINEAR_FWD = linear_fwd(LinearParams; x: R F32, w: R F32, bias: R F32, y: W F32)
        cpu cpu_fwd, sizes sizes_fwd;
    /// nn: grouped linear, gradient of the input.
    LINEAR_BWD_X = linear_bwd_x(LinearParams; dy: R F32, w: R F32, dx: W F32)
        cpu cpu_bwd_x, sizes sizes_bwd_x;
    /// nn: grouped linear, gradients of the weights and bias.
    LINEAR_BWD_W = linear_bwd_w(LinearParams; x: R F32, dy: R F32, dw: W F32, db: W F32)
        cpu cpu_bwd_w, sizes sizes_bwd_w;
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
        for &(k, b, i, o, has_bias) in &[
            (1, 1, 1, 1, 1),
            (2, 70, 13, 9, 1),
            (3, 5, 17, 33, 0),
            (2, 130, 40, 16, 1),
            (1, 300, 64, 80, 1),
            (2, 3, 40, 100, 1),
        ] {
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
            // both routes of the f32 dx give the same bits
            let mut d3 = v(k * b * i, 5);
            let mut d4 = v(k * b * i, 5);
            backward_x_bt(&p, &dy, &w, &mut d3);
            backward_x_few_rows(&p, &dy, &w, &mut d4);
            assert_eq!(d3, d4, "dx routes {k} {b} {i} {o}");
            // fresh: dx written, its old contents (NaN here) not read; the reference's values
            let pf = LinearParams { fresh: 1, ..p };
            let (mut f1, mut f2, mut f3) = (vec![f32::NAN; k * b * i], vec![f32::NAN; k * b * i], vec![0.0; k * b * i]);
            backward_x_bt(&pf, &dy, &w, &mut f1);
            backward_x_few_rows(&pf, &dy, &w, &mut f2);
            backward_x(&pf, &dy, &w, &mut f3);
            assert_eq!(f1, f2, "fresh dx routes {k} {b} {i} {o}");
            assert!(close(&f3, &f1), "fresh dx {k} {b} {i} {o}");
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
