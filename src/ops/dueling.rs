//! Dueling combine (CRB-DRQN's head): Q[r, j] = V\[r\] + A[r, j] − mean_k A[r, k], the mean as
//! (Σ_k A[r, k] in order) / C. Backward: dV\[r\] += Σ_j dQ[r, j]; dA[r, j] += dQ[r, j] − (Σ_k dQ[r, k]) / C.

use super::Real;
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::ops::index::IndexParams;

pub use super::index::IndexParams as DuelingParams;

/// One row forward.
pub fn row_forward<T: Real>(v: T, a: &[T], q: &mut [T]) {
    let mut s = T::ZERO;
    for &x in a {
        s = s + x;
    }
    let mean = s / T::c(a.len() as f64);
    for (q, &x) in q.iter_mut().zip(a) {
        *q = (v + x) - mean;
    }
}

/// One row backward (accumulates into dv, da).
pub fn row_backward<T: Real>(dq: &[T], dv: &mut T, da: &mut [T]) {
    let mut s = T::ZERO;
    for &d in dq {
        s = s + d;
    }
    *dv = *dv + s;
    let mean = s / T::c(dq.len() as f64);
    for (a, &d) in da.iter_mut().zip(dq) {
        *a = *a + (d - mean);
    }
}

/// `dueling_fwd`: bufs v \[R\], a [R, C], q [R, C].
pub fn cpu_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DuelingParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("dueling_fwd", bufs, &[("v", r), ("a", r * c), ("q", r * c)])?;
    let [v, a, q] = bufs else { unreachable!("the spec has 3 buffers") };
    let (v, a) = (f32s(v), f32s(a));
    for (row, qr) in f32s_mut(q)[..r * c].chunks_mut(c.max(1)).enumerate() {
        row_forward(v[row], &a[row * c..(row + 1) * c], qr);
    }
    Ok(())
}

/// `dueling_bwd`: bufs dq, dv, da.
pub fn cpu_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DuelingParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("dueling_bwd", bufs, &[("dq", r * c), ("dv", r), ("da", r * c)])?;
    let [dq, dv, da] = bufs else { unreachable!("the spec has 3 buffers") };
    let (dq, dv) = (f32s(dq), f32s_mut(dv));
    for (row, dar) in f32s_mut(da)[..r * c].chunks_mut(c.max(1)).enumerate() {
        row_backward(&dq[row * c..(row + 1) * c], &mut dv[row], dar);
    }
    Ok(())
}

/// Sizes of `dueling_fwd`.
pub fn sizes_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: DuelingParams = decode(bytes);
    let n = p.rows as u64 * p.cols as u64;
    vec![p.rows as u64, n, n]
}

/// Sizes of `dueling_bwd`.
pub fn sizes_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: DuelingParams = decode(bytes);
    let n = p.rows as u64 * p.cols as u64;
    vec![n, p.rows as u64, n]
}

crate::kernels! {
    stem "ops" / "dueling";
    /// nn: dueling combine V + A − mean A.
    DUELING_FWD = dueling_fwd(IndexParams; v: R F32, a: R F32, q: W F32)
        cpu cpu_fwd, sizes sizes_fwd;
    /// nn: dueling combine backward.
    DUELING_BWD = dueling_bwd(IndexParams; dq: R F32, dv: W F32, da: W F32)
        cpu cpu_bwd, sizes sizes_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // V = 1, A = [1, 2, 6]: mean 3, Q = [−1, 0, 4]
        let mut q = [0.0f64; 3];
        row_forward(1.0, &[1.0, 2.0, 6.0], &mut q);
        assert_eq!(q, [-1.0, 0.0, 4.0]);
        let (mut dv, mut da) = (0.5f64, [0.0; 3]);
        row_backward(&[3.0, 0.0, 0.0], &mut dv, &mut da);
        assert_eq!((dv, da), (3.5, [2.0, -1.0, -1.0]));
    }
}
