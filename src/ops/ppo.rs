//! The PPO objective as one fused, weighted loss (MRLCO eq. 16–20; Schulman et al. 2017): the
//! clipped surrogate, the value loss with weight c1, the entropy bonus with weight c2, over
//! samples with weights w (0 for the padded steps of sequences of mixed lengths), with the
//! advantages normalized over the weighted batch, and the statistics people watch.
//!
//! With W = Σw, per sample i (new log π `logp`, entropy H, value v; rollout's log π_old `old`,
//! value v_old, advantage A, return R):
//! - Â = (A − μ)/(σ + 1e-8) with μ = ΣwA/W, σ² = Σw(A − μ)²/W when `norm_adv`, else Â = A;
//! - ρ = exp(logp − old), pg = −min(ρÂ, clip(ρ, 1 ± ε)Â) (eq. 16–17);
//! - ℓ_v = (v − R)² (eq. 19), or with `clip_value` = c > 0 the PPO2 form
//!   max((v − R)², (v_old + clip(v − v_old, ±c) − R)²);
//! - L = Σ w·(pg + c1·ℓ_v − c2·H) / W (eq. 20, as a loss to minimize).
//!
//! `ppo_objective_fwd` (one thread, index order) writes L \[1\] and the statistics ([`Stat`]);
//! `ppo_objective_bwd` (one thread per sample) accumulates, with s = dL·w/W,
//! dlogp += s·(−Âρ) where the unclipped term is the minimum (ρÂ ≤ clip(ρ)Â) else 0,
//! dv += s·c1·2(v − R) (clipped: through the larger of the two terms, 0 when the clipped one
//! is larger and v − v_old is outside ±c), dH += s·(−c2). W = 0 gives L = 0 and no gradient.

use super::loss::ppo_terms as surrogate;
use super::Real;
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of the PPO objective kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PpoLossParams {
    /// Samples N.
    pub n: u32,
    /// 1: normalize the advantages over the weighted batch.
    pub norm_adv: u32,
    /// ε of the clipped surrogate.
    pub clip_eps: f32,
    /// c1, the weight of the value loss.
    pub value_coef: f32,
    /// c2, the weight of the entropy bonus.
    pub entropy_coef: f32,
    /// c > 0: clip the value around the rollout's value (PPO2); 0: plain squared error.
    pub clip_value: f32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

/// The statistics `ppo_objective_fwd` writes after L (index into its `stats` output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// L, the whole loss.
    Loss = 0,
    /// Σw·pg/W, the surrogate's part.
    Policy = 1,
    /// Σw·ℓ_v/W.
    Value = 2,
    /// Σw·H/W, the mean entropy.
    Entropy = 3,
    /// Σw·((ρ − 1) − ln ρ)/W, the low-variance estimate of KL(π_old ‖ π).
    ApproxKl = 4,
    /// Σw·[|ρ − 1| > ε]/W, the share of samples the clip acts on.
    ClipFrac = 5,
    /// 1 − Var_w(R − v_old)/Var_w(R): how much of the returns the rollout's values explain.
    ExplainedVar = 6,
    /// W.
    Weight = 7,
    /// μ, the weighted mean of the advantages (0 without normalization).
    AdvMean = 8,
    /// 1/(σ + 1e-8) (1 without normalization): the backward reads it.
    AdvInvStd = 9,
}

/// Words of the `stats` output.
pub const STATS: usize = 12;

/// (ℓ_v, dℓ_v/dv) of one sample.
#[inline]
fn value_terms<T: Real>(v: T, v_old: T, ret: T, clip: T) -> (T, T) {
    let d = v - ret;
    let l1 = d * d;
    if clip <= T::ZERO {
        return (l1, T::c(2.0) * d);
    }
    let dv = v - v_old;
    let inside = -clip < dv && dv < clip;
    let vc = v_old
        + if dv < -clip {
            -clip
        } else if dv > clip {
            clip
        } else {
            dv
        };
    let dc = vc - ret;
    let l2 = dc * dc;
    if l1 >= l2 {
        (l1, T::c(2.0) * d)
    } else if inside {
        (l2, T::c(2.0) * dc)
    } else {
        (l2, T::ZERO)
    }
}

