//! Fused optimizer steps (one thread per parameter element) and `fill` (gradients to zero, the
//! loss seed to one).
//!
//! - SGD (torch semantics): m = μ·m + g; p −= lr·m (μ = `beta1`; μ = 0 is plain SGD, m unused).
//! - Adam: m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
//!   p −= s·m / (√v · r + ε) with s = lr / (1 − β1^t) and r = 1 / √(1 − β2^t) computed on the
//!   host per step (torch's `addcdiv` form of lr·m̂ / (√v̂ + ε), the division by √(1 − β2^t)
//!   a product: one division and one square root per element).
//! - RMSProp (torch, not centered, no momentum): v = α·v + (1 − α)·g²; p −= lr·g / (√v + ε)
//!   (α = `beta2`).
//!
//! Weight decay `wd`: L2 (g += wd·p before the update) or, with `decoupled` = 1, AdamW's
//! p −= lr·wd·p before the update.

use super::{team_chunk, team_parts, TEAM_ELEMS};

/// Elements from which a step is split across the team: lower than the memory-bound passes'
/// threshold, an Adam element costs three divisions and a square root.
const PAR_STEP: usize = 1 << 12;
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::{Error, Result};

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Rule {
    /// SGD with momentum `beta1`.
    Sgd = 0,
    /// Adam.
    Adam = 1,
    /// RMSProp with decay `beta2`.
    RmsProp = 2,
}

/// Parameters of `optim_step`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OptimParams {
    /// Elements.
    pub n: u32,
    /// [`Rule`] as u32.
    pub rule: u32,
    /// 1: decoupled weight decay (AdamW); 0: L2 added to the gradient.
    pub decoupled: u32,
    /// Padding.
    pub _pad0: u32,
    /// Learning rate.
    pub lr: f32,
    /// β1 (Adam), momentum μ (SGD).
    pub beta1: f32,
    /// β2 (Adam), α (RMSProp).
    pub beta2: f32,
    /// ε.
    pub eps: f32,
    /// Weight decay.
    pub wd: f32,
    /// Adam's step size lr / (1 − β1^t).
    pub step_size: f32,
    /// Adam's 1 / √(1 − β2^t).
    pub rsqrt_bc2: f32,
    /// Padding.
    pub _pad1: u32,
}

/// Weight decay as a constant of [`step_k`]: none, L2, decoupled.
const WD_NONE: u32 = 0;
const WD_L2: u32 = 1;
const WD_DECOUPLED: u32 = 2;

/// The weight-decay mode of `q`.
fn wd_mode(q: &OptimParams) -> u32 {
    match (q.wd != 0.0, q.decoupled != 0) {
        (false, _) => WD_NONE,
        (true, false) => WD_L2,
        (true, true) => WD_DECOUPLED,
    }
}

/// One element's update (the kernel's loop over one element): returns (p, m, v).
pub fn step(q: &OptimParams, p: f32, g: f32, m: f32, v: f32) -> (f32, f32, f32) {
    let (mut p, mut m, mut v) = ([p], [m], [v]);
    pass_for(q)(q, &mut p, &[g], &mut m, &mut v);
    (p[0], m[0], v[0])
}

/// One element's update with the rule and the weight-decay mode constants (so each loop vectorizes
/// without a branch).
#[inline(always)]
fn step_k<const RULE: u32, const WD: u32>(q: &OptimParams, p: f32, g: f32, m: f32, v: f32) -> (f32, f32, f32) {
    let mut p = p;
    let mut g = g;
    if WD == WD_DECOUPLED {
        p -= q.lr * q.wd * p;
    } else if WD == WD_L2 {
        g += q.wd * p;
    }
    match RULE {
        0 => {
            if q.beta1 != 0.0 {
                let m = q.beta1 * m + g;
                (p - q.lr * m, m, v)
            } else {
                (p - q.lr * g, m, v)
            }
        }
        1 => {
            let m = q.beta1 * m + (1.0 - q.beta1) * g;
            let v = q.beta2 * v + (1.0 - q.beta2) * (g * g);
            // torch's form (step_size·m / (√v / √bc2 + ε)) with the host's reciprocal: one
            // division and one square root per element
            (p - q.step_size * m / (v.sqrt() * q.rsqrt_bc2 + q.eps), m, v)
        }
        _ => {
            let v = q.beta2 * v + (1.0 - q.beta2) * (g * g);
            (p - q.lr * g / (v.sqrt() + q.eps), m, v)
        }
    }
}

/// A loop over a part of the parameters (p, g, m, v).
type Pass = fn(&OptimParams, &mut [f32], &[f32], &mut [f32], &mut [f32]);

