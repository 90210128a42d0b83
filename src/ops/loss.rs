//! Losses, each a scalar \[1\] for the whole batch (one thread sums in index order from 0), and
//! their backward (one thread per element, accumulating): with n elements (rows for `ce`),
//! - MSE: L = Σ (y − t)² / n; dy += ((y − t)·(2/n))·dL.
//! - Huber (δ = `a`): ℓ = ½d² if |d| ≤ δ else δ(|d| − ½δ), d = y − t; L = Σℓ / n;
//!   dy += (clamp(d, −δ, δ)·(1/n))·dL.
//! - Binary cross-entropy with logits z: ℓ = max(z, 0) − z·t + ln(1 + exp(−|z|)); L = Σℓ / n;
//!   dz += ((σ(z) − t)·(1/n))·dL.
//! - Categorical cross-entropy from log-probabilities [R, C] and target indices \[R\]:
//!   L = −(Σ_r logp[r, t_r]) / R; dlogp[r, t_r] += −(dL / R). A target ≥ C gives NaN / is skipped.
//! - PPO clipped surrogate (MRLCO eq. 19, ε = `a`): ρ = exp(logp − logp_old),
//!   L = −Σ min(ρA, clip(ρ, 1 − ε, 1 + ε)A) / n; dlogp += −(g·(dL/n)) with g = ρA where the
//!   unclipped term is the minimum (ρA ≤ clip(ρ)A), else 0.
//!
//! One exception to the index-order sums, within the parity tolerance: the CPU kernels of MSE
//! and Huber sum, per block of 65,536 elements, 16 interleaved partial sums (element i into sum
//! i mod 16, then the 16 in order), then the blocks in order, because one chain of dependent
//! adds over a 256 K-element batch cost more than the layer that produced it. The generic
//! functions keep the single chain (gradient checks).

use super::act::{self, Act};
use super::{team_chunk, team_parts, Real, TEAM_ELEMS};
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of the loss kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossParams {
    /// Elements (rows for `ce`).
    pub n: u32,
    /// Columns (`ce` only).
    pub cols: u32,
    /// δ (Huber) or ε (PPO).
    pub a: f32,
    /// `mse_bwd` only: 1 when dy is a new gradient buffer, written rather than accumulated
    /// into (its old contents never read); 0 accumulates.
    pub fresh: u32,
}

/// MSE.
pub fn mse<T: Real>(y: &[T], t: &[T]) -> T {
    let mut s = T::ZERO;
    for (&a, &b) in y.iter().zip(t) {
        let d = a - b;
        s = s + d * d;
    }
    s / T::c(y.len() as f64)
}

/// MSE backward.
pub fn mse_backward<T: Real>(y: &[T], t: &[T], dl: T, dy: &mut [T]) {
    mse_backward_into(y, t, dl, dy, false)
}

/// [`mse_backward`], or with `fresh` dy = … (dy's old contents not read).
fn mse_backward_into<T: Real>(y: &[T], t: &[T], dl: T, dy: &mut [T], fresh: bool) {
    let c = T::c(2.0) / T::c(y.len() as f64);
    for ((g, &a), &b) in dy.iter_mut().zip(y).zip(t) {
        let v = (a - b) * c * dl;
        *g = if fresh { v } else { *g + v };
    }
}

/// Huber.
pub fn huber<T: Real>(y: &[T], t: &[T], delta: T) -> T {
    let half = T::c(0.5);
    let mut s = T::ZERO;
    for (&a, &b) in y.iter().zip(t) {
        let d = a - b;
        let ad = d.abs();
        s = s + if ad <= delta { half * d * d } else { delta * (ad - half * delta) };
    }
    s / T::c(y.len() as f64)
}

/// Huber backward.
pub fn huber_backward<T: Real>(y: &[T], t: &[T], delta: T, dl: T, dy: &mut [T]) {
    let inv = T::ONE / T::c(y.len() as f64);
    for ((g, &a), &b) in dy.iter_mut().zip(y).zip(t) {
        let d = a - b;
        let c = if d > delta {
            delta
        } else if d < -delta {
            -delta
        } else {
            d
        };
        *g = *g + c * inv * dl;
    }
}

