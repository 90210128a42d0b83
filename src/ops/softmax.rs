//! Row-wise softmax and log-softmax, optionally masked (the masked categorical policies of the
//! papers: invalid actions get probability 0).
//!
//! Per row of C logits x with mask (1 = allowed): m = max over allowed x; s = Σ_allowed
//! exp(x_j − m) in index order; softmax_j = exp(x_j − m) / s, log-softmax_j = (x_j − m) − ln s.
//! A masked entry is 0 (softmax) or [`MASKED_LOGP`] (log-softmax, a finite sentinel so no
//! 0·∞ appears downstream); a row with nothing allowed is NaN. Backward (y = the output):
//! softmax dx_j += y_j·(dy_j − Σ_k dy_k·y_k); log-softmax dx_j += dy_j − exp(y_j)·Σ_allowed dy_k
//! (allowed j only).

use rayon::prelude::*;

use super::{par_rows, Real, PAR_ELEMS};
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;

/// The log-probability written for a masked entry.
pub const MASKED_LOGP: f32 = -1e30;
/// Entries at or below this are masked (consumers test this, not equality).
pub const MASKED_BELOW: f32 = -1e29;

/// Parameters of `softmax_fwd` / `softmax_bwd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SoftmaxParams {
    /// Rows R.
    pub rows: u32,
    /// Columns C.
    pub cols: u32,
    /// 1: log-softmax.
    pub log: u32,
    /// 1: the `mask` buffer [R, C] is read (nonzero = allowed).
    pub masked: u32,
}

#[inline]
fn allowed(mask: Option<&[u32]>, j: usize) -> bool {
    mask.is_none_or(|m| m[j] != 0)
}

/// One row forward.
pub fn row_forward<T: Real>(x: &[T], mask: Option<&[u32]>, log: bool, y: &mut [T]) {
    let mut m: Option<T> = None;
    for (j, &v) in x.iter().enumerate() {
        if allowed(mask, j) {
            m = Some(m.map_or(v, |m| m.max(v)));
        }
    }
    let Some(m) = m else {
        y.fill(T::c(f64::NAN));
        return;
    };
    let mut s = T::ZERO;
    for (j, &v) in x.iter().enumerate() {
        if allowed(mask, j) {
            s = s + (v - m).exp();
        }
    }
    let ls = s.ln();
    for (j, (y, &v)) in y.iter_mut().zip(x).enumerate() {
        *y = match (allowed(mask, j), log) {
            (false, true) => T::c(MASKED_LOGP as f64),
            (false, false) => T::ZERO,
            (true, true) => (v - m) - ls,
            (true, false) => (v - m).exp() / s,
        };
    }
}

/// One row backward (accumulates into dx).
pub fn row_backward<T: Real>(y: &[T], dy: &[T], mask: Option<&[u32]>, log: bool, dx: &mut [T]) {
    if log {
        let mut s = T::ZERO;
        for (j, &d) in dy.iter().enumerate() {
            if allowed(mask, j) {
                s = s + d;
            }
        }
        for (j, dx) in dx.iter_mut().enumerate() {
            if allowed(mask, j) {
                *dx = *dx + (dy[j] - y[j].exp() * s);
            }
        }
    } else {
        let mut s = T::ZERO;
        for (&d, &v) in dy.iter().zip(y) {
            s = s + d * v;
        }
        for (j, dx) in dx.iter_mut().enumerate() {
            *dx = *dx + y[j] * (dy[j] - s);
        }
    }
}

fn rows<'a>(p: &SoftmaxParams, mask: &'a [u32], r: usize) -> Option<&'a [u32]> {
    let c = p.cols as usize;
    (p.masked != 0).then(|| &mask[r * c..(r + 1) * c])
}

fn mask_words(p: &SoftmaxParams) -> usize {
    if p.masked != 0 {
        (p.rows * p.cols) as usize
    } else {
        0
    }
}