/// The loop of `q`'s rule and weight-decay mode.
fn pass_for(q: &OptimParams) -> Pass {
    match (q.rule, wd_mode(q)) {
        (0, WD_NONE) => pass::<0, WD_NONE>,
        (0, WD_L2) => pass::<0, WD_L2>,
        (0, _) => pass::<0, WD_DECOUPLED>,
        (1, WD_NONE) => pass::<1, WD_NONE>,
        (1, WD_L2) => pass::<1, WD_L2>,
        (1, _) => pass::<1, WD_DECOUPLED>,
        (_, WD_NONE) => pass::<2, WD_NONE>,
        (_, WD_L2) => pass::<2, WD_L2>,
        (_, _) => pass::<2, WD_DECOUPLED>,
    }
}

/// One loop of [`step_k`] over a part of the parameters.
fn pass<const RULE: u32, const WD: u32>(q: &OptimParams, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()).for_each(|(((p, &g), m), v)| {
        (*p, *m, *v) = step_k::<RULE, WD>(q, *p, g, *m, *v);
    })
}

/// `optim_step`: bufs p, g, m, v.
pub fn cpu_step(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let q: OptimParams = decode(params);
    if q.rule > 2 {
        return Err(Error::config("optim.rule", q.rule, "expected 0 (sgd), 1 (adam) or 2 (rmsprop)"));
    }
    let n = q.n as usize;
    for (k, name) in ["p", "g", "m", "v"].into_iter().enumerate() {
        need("optim_step", name, bufs[k].len(), n)?;
    }
    let [p, g, m, v] = bufs else { unreachable!("the spec has 4 buffers") };
    let (p, g, m, v) = (&mut f32s_mut(p)[..n], &f32s(g)[..n], &mut f32s_mut(m)[..n], &mut f32s_mut(v)[..n]);
    // one loop per rule and weight-decay mode (constants inside it), so each is vectorized
    let pass = pass_for(&q);
    if n >= PAR_STEP {
        let c = team_chunk(n);
        let parts: Vec<_> = p.chunks_mut(c).zip(g.chunks(c)).zip(m.chunks_mut(c)).zip(v.chunks_mut(c)).collect();
        type Part<'a> = (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]);
        team_parts(parts, &|(((p, g), m), v): Part<'_>| pass(&q, p, g, m, v));
    } else {
        pass(&q, p, g, m, v);
    }
    Ok(())
}

/// Parameters of `fill`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FillParams {
    /// Elements.
    pub n: u32,
    /// The word written (f32 bits for a float).
    pub value: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

/// `fill`: bufs out.
pub fn cpu_fill(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let q: FillParams = decode(params);
    need("fill", "out", bufs[0].len(), q.n as usize)?;
    let out = &mut bufs[0][..q.n as usize];
    if out.len() >= TEAM_ELEMS {
        let c = team_chunk(out.len());
        team_parts(out.chunks_mut(c).collect(), &|part: &mut [u32]| part.fill(q.value));
    } else {
        out.fill(q.value);
    }
    Ok(())
}

/// Parameters of `sumsq_acc` / `clip_scale` (global-norm gradient clipping without a round
/// trip: the squared norms of every gradient tensor are summed into a device scalar, then each
/// tensor is scaled by min(1, max_norm / (√total + eps))).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ClipParams {
    /// Elements of this tensor.
    pub n: u32,
    /// Largest global norm.
    pub max_norm: f32,
    /// ε of the factor's denominator.
    pub eps: f32,
    /// Padding.
    pub _pad0: u32,
}

/// acc += Σ g² (the sum over this tensor from 0 in order, added once).
pub fn sumsq(g: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for &x in g {
        s += x * x;
    }
    s
}

/// The clipping factor min(1, max_norm / (√total + eps)).
pub fn clip_factor(total: f32, max_norm: f32, eps: f32) -> f32 {
    let f = max_norm / (total.sqrt() + eps);
    if f < 1.0 {
        f
    } else {
        1.0
    }
}

/// `sumsq_acc`: bufs g, acc \[1\].
pub fn cpu_sumsq(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let q: ClipParams = decode(params);
    need("sumsq_acc", "g", bufs[0].len(), q.n as usize)?;
    need("sumsq_acc", "acc", bufs[1].len(), 1)?;
    let [g, acc] = bufs else { unreachable!("the spec has 2 buffers") };
    let a = &mut f32s_mut(acc)[0];
    *a += sumsq(&f32s(g)[..q.n as usize]);
    Ok(())
}