/// Binary cross-entropy with logits.
pub fn bce<T: Real>(z: &[T], t: &[T]) -> T {
    let mut s = T::ZERO;
    for (&a, &b) in z.iter().zip(t) {
        let pos = if a > T::ZERO { a } else { T::ZERO };
        s = s + ((pos - a * b) + (-a.abs()).exp().ln1p());
    }
    s / T::c(z.len() as f64)
}

/// BCE backward.
pub fn bce_backward<T: Real>(z: &[T], t: &[T], dl: T, dz: &mut [T]) {
    let inv = T::ONE / T::c(z.len() as f64);
    for ((g, &a), &b) in dz.iter_mut().zip(z).zip(t) {
        *g = *g + (act::apply(Act::Sigmoid, a) - b) * inv * dl;
    }
}

/// Categorical cross-entropy from log-probabilities [rows, cols] and targets.
pub fn ce<T: Real>(logp: &[T], target: &[u32], cols: usize) -> T {
    let mut s = T::ZERO;
    for (r, &j) in target.iter().enumerate() {
        s = s + if (j as usize) < cols { logp[r * cols + j as usize] } else { T::c(f64::NAN) };
    }
    -(s / T::c(target.len() as f64))
}

/// CE backward.
pub fn ce_backward<T: Real>(target: &[u32], cols: usize, dl: T, dlogp: &mut [T]) {
    let g = -(dl / T::c(target.len() as f64));
    for (r, &j) in target.iter().enumerate() {
        if (j as usize) < cols {
            let d = &mut dlogp[r * cols + j as usize];
            *d = *d + g;
        }
    }
}

/// (min term, its gradient factor g) of the PPO surrogate for one sample.
#[inline]
pub(crate) fn ppo_terms<T: Real>(lp: T, old: T, adv: T, eps: T) -> (T, T) {
    let rho = (lp - old).exp();
    let lo = T::ONE - eps;
    let hi = T::ONE + eps;
    let clipped = if rho < lo {
        lo
    } else if rho > hi {
        hi
    } else {
        rho
    };
    let s1 = rho * adv;
    let s2 = clipped * adv;
    if s1 <= s2 {
        (s1, s1)
    } else {
        (s2, T::ZERO)
    }
}

/// PPO clipped surrogate loss.
pub fn ppo<T: Real>(logp: &[T], old: &[T], adv: &[T], eps: T) -> T {
    let mut s = T::ZERO;
    for ((&l, &o), &a) in logp.iter().zip(old).zip(adv) {
        s = s + ppo_terms(l, o, a, eps).0;
    }
    -(s / T::c(logp.len() as f64))
}

/// PPO backward.
pub fn ppo_backward<T: Real>(logp: &[T], old: &[T], adv: &[T], eps: T, dl: T, dlogp: &mut [T]) {
    let c = dl / T::c(logp.len() as f64);
    for (((d, &l), &o), &a) in dlogp.iter_mut().zip(logp).zip(old).zip(adv) {
        *d = *d + -(ppo_terms(l, o, a, eps).1 * c);
    }
}

/// `mse_fwd`: bufs y, t, loss.
pub fn cpu_mse_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("mse_fwd", bufs, &[("y", n), ("t", n), ("loss", 1)])?;
    let [y, t, loss] = bufs else { unreachable!("the spec has 3 buffers") };
    f32s_mut(loss)[0] = lane_mean(&f32s(y)[..n], &f32s(t)[..n], |a, b| (a - b) * (a - b));
    Ok(())
}

