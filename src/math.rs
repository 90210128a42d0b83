//! Portable f32 math: the same polynomial `ln`, `exp` and `sincos(2πu)` on every backend.
//!
//! Vendor `logf`/`expf`/`sinf` differ between libm, CUDA and WGSL drivers by a few ulps and do not
//! vectorize on the CPU. mecrl instead evaluates the Cephes single-precision polynomials
//! (≈1 ulp) with the same operation order in `src/math.rs`, `kernels/common/pmath.cuh` and
//! `shaders/common/pmath.wgsl`, so random draws agree across backends to a few ulps and the CPU
//! loops auto-vectorize. Inputs are restricted as documented per function (callers guarantee it).

// The constants are Cephes' as published, written identically in the CUDA and WGSL mirrors.
#![allow(clippy::excessive_precision)]

/// ln(x) for finite x > 0 (normal range). Cephes `logf`.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    // mantissa in [0.5, 1)
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    if m < core::f32::consts::FRAC_1_SQRT_2 {
        e -= 1;
        m = m + m - 1.0;
    } else {
        m -= 1.0;
    }
    let ef = e as f32;
    let z = m * m;
    let mut y = 7.037_683_6e-2;
    y = y * m - 1.151_461e-1;
    y = y * m + 1.167_699_9e-1;
    y = y * m - 1.242_014_1e-1;
    y = y * m + 1.424_932_3e-1;
    y = y * m - 1.666_805_8e-1;
    y = y * m + 2.000_071_4e-1;
    y = y * m - 2.499_999_4e-1;
    y = y * m + 3.333_333_1e-1;
    y = y * m * z;
    y += -2.121_944_4e-4 * ef;
    y += -0.5 * z;
    m + y + 0.693_359_4 * ef
}

/// exp(x), x clamped to [-87.0, 88.0] (results stay normal). Cephes `expf`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Comparisons instead of f32::clamp: one vector min/max each (inputs are never NaN).
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let fx = (x * core::f32::consts::LOG2_E + 0.5).floor();
    let r = x - fx * 0.693_359_4 - fx * -2.121_944_4e-4;
    let z = r * r;
    let mut y = 1.987_569_1e-4;
    y = y * r + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 5.000_000_1e-1;
    y = y * z + r + 1.0;
    // 2^fx built from the exponent field; fx + 127 ∈ [2, 254] is read off the mantissa of
    // fx + 127 + 1.5·2^23 (exact), which vectorizes where a saturating `as i32` does not.
    let biased = (fx + (127.0 + 12_582_912.0)).to_bits().wrapping_sub(0x4B40_0000);
    y * f32::from_bits(biased << 23)
}

/// (sin 2πu, cos 2πu) for u in [0, 1) with at most 24 significant bits (a Philox uniform):
/// the range reduction 4u − round(4u) is exact, then Cephes `sinf`/`cosf` on [−π/4, π/4].
#[inline(always)]
pub fn sincos_2pi(u: f32) -> (f32, f32) {
    let t = 4.0 * u;
    let q = (t + 0.5).floor();
    let r = (t - q) * core::f32::consts::FRAC_PI_2;
    let z = r * r;
    let s = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * r + r;
    let c = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    // Quadrant q: (s, c), (c, −s), (−s, −c), (−c, s), written with selects so it vectorizes.
    // q ∈ [0, 4] is integral: read it off the mantissa of q + 1.5·2^23 (a saturating `as i32`
    // would be a scalar conversion per lane).
    let q = (q + 12_582_912.0).to_bits();
    let swap = q & 1 != 0;
    let (sin, cos) = if swap { (c, s) } else { (s, c) };
    let sin = if q & 2 != 0 { -sin } else { sin };
    let cos = if q.wrapping_add(1) & 2 != 0 { -cos } else { cos };
    (sin, cos)
}

/// log2(x) = ln(x) / ln 2 for x > 0.
#[inline(always)]
pub fn log2(x: f32) -> f32 {
    ln(x) * core::f32::consts::LOG2_E
}

/// x^y = exp(y ln x) for x > 0.
#[inline(always)]
pub fn powf(x: f32, y: f32) -> f32 {
    exp(y * ln(x))
}

/// ln Γ(x) in f64 (Lanczos, g = 7, n = 9), for host-side constants such as σ_u of eq. (22).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // reflection
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Γ(x) for x > 0.
pub fn gamma(x: f64) -> f64 {
    ln_gamma(x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f32, b: f64) -> f64 {
        ((a as f64 - b) / b.abs().max(1e-30)).abs()
    }

    #[test]
    fn ln_matches_f64_within_2ulp() {
        for &x in &[1e-7f32, 2.0f32.powi(-24), 0.1, 0.5, 0.70710677, 0.9999999, 1.0, 1.5, 2.0, 3.1, 1e5, 3e38] {
            let got = ln(x);
            let want = (x as f64).ln();
            assert!((got as f64 - want).abs() <= 2.5e-7 * want.abs().max(1e-7), "ln({x}) = {got} want {want}");
        }
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn exp_matches_f64() {
        for &x in &[-80.0f32, -10.0, -1.0, -1e-4, 0.0, 0.5, 1.0, 10.0, 80.0] {
            assert!(rel(exp(x), (x as f64).exp()) < 3e-7, "exp({x})");
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn sincos_matches_f64() {
        for k in 0..4096u32 {
            let u = (k * 4096) as f32 / 16_777_216.0;
            let (s, c) = sincos_2pi(u);
            let a = 2.0 * std::f64::consts::PI * u as f64;
            assert!((s as f64 - a.sin()).abs() < 3e-7, "sin at u={u}");
            assert!((c as f64 - a.cos()).abs() < 3e-7, "cos at u={u}");
        }
        assert_eq!(sincos_2pi(0.0), (0.0, 1.0));
    }

    #[test]
    fn gamma_known_values() {
        assert!((gamma(5.0) - 24.0).abs() < 1e-10);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-12);
        assert!((gamma(2.5) - 1.329_340_388_179_137).abs() < 1e-12);
    }
}

/// ln(1 + x) for x > −1, accurate for small x: ln(u)·x/(u − 1) with u = 1 + x (Goldberg).
#[inline(always)]
pub fn ln1p(x: f32) -> f32 {
    let u = 1.0 + x;
    if u == 1.0 {
        x
    } else {
        ln(u) * x / (u - 1.0)
    }
}

#[cfg(test)]
mod ln1p_tests {
    #[test]
    fn ln1p_small_and_large() {
        for &x in &[1e-9f32, 1e-6, 3e-4, 0.1, 1.0, 37.5, 1e6] {
            let want = (x as f64).ln_1p();
            assert!(((super::ln1p(x) as f64 - want) / want).abs() < 5e-7, "ln1p({x})");
        }
    }
}
