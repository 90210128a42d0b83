//! The CPU hot path of the Lévy search: proposed-variant, exact-mode candidates (eq. 25, 27) of
//! one (instance, candidate), equal to the scalar `candidate` of the search's model element by
//! element (tested on every instruction set this machine has).
//!
//! A task changes only if γd_i > th ≥ 0, which needs d_i > 0, i.e. cos 2πu2 > 0; with the exact
//! range reduction of [`crate::math::sincos_2pi`] that is u2 < 1/4 or u2 > 3/4 (strictly), a
//! test on the raw Philox word. So the search runs in three passes over one candidate:
//! 1. **keep**: Philox on every lane; the words of the ~half whose step can be positive are
//!    compacted, and a 16-bit mask per 16 IoTDs says which were kept. Hand-written for AVX-512
//!    (two 16-lane blocks in flight, compress in registers) and AVX2 (two 8-lane blocks,
//!    compaction by a permutation table), chosen at run time ([`Isa`]), plus a portable form;
//! 2. **step**: the Lévy step γd (eq. 20–21, 26) and the random MEC of the kept lanes: portable
//!    lane code the compiler vectorizes for the chosen instruction set (the same operations in
//!    the same order, so the same bits);
//! 3. **select**: eq. (25) and (27) on every IoTD in order: the kept lanes' γd expanded back to
//!    their places, ĥ_{i,a_i} gathered where γd > th, the candidate written whole (no scatter).

use crate::isa::Isa;
use crate::rng;

/// What generating one candidate reads of the search's parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Draw {
    /// Philox counter of the candidate's first IoTD (word 0 advances by the IoTD index).
    pub ctr: [u32; 4],
    /// Philox key.
    pub key: [u32; 2],
    /// M.
    pub m: u32,
    /// Crossover threshold th ≥ 0 of eq. (27).
    pub th: f32,
    /// σ_u of eq. (22).
    pub sigma_u: f32,
    /// 1/β.
    pub inv_beta: f32,
    /// γ of eq. (26) at this generation.
    pub g: f32,
}

/// Per-thread scratch of one candidate: the kept lanes' Philox words, then their γd and random
/// MEC, and the mask of kept lanes of every 16 IoTDs.
pub(crate) struct ProposedScratch {
    w0: Vec<u32>,
    w1: Vec<u32>,
    w2: Vec<u32>,
    gd: Vec<f32>,
    randm: Vec<u32>,
    kept: Vec<u16>,
}

impl ProposedScratch {
    /// Scratch for N IoTDs (whole-vector loads and stores at any count ≤ N stay inside).
    pub(crate) fn new(n: usize) -> Self {
        let pad = n.div_ceil(32) * 32 + 32;
        let (w, f) = (vec![0u32; pad], vec![0f32; pad]);
        ProposedScratch {
            w0: w.clone(),
            w1: w.clone(),
            w2: w.clone(),
            gd: f,
            randm: w,
            kept: vec![0; n.div_ceil(32) * 2],
        }
    }
}

/// The candidates of (instance `bi`, candidate `pi`) from the parent `a` into `out`, on the
/// instruction set of this machine.
pub(crate) fn generate_proposed_exact(d: &Draw, a: &[u32], hn_b: &[f32], out: &mut [u32], sc: &mut ProposedScratch) {
    generate_proposed_exact_on(Isa::get(), d, a, hn_b, out, sc)
}

/// [`generate_proposed_exact`] on a given instruction set (one the processor has: the tests
/// run each of [`Isa::available`]).
pub(crate) fn generate_proposed_exact_on(
    isa: Isa,
    d: &Draw,
    a: &[u32],
    hn_b: &[f32],
    out: &mut [u32],
    sc: &mut ProposedScratch,
) {
    let n = a.len();
    assert!(
        hn_b.len() == n * d.m as usize && out.len() == n && sc.w0.len() >= n + 32 && sc.kept.len() >= n.div_ceil(16),
        "scratch and ĥ block sizes"
    );
    assert!(Isa::available().contains(&isa), "{isa:?} is not available on this processor");
    // The vector gathers index ĥ with 32-bit offsets.
    let isa = if hn_b.len() < i32::MAX as usize { isa } else { Isa::Portable };
    match isa {
        // SAFETY: the instruction set was checked above; the scratch holds n + 32 words and a
        // mask per 16 IoTDs; ĥ has n·M < 2^31 entries.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe {
            let k = avx512::keep(d.ctr, d.key, n, sc);
            avx512::step(d, k, sc);
            avx512::select(d, a, hn_b, out, sc);
        },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe {
            let k = avx2::keep(d.ctr, d.key, n, sc);
            avx2::step(d, k, sc);
            avx2::select(d, a, hn_b, out, sc);
        },
        _ => {
            let k = keep_portable(d.ctr, d.key, n, sc);
            step(d, k, sc);
            select_portable(d, a, hn_b, out, sc);
        }
    }
}

