//! The discrete soft actor-critic losses of the O2O-DRL offline phase (Lin et al. §IV-C1), fused:
//! the soft value of the next observation with the actor's loss and the target (eq. 11 and the
//! soft value above it), and the twin Q loss with the CQL regularizer (eq. 10). Rows are
//! transitions, columns the A actions; masks (1 = allowed) restrict every softmax, log-sum-exp
//! and expectation to the allowed actions.
//!
//! Per row i of the actor's logits z at o′ (mask m′), the twin target Qs q̄₁, q̄₂ at o′:
//! - p = masked softmax(z), log p = masked log-softmax(z);
//! - V_i = Σ_{a allowed} p_a (min(q̄₁, q̄₂)_a − α log p_a) (the soft value);
//! - y_i = (s·r_i + b) + γ (1 − done_i) V_i (the target; s·r + b = (r − μ)/σ, the normalized reward);
//! - actor loss L_π = −(1/R) Σ_i V_i (eq. 11: gradient ascent on V), with
//!   ∂V_i/∂z_j = p_j (h_j − V_i), h = min q̄ − α log p (0 for masked j).
//!
//! Per row i and twin k of the Qs at o (action a_i, mask m):
//! - L_Q = Σ_k (1/R) Σ_i [(q_k(a_i) − y_i)² + λ_c (log Σ_{a allowed} exp q_k(a) − q_k(a_i))]
//!   (eq. 10), with ∂/∂q_k(j) = (1/R)[2 (q_k(a_i) − y_i)·[j = a_i] + λ_c (σ_j − [j = a_i])],
//!   σ the masked softmax of q_k.
//!
//! `sac_value_fwd` and `cql_fwd` run one thread summing rows in index order (the same f32 sums
//! on every backend); their backward kernels run a thread per row and accumulate.

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::math;

/// Parameters of every `sac_*` / `cql_*` kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SacParams {
    /// Rows R (transitions).
    pub rows: u32,
    /// Actions A.
    pub actions: u32,
    /// α, the entropy weight.
    pub alpha: f32,
    /// γ.
    pub gamma: f32,
    /// λ_c, the weight of the CQL regularizer.
    pub lambda_c: f32,
    /// s, the reward scale (the normalization of the rewards).
    pub reward_scale: f32,
    /// b, added to the scaled reward (the normalization's −s·μ).
    pub reward_bias: f32,
    /// Padding.
    pub _pad1: u32,
}

/// Statistics `cql_fwd` writes: mean over twins and rows of the squared TD error, of the CQL
/// regularizer R (eq. 10), of q(a) and of y.
pub const CQL_STATS: usize = 4;

/// min(a, b) as every backend writes it (the first when equal).
#[inline]
fn min2(a: f32, b: f32) -> f32 {
    if a <= b {
        a
    } else {
        b
    }
}

/// (max, Σ exp(x − max)) over the allowed entries of a row (index order).
fn masked_lse_parts(x: &[f32], m: &[u32]) -> (f32, f32) {
    let mut mx = f32::NEG_INFINITY;
    let mut any = false;
    for (j, &v) in x.iter().enumerate() {
        if m[j] != 0 && (!any || v > mx) {
            mx = v;
            any = true;
        }
    }
    if !any {
        return (f32::NAN, f32::NAN);
    }
    let mut s = 0.0f32;
    for (j, &v) in x.iter().enumerate() {
        if m[j] != 0 {
            s += math::exp(v - mx);
        }
    }
    (mx, s)
}

/// The soft value of one row and its log-probabilities (masked entries 0):
/// (V, log p) with V = Σ p (min(q̄₁, q̄₂) − α log p).
pub fn soft_value_row(z: &[f32], q1: &[f32], q2: &[f32], m: &[u32], alpha: f32, logp: &mut [f32]) -> f32 {
    let (mx, s) = masked_lse_parts(z, m);
    let ls = math::ln(s);
    let mut v = 0.0f32;
    for j in 0..z.len() {
        if m[j] == 0 {
            logp[j] = 0.0;
            continue;
        }
        let lp = (z[j] - mx) - ls;
        logp[j] = lp;
        let h = min2(q1[j], q2[j]) - alpha * lp;
        v += math::exp(lp) * h;
    }
    v
}

