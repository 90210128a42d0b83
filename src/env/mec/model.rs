//! `mec` formulas (eq. 2–13), scalar and hand-checked; the CPU kernels (`cpu.rs`) and the
//! WGSL/CUDA mirrors compute with them.

use crate::math;

// ---------------------------------------------------------------------------------------------
// Formulas (scalar, shared by the CPU kernels in cpu.rs; hand-checked in the tests below)
// ---------------------------------------------------------------------------------------------

/// The floor of the fading draw, 2^-25: the Exp(1) draw −ln(1 − u) is exactly 0 when the 24-bit
/// uniform u is 0 (one draw in 2^24), a link with no channel and an infinite upload time, whose
/// −∞ reward turns a learner's parameters into NaN; the floor is half the smallest positive
/// draw, so every other draw is unchanged (docs/mec.md).
pub const FADING_MIN: f32 = 2.980_232_2e-8;

/// Eq. (3): h_ij = β0·l_ij / d_ij², with l floored at [`FADING_MIN`] and d² at `d2_min`.
#[inline(always)]
pub fn channel_gain(beta0: f32, fading: f32, d2: f32, d2_min: f32) -> f32 {
    beta0 * fading.max(FADING_MIN) / d2.max(d2_min)
}

/// Eq. (2): r_ij = B·log2(1 + p·h / (σ²·B)).
#[inline(always)]
pub fn rate(bandwidth: f32, noise_psd: f32, p: f32, h: f32) -> f32 {
    bandwidth * math::ln1p(p * h / (noise_psd * bandwidth)) * core::f32::consts::LOG2_E
}

/// Eq. (8)–(10) for a local task: (T, E) = (F/f_i0, F/f_i0 · p^E).
#[inline(always)]
pub fn local_time_energy(f_cycles: f32, f_local: f32, p_local: f32) -> (f32, f32) {
    let t = f_cycles / f_local;
    (t, t * p_local)
}

/// Eq. (1), (8), (9) for an offloaded task: (T, E) = (D/r + F/f_ij, p·D/r).
#[inline(always)]
pub fn offload_time_energy(d_bits: f32, f_cycles: f32, r: f32, f_share: f32, p: f32) -> (f32, f32) {
    let ttr = d_bits / r;
    (ttr + f_cycles / f_share, p * ttr)
}

/// The transmit power minimizing (φ_T + φ_E p)·D / r(p) on (0, P_max] (eq. 13, power part).
///
/// With c = h/(σ²B) and t = p·c the stationarity condition is (1+t)·ln(1+t) − t = φ_T c / φ_E;
/// its left side is convex and increasing, so Newton from above, t ← (t + s)/ln(1+t) − 1,
/// converges monotonically. If the root lies beyond c·P_max the cost is decreasing on the whole
/// interval and P_max is optimal. φ_E = 0 also gives P_max.
#[inline(always)]
pub fn optimal_power(h: f32, bandwidth: f32, noise_psd: f32, phi_t: f32, phi_e: f32, p_max: f32) -> f32 {
    let c = h / (noise_psd * bandwidth);
    if phi_e <= 0.0 || c <= 0.0 {
        return p_max;
    }
    let s = phi_t * c / phi_e;
    let t_max = c * p_max;
    let l_max = math::ln1p(t_max);
    // F(t_max) <= 0: root beyond the box.
    if (1.0 + t_max) * l_max - t_max <= s {
        return p_max;
    }
    let mut t = t_max;
    for _ in 0..64 {
        let next = (t + s) / math::ln1p(t) - 1.0;
        if next >= t {
            break;
        }
        t = next;
    }
    (t / c).min(p_max)
}

/// [`optimal_power`] on `L` lanes at once (the CPU alloc kernel): the same Newton iterations
/// per lane, a lane freezing exactly where the scalar loop breaks, so the results are identical.
#[inline(always)]
// `!(a <= b)` on purpose: it is true for NaN exactly where the scalar loop's test is.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn optimal_power_lanes<const L: usize>(
    h: &[f32; L],
    bandwidth: f32,
    noise_psd: f32,
    phi_t: f32,
    phi_e: f32,
    p_max: f32,
) -> [f32; L] {
    let mut c = [0.0f32; L];
    let mut s = [0.0f32; L];
    let mut t = [0.0f32; L];
    let mut solve = [false; L];
    for l in 0..L {
        c[l] = h[l] / (noise_psd * bandwidth);
        s[l] = phi_t * c[l] / phi_e;
        let t_max = c[l] * p_max;
        let l_max = math::ln1p(t_max);
        solve[l] = (phi_e > 0.0) & (c[l] > 0.0) & !((1.0 + t_max) * l_max - t_max <= s[l]);
        t[l] = t_max;
    }
    let mut active = solve;
    for _ in 0..64 {
        let mut any = false;
        for l in 0..L {
            let next = (t[l] + s[l]) / math::ln1p(t[l]) - 1.0;
            let upd = active[l] & !(next >= t[l]);
            active[l] = upd;
            t[l] = if upd { next } else { t[l] };
            any |= upd;
        }
        if !any {
            break;
        }
    }
    let mut out = [p_max; L];
    for l in 0..L {
        if solve[l] {
            out[l] = (t[l] / c[l]).min(p_max);
        }
    }
    out
}

/// (φ_T + φ_E p)·D / r, the transmission part of Φ for an offloaded task.
#[inline(always)]
pub fn tx_cost(d_bits: f32, r: f32, p: f32, phi_t: f32, phi_e: f32) -> f32 {
    (phi_t + phi_e * p) * d_bits / r
}