/// `softmax_fwd`: bufs x, mask, y.
pub fn cpu_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: SoftmaxParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("softmax_fwd", bufs, &[("x", r * c), ("mask", mask_words(&p)), ("y", r * c)])?;
    let [x, mask, y] = bufs else { unreachable!("the spec has 3 buffers") };
    let (x, mask) = (f32s(x), &**mask);
    let f =
        |(row, yr): (usize, &mut [f32])| row_forward(&x[row * c..(row + 1) * c], rows(&p, mask, row), p.log != 0, yr);
    let y = &mut f32s_mut(y)[..r * c];
    if r * c >= PAR_ELEMS {
        y.par_chunks_mut(c.max(1)).with_min_len(par_rows(c)).enumerate().for_each(f);
    } else {
        y.chunks_mut(c.max(1)).enumerate().for_each(f);
    }
    Ok(())
}

/// `softmax_bwd`: bufs y, dy, mask, dx.
pub fn cpu_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: SoftmaxParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("softmax_bwd", bufs, &[("y", r * c), ("dy", r * c), ("mask", mask_words(&p)), ("dx", r * c)])?;
    let [y, dy, mask, dx] = bufs else { unreachable!("the spec has 4 buffers") };
    let (y, dy, mask) = (f32s(y), f32s(dy), &**mask);
    let f = |(row, dxr): (usize, &mut [f32])| {
        let s = row * c..(row + 1) * c;
        row_backward(&y[s.clone()], &dy[s], rows(&p, mask, row), p.log != 0, dxr);
    };
    let dx = &mut f32s_mut(dx)[..r * c];
    if r * c >= PAR_ELEMS {
        dx.par_chunks_mut(c.max(1)).with_min_len(par_rows(c)).enumerate().for_each(f);
    } else {
        dx.chunks_mut(c.max(1)).enumerate().for_each(f);
    }
    Ok(())
}

/// Sizes of `softmax_fwd`.
pub fn sizes_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: SoftmaxParams = decode(bytes);
    let n = p.rows as u64 * p.cols as u64;
    vec![n, mask_words(&p) as u64, n]
}

/// Sizes of `softmax_bwd`.
pub fn sizes_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: SoftmaxParams = decode(bytes);
    let n = p.rows as u64 * p.cols as u64;
    vec![n, n, mask_words(&p) as u64, n]
}

crate::kernel_params!(SoftmaxParams { rows, cols, log, masked });

crate::kernels! {
    stem "ops" / "softmax";
    /// nn: row-wise (masked) softmax / log-softmax.
    SOFTMAX_FWD = softmax_fwd(SoftmaxParams; x: R F32, mask: R U32, y: W F32)
        cpu cpu_fwd, sizes sizes_fwd;
    /// nn: softmax / log-softmax backward.
    SOFTMAX_BWD = softmax_bwd(SoftmaxParams; y: R F32, dy: R F32, mask: R U32, dx: W F32)
        cpu cpu_bwd, sizes sizes_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // x = [ln 1, ln 3, ln 4]: softmax = [1/8, 3/8, 4/8]
        let x = [0.0f64, 3f64.ln(), 4f64.ln()];
        let mut y = [0.0; 3];
        row_forward(&x, None, false, &mut y);
        for (a, b) in y.iter().zip([0.125, 0.375, 0.5]) {
            assert!((a - b).abs() < 1e-15);
        }
        // masked middle: [1/5, 0, 4/5]; log: [ln 0.2, MASKED, ln 0.8]
        let mask = [1u32, 0, 1];
        row_forward(&x, Some(&mask), false, &mut y);
        assert!((y[0] - 0.2).abs() < 1e-15 && y[1] == 0.0 && (y[2] - 0.8).abs() < 1e-15);
        row_forward(&x, Some(&mask), true, &mut y);
        assert!((y[0] - 0.2f64.ln()).abs() < 1e-15 && y[1] == MASKED_LOGP as f64);
        // nothing allowed: NaN
        row_forward(&x, Some(&[0, 0, 0]), true, &mut y);
        assert!(y.iter().all(|v| v.is_nan()));
        // log-softmax backward of picking entry 2 (dy = e_2): dx = e_2 − p, masked stays 0
        row_forward(&x, Some(&mask), true, &mut y);
        let mut dx = [0.0; 3];
        row_backward(&y, &[0.0, 0.0, 1.0], Some(&mask), true, &mut dx);
        assert!((dx[0] + 0.2).abs() < 1e-15 && dx[1] == 0.0 && (dx[2] - 0.2).abs() < 1e-15);
    }
}