/// `clip_scale`: bufs acc \[1\], g.
pub fn cpu_clip(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let q: ClipParams = decode(params);
    need("clip_scale", "acc", bufs[0].len(), 1)?;
    need("clip_scale", "g", bufs[1].len(), q.n as usize)?;
    let [acc, g] = bufs else { unreachable!("the spec has 2 buffers") };
    let f = clip_factor(f32s(acc)[0], q.max_norm, q.eps);
    if f < 1.0 {
        f32s_mut(g)[..q.n as usize].iter_mut().for_each(|x| *x *= f);
    }
    Ok(())
}

/// Sizes of `sumsq_acc`.
pub fn sizes_sumsq(bytes: &[u8]) -> Vec<u64> {
    let q: ClipParams = decode(bytes);
    vec![q.n as u64, 1]
}

/// Sizes of `clip_scale`.
pub fn sizes_clip(bytes: &[u8]) -> Vec<u64> {
    let q: ClipParams = decode(bytes);
    vec![1, q.n as u64]
}

/// Sizes of `optim_step`.
pub fn sizes_step(bytes: &[u8]) -> Vec<u64> {
    let q: OptimParams = decode(bytes);
    vec![q.n as u64; 4]
}

/// Sizes of `fill`.
pub fn sizes_fill(bytes: &[u8]) -> Vec<u64> {
    let q: FillParams = decode(bytes);
    vec![q.n as u64]
}

crate::kernel_params!(OptimParams {
    n,
    rule,
    decoupled,
    _pad0,
    lr,
    beta1,
    beta2,
    eps,
    wd,
    step_size,
    rsqrt_bc2,
    _pad1
});
crate::kernel_params!(FillParams { n, value, _pad0, _pad1 });
crate::kernel_params!(ClipParams { n, max_norm, eps, _pad0 });

crate::kernels! {
    stem "ops" / "optim";
    /// nn: fused optimizer step (SGD, Adam, RMSProp).
    OPTIM_STEP = optim_step(OptimParams; p: W F32, g: R F32, m: W F32, v: W F32)
        cpu cpu_step, sizes sizes_step;
    /// Fill a buffer with one word.
    FILL = fill(FillParams; out: W U32)
        cpu cpu_fill, sizes sizes_fill;
    /// nn: squared gradient norm into a device scalar.
    SUMSQ_ACC = sumsq_acc(ClipParams; g: R F32, acc: W F32)
        cpu cpu_sumsq, sizes sizes_sumsq;
    /// nn: global-norm gradient clipping.
    CLIP_SCALE = clip_scale(ClipParams; acc: R F32, g: W F32)
        cpu cpu_clip, sizes sizes_clip;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(rule: Rule) -> OptimParams {
        OptimParams {
            n: 1,
            rule: rule as u32,
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step_size: 1.0, // lr 0.1 / (1 − β1) at t = 1
            rsqrt_bc2: 1.0 / 0.001f32.sqrt(),
            ..Default::default()
        }
    }

    #[test]
    fn first_steps_by_hand() {
        // Adam, t = 1: m = 0.1 g, v = 0.001 g²; m̂ = g, v̂ = g²: p −= lr·g/(|g| + ε) ≈ lr·sign(g)
        let (p, m, v) = step(&q(Rule::Adam), 1.0, 2.0, 0.0, 0.0);
        assert!((m - 0.2).abs() < 1e-6 && (v - 0.004).abs() < 1e-6 * 0.004 * 100.0, "{m} {v}");
        assert!((p - 0.9).abs() < 1e-6, "{p}");
        // SGD with momentum 0.9 from m = 1: m = 0.9 + 2 = 2.9; p = 1 − 0.29
        let (p, m, _) = step(&q(Rule::Sgd), 1.0, 2.0, 1.0, 0.0);
        assert!((m - 2.9).abs() < 1e-6 && (p - 0.71).abs() < 1e-6);
        // RMSProp α = 0.999 from v = 0: v = 0.004; p = 1 − 0.1·2/(√0.004 + ε)
        let (p, _, v) = step(&q(Rule::RmsProp), 1.0, 2.0, 0.0, 0.0);
        assert!((v - 0.004).abs() < 1e-6, "{v}");
        assert!((p - (1.0 - 0.2 / (v.sqrt() + 1e-8))).abs() < 1e-6, "{p}");
        // L2: g' = g + wd·p; decoupled: p·(1 − lr·wd) first
        let l2 = OptimParams { wd: 0.5, beta1: 0.0, ..q(Rule::Sgd) };
        assert!((step(&l2, 1.0, 2.0, 0.0, 0.0).0 - (1.0 - 0.1 * 2.5)).abs() < 1e-7);
        let dec = OptimParams { decoupled: 1, ..l2 };
        assert!((step(&dec, 1.0, 2.0, 0.0, 0.0).0 - (0.95 - 0.2)).abs() < 1e-7);
    }
}
