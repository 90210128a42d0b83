//! Losses. Mean squared error: L = (Σ_j (y_j − t_j)²) / n, the sum in index order from 0 by one
//! thread (a scalar for the whole tensor); backward dy_j += ((y_j − t_j)·(2/n))·dL.

use super::Real;
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::registry::params as decode;
use crate::error::Result;

/// Parameters of `mse_fwd` / `mse_bwd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossParams {
    /// Elements.
    pub n: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// L = mean((y − t)²).
pub fn mse<T: Real>(y: &[T], t: &[T]) -> T {
    let mut s = T::ZERO;
    for (&a, &b) in y.iter().zip(t) {
        let d = a - b;
        s = s + d * d;
    }
    s / T::c(y.len() as f64)
}

/// dy += (y − t)·(2/n)·dL.
pub fn mse_backward<T: Real>(y: &[T], t: &[T], dl: T, dy: &mut [T]) {
    let c = T::c(2.0) / T::c(y.len() as f64);
    for ((g, &a), &b) in dy.iter_mut().zip(y).zip(t) {
        *g = *g + (a - b) * c * dl;
    }
}

/// `mse_fwd`: bufs y, t, loss [1].
pub fn cpu_mse_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need("mse_fwd", "y", bufs[0].len(), n)?;
    need("mse_fwd", "t", bufs[1].len(), n)?;
    need("mse_fwd", "loss", bufs[2].len(), 1)?;
    let [y, t, loss] = bufs else { unreachable!("registry has 3 buffers") };
    f32s_mut(loss)[0] = mse(&f32s(y)[..n], &f32s(t)[..n]);
    Ok(())
}

/// `mse_bwd`: bufs y, t, dl [1], dy.
pub fn cpu_mse_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    for (k, (name, want)) in [("y", n), ("t", n), ("dl", 1), ("dy", n)].into_iter().enumerate() {
        need("mse_bwd", name, bufs[k].len(), want)?;
    }
    let [y, t, dl, dy] = bufs else { unreachable!("registry has 4 buffers") };
    mse_backward(&f32s(y)[..n], &f32s(t)[..n], f32s(dl)[0], &mut f32s_mut(dy)[..n]);
    Ok(())
}

/// Sizes of `mse_fwd`.
pub fn sizes_mse_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: LossParams = decode(bytes);
    vec![p.n as u64, p.n as u64, 1]
}

/// Sizes of `mse_bwd`.
pub fn sizes_mse_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: LossParams = decode(bytes);
    vec![p.n as u64, p.n as u64, 1, p.n as u64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_by_hand() {
        // (1 − 0)² + (2 − 4)² = 5, over 2 = 2.5; dy = (y − t)·(2/2)·3 = [3, −6] added to [1, 1]
        assert_eq!(mse(&[1.0f64, 2.0], &[0.0, 4.0]), 2.5);
        let mut dy = [1.0f64, 1.0];
        mse_backward(&[1.0, 2.0], &[0.0, 4.0], 3.0, &mut dy);
        assert_eq!(dy, [4.0, -5.0]);
    }
}