/// CQL regularizer of one row (eq. 10): log Σ_{allowed} exp q − q(a).
pub fn cql_row(q: &[f32], m: &[u32], a: usize) -> f32 {
    let (mx, s) = masked_lse_parts(q, m);
    (mx + math::ln(s)) - q[a]
}

/// `sac_value_fwd`: bufs z [R, A], qbar [2, R, A], mask [R, A], reward \[R\], done \[R\] (u32),
/// loss \[1\], value \[R\], y \[R\].
pub fn cpu_value_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: SacParams = decode(params);
    let (r, a) = (p.rows as usize, p.actions as usize);
    need_all(
        "sac_value_fwd",
        bufs,
        &[
            ("z", r * a),
            ("qbar", 2 * r * a),
            ("mask", r * a),
            ("reward", r),
            ("done", r),
            ("loss", (r > 0) as usize),
            ("value", r),
            ("y", r),
        ],
    )?;
    let [z, qbar, mask, reward, done, loss, value, y] = bufs else { unreachable!("the spec has 8 buffers") };
    if r == 0 || a == 0 {
        return Ok(());
    }
    let (z, qbar, reward) = (f32s(z), f32s(qbar), f32s(reward));
    let mut logp = vec![0f32; a];
    let mut total = 0.0f32;
    let (mut vs, mut ys) = (vec![0f32; r], vec![0f32; r]);
    for i in 0..r {
        let row = i * a..(i + 1) * a;
        let q2 = r * a + i * a..r * a + (i + 1) * a;
        let v = soft_value_row(&z[row.clone()], &qbar[row.clone()], &qbar[q2], &mask[row], p.alpha, &mut logp);
        vs[i] = v;
        let keep = if done[i] != 0 { 0.0 } else { 1.0 };
        ys[i] = (p.reward_scale * reward[i] + p.reward_bias) + p.gamma * (keep * v);
        total += v;
    }
    f32s_mut(value)[..r].copy_from_slice(&vs);
    f32s_mut(y)[..r].copy_from_slice(&ys);
    f32s_mut(loss)[0] = -(total / r as f32);
    Ok(())
}

/// `sac_value_bwd` (one thread per row): bufs z, qbar, mask, value, dl \[1\], dz [R, A]
/// (accumulated).
pub fn cpu_value_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: SacParams = decode(params);
    let (r, a) = (p.rows as usize, p.actions as usize);
    need_all(
        "sac_value_bwd",
        bufs,
        &[("z", r * a), ("qbar", 2 * r * a), ("mask", r * a), ("value", r), ("dl", (r > 0) as usize), ("dz", r * a)],
    )?;
    let [z, qbar, mask, value, dl, dz] = bufs else { unreachable!("the spec has 6 buffers") };
    if r == 0 || a == 0 {
        return Ok(());
    }
    let (z, qbar, value) = (f32s(z), f32s(qbar), f32s(value));
    let g = -(f32s(dl)[0] / r as f32);
    let dz = f32s_mut(dz);
    let mut logp = vec![0f32; a];
    for i in 0..r {
        let row = i * a..(i + 1) * a;
        let (q1, q2) = (&qbar[row.clone()], &qbar[r * a + i * a..r * a + (i + 1) * a]);
        let m = &mask[row.clone()];
        soft_value_row(&z[row.clone()], q1, q2, m, p.alpha, &mut logp);
        for j in 0..a {
            if m[j] != 0 {
                let h = min2(q1[j], q2[j]) - p.alpha * logp[j];
                dz[i * a + j] += g * (math::exp(logp[j]) * (h - value[i]));
            }
        }
    }
    Ok(())
}

