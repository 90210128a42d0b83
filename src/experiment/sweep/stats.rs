//! Mean, sample standard deviation and the 95 % confidence interval of a mean over seeds.

/// Two-sided 95 % Student-t quantiles t_{0.975, df} for df = 1..=30 (any statistics table).
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// t_{0.975, df}: the table up to 30, then the Cornish-Fisher expansion around z = 1.959964
/// (within 1e-3 of the exact quantile for df > 30).
pub fn t975(df: usize) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T975[df - 1];
    }
    let (z, n) = (1.959_964f64, df as f64);
    z + (z.powi(3) + z) / (4.0 * n) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
}

/// Mean, sample standard deviation (n − 1) and the 95 % CI half-width t·s/√n of `xs` (summed
/// in the given order). With one value the spread and interval are NaN.
pub fn describe(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, f64::NAN, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    (mean, sd, t975(n - 1) * sd / (n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_computed_interval() {
        // 2, 4, 6: mean 4, s² = (4 + 0 + 4) / 2 = 4, s = 2, half-width 4.303 · 2 / √3 = 4.9687.
        let (m, s, h) = describe(&[2.0, 4.0, 6.0]);
        assert_eq!((m, s), (4.0, 2.0));
        assert!((h - 4.303 * 2.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!(describe(&[5.0]).1.is_nan());
    }

    #[test]
    fn large_df_quantiles_match_the_tables() {
        for (df, t) in [(40, 2.021), (60, 2.000), (120, 1.980), (1000, 1.962)] {
            assert!((t975(df) - t).abs() < 1.5e-3, "df {df}: {} vs {t}", t975(df));
        }
    }
}
