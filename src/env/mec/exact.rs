//! The CPU hot path of the exact-allocation objective (eq. 8–11 with eq. 13): R decision rows
//! of one instance at a time, the same bits as [`objective_exact_one`] row by row (tested
//! on every instruction set this machine has).
//!
//! The scalar loop keeps the per-MEC sums S_j = Σ_{i: a_i = j} √F_i in memory, and a load of
//! `bins[a_i]` that follows a store to the same (random) bin makes the processor's memory
//! disambiguation stall or replay. Here each row's bins live in vector registers, a lane per MEC
//! (M + 1 ≤ 16: one 16-lane register with AVX-512, two 8-lane ones with AVX2), and IoTD i adds
//! √F_i to lane a_i only, as one FMA with the one-hot row e_{a_i}: bins + e·√F_i is bins + √F_i
//! (one rounding, as the add) in lane a_i and bins + 0 = bins elsewhere (a bin is never −0), so
//! every lane sees the same additions in the same order as the scalar bin. One instruction, on
//! the FMA pipes while the scalar cost sums use the add pipes. The dependency of one row's bins
//! from IoTD to IoTD is one FMA (4 cycles), so R = 4 rows are interleaved (two at a time with
//! AVX2's 16 registers), sharing the broadcast √F_i. Larger M takes the scalar loop.

use crate::isa::Isa;

/// Rows evaluated together (see the module).
pub const ROWS: usize = 4;

/// Φ of the rows `rows` (each N decisions) of one instance (cost \[N, M+1\], √F \[N\]) into
/// `out` (one per row); `bins` is scratch of M + 1 for the scalar fallback. NaN for a row with
/// some a_i > M, as [`objective_exact_one`].
#[allow(clippy::too_many_arguments)]
pub fn objective_exact_rows(
    cost: &[f32],
    sqrt_f: &[f32],
    rows: &[&[u32]],
    m: usize,
    f_max: f32,
    phi_t: f32,
    bins: &mut [f32],
    out: &mut [f32],
) {
    objective_exact_rows_on(Isa::get(), cost, sqrt_f, rows, m, f_max, phi_t, bins, out)
}

/// [`objective_exact_rows`] on a given instruction set (one the processor has).
#[allow(clippy::too_many_arguments)]
pub fn objective_exact_rows_on(
    isa: Isa,
    cost: &[f32],
    sqrt_f: &[f32],
    rows: &[&[u32]],
    m: usize,
    f_max: f32,
    phi_t: f32,
    bins: &mut [f32],
    out: &mut [f32],
) {
    let n = sqrt_f.len();
    assert!(cost.len() >= n * (m + 1) && out.len() == rows.len(), "objective_exact_rows: block sizes");
    assert!(rows.iter().all(|r| r.len() == n), "objective_exact_rows: every row has N decisions");
    assert!(Isa::available().contains(&isa), "{isa:?} is not available on this processor");
    let mut done = 0;
    for (group, o) in rows.chunks(ROWS).zip(out.chunks_mut(ROWS)) {
        if group.len() < ROWS {
            break;
        }
        let g: &[&[u32]; ROWS] = group.try_into().expect("a full group");
        let o: &mut [f32; ROWS] = o.try_into().expect("a full group");
        // A row with some a_i > M (NaN) takes the scalar loop with the rest of the rows.
        let valid = g.iter().all(|r| r.iter().fold(0, |x, &a| x.max(a)) as usize <= m);
        let fast = valid
            && match isa {
                // SAFETY: the instruction set was checked above; sizes as asserted; every a_i ≤ M.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 if m < 16 => unsafe { avx512::rows(cost, sqrt_f, g, m, f_max, phi_t, o) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 if m < 16 => unsafe { avx2::rows(cost, sqrt_f, g, m, f_max, phi_t, o) },
                _ => false,
            };
        if !fast {
            break;
        }
        done += ROWS;
    }
    for (row, o) in rows[done..].iter().zip(&mut out[done..]) {
        *o = objective_exact_one(cost, sqrt_f, row, m, f_max, phi_t, bins);
    }
}