/// x > 0 (false for NaN).
fn positive<T: Real>(x: T) -> bool {
    x.partial_cmp(&T::ZERO) == Some(std::cmp::Ordering::Greater)
}

/// The inputs of one batch (all N long).
pub struct PpoBatch<'a, T> {
    /// New log π(a|s).
    pub logp: &'a [T],
    /// Entropy of the new policy.
    pub entropy: &'a [T],
    /// New value.
    pub value: &'a [T],
    /// The rollout's log π_old(a|s).
    pub old_logp: &'a [T],
    /// The rollout's value.
    pub old_value: &'a [T],
    /// Advantages (GAE).
    pub adv: &'a [T],
    /// Returns.
    pub ret: &'a [T],
    /// Weights.
    pub weight: &'a [T],
}

/// L and the statistics ([`Stat`], [`STATS`] words), sums in index order.
pub fn objective<T: Real>(p: &PpoLossParams, b: &PpoBatch<T>) -> [T; STATS] {
    let n = p.n as usize;
    let mut s = [T::ZERO; STATS];
    let mut w_sum = T::ZERO;
    for i in 0..n {
        w_sum = w_sum + b.weight[i];
    }
    s[Stat::AdvInvStd as usize] = T::ONE;
    if !positive(w_sum) {
        return s;
    }
    let (mut mu, mut inv) = (T::ZERO, T::ONE);
    if p.norm_adv != 0 {
        let mut m = T::ZERO;
        for i in 0..n {
            m = m + b.weight[i] * b.adv[i];
        }
        mu = m / w_sum;
        let mut var = T::ZERO;
        for i in 0..n {
            let d = b.adv[i] - mu;
            var = var + b.weight[i] * (d * d);
        }
        inv = T::ONE / ((var / w_sum).sqrt() + T::c(1e-8));
    }
    let eps = T::c(p.clip_eps as f64);
    let (c1, c2, cv) = (T::c(p.value_coef as f64), T::c(p.entropy_coef as f64), T::c(p.clip_value as f64));
    let (mut pg, mut vl, mut ent, mut kl, mut cf) = (T::ZERO, T::ZERO, T::ZERO, T::ZERO, T::ZERO);
    let (mut r1, mut r2, mut e1, mut e2) = (T::ZERO, T::ZERO, T::ZERO, T::ZERO);
    for i in 0..n {
        let w = b.weight[i];
        let a = (b.adv[i] - mu) * inv;
        let (term, _) = surrogate(b.logp[i], b.old_logp[i], a, eps);
        let (lv, _) = value_terms(b.value[i], b.old_value[i], b.ret[i], cv);
        let lr = b.logp[i] - b.old_logp[i];
        let rho = lr.exp();
        pg = pg + w * -term;
        vl = vl + w * lv;
        ent = ent + w * b.entropy[i];
        kl = kl + w * ((rho - T::ONE) - lr);
        if (rho - T::ONE).abs() > eps {
            cf = cf + w;
        }
        let (r, e) = (b.ret[i], b.ret[i] - b.old_value[i]);
        r1 = r1 + w * r;
        r2 = r2 + w * (r * r);
        e1 = e1 + w * e;
        e2 = e2 + w * (e * e);
    }
    let m = |x: T| x / w_sum;
    let var_r = m(r2) - m(r1) * m(r1);
    let var_e = m(e2) - m(e1) * m(e1);
    s[Stat::Policy as usize] = m(pg);
    s[Stat::Value as usize] = m(vl);
    s[Stat::Entropy as usize] = m(ent);
    s[Stat::Loss as usize] = (m(pg) + c1 * m(vl)) - c2 * m(ent);
    s[Stat::ApproxKl as usize] = m(kl);
    s[Stat::ClipFrac as usize] = m(cf);
    s[Stat::ExplainedVar as usize] = if var_r > T::ZERO { T::ONE - var_e / var_r } else { T::ZERO };
    s[Stat::Weight as usize] = w_sum;
    s[Stat::AdvMean as usize] = mu;
    s[Stat::AdvInvStd as usize] = inv;
    s
}

