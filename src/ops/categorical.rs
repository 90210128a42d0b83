//! Sampling from categorical distributions given as log-probabilities (the output of a masked
//! log-softmax), and their entropy.
//!
//! - `categorical_sample`: per row r, u = uniform of Philox block (r, step, 0,
//!   [`stream::NN_CATEGORICAL`]) under `key`; the action is the first allowed j with
//!   u < Σ_{k ≤ j, allowed} exp(logp_k) (in index order), or the last allowed j when rounding
//!   leaves the total below u; a row with nothing allowed gives `u32::MAX`. Entries at or below
//!   [`MASKED_BELOW`] are masked, and so are NaN entries (the log-softmax of a row with nothing
//!   allowed is NaN).
//! - `categorical_argmax`: per row the first allowed j of the largest logp_j (greedy decoding);
//!   `u32::MAX` for a row with nothing allowed.
//! - entropy H_r = −Σ_allowed p_j·logp_j with p = exp(logp); backward
//!   dlogp_j += dH_r·(−p_j·(logp_j + 1)) for allowed j.
//!
//! [`stream::NN_CATEGORICAL`]: crate::rng::stream::NN_CATEGORICAL

use super::softmax::MASKED_BELOW;
use super::Real;
use crate::backend::cpu::{f32s, f32s_mut, need, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::rng;

/// Parameters of `categorical_sample` / `entropy_fwd` / `entropy_bwd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CategoricalParams {
    /// Rows R.
    pub rows: u32,
    /// Columns C.
    pub cols: u32,
    /// Philox key (sampling).
    pub key0: u32,
    /// Philox key, second word.
    pub key1: u32,
    /// Counter word 1 (e.g. the environment step).
    pub step: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// The action of row `r`.
pub fn sample_row(p: &CategoricalParams, r: u32, logp: &[f32]) -> u32 {
    let w = rng::philox4x32_10([r, p.step, 0, rng::stream::NN_CATEGORICAL], [p.key0, p.key1]);
    let u = rng::uniform(w[0]);
    let mut cum = 0.0f32;
    let mut last = u32::MAX;
    for (j, &l) in logp.iter().enumerate() {
        if l.is_nan() || l <= MASKED_BELOW {
            continue; // masked, or NaN (a row with nothing allowed)
        }
        cum += crate::math::exp(l);
        last = j as u32;
        if u < cum {
            return last;
        }
    }
    last
}

/// The most likely allowed action of one row (the first of equals), `u32::MAX` if none.
pub fn argmax_row(logp: &[f32]) -> u32 {
    let mut best = u32::MAX;
    let mut m = 0.0f32;
    for (j, &l) in logp.iter().enumerate() {
        if l.is_nan() || l <= MASKED_BELOW {
            continue; // masked, or NaN
        }
        if best == u32::MAX || l > m {
            m = l;
            best = j as u32;
        }
    }
    best
}

/// Entropy of one row.
pub fn entropy_row<T: Real>(logp: &[T]) -> T {
    let mut h = T::ZERO;
    for &l in logp {
        if l > T::c(MASKED_BELOW as f64) {
            h = h - l.exp() * l;
        }
    }
    h
}

/// Entropy backward of one row (accumulates).
pub fn entropy_row_backward<T: Real>(logp: &[T], dh: T, dlogp: &mut [T]) {
    for (d, &l) in dlogp.iter_mut().zip(logp) {
        if l > T::c(MASKED_BELOW as f64) {
            *d = *d + dh * (-(l.exp() * (l + T::ONE)));
        }
    }
}

/// `categorical_sample`: bufs logp, action.
pub fn cpu_sample(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CategoricalParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need("categorical_sample", "logp", bufs[0].len(), r * c)?;
    need("categorical_sample", "action", bufs[1].len(), r)?;
    let [logp, action] = bufs else { unreachable!("the spec has 2 buffers") };
    let logp = f32s(logp);
    for (row, a) in action[..r].iter_mut().enumerate() {
        *a = sample_row(&p, row as u32, &logp[row * c..(row + 1) * c]);
    }
    Ok(())
}

/// `categorical_argmax`: bufs logp, action.
pub fn cpu_argmax(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CategoricalParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("categorical_argmax", bufs, &[("logp", r * c), ("action", r)])?;
    let [logp, action] = bufs else { unreachable!("the spec has 2 buffers") };
    let logp = f32s(logp);
    for (row, a) in action[..r].iter_mut().enumerate() {
        *a = argmax_row(&logp[row * c..(row + 1) * c]);
    }
    Ok(())
}

/// `entropy_fwd`: bufs logp, h \[R\].
pub fn cpu_entropy_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CategoricalParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need("entropy_fwd", "logp", bufs[0].len(), r * c)?;
    need("entropy_fwd", "h", bufs[1].len(), r)?;
    let [logp, h] = bufs else { unreachable!("the spec has 2 buffers") };
    let logp = f32s(logp);
    for (row, h) in f32s_mut(h)[..r].iter_mut().enumerate() {
        *h = entropy_row(&logp[row * c..(row + 1) * c]);
    }
    Ok(())
}

