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
use crate::backend::cpu::{f32s, f32s_mut, need};
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

/// The forward of every group (generic; `bias` empty when absent).
pub fn forward<T: Real>(p: &LinearParams, x: &[T], w: &[T], bias: &[T], y: &mut [T]) {
    let (k, b, i, o) = p.dims();
    let work = k * b * i * o;
    let run = |(r, yr): (usize, &mut [T])| {
        let g = r / b;
        let mut acc = vec![T::ZERO; o];
        let bv = (p.has_bias != 0).then(|| &bias[g * o..(g + 1) * o]);
        fwd_row(&x[r * i..(r + 1) * i], &w[g * i * o..(g + 1) * i * o], bv, yr, &mut acc);
    };
    if work >= PAR_WORK {
        y[..k * b * o].par_chunks_mut(o.max(1)).enumerate().for_each(run);
    } else {
        y[..k * b * o].chunks_mut(o.max(1)).enumerate().for_each(run);
    }
}

/// Multiply-adds below which the CPU functions stay on the calling thread (rayon's fork costs
/// more than the work).
const PAR_WORK: usize = 1 << 16;

/// dx += dy·wᵀ for every group.
pub fn backward_x<T: Real>(p: &LinearParams, dy: &[T], w: &[T], dx: &mut [T]) {
    let (k, b, i, o) = p.dims();
    // wt[k, o, i]: the transposed weights, so the sum over o runs along contiguous i lanes.
    let mut wt = vec![T::ZERO; k * i * o];
    for g in 0..k {
        for ii in 0..i {
            for oo in 0..o {
                wt[(g * o + oo) * i + ii] = w[(g * i + ii) * o + oo];
            }
        }
    }
    let run = |(r, dxr): (usize, &mut [T])| {
        let g = r / b;
        let mut acc = vec![T::ZERO; i];
        for (oo, &d) in dy[r * o..(r + 1) * o].iter().enumerate() {
            let wr = &wt[(g * o + oo) * i..(g * o + oo + 1) * i];
            for (a, &wv) in acc.iter_mut().zip(wr) {
                *a = *a + d * wv;
            }
        }
        for (x, a) in dxr.iter_mut().zip(acc) {
            *x = *x + a;
        }
    };
    if k * b * i * o >= PAR_WORK {
        dx[..k * b * i].par_chunks_mut(i.max(1)).enumerate().for_each(run);
    } else {
        dx[..k * b * i].chunks_mut(i.max(1)).enumerate().for_each(run);
    }
}

/// dw += xᵀ·dy and db += Σ_b dy for every group.
pub fn backward_w<T: Real>(p: &LinearParams, x: &[T], dy: &[T], dw: &mut [T], db: &mut [T]) {
    let (k, b, i, o) = p.dims();
    let run = |(r, dwr): (usize, &mut [T])| {
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
    };
    if k * b * i * o >= PAR_WORK {
        dw[..k * i * o].par_chunks_mut(o.max(1)).enumerate().for_each(run);
    } else {
        dw[..k * i * o].chunks_mut(o.max(1)).enumerate().for_each(run);
    }
    if p.has_bias != 0 {
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
    for (n, (name, want)) in
        [("x", k * b * i), ("w", k * i * o), ("bias", bias_words(&p)), ("y", k * b * o)].into_iter().enumerate()
    {
        need("linear_fwd", name, bufs[n].len(), want)?;
    }
    let [x, w, bias, y] = bufs else { unreachable!("registry has 4 buffers") };
    forward(&p, f32s(x), f32s(w), f32s(bias), f32s_mut(y));
    Ok(())
}

/// `linear_bwd_x`: bufs dy, w, dx.
pub fn cpu_bwd_x(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    for (n, (name, want)) in [("dy", k * b * o), ("w", k * i * o), ("dx", k * b * i)].into_iter().enumerate() {
        need("linear_bwd_x", name, bufs[n].len(), want)?;
    }
    let [dy, w, dx] = bufs else { unreachable!("registry has 3 buffers") };
    backward_x(&p, f32s(dy), f32s(w), f32s_mut(dx));
    Ok(())
}

/// `linear_bwd_w`: bufs x, dy, dw, db.
pub fn cpu_bwd_w(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LinearParams = decode(params);
    let (k, b, i, o) = p.dims();
    for (n, (name, want)) in
        [("x", k * b * i), ("dy", k * b * o), ("dw", k * i * o), ("db", bias_words(&p))].into_iter().enumerate()
    {
        need("linear_bwd_w", name, bufs[n].len(), want)?;
    }
    let [x, dy, dw, db] = bufs else { unreachable!("registry has 4 buffers") };
    backward_w(&p, f32s(x), f32s(dy), f32s_mut(dw), f32s_mut(db));
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
