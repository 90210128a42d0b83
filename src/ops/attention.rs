//! Additive (Bahdanau) attention of a decoder query over the encoder steps (MRLCO eq. 14–15,
//! score = vᵀ tanh(W1 d + W2 e)). The projections are not here: the caller computes the query
//! q = W1·d_{j−1} [K, B, A] and the keys W2·e [K, T, B, A] with the grouped `linear` op (the keys
//! once per sequence: they do not depend on the decoder step), and this op applies the rest.
//!
//! Shapes (time-major like every sequence of [`crate::nn`]): K ensemble members, B sequences,
//! T encoder steps, A attention units, H encoder units. v [K, A]; the values e [K, T, B, H];
//! an optional mask (u32, nonzero = a real step) [T, B] shared by the K members or [K, T, B].
//! Outputs: the weights α [K, B, T] and the context c [K, B, H]. Every sum runs over its index
//! from 0 in order:
//! - s_t = Σ_a v_a·tanh(q_a + key_{t,a}) (eq. 15's score)
//! - α_t = exp(s_t − m) / Σ_{u allowed} exp(s_u − m), m = max over allowed s; a masked step has
//!   α = 0; a row with no allowed step has α = 0 everywhere and a zero context (a padding row
//!   of a batch stays finite, and so do its gradients)
//! - c_h = Σ_t α_t·e_{t,h} (eq. 14)
//!
//! Backward, from dc [K, B, H] and dα [K, B, T] (both accumulate into the inputs' gradients):
//! - g_t = dα_t + Σ_h dc_h·e_{t,h}; de_{t,h} += α_t·dc_h
//! - ds_t = α_t·(g_t − Σ_u α_u·g_u) (softmax; masked steps get 0 since α = 0)
//! - with u = tanh(q_a + key_{t,a}) and δ = (ds_t·v_a)·(1 − u²): dkey_{t,a} += δ,
//!   dq_a += Σ_t δ, dv_a += Σ_b Σ_t ds_t·u (b outer, t inner).
//!
//! Kernels (one stem, eight entry points): `attention_score` (thread per (k, b, t)),
//! `attention_weights` (per (k, b)), `attention_context` (per (k, b, h)); `attention_bwd_gw`
//! (per (k, b, t)), `attention_bwd_values` (per (k, t, b, h)), `attention_bwd_score` (per
//! (k, b)), `attention_bwd_qk` (per (k, b, a)), `attention_bwd_v` (per (k, a)).

use rayon::prelude::*;