/// `entropy_bwd`: bufs logp, dh \[R\], dlogp.
pub fn cpu_entropy_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CategoricalParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("entropy_bwd", bufs, &[("logp", r * c), ("dh", r), ("dlogp", r * c)])?;
    let [logp, dh, dlogp] = bufs else { unreachable!("the spec has 3 buffers") };
    let (logp, dh) = (f32s(logp), f32s(dh));
    for (row, d) in f32s_mut(dlogp)[..r * c].chunks_mut(c.max(1)).enumerate() {
        entropy_row_backward(&logp[row * c..(row + 1) * c], dh[row], d);
    }
    Ok(())
}

/// Sizes of `categorical_sample` and `entropy_fwd`.
pub fn sizes_rows(bytes: &[u8]) -> Vec<u64> {
    let p: CategoricalParams = decode(bytes);
    vec![p.rows as u64 * p.cols as u64, p.rows as u64]
}

/// Sizes of `entropy_bwd`.
pub fn sizes_entropy_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: CategoricalParams = decode(bytes);
    let n = p.rows as u64 * p.cols as u64;
    vec![n, p.rows as u64, n]
}

crate::kernel_params!(CategoricalParams { rows, cols, key0, key1, step, _pad0, _pad1, _pad2 });

crate::kernels! {
    stem "ops" / "categorical";
    /// nn: masked categorical sampling through Philox.
    CATEGORICAL_SAMPLE = categorical_sample(CategoricalParams; logp: R F32, action: W U32)
        cpu cpu_sample, sizes sizes_rows;
    /// nn: the most likely allowed action per row (greedy decoding).
    CATEGORICAL_ARGMAX = categorical_argmax(CategoricalParams; logp: R F32, action: W U32)
        cpu cpu_argmax, sizes sizes_rows;
    /// nn: entropy of categorical rows.
    ENTROPY_FWD = entropy_fwd(CategoricalParams; logp: R F32, h: W F32)
        cpu cpu_entropy_fwd, sizes sizes_rows;
    /// nn: entropy backward.
    ENTROPY_BWD = entropy_bwd(CategoricalParams; logp: R F32, dh: R F32, dlogp: W F32)
        cpu cpu_entropy_bwd, sizes sizes_entropy_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_by_hand_and_sampling_frequencies() {
        // p = [1/2, 1/4, 1/4, masked]: H = ln 2 / 2 + 2 · ln 4 / 4 = 1.5 ln 2
        let logp = [0.5f64.ln(), 0.25f64.ln(), 0.25f64.ln(), super::super::softmax::MASKED_LOGP as f64];
        assert!((entropy_row(&logp) - 1.5 * 2f64.ln()).abs() < 1e-15);
        let mut d = [0.0; 4];
        entropy_row_backward(&logp, 2.0, &mut d);
        assert!((d[0] - 2.0 * (-(0.5 * (0.5f64.ln() + 1.0)))).abs() < 1e-15 && d[3] == 0.0);
        // frequencies over many rows follow p; the masked entry is never drawn
        let lp32: Vec<f32> = logp.iter().map(|&x| x as f32).collect();
        let p = CategoricalParams { rows: 1, cols: 4, key0: 3, key1: 4, ..Default::default() };
        let mut counts = [0usize; 4];
        for r in 0..20_000u32 {
            counts[sample_row(&p, r, &lp32) as usize] += 1;
        }
        assert_eq!(counts[3], 0);
        assert!((counts[0] as f64 / 20_000.0 - 0.5).abs() < 0.02, "{counts:?}");
        assert!((counts[1] as f64 / 20_000.0 - 0.25).abs() < 0.02, "{counts:?}");
        // nothing allowed
        assert_eq!(sample_row(&p, 0, &[super::super::softmax::MASKED_LOGP; 3]), u32::MAX);
        // argmax: the first of the largest allowed entries; NaN and masked entries skipped
        assert_eq!(argmax_row(&[-2.0, -0.5, -0.5, -1.0]), 1);
        assert_eq!(argmax_row(&[f32::NAN, -3.0, super::super::softmax::MASKED_LOGP]), 1);
        assert_eq!(argmax_row(&[super::super::softmax::MASKED_LOGP; 2]), u32::MAX);
    }
}