/// Σ_i Φ_i of one decision vector with the exact allocation. `bins` has M+1 entries
/// (entry 0 collects local tasks and is ignored). Partial sums by i mod 4, combined as
/// (s0 + s1) + (s2 + s3), then φ_T/F_max · Σ_j S_j² in j order — the same on every backend.
/// Returns NaN if some a_i > M.
#[inline]
pub fn objective_exact_one(
    cost: &[f32],
    sqrt_f: &[f32],
    a: &[u32],
    m: usize,
    f_max: f32,
    phi_t: f32,
    bins: &mut [f32],
) -> f32 {
    let n = a.len();
    let bins = &mut bins[..m + 1];
    bins.fill(0.0);
    let w = m + 1;
    let mut s = [0.0f32; 4];
    let cost = &cost[..n * w];
    let sqrt_f = &sqrt_f[..n];
    // An out-of-range a_i is clamped for the (in-bounds) reads and flagged: the result is NaN.
    let mut bad = false;
    for (i, &ai) in a.iter().enumerate() {
        bad |= ai as usize > m;
        let ai = (ai as usize).min(m);
        // SAFETY: i < n and ai <= m < w, so i·w + ai < n·w = cost.len() and ai < bins.len().
        unsafe {
            s[i % 4] += *cost.get_unchecked(i * w + ai);
            *bins.get_unchecked_mut(ai) += *sqrt_f.get_unchecked(i);
        }
    }
    if bad {
        return f32::NAN;
    }
    let mut cpu = 0.0f32;
    for &sj in &bins[1..] {
        cpu += sj * sj;
    }
    (s[0] + s[1]) + (s[2] + s[3]) + phi_t / f_max * cpu
}

/// Σ_j S_j² in j order and the final combination of [`objective_exact_one`] (lane 0, the local
/// tasks, is not a MEC).
#[inline(always)]
fn finish(s: [f32; 4], bins: &[f32], m: usize, f_max: f32, phi_t: f32) -> f32 {
    let mut cpu = 0.0f32;
    for &sj in &bins[1..=m] {
        cpu += sj * sj;
    }
    (s[0] + s[1]) + (s[2] + s[3]) + phi_t / f_max * cpu
}

/// Row j: 1.0 in lane j of 16, 0.0 elsewhere, 64-byte aligned (one cache line, or two 8-lane
/// vectors, per row): the one-hot rows of the bins' FMA.
#[cfg(target_arch = "x86_64")]
#[repr(align(64))]
struct OneHot([[f32; 16]; 16]);