/// `mse_bwd`: bufs y, t, dl, dy.
pub fn cpu_mse_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("mse_bwd", bufs, &[("y", n), ("t", n), ("dl", 1), ("dy", n)])?;
    let [y, t, dl, dy] = bufs else { unreachable!("the spec has 4 buffers") };
    let (y, t, dl, dy) = (&f32s(y)[..n], &f32s(t)[..n], f32s(dl)[0], &mut f32s_mut(dy)[..n]);
    if n >= TEAM_ELEMS {
        // mse_backward's expression per element, with c from the whole n
        let c = 2.0f32 / n as f32;
        let ch = team_chunk(n);
        let parts: Vec<_> = dy.chunks_mut(ch).zip(y.chunks(ch)).zip(t.chunks(ch)).collect();
        let fresh = p.fresh != 0;
        team_parts(parts, &|((g, y), t): ((&mut [f32], &[f32]), &[f32])| {
            let it = g.iter_mut().zip(y).zip(t);
            if fresh {
                it.for_each(|((g, &a), &b)| *g = (a - b) * c * dl);
            } else {
                it.for_each(|((g, &a), &b)| *g += (a - b) * c * dl);
            }
        });
    } else {
        mse_backward_into(y, t, dl, dy, p.fresh != 0);
    }
    Ok(())
}

/// Elements per block of [`lane_mean`] (fixed, so the sum does not depend on the thread count).
const LANE_BLOCK: usize = 1 << 16;

/// Σ_i term(a_i, b_i) / n: per block of [`LANE_BLOCK`] elements 16 interleaved partial sums,
/// then those in order, then the blocks' sums in order (see the module comment); the blocks
/// run on the team.
fn lane_mean(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32 + Sync) -> f32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    type Block<'a> = (usize, (&'a [f32], &'a [f32]));
    let parts: Vec<Block<'_>> = a.chunks(LANE_BLOCK).zip(b.chunks(LANE_BLOCK)).enumerate().collect();
    let sums: Vec<AtomicU32> = (0..parts.len()).map(|_| AtomicU32::new(0)).collect();
    team_parts(parts, &|(i, (x, y)): Block<'_>| sums[i].store(lane_sum(x, y, &term).to_bits(), Ordering::Relaxed));
    sums.iter().fold(0.0f32, |acc, s| acc + f32::from_bits(s.load(Ordering::Relaxed))) / a.len() as f32
}

/// Σ_i term(a_i, b_i) over 16 interleaved partial sums, then those in order.
fn lane_sum(a: &[f32], b: &[f32], term: &(impl Fn(f32, f32) -> f32 + Sync)) -> f32 {
    const L: usize = 16;
    let mut s = [0.0f32; L];
    let (ac, bc) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..L {
            s[l] += term(x[l], y[l]);
        }
    }
    for (l, (&x, &y)) in ar.iter().zip(br).enumerate() {
        s[l] += term(x, y);
    }
    s.iter().fold(0.0, |acc, &v| acc + v)
}

/// `huber_fwd`: bufs y, t, loss.
pub fn cpu_huber_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("huber_fwd", bufs, &[("y", n), ("t", n), ("loss", 1)])?;
    let [y, t, loss] = bufs else { unreachable!("the spec has 3 buffers") };
    let delta = p.a;
    f32s_mut(loss)[0] = lane_mean(&f32s(y)[..n], &f32s(t)[..n], |a, b| {
        let d = a - b;
        if d.abs() <= delta {
            0.5 * d * d
        } else {
            delta * (d.abs() - 0.5 * delta)
        }
    });
    Ok(())
}

/// `huber_bwd`: bufs y, t, dl, dy.
pub fn cpu_huber_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("huber_bwd", bufs, &[("y", n), ("t", n), ("dl", 1), ("dy", n)])?;
    let [y, t, dl, dy] = bufs else { unreachable!("the spec has 4 buffers") };
    huber_backward(&f32s(y)[..n], &f32s(t)[..n], p.a, f32s(dl)[0], &mut f32s_mut(dy)[..n]);
    Ok(())
}