/// Whether the Lévy step of the Philox block can be positive: cos 2πu2 > 0 with u2 from word 1.
#[inline(always)]
fn step_can_be_positive(w1: u32) -> bool {
    !((1 << 22)..=(3 << 22)).contains(&(w1 >> 8))
}

/// Pass 1, portable: Philox on 16 lanes at a time; returns the number of kept lanes.
fn keep_portable(ctr: [u32; 4], key: [u32; 2], n: usize, sc: &mut ProposedScratch) -> usize {
    const L: usize = 16;
    let mut k = 0;
    for (c, i0) in (0..n).step_by(L).enumerate() {
        let mut c0 = [0u32; L];
        for (l, x) in c0.iter_mut().enumerate() {
            *x = ctr[0].wrapping_add((i0 + l) as u32);
        }
        let [w0, w1, w2, _] = rng::philox_lanes4(c0, ctr[1], ctr[2], ctr[3], key);
        let mut mask = 0u16;
        for l in 0..L.min(n - i0) {
            (sc.w0[k], sc.w1[k], sc.w2[k]) = (w0[l], w1[l], w2[l]);
            let kept = step_can_be_positive(w1[l]);
            mask |= (kept as u16) << l;
            k += kept as usize;
        }
        sc.kept[c] = mask;
    }
    k
}

/// Pass 2: γd (eq. 20–21, 26) and the random MEC of the first `k` kept lanes, 16 at a time
/// (the lanes past k hold stale words; their results are never read).
#[inline(always)]
fn step(d: &Draw, k: usize, sc: &mut ProposedScratch) {
    const L: usize = 16;
    let ProposedScratch { w0, w1, w2, gd, randm, .. } = sc;
    for k0 in (0..k).step_by(L) {
        let w0: &[u32; L] = w0[k0..k0 + L].try_into().expect("chunk");
        let w1: &[u32; L] = w1[k0..k0 + L].try_into().expect("chunk");
        let w2: &[u32; L] = w2[k0..k0 + L].try_into().expect("chunk");
        let gd: &mut [f32; L] = (&mut gd[k0..k0 + L]).try_into().expect("chunk");
        let randm: &mut [u32; L] = (&mut randm[k0..k0 + L]).try_into().expect("chunk");
        for l in 0..L {
            let (z0, z1) = rng::normal2(w0[l], w1[l]);
            gd[l] = d.g * rng::levy_step(z0, z1, d.sigma_u, d.inv_beta);
            randm[l] = rng::uniform_index(w2[l], d.m + 1);
        }
    }
}