/// KKT CPU shares of one MEC (eq. 13, CPU part): f_i = F_max √F_i / Σ_k √F_k over its tasks.
pub fn cpu_shares(f_max: f64, cycles: &[f64]) -> Vec<f64> {
    let s: f64 = cycles.iter().map(|f| f.sqrt()).sum();
    cycles.iter().map(|f| f_max * f.sqrt() / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::mec::config::MecConfig;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-30)
    }
    #[test]
    fn eq3_channel_gain_hand_case() {
        // β0 = 1e-3, l = 0.8, d = (3, 4) m → d² = 25: h = 1e-3·0.8/25 = 3.2e-5.
        assert!(close(channel_gain(1e-3, 0.8, 25.0, 1.0) as f64, 3.2e-5, 1e-6));
        // Floor: d² = 0.25 → treated as 1 m².
        assert!(close(channel_gain(1e-3, 1.0, 0.25, 1.0) as f64, 1e-3, 1e-6));
        // A zero fading draw (u = 0) is floored at 2^-25: a finite, positive gain and rate, so
        // the cost of the link is finite; the smallest positive draw −ln(1 − 2^-24) is kept.
        assert_eq!(FADING_MIN, 2f32.powi(-25));
        let h = channel_gain(1e-4, 0.0, 2500.0, 1.0);
        assert!(h > 0.0 && close(h as f64, 1e-4 * 2f64.powi(-25) / 2500.0, 1e-6));
        let r = rate(1e6, 1e-12, 1.5, h);
        assert!(r > 0.0 && tx_cost(8e5, r, 1.5, 0.5, 0.5).is_finite());
        let smallest = -(1.0 - 2f64.powi(-24)).ln() as f32;
        assert_eq!(channel_gain(1.0, smallest, 1.0, 1.0), smallest);
    }
    #[test]
    fn eq2_rate_hand_case() {
        // B = 1 MHz, σ² = 1e-12 W/Hz → noise 1e-6 W; p·h = 1.5·1e-5 = 1.5e-5 → SNR 15:
        // r = 1e6·log2(16) = 4e6 bit/s.
        assert!(close(rate(1e6, 1e-12, 1.5, 1e-5) as f64, 4e6, 1e-6));
    }
    #[test]
    fn eq8_to_10_local_and_offload() {
        // Local: F = 1e9 at f0 = 1e9 → T = 1 s; p^E = κ f0³ = 1 W → E = 1 J; Φ = 0.5 + 0.5 = 1.
        let cfg = MecConfig::default();
        assert!(close(cfg.p_local(), 1.0, 1e-12));
        let (t, e) = local_time_energy(1e9, 1e9, 1.0);
        assert_eq!((t, e), (1.0, 1.0));
        // Offload: D = 8e5 bits at r = 4e6 → 0.2 s, F = 1e9 at 25e9 Hz → 0.04 s; E = 1.5·0.2.
        let (t, e) = offload_time_energy(8e5, 1e9, 4e6, 25e9, 1.5);
        assert!(close(t as f64, 0.24, 1e-6) && close(e as f64, 0.3, 1e-6));
    }
    #[test]
    fn kkt_cpu_shares_beat_a_grid() {
        // Two tasks F = 1e9 and 4e9 on F_max = 3e9: f ∝ √F → (1e9, 2e9); Σ F/f = 1 + 2 = 3 s.
        let s = cpu_shares(3e9, &[1e9, 4e9]);
        assert!(close(s[0], 1e9, 1e-12) && close(s[1], 2e9, 1e-12));
        let kkt = 1e9 / s[0] + 4e9 / s[1];
        for k in 1..1000 {
            let f0 = 3e9 * k as f64 / 1000.0;
            assert!(1e9 / f0 + 4e9 / (3e9 - f0) >= kkt - 1e-9);
        }
    }

    /// The 1-D power solve against a dense grid of the cost (φ_T + φ_E p)·D/r(p).
    #[test]
    fn optimal_power_matches_brute_force_grid() {
        let (bw, n0, pmax) = (1e6f64, 1e-12f64, 1.5f64);
        for &h in &[1e-7f64, 1e-6, 3e-6, 1e-5, 1e-4, 1e-3] {
            for &(pt, pe) in &[(0.5, 0.5), (0.9, 0.1), (0.1, 0.9), (1.0, 0.0)] {
                let cost = |p: f64| (pt + pe * p) / (bw * (1.0 + p * h / (n0 * bw)).log2());
                let mut best = (f64::INFINITY, 0.0);
                for k in 1..=200_000 {
                    let p = pmax * k as f64 / 200_000.0;
                    let c = cost(p);
                    if c < best.0 {
                        best = (c, p);
                    }
                }
                let p = optimal_power(h as f32, bw as f32, n0 as f32, pt as f32, pe as f32, pmax as f32) as f64;
                // The cost is flat at the optimum: compare costs (1e-6) and powers (grid step).
                assert!(cost(p) <= best.0 * (1.0 + 1e-6), "h={h} φ=({pt},{pe}): p={p} grid p={}", best.1);
                assert!((p - best.1).abs() <= 2e-3 * pmax + 1e-5 * best.1, "h={h}: p={p} grid {}", best.1);
            }
        }
    }
    #[test]
    fn optimal_power_stationarity_to_1e6() {
        // At an interior optimum, (1+t) ln(1+t) − t = φ_T c / φ_E to 1e-6 relative (in f64).
        let (h, bw, n0) = (1e-4f64, 1e6, 1e-12);
        let p = optimal_power(h as f32, bw as f32, n0 as f32, 0.5, 0.5, 1.5) as f64;
        let c = h / (n0 * bw);
        let t = p * c;
        let lhs = (1.0 + t) * (1.0 + t).ln() - t;
        assert!(p < 1.5 && close(lhs, c, 1e-5), "p={p} lhs={lhs} c={c}");
    }
}