/// `bce_fwd`: bufs z, t, loss.
pub fn cpu_bce_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("bce_fwd", bufs, &[("z", n), ("t", n), ("loss", 1)])?;
    let [z, t, loss] = bufs else { unreachable!("the spec has 3 buffers") };
    f32s_mut(loss)[0] = bce(&f32s(z)[..n], &f32s(t)[..n]);
    Ok(())
}

/// `bce_bwd`: bufs z, t, dl, dz.
pub fn cpu_bce_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("bce_bwd", bufs, &[("z", n), ("t", n), ("dl", 1), ("dz", n)])?;
    let [z, t, dl, dz] = bufs else { unreachable!("the spec has 4 buffers") };
    bce_backward(&f32s(z)[..n], &f32s(t)[..n], f32s(dl)[0], &mut f32s_mut(dz)[..n]);
    Ok(())
}

/// `ce_fwd`: bufs logp [n, cols], target \[n\], loss.
pub fn cpu_ce_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let (n, c) = (p.n as usize, p.cols as usize);
    need_all("ce_fwd", bufs, &[("logp", n * c), ("labels", n), ("loss", 1)])?;
    let [logp, target, loss] = bufs else { unreachable!("the spec has 3 buffers") };
    f32s_mut(loss)[0] = ce(&f32s(logp)[..n * c], &target[..n], c);
    Ok(())
}

/// `ce_bwd`: bufs target, dl, dlogp.
pub fn cpu_ce_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let (n, c) = (p.n as usize, p.cols as usize);
    need_all("ce_bwd", bufs, &[("labels", n), ("dl", 1), ("dlogp", n * c)])?;
    let [target, dl, dlogp] = bufs else { unreachable!("the spec has 3 buffers") };
    ce_backward(&target[..n], c, f32s(dl)[0], &mut f32s_mut(dlogp)[..n * c]);
    Ok(())
}

/// `ppo_fwd`: bufs logp, logp_old, adv, loss.
pub fn cpu_ppo_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("ppo_fwd", bufs, &[("logp", n), ("logp_old", n), ("adv", n), ("loss", 1)])?;
    let [logp, old, adv, loss] = bufs else { unreachable!("the spec has 4 buffers") };
    f32s_mut(loss)[0] = ppo(&f32s(logp)[..n], &f32s(old)[..n], &f32s(adv)[..n], p.a);
    Ok(())
}

/// `ppo_bwd`: bufs logp, logp_old, adv, dl, dlogp.
pub fn cpu_ppo_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: LossParams = decode(params);
    let n = p.n as usize;
    need_all("ppo_bwd", bufs, &[("logp", n), ("logp_old", n), ("adv", n), ("dl", 1), ("dlogp", n)])?;
    let [logp, old, adv, dl, dlogp] = bufs else { unreachable!("the spec has 5 buffers") };
    ppo_backward(&f32s(logp)[..n], &f32s(old)[..n], &f32s(adv)[..n], p.a, f32s(dl)[0], &mut f32s_mut(dlogp)[..n]);
    Ok(())
}

fn dims(bytes: &[u8]) -> (u64, u64) {
    let p: LossParams = decode(bytes);
    (p.n as u64, p.cols as u64)
}

/// Sizes of `mse_fwd`, `huber_fwd`, `bce_fwd`.
pub fn sizes_pair_fwd(bytes: &[u8]) -> Vec<u64> {
    let (n, _) = dims(bytes);
    vec![n, n, 1]
}

/// Sizes of `mse_bwd`, `huber_bwd`, `bce_bwd`.
pub fn sizes_pair_bwd(bytes: &[u8]) -> Vec<u64> {
    let (n, _) = dims(bytes);
    vec![n, n, 1, n]
}

/// Sizes of `ce_fwd`.
pub fn sizes_ce_fwd(bytes: &[u8]) -> Vec<u64> {
    let (n, c) = dims(bytes);
    vec![n * c, n, 1]
}

/// Sizes of `ce_bwd`.
pub fn sizes_ce_bwd(bytes: &[u8]) -> Vec<u64> {
    let (n, c) = dims(bytes);
    vec![n, 1, n * c]
}

