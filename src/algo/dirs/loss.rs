//! DIRS' maximum vote (§V-C (5)) and loss (17) as CPU kernels, the reference of every backend
//! (their specs are in `kernels.rs`), with the parameter block and buffer sizes.

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::ops::act::{self, Act};
use crate::ops::Real;
use rayon::prelude::*;

/// Parameter block of the `dirs_*` kernels (mirrored in the `.cu` and `.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DirsParams {
    /// M, agents.
    pub m: u32,
    /// R, rows (instances or minibatch transitions).
    pub rows: u32,
    /// N, IoTDs.
    pub n: u32,
    /// Layout padding.
    pub _pad0: u32,
    /// λ2 of eq. (17).
    pub lambda2: f32,
    /// Layout padding.
    pub _pad1: u32,
    /// Layout padding.
    pub _pad2: u32,
    /// Layout padding.
    pub _pad3: u32,
}

/// §V-C (5), the maximum vote of one IoTD from its M logits (stride `stride` apart).
#[inline]
pub fn vote_one(z: &[f32], m: usize, stride: usize, at: usize) -> u32 {
    let mut best = 0u32;
    let mut bz = f32::NEG_INFINITY;
    for j in 0..m {
        let v = z[j * stride + at];
        if v > bz {
            bz = v;
            best = j as u32 + 1;
        }
    }
    // σ(z) ≥ 0.5 ⟺ z ≥ 0; NaN never wins (an all-NaN IoTD stays local).
    if bz >= 0.0 {
        best
    } else {
        0
    }
}

/// BCE with logits of one element (the same expression as `ops::loss::bce`).
#[inline]
pub(crate) fn bce_term(z: f32, t: f32) -> f32 {
    let pos = if z > 0.0 { z } else { 0.0 };
    (pos - z * t) + Real::ln1p(Real::exp(-z.abs()))
}

/// `dirs_vote`: bufs z [M, R, N], a [R, N].
pub fn cpu_vote(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DirsParams = decode(params);
    let (m, r, n) = (p.m as usize, p.rows as usize, p.n as usize);
    need_all("dirs_vote", bufs, &[("z", m * r * n), ("a", r * n)])?;
    let [z, a] = bufs else { unreachable!("the spec has 2 buffers") };
    let z = f32s(z);
    a[..r * n].par_chunks_mut(n.max(1)).enumerate().for_each(|(row, out)| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = vote_one(z, m, r * n, row * n + i);
        }
    });
    Ok(())
}

/// `dirs_loss_rows`: bufs z [M, R, N], label [R, N], ls \[R\].
pub fn cpu_loss_rows(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DirsParams = decode(params);
    let (m, r, n) = (p.m as usize, p.rows as usize, p.n as usize);
    need_all("dirs_loss_rows", bufs, &[("z", m * r * n), ("label", r * n), ("ls", r)])?;
    let [z, label, ls] = bufs else { unreachable!("the spec has 3 buffers") };
    let (z, label) = (f32s(z), &label[..]);
    f32s_mut(ls)[..r].par_iter_mut().enumerate().for_each(|(k, out)| {
        let mut s = 0.0f32;
        for j in 0..m {
            for i in 0..n {
                let t = if label[k * n + i] == j as u32 + 1 { 1.0 } else { 0.0 };
                s += bce_term(z[(j * r + k) * n + i], t);
            }
        }
        *out = s;
    });
    Ok(())
}

/// Weights c_k of loss (17) and the loss; `demo` flags, `ls` row losses (one thread).
pub fn loss_total(lambda2: f32, m: usize, demo: &[u32], ls: &[f32], c: &mut [f32], v: &mut [f32]) -> f32 {
    let r = ls.len();
    let mut nd = 0u32;
    for &d in demo {
        nd += (d != 0) as u32;
    }
    let na = r as u32 - nd;
    let cd = if nd > 0 { 1.0 / nd as f32 } else { 0.0 };
    let ca = if na > 0 { lambda2 / na as f32 } else { 0.0 };
    let mut loss = 0.0f32;
    for k in 0..r {
        c[k] = if demo[k] != 0 { cd } else { ca };
        loss += c[k] * ls[k];
        v[k] = ls[k] / m as f32;
    }
    loss
}

/// `dirs_loss_total`: bufs demo \[R\], ls \[R\], c \[R\], v \[R\], loss \[1\].
pub fn cpu_loss_total(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DirsParams = decode(params);
    let r = p.rows as usize;
    need_all("dirs_loss_total", bufs, &[("demo", r), ("ls", r), ("c", r), ("v", r), ("loss", 1)])?;
    let [demo, ls, c, v, loss] = bufs else { unreachable!("the spec has 5 buffers") };
    let l =
        loss_total(p.lambda2, p.m as usize, &demo[..r], &f32s(ls)[..r], &mut f32s_mut(c)[..r], &mut f32s_mut(v)[..r]);
    f32s_mut(loss)[0] = l;
    Ok(())
}

/// `dirs_loss_grad`: bufs z [M, R, N], label [R, N], c \[R\], g [M, R, N] (written, not accumulated).
pub fn cpu_loss_grad(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DirsParams = decode(params);
    let (m, r, n) = (p.m as usize, p.rows as usize, p.n as usize);
    need_all("dirs_loss_grad", bufs, &[("z", m * r * n), ("label", r * n), ("c", r), ("g", m * r * n)])?;
    let [z, label, c, g] = bufs else { unreachable!("the spec has 4 buffers") };
    let (z, label, c) = (f32s(z), &label[..], f32s(c));
    f32s_mut(g)[..m * r * n].par_chunks_mut(n.max(1)).enumerate().for_each(|(jk, out)| {
        let (j, k) = (jk / r, jk % r);
        for (i, o) in out.iter_mut().enumerate() {
            let t = if label[k * n + i] == j as u32 + 1 { 1.0 } else { 0.0 };
            *o = c[k] * (act::apply(Act::Sigmoid, z[jk * n + i]) - t);
        }
    });
    Ok(())
}

fn dims(bytes: &[u8]) -> (u64, u64, u64) {
    let p: DirsParams = decode(bytes);
    (p.m as u64, p.rows as u64, p.n as u64)
}

/// Sizes of `dirs_vote`.
pub fn sizes_vote(bytes: &[u8]) -> Vec<u64> {
    let (m, r, n) = dims(bytes);
    vec![m * r * n, r * n]
}

/// Sizes of `dirs_loss_rows`.
pub fn sizes_loss_rows(bytes: &[u8]) -> Vec<u64> {
    let (m, r, n) = dims(bytes);
    vec![m * r * n, r * n, r]
}

/// Sizes of `dirs_loss_total`.
pub fn sizes_loss_total(bytes: &[u8]) -> Vec<u64> {
    let (_, r, _) = dims(bytes);
    vec![r, r, r, r, 1]
}

/// Sizes of `dirs_loss_grad`.
pub fn sizes_loss_grad(bytes: &[u8]) -> Vec<u64> {
    let (m, r, n) = dims(bytes);
    vec![m * r * n, r * n, r, m * r * n]
}