/// `cql_fwd`: bufs q [2, R, A], action \[R\], y \[R\], mask [R, A], loss \[1\], stats \[4\].
pub fn cpu_cql_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: SacParams = decode(params);
    let (r, a) = (p.rows as usize, p.actions as usize);
    let one = (r > 0) as usize;
    need_all(
        "cql_fwd",
        bufs,
        &[("q", 2 * r * a), ("action", r), ("y", r), ("mask", r * a), ("loss", one), ("stats", CQL_STATS * one)],
    )?;
    let [q, action, y, mask, loss, stats] = bufs else { unreachable!("the spec has 6 buffers") };
    if r == 0 || a == 0 {
        return Ok(());
    }
    let (q, y) = (f32s(q), f32s(y));
    let (mut td, mut reg, mut qa, mut ym) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for k in 0..2 {
        for i in 0..r {
            let row = &q[(k * r + i) * a..(k * r + i + 1) * a];
            let ai = (action[i] as usize).min(a - 1);
            let d = row[ai] - y[i];
            td += d * d;
            reg += cql_row(row, &mask[i * a..(i + 1) * a], ai);
            qa += row[ai];
            ym += y[i];
        }
    }
    let n = (2 * r) as f32;
    let (td, reg) = (td / n, reg / n);
    f32s_mut(stats)[..CQL_STATS].copy_from_slice(&[td, reg, qa / n, ym / n]);
    // Σ_k (1/R) Σ_i [...] = 2·(mean over both twins)
    f32s_mut(loss)[0] = 2.0 * (td + p.lambda_c * reg);
    Ok(())
}

/// `cql_bwd` (one thread per twin and row): bufs q, action, y, mask, dl \[1\], dq [2, R, A]
/// (accumulated).
pub fn cpu_cql_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: SacParams = decode(params);
    let (r, a) = (p.rows as usize, p.actions as usize);
    need_all(
        "cql_bwd",
        bufs,
        &[("q", 2 * r * a), ("action", r), ("y", r), ("mask", r * a), ("dl", (r > 0) as usize), ("dq", 2 * r * a)],
    )?;
    let [q, action, y, mask, dl, dq] = bufs else { unreachable!("the spec has 6 buffers") };
    if r == 0 || a == 0 {
        return Ok(());
    }
    let (q, y) = (f32s(q), f32s(y));
    let g = f32s(dl)[0] / r as f32;
    let dq = f32s_mut(dq);
    for k in 0..2 {
        for i in 0..r {
            let o = (k * r + i) * a;
            let row = &q[o..o + a];
            let m = &mask[i * a..(i + 1) * a];
            let ai = (action[i] as usize).min(a - 1);
            let (mx, s) = masked_lse_parts(row, m);
            let d2 = 2.0 * (row[ai] - y[i]);
            for j in 0..a {
                let hit = if j == ai { 1.0 } else { 0.0 };
                let sig = if m[j] != 0 { math::exp(row[j] - mx) / s } else { 0.0 };
                dq[o + j] += g * (d2 * hit + p.lambda_c * (sig - hit));
            }
        }
    }
    Ok(())
}

fn sizes_value_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: SacParams = decode(bytes);
    let (r, a) = (p.rows as u64, p.actions as u64);
    vec![r * a, 2 * r * a, r * a, r, r, (r > 0) as u64, r, r]
}

fn sizes_value_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: SacParams = decode(bytes);
    let (r, a) = (p.rows as u64, p.actions as u64);
    vec![r * a, 2 * r * a, r * a, r, (r > 0) as u64, r * a]
}

fn sizes_cql_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: SacParams = decode(bytes);
    let (r, a) = (p.rows as u64, p.actions as u64);
    let one = (r > 0) as u64;
    vec![2 * r * a, r, r, r * a, one, CQL_STATS as u64 * one]
}

fn sizes_cql_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: SacParams = decode(bytes);
    let (r, a) = (p.rows as u64, p.actions as u64);
    vec![2 * r * a, r, r, r * a, (r > 0) as u64, 2 * r * a]
}

crate::kernel_params!(SacParams { rows, actions, alpha, gamma, lambda_c, reward_scale, reward_bias, _pad1 });