/// The gradient of sample i: (dlogp, dH, dv) for dL = `dl`, from the forward's `stats`.
pub fn objective_grad<T: Real>(p: &PpoLossParams, b: &PpoBatch<T>, stats: &[T], dl: T, i: usize) -> (T, T, T) {
    let w_sum = stats[Stat::Weight as usize];
    if !positive(w_sum) {
        return (T::ZERO, T::ZERO, T::ZERO);
    }
    let s = dl * b.weight[i] / w_sum;
    let a = (b.adv[i] - stats[Stat::AdvMean as usize]) * stats[Stat::AdvInvStd as usize];
    let (_, g) = surrogate(b.logp[i], b.old_logp[i], a, T::c(p.clip_eps as f64));
    let (_, dv) = value_terms(b.value[i], b.old_value[i], b.ret[i], T::c(p.clip_value as f64));
    (s * -g, s * -T::c(p.entropy_coef as f64), s * (T::c(p.value_coef as f64) * dv))
}

const NAMES: [&str; 8] = ["logp", "entropy", "value", "old_logp", "old_value", "adv", "ret", "weight"];

fn batch<'a>(bufs: &'a [&mut [u32]], n: usize) -> PpoBatch<'a, f32> {
    let f = |k: usize| &f32s(bufs[k])[..n];
    PpoBatch {
        logp: f(0),
        entropy: f(1),
        value: f(2),
        old_logp: f(3),
        old_value: f(4),
        adv: f(5),
        ret: f(6),
        weight: f(7),
    }
}

/// `ppo_objective_fwd`: bufs logp, entropy, value, old_logp, old_value, adv, ret, weight, loss,
/// stats.
pub fn cpu_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PpoLossParams = decode(params);
    let n = p.n as usize;
    if n == 0 {
        return Ok(()); // no samples: nothing is read or written (the tape refuses an empty batch)
    }
    let mut want: Vec<(&str, usize)> = NAMES.iter().map(|&k| (k, n)).collect();
    want.extend([("loss", 1), ("stats", STATS)]);
    need_all("ppo_objective_fwd", bufs, &want)?;
    let (inputs, out) = bufs.split_at_mut(8);
    let s = objective(&p, &batch(inputs, n));
    f32s_mut(out[0])[0] = s[Stat::Loss as usize];
    f32s_mut(out[1])[..STATS].copy_from_slice(&s);
    Ok(())
}

/// `ppo_objective_bwd`: bufs logp, value, old_logp, old_value, adv, ret, weight, stats, dl,
/// dlogp, dentropy, dvalue (the entropies themselves are not needed: dL/dH is constant).
pub fn cpu_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PpoLossParams = decode(params);
    let n = p.n as usize;
    if n == 0 {
        return Ok(());
    }
    let mut want: Vec<(&str, usize)> = NAMES.iter().filter(|&&k| k != "entropy").map(|&k| (k, n)).collect();
    want.extend([("stats", STATS), ("dl", 1), ("dlogp", n), ("dentropy", n), ("dvalue", n)]);
    need_all("ppo_objective_bwd", bufs, &want)?;
    let (inputs, out) = bufs.split_at_mut(9);
    let stats = f32s(inputs[7])[..STATS].to_vec();
    let dl = f32s(inputs[8])[0];
    let zeros = vec![0.0f32; n];
    let f = |k: usize| &f32s(inputs[k])[..n];
    let b = PpoBatch {
        logp: f(0),
        entropy: &zeros,
        value: f(1),
        old_logp: f(2),
        old_value: f(3),
        adv: f(4),
        ret: f(5),
        weight: f(6),
    };
    let [dlogp, dent, dv] = out else { unreachable!("the spec has 12 buffers") };
    let (dlogp, dent, dv) = (f32s_mut(dlogp), f32s_mut(dent), f32s_mut(dv));
    for i in 0..n {
        let (a, h, v) = objective_grad(&p, &b, &stats, dl, i);
        dlogp[i] += a;
        dent[i] += h;
        dv[i] += v;
    }
    Ok(())
}

fn sizes_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: PpoLossParams = decode(bytes);
    if p.n == 0 {
        return vec![0; 10];
    }
    let mut v = vec![p.n as u64; 8];
    v.extend([1, STATS as u64]);
    v
}

fn sizes_bwd(bytes: &[u8]) -> Vec<u64> {
    let n = decode::<PpoLossParams>(bytes).n as u64;
    if n == 0 {
        return vec![0; 12];
    }
    let mut v = vec![n; 7];
    v.extend([STATS as u64, 1, n, n, n]);
    v
}