/// Sizes of `ppo_fwd`.
pub fn sizes_ppo_fwd(bytes: &[u8]) -> Vec<u64> {
    let (n, _) = dims(bytes);
    vec![n, n, n, 1]
}

/// Sizes of `ppo_bwd`.
pub fn sizes_ppo_bwd(bytes: &[u8]) -> Vec<u64> {
    let (n, _) = dims(bytes);
    vec![n, n, n, 1, n]
}

crate::kernel_params!(LossParams { n, cols, a, fresh });

crate::kernels! {
    stem "ops" / "loss";
    /// nn: mean squared error.
    MSE_FWD = mse_fwd(LossParams; y: R F32, t: R F32, loss: W F32)
        cpu cpu_mse_fwd, sizes sizes_pair_fwd;
    /// nn: mean squared error backward.
    MSE_BWD = mse_bwd(LossParams; y: R F32, t: R F32, dl: R F32, dy: W F32)
        cpu cpu_mse_bwd, sizes sizes_pair_bwd;
    /// nn: Huber loss.
    HUBER_FWD = huber_fwd(LossParams; y: R F32, t: R F32, loss: W F32)
        cpu cpu_huber_fwd, sizes sizes_pair_fwd;
    /// nn: Huber loss backward.
    HUBER_BWD = huber_bwd(LossParams; y: R F32, t: R F32, dl: R F32, dy: W F32)
        cpu cpu_huber_bwd, sizes sizes_pair_bwd;
    /// nn: binary cross-entropy with logits.
    BCE_FWD = bce_fwd(LossParams; z: R F32, t: R F32, loss: W F32)
        cpu cpu_bce_fwd, sizes sizes_pair_fwd;
    /// nn: binary cross-entropy backward.
    BCE_BWD = bce_bwd(LossParams; z: R F32, t: R F32, dl: R F32, dz: W F32)
        cpu cpu_bce_bwd, sizes sizes_pair_bwd;
    /// nn: categorical cross-entropy from log-probabilities.
    CE_FWD = ce_fwd(LossParams; logp: R F32, labels: R U32, loss: W F32)
        cpu cpu_ce_fwd, sizes sizes_ce_fwd;
    /// nn: categorical cross-entropy backward.
    CE_BWD = ce_bwd(LossParams; labels: R U32, dl: R F32, dlogp: W F32)
        cpu cpu_ce_bwd, sizes sizes_ce_bwd;
    /// nn: PPO clipped surrogate.
    PPO_FWD = ppo_fwd(LossParams; logp: R F32, logp_old: R F32, adv: R F32, loss: W F32)
        cpu cpu_ppo_fwd, sizes sizes_ppo_fwd;
    /// nn: PPO clipped surrogate backward.
    PPO_BWD = ppo_bwd(LossParams; logp: R F32, logp_old: R F32, adv: R F32, dl: R F32, dlogp: W F32)
        cpu cpu_ppo_bwd, sizes sizes_ppo_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_lane_sums_agree_with_the_single_chain() {
        // hand case (fewer elements than lanes): the same as mse/huber
        assert_eq!(lane_mean(&[1.0, 2.0], &[0.0, 4.0], |a, b| (a - b) * (a - b)), 2.5);
        // 100 003 elements (a remainder): within 1e-5 of the exact (f64) mean and closer to it
        // than the single f32 chain (which drifts by ~4e-5 here)
        let y: Vec<f32> = (0..100_003u64).map(|i| ((i * 7919 % 1000) as f32 / 250.0) - 2.0).collect();
        let t: Vec<f32> = (0..100_003u64).map(|i| ((i * 104_729 % 1000) as f32 / 500.0) - 1.0).collect();
        let exact = |f: &dyn Fn(f64) -> f64| {
            y.iter().zip(&t).map(|(&a, &b)| f(a as f64 - b as f64)).sum::<f64>() / y.len() as f64
        };
        let a = lane_mean(&y, &t, |a, b| (a - b) * (a - b)) as f64;
        let want = exact(&|d| d * d);
        assert!((a - want).abs() <= 1e-5 * want, "{a} vs {want}");
        assert!((a - want).abs() < (mse(&y, &t) as f64 - want).abs());
        let mut bufs: Vec<Vec<u32>> =
            vec![bytemuck::cast_slice(&y).to_vec(), bytemuck::cast_slice(&t).to_vec(), vec![0]];
        let p = LossParams { n: y.len() as u32, a: 1.0, ..Default::default() };
        let mut views: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
        cpu_huber_fwd(bytemuck::bytes_of(&p), &mut views).expect("huber");
        let got = f32::from_bits(bufs[2][0]) as f64;
        let want = exact(&|d| if d.abs() <= 1.0 { 0.5 * d * d } else { d.abs() - 0.5 });
        assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
    }

    #[test]
    fn mse_by_hand() {
        // (1 − 0)² + (2 − 4)² = 5, over 2 = 2.5; dy = (y − t)·(2/2)·3 = [3, −6] added to [1, 1]
        assert_eq!(mse(&[1.0f64, 2.0], &[0.0, 4.0]), 2.5);
        let mut dy = [1.0f64, 1.0];
        mse_backward(&[1.0, 2.0], &[0.0, 4.0], 3.0, &mut dy);
        assert_eq!(dy, [4.0, -5.0]);
    }

    #[test]
    fn huber_bce_ce_ppo_by_hand() {
        // δ = 1: d = [0.5, −3] → ½·0.25 + (3 − 0.5) = 2.625, /2
        assert_eq!(huber(&[0.5f64, -3.0], &[0.0, 0.0], 1.0), 1.3125);
        let mut dy = [0.0f64; 2];
        huber_backward(&[0.5, -3.0], &[0.0, 0.0], 1.0, 2.0, &mut dy);
        assert_eq!(dy, [0.5, -1.0]);
        // z = 0, t = 1: ln 2; z = ln 3, t = 0: ln 3 + ln(1 + 1/3) = ln 4
        let l = bce(&[0.0f64, 3f64.ln()], &[1.0, 0.0]);
        assert!((l - (2f64.ln() + 4f64.ln()) / 2.0).abs() < 1e-15);
        let mut dz = [0.0f64; 2];
        bce_backward(&[0.0, 3f64.ln()], &[1.0, 0.0], 1.0, &mut dz);
        assert!((dz[0] + 0.25).abs() < 1e-15 && (dz[1] - 0.375).abs() < 1e-15);
        // CE: −(ln 0.5 + ln 0.25)/2
        let logp = [0.5f64.ln(), 0.5f64.ln(), 0.75f64.ln(), 0.25f64.ln()];
        assert!((ce(&logp, &[0, 1], 2) + (0.5f64.ln() + 0.25f64.ln()) / 2.0).abs() < 1e-15);
        assert!(ce(&logp, &[0, 2], 2).is_nan());
        let mut d = [0.0f64; 4];
        ce_backward(&[0, 1], 2, 1.0, &mut d);
        assert_eq!(d, [-0.5, 0.0, 0.0, -0.5]);
        // PPO ε = 0.2: ρ = 2, A = 1 → clipped 1.2 (no gradient); ρ = 0.5, A = 1 → 0.5 (unclipped
        // is the min: gradient ρA); ρ = 2, A = −1 → −2 (unclipped min)
        let (lp, old, adv) = ([2f64.ln(), 0.5f64.ln(), 2f64.ln()], [0.0; 3], [1.0, 1.0, -1.0]);
        assert!((ppo(&lp, &old, &adv, 0.2) + (1.2 + 0.5 - 2.0) / 3.0).abs() < 1e-15);
        let mut d = [0.0f64; 3];
        ppo_backward(&lp, &old, &adv, 0.2, 3.0, &mut d);
        assert!(d[0] == 0.0 && (d[1] + 0.5).abs() < 1e-15 && (d[2] - 2.0).abs() < 1e-15, "{d:?}");
    }
}