crate::kernels! {
    stem "ops" / "sac";
    /// Discrete SAC: the soft value of o′, the target y and the actor's loss (eq. 11).
    SAC_VALUE_FWD = sac_value_fwd(SacParams;
        z: R F32, qbar: R F32, mask: R U32, reward: R F32, done: R U32, loss: W F32, value: W F32, y: W F32
    )
        cpu cpu_value_fwd, sizes sizes_value_fwd;
    /// Discrete SAC: the actor loss's gradient into the logits.
    SAC_VALUE_BWD = sac_value_bwd(SacParams;
        z: R F32, qbar: R F32, mask: R U32, value: R F32, dl: R F32, dz: W F32
    )
        cpu cpu_value_bwd, sizes sizes_value_bwd;
    /// The twin Q loss with the CQL regularizer (eq. 10) and its statistics.
    CQL_FWD = cql_fwd(SacParams; q: R F32, action: R U32, y: R F32, mask: R U32, loss: W F32, stats: W F32)
        cpu cpu_cql_fwd, sizes sizes_cql_fwd;
    /// The twin Q loss's gradient into the Qs.
    CQL_BWD = cql_bwd(SacParams; q: R F32, action: R U32, y: R F32, mask: R U32, dl: R F32, dq: W F32)
        cpu cpu_cql_bwd, sizes sizes_cql_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(k: &crate::backend::KernelSpec, p: SacParams, words: Vec<Vec<u32>>) -> Vec<Vec<u32>> {
        let mut w = words;
        let mut refs: Vec<&mut [u32]> = w.iter_mut().map(|v| v.as_mut_slice()).collect();
        (k.cpu)(bytemuck::bytes_of(&p), &mut refs).unwrap();
        w
    }
    fn u(v: &[f32]) -> Vec<u32> {
        bytemuck::cast_slice(v).to_vec()
    }
    fn f(v: &[u32]) -> Vec<f32> {
        bytemuck::cast_slice(v).to_vec()
    }

    #[test]
    fn soft_value_and_target_by_hand() {
        // one row, A = 3, action 1 masked: z = (0, 9, ln 3) → p = (1/4, 0, 3/4);
        // min q̄ = (2, ·, −2); α = 0.5: V = 1/4 (2 − 0.5 ln 1/4) + 3/4 (−2 − 0.5 ln 3/4)
        let z = [0.0, 9.0, 3f32.ln()];
        let qbar = [2.0, 5.0, -1.0, /* twin 2 */ 4.0, 7.0, -2.0];
        let want_v = 0.25 * (2.0 - 0.5 * 0.25f64.ln()) + 0.75 * (-2.0 - 0.5 * 0.75f64.ln());
        let p = SacParams {
            rows: 1,
            actions: 3,
            alpha: 0.5,
            gamma: 0.9,
            reward_scale: 0.5,
            reward_bias: -0.25,
            ..Default::default()
        };
        let out =
            run(&SAC_VALUE_FWD, p, vec![u(&z), u(&qbar), vec![1, 0, 1], u(&[4.0]), vec![0], vec![0], vec![0], vec![0]]);
        let (loss, v, y) = (f(&out[5])[0], f(&out[6])[0], f(&out[7])[0]);
        assert!((v as f64 - want_v).abs() < 1e-5, "{v} vs {want_v}");
        assert!((loss as f64 + want_v).abs() < 1e-5);
        // y = (0.5 · 4 − 0.25) + 0.9 · V; done: y = 0.5 · 4 − 0.25
        assert!((y as f64 - (1.75 + 0.9 * want_v)).abs() < 1e-5, "{y}");
        let done =
            run(&SAC_VALUE_FWD, p, vec![u(&z), u(&qbar), vec![1, 0, 1], u(&[4.0]), vec![1], vec![0], vec![0], vec![0]]);
        assert_eq!(f(&done[7])[0], 1.75);
        // gradient against central differences of −V
        let out_b = run(&SAC_VALUE_BWD, p, vec![u(&z), u(&qbar), vec![1, 0, 1], u(&[v]), u(&[1.0]), vec![0; 3]]);
        let dz = f(&out_b[5]);
        assert_eq!(dz[1], 0.0, "a masked logit gets no gradient");
        for j in [0usize, 2] {
            let h = 1e-2f32;
            let val = |d: f32| {
                let mut zz = z;
                zz[j] += d;
                let mut lp = [0f32; 3];
                -soft_value_row(&zz, &qbar[..3], &qbar[3..], &[1, 0, 1], 0.5, &mut lp)
            };
            let num = (val(h) - val(-h)) / (2.0 * h);
            assert!((dz[j] - num).abs() < 2e-3, "dz[{j}] {} vs {num}", dz[j]);
        }
    }

    #[test]
    fn cql_term_by_hand_and_its_gradient() {
        // R = 2 rows, A = 2; y = (1, 0); λ_c = 0.1
        let q = [1.0f32, 3.0, 0.0, 0.0, /* twin 2 */ 2.0, 2.0, -1.0, 1.0];
        let action = vec![0u32, 1];
        let y = [1.0f32, 0.0];
        let mask = vec![1u32, 1, 1, 1];
        let lse = |a: f64, b: f64| (a.exp() + b.exp()).ln();
        // twin 1: row 0 (1 − 1)² + 0.1(lse(1,3) − 1); row 1 (0 − 0)² + 0.1(lse(0,0) − 0)
        // twin 2: row 0 (2 − 1)² + 0.1(lse(2,2) − 2); row 1 (1 − 0)² + 0.1(lse(−1,1) − 1)
        let reg = [lse(1.0, 3.0) - 1.0, lse(0.0, 0.0), lse(2.0, 2.0) - 2.0, lse(-1.0, 1.0) - 1.0];
        let td = [0.0, 0.0, 1.0, 1.0];
        let want: f64 = (0..4).map(|i| td[i] + 0.1 * reg[i]).sum::<f64>() / 2.0;
        let p = SacParams { rows: 2, actions: 2, lambda_c: 0.1, ..Default::default() };
        let out = run(&CQL_FWD, p, vec![u(&q), action.clone(), u(&y), mask.clone(), vec![0], vec![0; CQL_STATS]]);
        let loss = f(&out[4])[0] as f64;
        assert!((loss - want).abs() < 1e-5, "{loss} vs {want}");
        let stats = f(&out[5]);
        assert!((stats[1] as f64 - reg.iter().sum::<f64>() / 4.0).abs() < 1e-5);
        // λ_c = 0: plain TD
        let p0 = SacParams { lambda_c: 0.0, ..p };
        let out0 = run(&CQL_FWD, p0, vec![u(&q), action.clone(), u(&y), mask.clone(), vec![0], vec![0; CQL_STATS]]);
        assert!((f(&out0[4])[0] - 1.0).abs() < 1e-6);
        // the gradient: row 0 of twin 1 has zero TD error, so only the regularizer pushes:
        // ∂/∂q(0) = (1/2)·0.1·(σ₀ − 1) < 0 (raise the taken action), ∂/∂q(1) = (1/2)·0.1·σ₁ > 0
        let out_b = run(&CQL_BWD, p, vec![u(&q), action, u(&y), mask, u(&[1.0]), vec![0; 8]]);
        let dq = f(&out_b[5]);
        let s1 = 1.0 / (1.0 + (-2.0f64).exp());
        assert!((dq[0] as f64 - 0.05 * (1.0 - s1 - 1.0)).abs() < 1e-6, "{dq:?}");
        assert!((dq[1] as f64 - 0.05 * s1).abs() < 1e-6, "{dq:?}");
        assert!(dq[1] > 0.0 && dq[0] < 0.0);
        // central differences of the whole loss
        for idx in 0..8 {
            let h = 1e-2f32;
            let val = |d: f32| {
                let mut qq = q;
                qq[idx] += d;
                let o = run(&CQL_FWD, p, vec![u(&qq), vec![0, 1], u(&y), vec![1; 4], vec![0], vec![0; CQL_STATS]]);
                f(&o[4])[0]
            };
            let num = (val(h) - val(-h)) / (2.0 * h);
            assert!((dq[idx] - num).abs() < 2e-3, "dq[{idx}] {} vs {num}", dq[idx]);
        }
    }

    #[test]
    fn masked_actions_leave_the_regularizer() {
        // a huge Q on a masked action changes nothing
        let p = SacParams { rows: 1, actions: 3, lambda_c: 1.0, ..Default::default() };
        let go = |q: [f32; 3]| {
            let out = run(
                &CQL_FWD,
                p,
                vec![u(&[q, q].concat()), vec![0], u(&[0.0]), vec![1, 1, 0], vec![0], vec![0; CQL_STATS]],
            );
            f(&out[4])[0]
        };
        assert_eq!(go([0.5, 1.0, 0.0]), go([0.5, 1.0, 1e6]));
    }
}