crate::kernel_params!(PpoLossParams { n, norm_adv, clip_eps, value_coef, entropy_coef, clip_value, _pad0, _pad1 });

crate::kernels! {
    stem "ops" / "ppo";
    /// PPO objective (surrogate, value loss, entropy bonus; weighted, advantages normalized)
    /// and its statistics.
    PPO_OBJECTIVE_FWD = ppo_objective_fwd(PpoLossParams;
        logp: R F32, entropy: R F32, value: R F32, old_logp: R F32, old_value: R F32, adv: R F32,
        ret: R F32, weight: R F32, loss: W F32, stats: W F32
    )
        cpu cpu_fwd, sizes sizes_fwd;
    /// PPO objective backward into the new log-probabilities, entropies and values.
    PPO_OBJECTIVE_BWD = ppo_objective_bwd(PpoLossParams;
        logp: R F32, value: R F32, old_logp: R F32, old_value: R F32, adv: R F32, ret: R F32,
        weight: R F32, stats: R F32, dl: R F32, dlogp: W F32, dentropy: W F32, dvalue: W F32
    )
        cpu cpu_bwd, sizes sizes_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(norm: bool, clip_value: f32) -> PpoLossParams {
        PpoLossParams {
            n: 3,
            norm_adv: norm as u32,
            clip_eps: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.01,
            clip_value,
            ..Default::default()
        }
    }

    struct Case {
        logp: Vec<f64>,
        entropy: Vec<f64>,
        value: Vec<f64>,
        old_logp: Vec<f64>,
        old_value: Vec<f64>,
        adv: Vec<f64>,
        ret: Vec<f64>,
        weight: Vec<f64>,
    }

    impl Case {
        fn batch(&self) -> PpoBatch<'_, f64> {
            PpoBatch {
                logp: &self.logp,
                entropy: &self.entropy,
                value: &self.value,
                old_logp: &self.old_logp,
                old_value: &self.old_value,
                adv: &self.adv,
                ret: &self.ret,
                weight: &self.weight,
            }
        }
    }

    fn case() -> Case {
        let ln = |x: f64| x.ln();
        Case {
            // ρ = 1.1 (inside), 1.5 (above 1.2), 0.5 (below 0.8)
            logp: vec![ln(1.1) + ln(0.5), ln(1.5) + ln(0.4), ln(0.5) + ln(0.3)],
            entropy: vec![0.6, 0.5, 0.4],
            value: vec![1.0, 2.0, 0.0],
            old_logp: vec![ln(0.5), ln(0.4), ln(0.3)],
            old_value: vec![0.5, 2.0, 0.0],
            adv: vec![1.0, 2.0, -1.0],
            ret: vec![2.0, 1.0, 7.0],
            // the third sample is padding
            weight: vec![1.0, 1.0, 0.0],
        }
    }

    // (ε, c1, c2 are f32 in the parameters: 0.2 is 0.2000000030, so the hand values hold to ~1e-8)
    #[test]
    fn hand_computed_case_without_normalization() {
        let c = case();
        let s = objective(&params(false, 0.0), &c.batch());
        // sample 0: ρ = 1.1, A = 1: min(1.1, 1.1) → pg = −1.1; sample 1: ρ = 1.5, A = 2:
        // min(3.0, 2.4) → pg = −2.4. Mean over W = 2: −1.75.
        assert!((s[Stat::Policy as usize] + 1.75).abs() < 1e-7);
        // ℓ_v: (1 − 2)² = 1, (2 − 1)² = 1 → 1
        assert!((s[Stat::Value as usize] - 1.0).abs() < 1e-7);
        assert!((s[Stat::Entropy as usize] - 0.55).abs() < 1e-7);
        // L = −1.75 + 0.5·1 − 0.01·0.55
        assert!((s[Stat::Loss as usize] - (-1.75 + 0.5 - 0.0055)).abs() < 1e-7);
        // KL ≈ ((0.1 − ln 1.1) + (0.5 − ln 1.5))/2; clip fraction: only ρ = 1.5 → 0.5
        let kl = ((0.1 - 1.1f64.ln()) + (0.5 - 1.5f64.ln())) / 2.0;
        assert!((s[Stat::ApproxKl as usize] - kl).abs() < 1e-7);
        assert_eq!(s[Stat::ClipFrac as usize], 0.5);
        // returns 2, 1 (var 0.25); R − v_old = 1.5, −1 (var 1.5625) → EV = 1 − 6.25
        assert!((s[Stat::ExplainedVar as usize] - (1.0 - 6.25)).abs() < 1e-7);
        assert_eq!(s[Stat::Weight as usize], 2.0);
    }

    #[test]
    fn hand_computed_gradient() {
        let c = case();
        let p = params(false, 0.0);
        let s = objective(&p, &c.batch());
        // s = dL·w/W = 0.5 for the real samples. Sample 0: unclipped → dlogp = −0.5·1.1;
        // dv = 0.5·0.5·2·(1 − 2) = −0.5; dH = −0.5·0.01. Sample 1: clipped above → 0;
        // dv = 0.5·0.5·2·1 = 0.5. Sample 2 (w = 0): nothing.
        let g0 = objective_grad(&p, &c.batch(), &s, 1.0, 0);
        assert!((g0.0 + 0.55).abs() < 1e-7 && (g0.1 + 0.005).abs() < 1e-7 && (g0.2 + 0.5).abs() < 1e-7);
        let g1 = objective_grad(&p, &c.batch(), &s, 1.0, 1);
        assert_eq!(g1.0, 0.0);
        assert!((g1.2 - 0.5).abs() < 1e-7);
        assert_eq!(objective_grad(&p, &c.batch(), &s, 1.0, 2), (0.0, 0.0, 0.0));
    }

    /// Finite differences of L in f64 against the analytic gradient, every option.
    #[test]
    fn gradient_matches_finite_differences() {
        for (norm, cv) in [(false, 0.0), (true, 0.0), (true, 0.3), (false, 0.3)] {
            let mut c = case();
            c.weight = vec![1.0, 0.5, 2.0];
            c.value = vec![1.0, 2.3, 6.0];
            let p = params(norm, cv);
            let s = objective(&p, &c.batch());
            let h = 1e-6;
            for i in 0..3 {
                let g = objective_grad(&p, &c.batch(), &s, 1.0, i);
                for (k, want) in [(0, g.0), (1, g.1), (2, g.2)] {
                    let bump = |c: &mut Case, d: f64| match k {
                        0 => c.logp[i] += d,
                        1 => c.entropy[i] += d,
                        _ => c.value[i] += d,
                    };
                    let mut up = case_copy(&c);
                    bump(&mut up, h);
                    let mut dn = case_copy(&c);
                    bump(&mut dn, -h);
                    let fd = (objective(&p, &up.batch())[0] - objective(&p, &dn.batch())[0]) / (2.0 * h);
                    assert!((fd - want).abs() < 1e-6, "norm={norm} cv={cv} i={i} k={k}: fd {fd} vs {want}");
                }
            }
        }
    }

    fn case_copy(c: &Case) -> Case {
        Case {
            logp: c.logp.clone(),
            entropy: c.entropy.clone(),
            value: c.value.clone(),
            old_logp: c.old_logp.clone(),
            old_value: c.old_value.clone(),
            adv: c.adv.clone(),
            ret: c.ret.clone(),
            weight: c.weight.clone(),
        }
    }

    #[test]
    fn normalized_advantages_have_zero_weighted_mean() {
        let c = case();
        let s = objective(&params(true, 0.0), &c.batch());
        // A = 1, 2 over the real samples: μ = 1.5, σ = 0.5
        assert!((s[Stat::AdvMean as usize] - 1.5).abs() < 1e-12);
        assert!((s[Stat::AdvInvStd as usize] - 1.0 / (0.5 + 1e-8)).abs() < 1e-9);
    }

    #[test]
    fn no_weight_is_no_loss() {
        let mut c = case();
        c.weight = vec![0.0; 3];
        let p = params(true, 0.0);
        let s = objective(&p, &c.batch());
        assert_eq!(s[0], 0.0);
        assert_eq!(objective_grad(&p, &c.batch(), &s, 1.0, 0), (0.0, 0.0, 0.0));
    }
}