/// Pass 3, portable: eq. (25) and (27) for every IoTD.
fn select_portable(d: &Draw, a: &[u32], hn_b: &[f32], out: &mut [u32], sc: &ProposedScratch) {
    let m = d.m as usize;
    let mut k = 0;
    for (i, (&ai, o)) in a.iter().zip(out.iter_mut()).enumerate() {
        *o = ai;
        if (sc.kept[i / 16] >> (i % 16)) & 1 == 1 {
            let gd = sc.gd[k];
            let j = ai.min(d.m) as usize;
            let stab = if j == 0 { 0.0 } else { hn_b[i * m + j - 1] };
            if gd > d.th && gd > stab {
                *o = sc.randm[k];
            }
            k += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use crate::rng::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};
    use crate::search::levy::fast::{Draw, ProposedScratch};

    /// hi and lo 32 bits of x·m per lane: two `vpmuludq` (even and odd lanes) and two masked
    /// in-lane swaps, instead of a third (slow) `vpmulld` for the low half.
    #[inline(always)]
    unsafe fn mulhilo(x: __m512i, m: __m512i) -> (__m512i, __m512i) {
        let e = _mm512_mul_epu32(x, m);
        let o = _mm512_mul_epu32(_mm512_srli_epi64::<32>(x), m);
        // 0xB1 swaps the two words of every 64-bit lane.
        let hi = _mm512_mask_shuffle_epi32::<0xB1>(o, 0x5555, e);
        let lo = _mm512_mask_shuffle_epi32::<0xB1>(e, 0xAAAA, o);
        (hi, lo)
    }

    /// Philox4x32-10 words 0–2 of two 16-lane blocks, interleaved to hide the latencies.
    #[inline(always)]
    unsafe fn philox2(c0: [__m512i; 2], ctr: [u32; 4], key: [u32; 2]) -> [[__m512i; 3]; 2] {
        let (m0, m1) = (_mm512_set1_epi32(PHILOX_M0 as i32), _mm512_set1_epi32(PHILOX_M1 as i32));
        let mut x0 = c0;
        let mut x1 = [_mm512_set1_epi32(ctr[1] as i32); 2];
        let mut x2 = [_mm512_set1_epi32(ctr[2] as i32); 2];
        let mut x3 = [_mm512_set1_epi32(ctr[3] as i32); 2];
        let (mut k0, mut k1) = (key[0], key[1]);
        for r in 0..10 {
            let (kv0, kv1) = (_mm512_set1_epi32(k0 as i32), _mm512_set1_epi32(k1 as i32));
            for h in 0..2 {
                let (hi0, lo0) = mulhilo(x0[h], m0);
                let (hi1, lo1) = mulhilo(x2[h], m1);
                // 0x96: a ^ b ^ c
                x0[h] = _mm512_ternarylogic_epi32::<0x96>(hi1, x1[h], kv0);
                x2[h] = _mm512_ternarylogic_epi32::<0x96>(hi0, x3[h], kv1);
                x1[h] = lo1;
                x3[h] = lo0;
            }
            if r < 9 {
                k0 = k0.wrapping_add(PHILOX_W0);
                k1 = k1.wrapping_add(PHILOX_W1);
            }
        }
        [[x0[0], x1[0], x2[0]], [x0[1], x1[1], x2[1]]]
    }

    /// The lanes l < len of 16.
    #[inline(always)]
    fn first(len: usize) -> __mmask16 {
        if len >= 16 {
            0xFFFF
        } else {
            ((1u32 << len) - 1) as u16
        }
    }

    /// Pass 1: 32 lanes per iteration; returns the number kept.
    ///
    /// # Safety
    /// AVX-512 F/BW/DQ/VL present; the scratch holds n + 32 words and n/16 masks.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) unsafe fn keep(ctr: [u32; 4], key: [u32; 2], n: usize, sc: &mut ProposedScratch) -> usize {
        let lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let (quarter, three) = (_mm512_set1_epi32(1 << 22), _mm512_set1_epi32(3 << 22));
        let base = _mm512_add_epi32(_mm512_set1_epi32(ctr[0] as i32), lanes);
        let mut k = 0usize;
        for i0 in (0..n).step_by(32) {
            let c0 = _mm512_add_epi32(base, _mm512_set1_epi32(i0 as i32));
            let w = philox2([c0, _mm512_add_epi32(c0, _mm512_set1_epi32(16))], ctr, key);
            for (h, [w0, w1, w2]) in w.into_iter().enumerate() {
                let i = i0 + 16 * h;
                if i >= n {
                    break;
                }
                // u2 < 1/4 or u2 > 3/4 on the top 24 bits of word 1.
                let u = _mm512_srli_epi32::<8>(w1);
                let pos = _mm512_cmplt_epu32_mask(u, quarter) | _mm512_cmpgt_epu32_mask(u, three);
                let kept = pos & first(n - i);
                *sc.kept.get_unchecked_mut(i / 16) = kept;
                // Compress in registers and store whole vectors: a compress with a memory
                // operand is microcoded on Zen 4 (over 100 cycles each).
                let st = |dst: &mut Vec<u32>, v: __m512i| {
                    _mm512_storeu_si512(dst.as_mut_ptr().add(k) as *mut _, _mm512_maskz_compress_epi32(kept, v))
                };
                st(&mut sc.w0, w0);
                st(&mut sc.w1, w1);
                st(&mut sc.w2, w2);
                k += kept.count_ones() as usize;
            }
        }
        k
    }

    /// Pass 2 compiled for AVX-512.
    ///
    /// # Safety
    /// AVX-512 F/BW/DQ/VL present.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) unsafe fn step(d: &Draw, k: usize, sc: &mut ProposedScratch) {
        crate::search::levy::fast::step(d, k, sc)
    }

    /// Pass 3: 16 IoTDs at a time; the kept lanes' γd and MEC are expanded back in registers,
    /// ĥ_{i,a_i} gathered only where γd > th and a_i ≠ 0.
    ///
    /// # Safety
    /// AVX-512 F/BW/DQ/VL present; sizes as checked by the caller, n·M < 2^31.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) unsafe fn select(d: &Draw, a: &[u32], hn_b: &[f32], out: &mut [u32], sc: &ProposedScratch) {
        let (n, m) = (a.len(), d.m as i32);
        let lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        // Offset of ĥ_{i, j} is i·M + j − 1.
        let row = _mm512_sub_epi32(_mm512_mullo_epi32(lanes, _mm512_set1_epi32(m)), _mm512_set1_epi32(1));
        let (th, mv) = (_mm512_set1_ps(d.th), _mm512_set1_epi32(m));
        let mut k = 0usize;
        for i0 in (0..n).step_by(16) {
            let valid = first(n - i0);
            let kept = *sc.kept.get_unchecked(i0 / 16);
            let av = _mm512_maskz_loadu_epi32(valid, a.as_ptr().add(i0) as *const i32);
            let gd = _mm512_maskz_expand_ps(kept, _mm512_loadu_ps(sc.gd.as_ptr().add(k)));
            let randm = _mm512_maskz_expand_epi32(kept, _mm512_loadu_si512(sc.randm.as_ptr().add(k) as *const _));
            let over = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(kept, gd, th);
            let j = _mm512_min_epu32(av, mv);
            let offs = _mm512_add_epi32(_mm512_set1_epi32(i0 as i32 * m), _mm512_add_epi32(row, j));
            let offloaded = _mm512_test_epi32_mask(j, j);
            let stab = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), over & offloaded, offs, hn_b.as_ptr());
            // eq. (25) and (27): γd > th and γd > ĥ_{i,a_i} (0 for a local task).
            let take = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(over, gd, stab);
            let o = _mm512_mask_blend_epi32(take, av, randm);
            _mm512_mask_storeu_epi32(out.as_mut_ptr().add(i0) as *mut i32, valid, o);
            k += kept.count_ones() as usize;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use crate::rng::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};
    use crate::search::levy::fast::{Draw, ProposedScratch};

    /// For each 8-bit mask, the lanes that are set, first (a left-packing permutation).
    static PACK: [[u32; 8]; 256] = {
        let mut t = [[0u32; 8]; 256];
        let mut m = 0;
        while m < 256 {
            let (mut l, mut k) = (0, 0);
            while l < 8 {
                if (m >> l) & 1 == 1 {
                    t[m][k] = l as u32;
                    k += 1;
                }
                l += 1;
            }
            m += 1;
        }
        t
    };

    /// For each 8-bit mask, where each set lane's element sits in the packed run (the inverse
    /// of [`PACK`]; 0 for the lanes that are not set).
    static SPREAD: [[u32; 8]; 256] = {
        let mut t = [[0u32; 8]; 256];
        let mut m = 0;
        while m < 256 {
            let (mut l, mut k) = (0, 0);
            while l < 8 {
                if (m >> l) & 1 == 1 {
                    t[m][l] = k;
                    k += 1;
                }
                l += 1;
            }
            m += 1;
        }
        t
    };

    /// hi and lo 32 bits of x·m per lane (two `vpmuludq`, swaps and blends).
    #[inline(always)]
    unsafe fn mulhilo(x: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let e = _mm256_mul_epu32(x, m);
        let o = _mm256_mul_epu32(_mm256_srli_epi64::<32>(x), m);
        let hi = _mm256_blend_epi32::<0xAA>(_mm256_shuffle_epi32::<0xB1>(e), o);
        let lo = _mm256_blend_epi32::<0xAA>(e, _mm256_shuffle_epi32::<0xB1>(o));
        (hi, lo)
    }

    #[inline(always)]
    unsafe fn xor3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        _mm256_xor_si256(_mm256_xor_si256(a, b), c)
    }

    /// Philox4x32-10 words 0–2 of two 8-lane blocks, interleaved.
    #[inline(always)]
    unsafe fn philox2(c0: [__m256i; 2], ctr: [u32; 4], key: [u32; 2]) -> [[__m256i; 3]; 2] {
        let (m0, m1) = (_mm256_set1_epi32(PHILOX_M0 as i32), _mm256_set1_epi32(PHILOX_M1 as i32));
        let mut x0 = c0;
        let mut x1 = [_mm256_set1_epi32(ctr[1] as i32); 2];
        let mut x2 = [_mm256_set1_epi32(ctr[2] as i32); 2];
        let mut x3 = [_mm256_set1_epi32(ctr[3] as i32); 2];
        let (mut k0, mut k1) = (key[0], key[1]);
        for r in 0..10 {
            let (kv0, kv1) = (_mm256_set1_epi32(k0 as i32), _mm256_set1_epi32(k1 as i32));
            for h in 0..2 {
                let (hi0, lo0) = mulhilo(x0[h], m0);
                let (hi1, lo1) = mulhilo(x2[h], m1);
                x0[h] = xor3(hi1, x1[h], kv0);
                x2[h] = xor3(hi0, x3[h], kv1);
                x1[h] = lo1;
                x3[h] = lo0;
            }
            if r < 9 {
                k0 = k0.wrapping_add(PHILOX_W0);
                k1 = k1.wrapping_add(PHILOX_W1);
            }
        }
        [[x0[0], x1[0], x2[0]], [x0[1], x1[1], x2[1]]]
    }

    /// The lanes l < len of 8, as a bit mask.
    #[inline(always)]
    fn first(len: usize) -> u32 {
        if len >= 8 {
            0xFF
        } else {
            (1u32 << len) - 1
        }
    }

    /// Pass 1: 16 lanes per iteration; returns the number kept.
    ///
    /// # Safety
    /// AVX2 and FMA present; the scratch holds n + 32 words and n/16 masks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn keep(ctr: [u32; 4], key: [u32; 2], n: usize, sc: &mut ProposedScratch) -> usize {
        let lanes = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        // u = word 1 >> 8 < 2^24, so the signed comparisons are the unsigned ones.
        let (quarter, three) = (_mm256_set1_epi32(1 << 22), _mm256_set1_epi32(3 << 22));
        let base = _mm256_add_epi32(_mm256_set1_epi32(ctr[0] as i32), lanes);
        let mut k = 0usize;
        for i0 in (0..n).step_by(16) {
            let c0 = _mm256_add_epi32(base, _mm256_set1_epi32(i0 as i32));
            let w = philox2([c0, _mm256_add_epi32(c0, _mm256_set1_epi32(8))], ctr, key);
            let mut mask16 = 0u16;
            for (h, [w0, w1, w2]) in w.into_iter().enumerate() {
                let i = i0 + 8 * h;
                if i >= n {
                    break;
                }
                let u = _mm256_srli_epi32::<8>(w1);
                let pos = _mm256_or_si256(_mm256_cmpgt_epi32(quarter, u), _mm256_cmpgt_epi32(u, three));
                let kept = _mm256_movemask_ps(_mm256_castsi256_ps(pos)) as u32 & first(n - i);
                mask16 |= (kept as u16) << (8 * h);
                let perm = _mm256_loadu_si256(PACK[kept as usize].as_ptr() as *const _);
                let st = |dst: &mut Vec<u32>, v: __m256i| {
                    _mm256_storeu_si256(dst.as_mut_ptr().add(k) as *mut _, _mm256_permutevar8x32_epi32(v, perm))
                };
                st(&mut sc.w0, w0);
                st(&mut sc.w1, w1);
                st(&mut sc.w2, w2);
                k += kept.count_ones() as usize;
            }
            *sc.kept.get_unchecked_mut(i0 / 16) = mask16;
        }
        k
    }

    /// Pass 2 compiled for AVX2 + FMA (Rust never contracts a·b + c into an FMA, so the bits
    /// are the portable ones).
    ///
    /// # Safety
    /// AVX2 and FMA present.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn step(d: &Draw, k: usize, sc: &mut ProposedScratch) {
        crate::search::levy::fast::step(d, k, sc)
    }

    /// Pass 3: 8 IoTDs at a time, the kept lanes spread back by a permutation table.
    ///
    /// # Safety
    /// AVX2 and FMA present; sizes as checked by the caller, n·M < 2^31.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn select(d: &Draw, a: &[u32], hn_b: &[f32], out: &mut [u32], sc: &ProposedScratch) {
        let (n, m) = (a.len(), d.m as i32);
        let lanes = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        let bits = _mm256_set_epi32(128, 64, 32, 16, 8, 4, 2, 1);
        let row = _mm256_sub_epi32(_mm256_mullo_epi32(lanes, _mm256_set1_epi32(m)), _mm256_set1_epi32(1));
        let (th, mv, zero) = (_mm256_set1_ps(d.th), _mm256_set1_epi32(m), _mm256_setzero_si256());
        let mut k = 0usize;
        for i0 in (0..n).step_by(8) {
            let len = (n - i0).min(8);
            let kept = (*sc.kept.get_unchecked(i0 / 16) >> (i0 % 16)) as u32 & 0xFF;
            let av = if len == 8 {
                _mm256_loadu_si256(a.as_ptr().add(i0) as *const _)
            } else {
                let mut t = [0u32; 8];
                t[..len].copy_from_slice(&a[i0..]);
                _mm256_loadu_si256(t.as_ptr() as *const _)
            };
            let keptv = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(kept as i32), bits), bits);
            let spread = _mm256_loadu_si256(SPREAD[kept as usize].as_ptr() as *const _);
            // γd of the lanes that were not kept is 0, never above th ≥ 0.
            let gd = _mm256_and_ps(
                _mm256_permutevar8x32_ps(_mm256_loadu_ps(sc.gd.as_ptr().add(k)), spread),
                _mm256_castsi256_ps(keptv),
            );
            let randm = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(sc.randm.as_ptr().add(k) as *const _), spread);
            let over = _mm256_cmp_ps::<_CMP_GT_OQ>(gd, th);
            let j = _mm256_min_epu32(av, mv);
            let offs = _mm256_add_epi32(_mm256_set1_epi32(i0 as i32 * m), _mm256_add_epi32(row, j));
            let offloaded = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(j, zero), _mm256_set1_epi32(-1)));
            let stab =
                _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), hn_b.as_ptr(), offs, _mm256_and_ps(over, offloaded));
            // eq. (25) and (27): γd > th and γd > ĥ_{i,a_i} (0 for a local task).
            let take = _mm256_and_ps(over, _mm256_cmp_ps::<_CMP_GT_OQ>(gd, stab));
            let o = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(av), _mm256_castsi256_ps(randm), take));
            if len == 8 {
                _mm256_storeu_si256(out.as_mut_ptr().add(i0) as *mut _, o);
            } else {
                let mut t = [0u32; 8];
                _mm256_storeu_si256(t.as_mut_ptr() as *mut _, o);
                out[i0..].copy_from_slice(&t[..len]);
            }
            k += kept.count_ones() as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_sign_test_matches_the_cosine() {
        // cos 2πu2 > 0 exactly on the kept words (both boundaries and a sweep).
        for x in (0..=u32::MAX).step_by(65_537).chain([(1 << 30) - 256, 1 << 30, 3 << 30, (3 << 30) + 256]) {
            let (_, c) = crate::math::sincos_2pi(rng::uniform(x));
            assert_eq!(step_can_be_positive(x), c > 0.0, "word {x:#x}");
        }
    }
}