use super::act::{apply, Act};
use super::Real;
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of the `attention_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AttentionParams {
    /// K, ensemble members.
    pub k: u32,
    /// B, sequences.
    pub b: u32,
    /// T, encoder steps.
    pub t: u32,
    /// A, attention units (the width of q, the keys and v).
    pub a: u32,
    /// H, the width of the values (encoder outputs).
    pub h: u32,
    /// 0: no mask; 1: a mask [T, B] shared by the K members; 2: a mask [K, T, B].
    pub masked: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

impl AttentionParams {
    /// (K, B, T, A, H) as usize.
    pub fn dims(&self) -> (usize, usize, usize, usize, usize) {
        (self.k as usize, self.b as usize, self.t as usize, self.a as usize, self.h as usize)
    }

    /// Words of the mask buffer (0 when unmasked).
    pub fn mask_words(&self) -> usize {
        let (k, b, t, _, _) = self.dims();
        match self.masked {
            0 => 0,
            1 => t * b,
            _ => k * t * b,
        }
    }

    /// Whether encoder step `t` of sequence (k, b) takes part.
    #[inline]
    pub fn allowed(&self, mask: &[u32], k: usize, b: usize, t: usize) -> bool {
        let (_, bb, tt, _, _) = self.dims();
        match self.masked {
            0 => true,
            1 => mask[t * bb + b] != 0,
            _ => mask[(k * tt + t) * bb + b] != 0,
        }
    }
}

/// Elements of work below which the functions stay on the calling thread (the row-wise passes'
/// threshold, [`super::PAR_ELEMS`]).
const PAR_WORK: usize = super::PAR_ELEMS;

/// `f(row index, row)` over the rows of `out` (rows of `len`), in parallel when `work` is large;
/// each row is computed by the same code either way (the same bits).
fn rows<T: Real>(out: &mut [T], len: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if len == 0 {
        return;
    }
    if work >= PAR_WORK {
        // tasks of at least PAR_MIN_LEN elements of work
        let per_row = (work / (out.len() / len).max(1)).max(1);
        let min_rows = (super::PAR_MIN_LEN / per_row).max(1);
        out.par_chunks_mut(len).with_min_len(min_rows).enumerate().for_each(|(r, row)| f(r, row));
    } else {
        out.chunks_mut(len).enumerate().for_each(|(r, row)| f(r, row));
    }
}

/// Scores s [K, B, T] from q [K, B, A], keys [K, T, B, A] and v [K, A].
///
/// On the CPU a row (k, b) first writes the terms v_a·tanh(q_a + key_{t,a}) of its T steps into
/// a scratch, unit by unit (contiguous, so the tanh vectorizes), then sums each step's terms
/// over a from 0 in order with the T sums interleaved: the same bits as one sum per step.
pub fn score<T: Real>(p: &AttentionParams, q: &[T], keys: &[T], v: &[T], s: &mut [T]) {
    let (k, b, t, a, _) = p.dims();
    rows(&mut s[..k * b * t], t, k * b * t * a, |kb, sr| {
        let (kk, bb) = (kb / b, kb % b);
        let qr = &q[kb * a..(kb + 1) * a];
        let vr = &v[kk * a..(kk + 1) * a];
        let mut terms = vec![T::ZERO; t * a];
        for (tt, row) in terms.chunks_mut(a.max(1)).enumerate() {
            let kr = &keys[((kk * t + tt) * b + bb) * a..((kk * t + tt) * b + bb + 1) * a];
            for (((x, &vj), &qj), &kj) in row.iter_mut().zip(vr).zip(qr).zip(kr) {
                *x = vj * apply(Act::Tanh, qj + kj);
            }
        }
        sr.fill(T::ZERO);
        for j in 0..a {
            for (tt, acc) in sr.iter_mut().enumerate() {
                // eq. 15: score(d, e_t) = vᵀ tanh(W1 d + W2 e_t)
                *acc = *acc + terms[tt * a + j];
            }
        }
    });
}

/// The masked softmax of one row of scores (T steps of sequence (k, b)) into α.
pub fn weights_row<T: Real>(p: &AttentionParams, mask: &[u32], kk: usize, bb: usize, s: &[T], w: &mut [T]) {
    let mut m: Option<T> = None;
    for (tt, &x) in s.iter().enumerate() {
        if p.allowed(mask, kk, bb, tt) {
            m = Some(m.map_or(x, |m| m.max(x)));
        }
    }
    let Some(m) = m else {
        w.fill(T::ZERO);
        return;
    };
    let mut sum = T::ZERO;
    for (tt, &x) in s.iter().enumerate() {
        if p.allowed(mask, kk, bb, tt) {
            sum = sum + (x - m).exp();
        }
    }
    for (tt, (w, &x)) in w.iter_mut().zip(s).enumerate() {
        // eq. 15: α_t = exp(s_t) / Σ_u exp(s_u)
        *w = if p.allowed(mask, kk, bb, tt) { (x - m).exp() / sum } else { T::ZERO };
    }
}

/// Weights α [K, B, T] from the scores.
pub fn weights<T: Real>(p: &AttentionParams, s: &[T], mask: &[u32], w: &mut [T]) {
    let (k, b, t, _, _) = p.dims();
    rows(&mut w[..k * b * t], t, 3 * k * b * t, |kb, wr| {
        weights_row(p, mask, kb / b, kb % b, &s[kb * t..(kb + 1) * t], wr);
    });
}

/// Context c [K, B, H] = Σ_t α_t·e_t.
pub fn context<T: Real>(p: &AttentionParams, w: &[T], e: &[T], c: &mut [T]) {
    let (k, b, t, _, h) = p.dims();
    rows(&mut c[..k * b * h], h, k * b * t * h, |kb, cr| {
        let (kk, bb) = (kb / b, kb % b);
        for (hh, c) in cr.iter_mut().enumerate() {
            let mut acc = T::ZERO;
            for tt in 0..t {
                // eq. 14: c = Σ_t α_t e_t
                acc = acc + w[kb * t + tt] * e[((kk * t + tt) * b + bb) * h + hh];
            }
            *c = acc;
        }
    });
}

/// The whole forward: (α [K, B, T], c [K, B, H]).
pub fn forward<T: Real>(p: &AttentionParams, q: &[T], keys: &[T], v: &[T], e: &[T], mask: &[u32]) -> (Vec<T>, Vec<T>) {
    let (k, b, t, _, h) = p.dims();
    let mut s = vec![T::ZERO; k * b * t];
    score(p, q, keys, v, &mut s);
    let mut w = vec![T::ZERO; k * b * t];
    weights(p, &s, mask, &mut w);
    let mut c = vec![T::ZERO; k * b * h];
    context(p, &w, e, &mut c);
    (w, c)
}

/// g [K, B, T] = dα + Σ_h dc_h·e_{t,h} (the gradient reaching α).
pub fn backward_gw<T: Real>(p: &AttentionParams, e: &[T], dc: &[T], dw: &[T], g: &mut [T]) {
    let (k, b, t, _, h) = p.dims();
    rows(&mut g[..k * b * t], t, k * b * t * h, |kb, gr| {
        let (kk, bb) = (kb / b, kb % b);
        for (tt, g) in gr.iter_mut().enumerate() {
            let mut acc = T::ZERO;
            for hh in 0..h {
                acc = acc + dc[kb * h + hh] * e[((kk * t + tt) * b + bb) * h + hh];
            }
            *g = dw[kb * t + tt] + acc;
        }
    });
}

/// de [K, T, B, H] += α_t·dc_h.
pub fn backward_values<T: Real>(p: &AttentionParams, w: &[T], dc: &[T], de: &mut [T]) {
    let (k, b, t, _, h) = p.dims();
    rows(&mut de[..k * t * b * h], h, k * t * b * h, |ktb, dr| {
        let (kk, tt, bb) = (ktb / (t * b), (ktb / b) % t, ktb % b);
        let kb = kk * b + bb;
        for (hh, d) in dr.iter_mut().enumerate() {
            *d = *d + w[kb * t + tt] * dc[kb * h + hh];
        }
    });
}

/// ds [K, B, T] = α_t·(g_t − Σ_u α_u·g_u) (written, not accumulated: a scratch).
pub fn backward_score<T: Real>(p: &AttentionParams, w: &[T], g: &[T], ds: &mut [T]) {
    let (k, b, t, _, _) = p.dims();
    rows(&mut ds[..k * b * t], t, 2 * k * b * t, |r, dr| {
        let (wr, gr) = (&w[r * t..(r + 1) * t], &g[r * t..(r + 1) * t]);
        let mut dot = T::ZERO;
        for tt in 0..t {
            dot = dot + wr[tt] * gr[tt];
        }
        for tt in 0..t {
            dr[tt] = wr[tt] * (gr[tt] - dot);
        }
    });
}

/// dq [K, B, A] += Σ_t δ_t and dkeys [K, T, B, A] += δ_t, δ_t = (ds_t·v_a)·(1 − u²) with
/// u = tanh(q_a + key_{t,a}). Two passes over contiguous rows, each computing δ by the same
/// expression (the same bits): dq's row (k, b) sums its steps in order from t = 0 into a
/// vector of A (so the tanh vectorizes), then dkeys' rows add their δ. No scratch of K·T·B·A.
#[allow(clippy::too_many_arguments)]
pub fn backward_qk<T: Real>(
    p: &AttentionParams,
    q: &[T],
    keys: &[T],
    v: &[T],
    ds: &[T],
    dq: &mut [T],
    dkeys: &mut [T],
) {
    let (k, b, t, a, _) = p.dims();
    let n = k * t * b * a;
    // δ of step tt of row (k, b) added into `out` (A units), zipped so that the tanh vectorizes
    let add_delta = |kk: usize, tt: usize, bb: usize, out: &mut [T]| {
        let kb = kk * b + bb;
        let (qr, vr) = (&q[kb * a..][..a], &v[kk * a..][..a]);
        let kr = &keys[((kk * t + tt) * b + bb) * a..][..a];
        let s = ds[kb * t + tt];
        for (((x, &qj), &vj), &key) in out.iter_mut().zip(qr).zip(vr).zip(kr) {
            let u = apply(Act::Tanh, qj + key);
            *x = *x + (s * vj) * (T::ONE - u * u);
        }
    };
    rows(&mut dkeys[..n], a, n, |ktb, dr| add_delta(ktb / (t * b), (ktb / b) % t, ktb % b, dr));
    rows(&mut dq[..k * b * a], a, n, |kb, dr| {
        let mut acc = vec![T::ZERO; a];
        for tt in 0..t {
            add_delta(kb / b, tt, kb % b, &mut acc);
        }
        for (d, x) in dr.iter_mut().zip(acc) {
            *d = *d + x;
        }
    });
}

/// dv [K, A] += Σ_b Σ_t ds_t·tanh(q_a + key_{t,a}). On the CPU a task owns a run of units a
/// and walks (b, t) outside, the units inside (contiguous rows of q and the keys); each unit's
/// sum still runs b outer, t inner from 0 — the order of the one-thread-per-(k, a) kernels.
pub fn backward_v<T: Real>(p: &AttentionParams, q: &[T], keys: &[T], ds: &[T], dv: &mut [T]) {
    let (k, b, t, a, _) = p.dims();
    if a == 0 {
        return;
    }
    let chunk = if k * b * t * a >= PAR_WORK { a.div_ceil(rayon::current_num_threads().max(1)).max(8) } else { a };
    let run = |kk: usize, j0: usize, d: &mut [T]| {
        let w = d.len();
        let mut acc = vec![T::ZERO; w];
        for bb in 0..b {
            let qr = &q[(kk * b + bb) * a + j0..][..w];
            for tt in 0..t {
                let s = ds[(kk * b + bb) * t + tt];
                let kr = &keys[((kk * t + tt) * b + bb) * a + j0..][..w];
                for ((x, &qj), &kj) in acc.iter_mut().zip(qr).zip(kr) {
                    *x = *x + s * apply(Act::Tanh, qj + kj);
                }
            }
        }
        for (d, x) in d.iter_mut().zip(acc) {
            *d = *d + x;
        }
    };
    for kk in 0..k {
        let row = &mut dv[kk * a..(kk + 1) * a];
        if chunk < a {
            row.par_chunks_mut(chunk).enumerate().for_each(|(c, d)| run(kk, c * chunk, d));
        } else {
            run(kk, 0, row);
        }
    }
}

/// Gradients of every input, accumulated into (dq, dkeys, dv, de), from dα and dc.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    p: &AttentionParams,
    q: &[T],
    keys: &[T],
    v: &[T],
    e: &[T],
    w: &[T],
    dw: &[T],
    dc: &[T],
    grads: (&mut [T], &mut [T], &mut [T], &mut [T]),
) {
    let (k, b, t, _, _) = p.dims();
    let (dq, dkeys, dv, de) = grads;
    let mut g = vec![T::ZERO; k * b * t];
    backward_gw(p, e, dc, dw, &mut g);
    backward_values(p, w, dc, de);
    let mut ds = vec![T::ZERO; k * b * t];
    backward_score(p, w, &g, &mut ds);
    backward_qk(p, q, keys, v, &ds, dq, dkeys);
    backward_v(p, q, keys, &ds, dv);
}

fn dims64(bytes: &[u8]) -> (AttentionParams, u64, u64, u64, u64, u64) {
    let p: AttentionParams = decode(bytes);
    let (k, b, t, a, h) = p.dims();
    (p, k as u64, b as u64, t as u64, a as u64, h as u64)
}

/// Sizes of `attention_score`: q, keys, v, s.
pub fn sizes_score(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, a, _) = dims64(bytes);
    vec![k * b * a, k * t * b * a, k * a, k * b * t]
}

/// Sizes of `attention_weights`: s, mask, w.
pub fn sizes_weights(bytes: &[u8]) -> Vec<u64> {
    let (p, k, b, t, _, _) = dims64(bytes);
    vec![k * b * t, p.mask_words() as u64, k * b * t]
}

/// Sizes of `attention_context`: w, values, ctx.
pub fn sizes_context(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, _, h) = dims64(bytes);
    vec![k * b * t, k * t * b * h, k * b * h]
}

/// Sizes of `attention_bwd_gw`: values, dctx, dw, gw.
pub fn sizes_bwd_gw(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, _, h) = dims64(bytes);
    vec![k * t * b * h, k * b * h, k * b * t, k * b * t]
}

/// Sizes of `attention_bwd_values`: w, dctx, dvalues.
pub fn sizes_bwd_values(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, _, h) = dims64(bytes);
    vec![k * b * t, k * b * h, k * t * b * h]
}

/// Sizes of `attention_bwd_score`: w, gw, ds.
pub fn sizes_bwd_score(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, _, _) = dims64(bytes);
    vec![k * b * t, k * b * t, k * b * t]
}

/// Sizes of `attention_bwd_qk`: q, keys, v, ds, dq, dkeys.
pub fn sizes_bwd_qk(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, a, _) = dims64(bytes);
    vec![k * b * a, k * t * b * a, k * a, k * b * t, k * b * a, k * t * b * a]
}

/// Sizes of `attention_bwd_v`: q, keys, ds, dv.
pub fn sizes_bwd_v(bytes: &[u8]) -> Vec<u64> {
    let (_, k, b, t, a, _) = dims64(bytes);
    vec![k * b * a, k * t * b * a, k * b * t, k * a]
}

fn check(entry: &str, bufs: &[&mut [u32]], names: &[&str], want: Vec<u64>) -> Result<()> {
    let want: Vec<(&str, usize)> = names.iter().zip(want).map(|(n, w)| (*n, w as usize)).collect();
    need_all(entry, bufs, &want)
}

/// `attention_score`: bufs q, keys, v, s.
pub fn cpu_score(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_score", bufs, &["q", "keys", "v", "s"], sizes_score(params))?;
    let p: AttentionParams = decode(params);
    let [q, keys, v, s] = bufs else { unreachable!("the spec has 4 buffers") };
    score(&p, f32s(q), f32s(keys), f32s(v), f32s_mut(s));
    Ok(())
}

/// `attention_weights`: bufs s, mask, w.
pub fn cpu_weights(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_weights", bufs, &["s", "mask", "w"], sizes_weights(params))?;
    let p: AttentionParams = decode(params);
    let [s, mask, w] = bufs else { unreachable!("the spec has 3 buffers") };
    weights(&p, f32s(s), mask, f32s_mut(w));
    Ok(())
}

/// `attention_context`: bufs w, values, ctx.
pub fn cpu_context(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_context", bufs, &["w", "values", "ctx"], sizes_context(params))?;
    let p: AttentionParams = decode(params);
    let [w, e, c] = bufs else { unreachable!("the spec has 3 buffers") };
    context(&p, f32s(w), f32s(e), f32s_mut(c));
    Ok(())
}

/// `attention_bwd_gw`: bufs values, dctx, dw, gw.
pub fn cpu_bwd_gw(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_bwd_gw", bufs, &["values", "dctx", "dw", "gw"], sizes_bwd_gw(params))?;
    let p: AttentionParams = decode(params);
    let [e, dc, dw, g] = bufs else { unreachable!("the spec has 4 buffers") };
    backward_gw(&p, f32s(e), f32s(dc), f32s(dw), f32s_mut(g));
    Ok(())
}

/// `attention_bwd_values`: bufs w, dctx, dvalues.
pub fn cpu_bwd_values(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_bwd_values", bufs, &["w", "dctx", "dvalues"], sizes_bwd_values(params))?;
    let p: AttentionParams = decode(params);
    let [w, dc, de] = bufs else { unreachable!("the spec has 3 buffers") };
    backward_values(&p, f32s(w), f32s(dc), f32s_mut(de));
    Ok(())
}

/// `attention_bwd_score`: bufs w, gw, ds.
pub fn cpu_bwd_score(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_bwd_score", bufs, &["w", "gw", "ds"], sizes_bwd_score(params))?;
    let p: AttentionParams = decode(params);
    let [w, g, ds] = bufs else { unreachable!("the spec has 3 buffers") };
    backward_score(&p, f32s(w), f32s(g), f32s_mut(ds));
    Ok(())
}

/// `attention_bwd_qk`: bufs q, keys, v, ds, dq, dkeys.
pub fn cpu_bwd_qk(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_bwd_qk", bufs, &["q", "keys", "v", "ds", "dq", "dkeys"], sizes_bwd_qk(params))?;
    let p: AttentionParams = decode(params);
    let [q, keys, v, ds, dq, dkeys] = bufs else { unreachable!("the spec has 6 buffers") };
    backward_qk(&p, f32s(q), f32s(keys), f32s(v), f32s(ds), f32s_mut(dq), f32s_mut(dkeys));
    Ok(())
}

/// `attention_bwd_v`: bufs q, keys, ds, dv.
pub fn cpu_bwd_v(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    check("attention_bwd_v", bufs, &["q", "keys", "ds", "dv"], sizes_bwd_v(params))?;
    let p: AttentionParams = decode(params);
    let [q, keys, ds, dv] = bufs else { unreachable!("the spec has 4 buffers") };
    backward_v(&p, f32s(q), f32s(keys), f32s(ds), f32s_mut(dv));
    Ok(())
}

crate::kernel_params!(AttentionParams { k, b, t, a, h, masked, _pad0, _pad1 });

crate::kernels! {
    stem "ops" / "attention";
    /// nn: additive attention scores vᵀ tanh(q + key_t).
    ATTENTION_SCORE = attention_score(AttentionParams; q: R F32, keys: R F32, v: R F32, s: W F32)
        cpu cpu_score, sizes sizes_score;
    /// nn: attention weights (masked softmax over the encoder steps).
    ATTENTION_WEIGHTS = attention_weights(AttentionParams; s: R F32, mask: R U32, w: W F32)
        cpu cpu_weights, sizes sizes_weights;
    /// nn: attention context Σ_t α_t e_t.
    ATTENTION_CONTEXT = attention_context(AttentionParams; w: R F32, values: R F32, ctx: W F32)
        cpu cpu_context, sizes sizes_context;
    /// nn: attention backward, the gradient reaching the weights.
    ATTENTION_BWD_GW = attention_bwd_gw(AttentionParams;
        values: R F32, dctx: R F32, dw: R F32, gw: W F32
    )
        cpu cpu_bwd_gw, sizes sizes_bwd_gw;
    /// nn: attention backward, the gradient of the values.
    ATTENTION_BWD_VALUES = attention_bwd_values(AttentionParams;
        w: R F32, dctx: R F32, dvalues: W F32
    )
        cpu cpu_bwd_values, sizes sizes_bwd_values;
    /// nn: attention backward through the softmax.
    ATTENTION_BWD_SCORE = attention_bwd_score(AttentionParams; w: R F32, gw: R F32, ds: W F32)
        cpu cpu_bwd_score, sizes sizes_bwd_score;
    /// nn: attention backward, the gradients of the query and the keys.
    ATTENTION_BWD_QK = attention_bwd_qk(AttentionParams;
        q: R F32, keys: R F32, v: R F32, ds: R F32, dq: W F32, dkeys: W F32
    )
        cpu cpu_bwd_qk, sizes sizes_bwd_qk;
    /// nn: attention backward, the gradient of v.
    ATTENTION_BWD_V = attention_bwd_v(AttentionParams; q: R F32, keys: R F32, ds: R F32, dv: W F32)
        cpu cpu_bwd_v, sizes sizes_bwd_v;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_by_hand() {
        // K = 1, B = 1, T = 2, A = 1, H = 2. q = 0, keys = (atanh(1/2), atanh(−1/2)), v = 2 ln 3:
        // eq. 15: s_t = v·tanh(q + key_t) = (ln 3, −ln 3); α = (9/10, 1/10) (e^{2 ln 3} = 9);
        // eq. 14: c = 9/10·(1, 2) + 1/10·(−1, 4) = (0.8, 2.2)
        let p = AttentionParams { k: 1, b: 1, t: 2, a: 1, h: 2, ..Default::default() };
        let (l3, at) = (3f64.ln(), 0.5f64.atanh());
        let (q, keys, v, e) = ([0.0], [at, -at], [2.0 * l3], [1.0, 2.0, -1.0, 4.0]);
        let mut s = [0.0f64; 2];
        score(&p, &q, &keys, &v, &mut s);
        assert!((s[0] - l3).abs() < 1e-14 && (s[1] + l3).abs() < 1e-14, "{s:?}");
        let (w, c) = forward(&p, &q, &keys, &v, &e, &[]);
        assert!((w[0] - 0.9).abs() < 1e-14 && (w[1] - 0.1).abs() < 1e-14, "{w:?}");
        assert!((c[0] - 0.8).abs() < 1e-14 && (c[1] - 2.2).abs() < 1e-14, "{c:?}");
        // masking step 0 leaves all the weight on step 1: c = e_1
        let pm = AttentionParams { masked: 1, ..p };
        let (w, c) = forward(&pm, &q, &keys, &v, &e, &[0, 1]);
        assert_eq!((w.as_slice(), c.as_slice()), (&[0.0, 1.0][..], &[-1.0, 4.0][..]));
        // nothing allowed: zero weights and context
        let (w, c) = forward(&pm, &q, &keys, &v, &e, &[0, 0]);
        assert_eq!((w.as_slice(), c.as_slice()), (&[0.0, 0.0][..], &[0.0, 0.0][..]));
        // backward of L = c_0: g = (1, −1), Σ α g = 0.8, ds = (0.9·0.2, 0.1·(−1.8)) = (0.18, −0.18);
        // de_t = α_t·(1, 0); dv = Σ_t ds_t·u_t = 0.18·(1/2) − 0.18·(−1/2) = 0.18
        let (w, _) = forward(&p, &q, &keys, &v, &e, &[]);
        let (mut dq, mut dk, mut dv, mut de) = ([0.0f64], [0.0f64; 2], [0.0f64], [0.0f64; 4]);
        backward(&p, &q, &keys, &v, &e, &w, &[0.0, 0.0], &[1.0, 0.0], (&mut dq, &mut dk, &mut dv, &mut de));
        assert!((dv[0] - 0.18).abs() < 1e-14, "{dv:?}");
        for (x, y) in de.iter().zip([0.9, 0.0, 0.1, 0.0]) {
            assert!((x - y).abs() < 1e-14, "{de:?}");
        }
        // δ_t = ds_t·v·(1 − u_t²) = ±0.18·2 ln 3·3/4; they cancel in dq
        let d = 0.18 * 2.0 * l3 * 0.75;
        assert!((dk[0] - d).abs() < 1e-14 && (dk[1] + d).abs() < 1e-14 && dq[0].abs() < 1e-14, "{dk:?} {dq:?}");
    }

    /// The split backward of v (units in parallel runs) gives the bits of one plain loop per
    /// (k, a), b outer and t inner, at a size that takes the parallel path.
    #[test]
    fn backward_v_split_keeps_the_summation_order() {
        let p = AttentionParams { k: 2, b: 40, t: 20, a: 200, h: 1, ..Default::default() };
        let (k, b, t, a, _) = p.dims();
        let f = |n: usize, s: u32| -> Vec<f32> {
            (0..n).map(|i| ((i as u32 ^ s).wrapping_mul(2_654_435_761) >> 8) as f32 / 8_388_608.0 - 1.0).collect()
        };
        let (q, keys, ds) = (f(k * b * a, 1), f(k * t * b * a, 2), f(k * b * t, 3));
        let mut got = f(k * a, 4);
        let mut want = got.clone();
        backward_v(&p, &q, &keys, &ds, &mut got);
        for kk in 0..k {
            for j in 0..a {
                let mut acc = 0.0f32;
                for bb in 0..b {
                    for tt in 0..t {
                        let u = apply(Act::Tanh, q[(kk * b + bb) * a + j] + keys[((kk * t + tt) * b + bb) * a + j]);
                        acc += ds[(kk * b + bb) * t + tt] * u;
                    }
                }
                want[kk * a + j] += acc;
            }
        }
        assert!(k * b * t * a >= PAR_WORK);
        assert_eq!(
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}