#[cfg(target_arch = "x86_64")]
static ONE_HOT: OneHot = OneHot({
    let mut t = [[0.0f32; 16]; 16];
    let mut j = 0;
    while j < 16 {
        t[j][j] = 1.0;
        j += 1;
    }
    t
});

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use crate::env::mec::exact::{finish, ONE_HOT, ROWS};

    /// Four rows with M + 1 ≤ 16; returns true (the caller checked M).
    ///
    /// # Safety
    /// AVX-512 F/BW/DQ/VL present; cost has N (M + 1) entries, every row N decisions ≤ M.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) unsafe fn rows(
        cost: &[f32],
        sqrt_f: &[f32],
        rows: &[&[u32]; ROWS],
        m: usize,
        f_max: f32,
        phi_t: f32,
        out: &mut [f32; ROWS],
    ) -> bool {
        let (n, w) = (sqrt_f.len(), m + 1);
        let mut bins = [_mm512_setzero_ps(); ROWS];
        let mut s = [[0.0f32; 4]; ROWS];
        let ptr = rows.map(|r| r.as_ptr());
        // One IoTD of every row: the cost of its choice into the row's partial sum q (= i mod 4),
        // √F_i into the bin of a_i.
        let step = |i: usize, q: usize, bins: &mut [__m512; ROWS], s: &mut [[f32; 4]; ROWS]| {
            let f = _mm512_set1_ps(*sqrt_f.get_unchecked(i));
            let c = cost.as_ptr().add(i * w);
            for r in 0..ROWS {
                let j = *ptr[r].add(i) as usize;
                s[r][q] += *c.add(j);
                bins[r] = _mm512_fmadd_ps(_mm512_load_ps(ONE_HOT.0.as_ptr().add(j) as *const f32), f, bins[r]);
            }
        };
        let mut i = 0;
        while i + 4 <= n {
            for q in 0..4 {
                step(i + q, q, &mut bins, &mut s);
            }
            i += 4;
        }
        for q in 0..n - i {
            step(i + q, q, &mut bins, &mut s);
        }
        for r in 0..ROWS {
            let mut b = [0.0f32; 16];
            _mm512_storeu_ps(b.as_mut_ptr(), bins[r]);
            out[r] = finish(s[r], &b, m, f_max, phi_t);
        }
        true
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use crate::env::mec::exact::{finish, ONE_HOT, ROWS};

    /// Four rows with M + 1 ≤ 16, two at a time (AVX2 has 16 vector registers: two rows' bins
    /// and partial sums fit); returns true (the caller checked M).
    ///
    /// # Safety
    /// AVX2 and FMA present; cost has N (M + 1) entries, every row N decisions ≤ M.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn rows(
        cost: &[f32],
        sqrt_f: &[f32],
        rows: &[&[u32]; ROWS],
        m: usize,
        f_max: f32,
        phi_t: f32,
        out: &mut [f32; ROWS],
    ) -> bool {
        for h in 0..ROWS / 2 {
            let pair = [rows[2 * h], rows[2 * h + 1]];
            let mut o = [0.0f32; 2];
            pair_of_rows(cost, sqrt_f, &pair, m, f_max, phi_t, &mut o);
            out[2 * h..2 * h + 2].copy_from_slice(&o);
        }
        true
    }

    /// Two rows, each row's bins in two 8-lane vectors (an FMA into both per IoTD: the half
    /// without lane a_i adds 0; the second only where M ≥ 8).
    ///
    /// # Safety
    /// As [`rows`].
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pair_of_rows(
        cost: &[f32],
        sqrt_f: &[f32],
        rows: &[&[u32]; 2],
        m: usize,
        f_max: f32,
        phi_t: f32,
        out: &mut [f32; 2],
    ) {
        const ROWS: usize = 2;
        let (n, w) = (sqrt_f.len(), m + 1);
        let wide = m >= 8;
        let mut lo = [_mm256_setzero_ps(); ROWS];
        let mut hi = [_mm256_setzero_ps(); ROWS];
        let mut s = [[0.0f32; 4]; ROWS];
        let ptr = rows.map(|r| r.as_ptr());
        let mut step = |i: usize, q: usize, s: &mut [[f32; 4]; ROWS]| {
            let f = _mm256_set1_ps(*sqrt_f.get_unchecked(i));
            let c = cost.as_ptr().add(i * w);
            for r in 0..ROWS {
                let j = *ptr[r].add(i) as usize;
                s[r][q] += *c.add(j);
                let hot = ONE_HOT.0.as_ptr().add(j) as *const f32;
                lo[r] = _mm256_fmadd_ps(_mm256_load_ps(hot), f, lo[r]);
                if wide {
                    hi[r] = _mm256_fmadd_ps(_mm256_load_ps(hot.add(8)), f, hi[r]);
                }
            }
        };
        let mut i = 0;
        while i + 4 <= n {
            for q in 0..4 {
                step(i + q, q, &mut s);
            }
            i += 4;
        }
        for q in 0..n - i {
            step(i + q, q, &mut s);
        }
        for r in 0..ROWS {
            let mut b = [0.0f32; 16];
            _mm256_storeu_ps(b.as_mut_ptr(), lo[r]);
            _mm256_storeu_ps(b.as_mut_ptr().add(8), hi[r]);
            out[r] = finish(s[r], &b, m, f_max, phi_t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set gives the scalar bits, for M on both sides of the register limits,
    /// row counts that are and are not multiples of 4, N with every tail, and rows with an
    /// out-of-range decision.
    #[test]
    fn rows_match_the_scalar_objective_bit_for_bit() {
        for m in [1usize, 3, 7, 8, 10, 15, 16, 20] {
            for n in [1usize, 2, 3, 4, 5, 37, 200] {
                let w = m + 1;
                let x = |k: usize| {
                    crate::rng::uniform(crate::rng::philox4x32_10([k as u32, m as u32, n as u32, 5], [1, 2])[0])
                };
                let cost: Vec<f32> = (0..n * w).map(|k| 1.0 + 3.0 * x(k)).collect();
                let sqrt_f: Vec<f32> = (0..n).map(|k| 2e4 + 1e4 * x(k + 7919)).collect();
                let rows: Vec<Vec<u32>> = (0..9)
                    .map(|r| (0..n).map(|i| ((x(31 * r + i + 104_729) * w as f32) as u32).min(m as u32)).collect())
                    .collect();
                let mut rows = rows;
                rows[6][n / 2] = m as u32 + 1;
                let refs: Vec<&[u32]> = rows.iter().map(|r| &r[..]).collect();
                let mut bins = vec![0.0f32; w];
                let want: Vec<f32> =
                    refs.iter().map(|r| objective_exact_one(&cost, &sqrt_f, r, m, 5e10, 0.5, &mut bins)).collect();
                for isa in Isa::available() {
                    for count in [4usize, 8, 9] {
                        let mut out = vec![0.0f32; count];
                        objective_exact_rows_on(isa, &cost, &sqrt_f, &refs[..count], m, 5e10, 0.5, &mut bins, &mut out);
                        for (r, (&got, &want)) in out.iter().zip(&want).enumerate() {
                            assert_eq!(got.to_bits(), want.to_bits(), "{isa:?} m={m} n={n} row {r}: {got} vs {want}");
                        }
                    }
                }
            }
        }
    }
}
