//! Philox4x32-10 (Salmon et al., SC'11) and the distributions every backend draws from.
//!
//! One counter-based generator everywhere; `kernels/common/philox.cuh` and
//! `shaders/common/philox.wgsl` mirror this file bit for bit.
//!
//! **Keying convention** (mecrl's, the same on every backend): key = (seed low 32 bits, seed high 32 bits);
//! counter = (element, instance, step, stream | draw << 16), where `element` indexes the item
//! within an instance (IoTD, candidate·N + IoTD, ...), `step` the environment step or search
//! generation, `stream` one of the constants below (< 2^16), and `draw` the block index for the
//! rare distributions that need more than one 128-bit block (Poisson rejection).
//!
//! **Distributions** (all f32, mirrored on every backend):
//! - uniform: top 24 bits / 2^24, in [0, 1);
//! - normal: Box–Muller on two uniforms, r = √(−2 ln(1 − u1)), (r cos 2πu2, r sin 2πu2);
//! - exponential: −ln(1 − u);
//! - Poisson: inversion for mean < 30 (one uniform; the walk stops when a term falls below 1e-30),
//!   else Hörmann's transformed rejection (PTRS) drawing two uniforms per try from successive blocks;
//! - Lévy step (DIRS paper eq. 20–22, Mantegna; docs/mec.md): d = σ_u·z0 / max(|z1|, 1e-30)^{1/β}.
//!
//! `ln`, `exp`, `sincos` are the portable polynomials of [`crate::math`].

use crate::math;

/// Philox4x32 multiplier for word 0.
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Philox4x32 multiplier for word 2.
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl key increment, word 0 (golden ratio).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl key increment, word 1 (√3 − 1).
pub const PHILOX_W1: u32 = 0xBB67_AE85;

/// Stream ids (counter word 3, low 16 bits). One per independent use of randomness.
pub mod stream {
    /// IoTD positions at reset.
    pub const MEC_IOTD_POS: u32 = 1;
    /// MEC positions at reset.
    pub const MEC_MEC_POS: u32 = 2;
    /// Task data size and cycles at reset (heterogeneous tasks).
    pub const MEC_TASK: u32 = 3;
    /// Rayleigh fading l_ij, redrawn every step (eq. 3).
    pub const MEC_FADING: u32 = 4;
    /// Random baseline decisions.
    pub const MEC_RANDOM_POLICY: u32 = 5;
    /// Lévy search: initial f, p of each candidate (paper mode) / random initial decisions.
    pub const LEVY_INIT: u32 = 6;
    /// Lévy search: step for a and the mutation target (one block per IoTD per generation).
    pub const LEVY_STEP_A: u32 = 7;
    /// Lévy search: steps for f and p (paper mode).
    pub const LEVY_STEP_FP: u32 = 8;
    /// nn: categorical sampling of actions (`categorical_sample`).
    pub const NN_CATEGORICAL: u32 = 9;
    /// Prioritized replay: the uniform of each minibatch draw (`replay_sample`).
    pub const REPLAY_SAMPLE: u32 = 10;
    /// `coop`: node parameters λ_i, F_i, α_i at reset.
    pub const COOP_NODE: u32 = 32;
    /// `coop`: link parameters r_ij, β_ij at reset.
    pub const COOP_LINK: u32 = 33;
    /// `coop`: Bernoulli arrival, size and intensity of a slot's task.
    pub const COOP_ARRIVAL: u32 = 34;
    /// `coop`: the two failure uniforms of a task (link, node), drawn once at its arrival.
    pub const COOP_FAIL: u32 = 35;
    /// `coop`: the Random / RATC / RDA heuristics' random choices.
    pub const COOP_POLICY: u32 = 36;
    /// `endedge`: Bernoulli arrival and task size per terminal per slot.
    pub const ENDEDGE_ARRIVAL: u32 = 20;
    /// `endedge`: the Random baseline's action per terminal per slot.
    pub const ENDEDGE_POLICY: u32 = 21;
    /// `toy` (the environment-contract fixture): initial states and targets at reset.
    pub const TOY: u32 = 63;
    /// The PPO update's minibatch shuffles.
    pub const PPO: u32 = 64;
    /// MRLCO: the learning tasks of a meta batch and the graphs of an inner loop.
    pub const MRLCO_TASKS: u32 = 65;
    /// MAPPO / mixed MAPPO: the seeds of the training and test episodes.
    pub const MAPPO_EPISODES: u32 = 66;
    /// MADQN: the ε-greedy exploration draws (kernel `mappo_act`).
    pub const MADQN_EXPLORE: u32 = 67;
    /// Sequence replay: the minibatch draws.
    pub const REPLAY_SEQUENCES: u32 = 68;
    /// CRB-DRQN: the familiarity sampling of the trajectory pool (kernel `crbdrqn_sample`).
    pub const CRBDRQN_POOL: u32 = 69;
    /// CRB-DRQN: the seeds of the training and test episodes.
    pub const CRBDRQN_EPISODES: u32 = 70;
    /// Sequence replay: draws of whole groups of columns (QMIX's episode-instances).
    pub const REPLAY_GROUPS: u32 = 71;
    /// O2O-DRL: the offline phase's minibatch draws (kernel `o2o_gather`).
    pub const O2O_SAMPLE: u32 = 72;
    /// Sweeps: the seeded random samples of a sweep file's `[random]` axes (host side).
    pub const SWEEP_SAMPLE: u32 = 73;
}

/// The seed of episode `k` of a learner seeded `seed` (`test`: the test episodes), drawn from
/// `stream` (each learner family its own), so a resumed run meets the same episodes.
pub fn episode_seed(seed: u64, k: u64, test: bool, stream: u32) -> u64 {
    let w = philox4x32_10([k as u32, (k >> 32) as u32, test as u32, stream], key_of(seed));
    (w[0] as u64) << 32 | w[1] as u64
}

/// One Philox4x32 round.
#[inline(always)]
fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let p0 = (PHILOX_M0 as u64) * (ctr[0] as u64);
    let p1 = (PHILOX_M1 as u64) * (ctr[2] as u64);
    let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
    let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox4x32-10: the 128-bit block for `ctr` under `key`.
#[inline(always)]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for r in 0..10 {
        c = round(c, k);
        if r < 9 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
    }
    c
}

/// Philox4x32-10 on `L` lanes whose counters differ only in word 0 (`c0[l]`); returns words
/// 0, 1, 2 of every lane. Written lane-wise so the compiler vectorizes it (the CPU hot path of
/// the Lévy search); bit-identical to [`philox4x32_10`].
#[inline(always)]
pub fn philox_lanes<const L: usize>(
    c0: [u32; L],
    c1: u32,
    c2: u32,
    c3: u32,
    key: [u32; 2],
) -> ([u32; L], [u32; L], [u32; L]) {
    let [x0, x1, x2, _] = philox_lanes4(c0, c1, c2, c3, key);
    (x0, x1, x2)
}

/// [`philox_lanes`] for 16 lanes; with AVX-512 (compile-time `target-feature`) the 32×32→64
/// products are formed with `vpmuludq` on even/odd lanes and `vpmulld`, without widening every
/// lane to 64 bits. Bit-identical to [`philox4x32_10`] either way (tested).
#[inline(always)]
pub fn philox16(c0: [u32; 16], c1: u32, c2: u32, c3: u32, key: [u32; 2]) -> ([u32; 16], [u32; 16], [u32; 16]) {
    let w = philox16x4(c0, c1, c2, c3, key);
    (w[0], w[1], w[2])
}

/// All four words of [`philox16`].
#[inline(always)]
pub fn philox16x4(c0: [u32; 16], c1: u32, c2: u32, c3: u32, key: [u32; 2]) -> [[u32; 16]; 4] {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        // SAFETY: the target feature is enabled at compile time.
        unsafe { philox16_avx512(c0, c1, c2, c3, key) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    {
        philox_lanes4(c0, c1, c2, c3, key)
    }
}

/// [`philox_lanes`] returning all four words.
#[inline(always)]
pub fn philox_lanes4<const L: usize>(c0: [u32; L], c1: u32, c2: u32, c3: u32, key: [u32; 2]) -> [[u32; L]; 4] {
    let mut x0 = c0;
    let mut x1 = [c1; L];
    let mut x2 = [c2; L];
    let mut x3 = [c3; L];
    let (mut k0, mut k1) = (key[0], key[1]);
    for r in 0..10 {
        for l in 0..L {
            let p0 = (PHILOX_M0 as u64) * (x0[l] as u64);
            let p1 = (PHILOX_M1 as u64) * (x2[l] as u64);
            let n0 = ((p1 >> 32) as u32) ^ x1[l] ^ k0;
            let n2 = ((p0 >> 32) as u32) ^ x3[l] ^ k1;
            x1[l] = p1 as u32;
            x3[l] = p0 as u32;
            x0[l] = n0;
            x2[l] = n2;
        }
        if r < 9 {
            k0 = k0.wrapping_add(PHILOX_W0);
            k1 = k1.wrapping_add(PHILOX_W1);
        }
    }
    [x0, x1, x2, x3]
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
unsafe fn philox16_avx512(c0: [u32; 16], c1: u32, c2: u32, c3: u32, key: [u32; 2]) -> [[u32; 16]; 4] {
    use std::arch::x86_64::*;
    #[inline(always)]
    unsafe fn mulhilo(x: __m512i, m: __m512i) -> (__m512i, __m512i) {
        let lo = _mm512_mullo_epi32(x, m);
        let even = _mm512_mul_epu32(x, m);
        let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(x), m);
        // even 32-bit lanes: high half of the even products; odd lanes: high half of the odd ones
        let hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(even), odd);
        (hi, lo)
    }
    let mut x0 = _mm512_loadu_si512(c0.as_ptr() as *const _);
    let mut x1 = _mm512_set1_epi32(c1 as i32);
    let mut x2 = _mm512_set1_epi32(c2 as i32);
    let mut x3 = _mm512_set1_epi32(c3 as i32);
    let m0 = _mm512_set1_epi32(PHILOX_M0 as i32);
    let m1 = _mm512_set1_epi32(PHILOX_M1 as i32);
    let (mut k0, mut k1) = (key[0], key[1]);
    for r in 0..10 {
        let (hi0, lo0) = mulhilo(x0, m0);
        let (hi1, lo1) = mulhilo(x2, m1);
        // 0x96: a ^ b ^ c
        let n0 = _mm512_ternarylogic_epi32::<0x96>(hi1, x1, _mm512_set1_epi32(k0 as i32));
        let n2 = _mm512_ternarylogic_epi32::<0x96>(hi0, x3, _mm512_set1_epi32(k1 as i32));
        x1 = lo1;
        x3 = lo0;
        x0 = n0;
        x2 = n2;
        if r < 9 {
            k0 = k0.wrapping_add(PHILOX_W0);
            k1 = k1.wrapping_add(PHILOX_W1);
        }
    }
    let mut o = [[0u32; 16]; 4];
    _mm512_storeu_si512(o[0].as_mut_ptr() as *mut _, x0);
    _mm512_storeu_si512(o[1].as_mut_ptr() as *mut _, x1);
    _mm512_storeu_si512(o[2].as_mut_ptr() as *mut _, x2);
    _mm512_storeu_si512(o[3].as_mut_ptr() as *mut _, x3);
    o
}

/// The key for a 64-bit seed.
#[inline(always)]
pub fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The counter for (element, instance, step, stream, draw).
#[inline(always)]
pub fn counter(element: u32, instance: u32, step: u32, stream: u32, draw: u32) -> [u32; 4] {
    [element, instance, step, stream | (draw << 16)]
}

/// Uniform in [0, 1): top 24 bits / 2^24.
#[inline(always)]
pub fn uniform(x: u32) -> f32 {
    // (x >> 8) < 2^24: the signed conversion is exact and a single vector instruction.
    ((x >> 8) as i32) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform integer in 0..n (n ≥ 1): ⌊u·n⌋ with u the 24-bit uniform, capped at n − 1.
#[inline(always)]
pub fn uniform_index(x: u32, n: u32) -> u32 {
    (((x >> 8) as u64 * n as u64) >> 24) as u32
}

/// Two standard normals by Box–Muller from two raw words.
#[inline(always)]
pub fn normal2(x0: u32, x1: u32) -> (f32, f32) {
    let u1 = uniform(x0);
    let u2 = uniform(x1);
    let r = (-2.0 * math::ln(1.0 - u1)).sqrt();
    let (s, c) = math::sincos_2pi(u2);
    (r * c, r * s)
}

/// Exp(1): −ln(1 − u).
#[inline(always)]
pub fn exponential(x: u32) -> f32 {
    -math::ln(1.0 - uniform(x))
}

/// σ_u of Mantegna's algorithm, eq. (22) of the DIRS paper (docs/mec.md), for 0 < β < 2.
pub fn levy_sigma_u(beta: f64) -> f64 {
    let num = math::gamma(1.0 + beta) * (std::f64::consts::PI * beta / 2.0).sin();
    let den = math::gamma((1.0 + beta) / 2.0) * beta * 2f64.powf((beta - 1.0) / 2.0);
    (num / den).powf(1.0 / beta)
}

/// Lévy step d = u / |v|^{1/β} (eq. 20) with u = σ_u·z0 ~ N(0, σ_u²), v = z1 ~ N(0, 1) (eq. 21).
#[inline(always)]
pub fn levy_step(z0: f32, z1: f32, sigma_u: f32, inv_beta: f32) -> f32 {
    let a = z1.abs();
    let v = if a > 1e-30 { a } else { 1e-30 };
    sigma_u * z0 * math::exp(-inv_beta * math::ln(v))
}

/// ln k! (exact table below 16, Stirling series above), f32.
#[inline(always)]
fn ln_factorial(k: f32) -> f32 {
    const T: [f32; 16] = [
        0.0,
        0.0,
        core::f32::consts::LN_2,
        1.791_759_5,
        3.178_054,
        4.787_492,
        6.579_251,
        8.525_161,
        10.604_603,
        12.801_827,
        15.104_413,
        17.502_308,
        19.987_214,
        22.552_164,
        25.191_221,
        27.899_271,
    ];
    if k < 16.0 {
        return T[k as usize];
    }
    let r = 1.0 / k;
    (k + 0.5) * math::ln(k) - k + 0.918_938_5 + r * (1.0 / 12.0 - r * r * (1.0 / 360.0))
}

/// Poisson(mean) for mean ≥ 0, drawing blocks `(ctr[0..3], ctr[3] + draw << 16)`.
pub fn poisson(key: [u32; 2], ctr: [u32; 4], mean: f32) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean < 30.0 {
        let u = uniform(philox4x32_10(ctr, key)[0]);
        let mut p = math::exp(-mean);
        let mut f = p;
        let mut k = 0u32;
        while u > f {
            k += 1;
            p *= mean / k as f32;
            if p < 1e-30 {
                break;
            }
            f += p;
        }
        return k;
    }
    // PTRS (Hörmann 1993).
    let slam = mean.sqrt();
    let loglam = math::ln(mean);
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.024_83 * b;
    let inv_alpha = 1.123_9 + 1.132_8 / (b - 3.4);
    let vr = 0.927_7 - 3.622_4 / (b - 2.0);
    let mut draw = 0u32;
    loop {
        let c = [ctr[0], ctr[1], ctr[2], ctr[3].wrapping_add(draw << 16)];
        let w = philox4x32_10(c, key);
        draw += 1;
        for pair in [(w[0], w[1]), (w[2], w[3])] {
            let u = uniform(pair.0) - 0.5;
            let v = uniform(pair.1);
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + mean + 0.43).floor();
            if us >= 0.07 && v <= vr {
                return k as u32;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            // ln V + ln(invα) − ln(a/us² + b) ≤ −λ + k ln λ − ln k!
            if math::ln(v.max(1e-30)) + math::ln(inv_alpha) - math::ln(a / (us * us) + b)
                <= -mean + k * loglam - ln_factorial(k)
            {
                return k as u32;
            }
        }
        if draw >= 0x1000 {
            // Unreachable in practice (acceptance ≈ 0.9 per try); keeps the loop bounded.
            return mean as u32;
        }
    }
}

/// Distributions selectable in the `rng_fill` kernel.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    /// The four raw words of each block.
    Raw = 0,
    /// Uniform [0,1) from word 0.
    Uniform = 1,
    /// Two normals from words 0, 1.
    Normal = 2,
    /// Exp(1) from word 0.
    Exponential = 3,
    /// Poisson(p0) as u32.
    Poisson = 4,
    /// Lévy step with σ_u = p0, 1/β = p1 from words 0, 1.
    Levy = 5,
}

impl Dist {
    /// All distributions.
    pub const ALL: [Dist; 6] = [Dist::Raw, Dist::Uniform, Dist::Normal, Dist::Exponential, Dist::Poisson, Dist::Levy];
    /// Output words per element.
    pub fn words(self) -> usize {
        match self {
            Dist::Raw => 4,
            Dist::Normal => 2,
            _ => 1,
        }
    }
}

/// Parameters of the `rng_fill` kernel (mirrored in `kernels/rng/rng.cu`, `shaders/rng/rng.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RngFillParams {
    /// Key word 0.
    pub key0: u32,
    /// Key word 1.
    pub key1: u32,
    /// Counter word 0 of element 0 (element e uses c0 + e).
    pub c0: u32,
    /// Counter word 1.
    pub c1: u32,
    /// Counter word 2.
    pub c2: u32,
    /// Counter word 3.
    pub c3: u32,
    /// A [`Dist`] as u32.
    pub dist: u32,
    /// Number of elements.
    pub n: u32,
    /// Poisson mean, or σ_u for Lévy.
    pub p0: f32,
    /// 1/β for Lévy.
    pub p1: f32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
}

/// Element `e` of `rng_fill`, written into `out` (its [`Dist::words`] words).
#[inline(always)]
pub fn rng_fill_element(p: &RngFillParams, e: u32, out: &mut [u32]) {
    let key = [p.key0, p.key1];
    let ctr = [p.c0.wrapping_add(e), p.c1, p.c2, p.c3];
    match p.dist {
        0 => out.copy_from_slice(&philox4x32_10(ctr, key)),
        1 => out[0] = uniform(philox4x32_10(ctr, key)[0]).to_bits(),
        2 => {
            let w = philox4x32_10(ctr, key);
            let (z0, z1) = normal2(w[0], w[1]);
            out[0] = z0.to_bits();
            out[1] = z1.to_bits();
        }
        3 => out[0] = exponential(philox4x32_10(ctr, key)[0]).to_bits(),
        4 => out[0] = poisson(key, ctr, p.p0),
        _ => {
            let w = philox4x32_10(ctr, key);
            let (z0, z1) = normal2(w[0], w[1]);
            out[0] = levy_step(z0, z1, p.p0, p.p1).to_bits();
        }
    }
}

/// CPU reference of the `rng_fill` kernel: buffer 0 = out (n · words u32).
pub fn cpu_rng_fill(p: &RngFillParams, out: &mut [u32]) {
    use rayon::prelude::*;
    let words = match p.dist {
        0 => 4,
        2 => 2,
        _ => 1,
    };
    out[..p.n as usize * words].par_chunks_mut(words).enumerate().for_each(|(e, o)| rng_fill_element(p, e as u32, o));
}

/// Registry adapter for [`cpu_rng_fill`].
pub fn cpu_rng_fill_kernel(params: &[u8], bufs: &mut [&mut [u32]]) -> crate::error::Result<()> {
    let p: RngFillParams = crate::backend::params(params);
    let need = p.n as usize
        * if p.dist == 0 {
            4
        } else if p.dist == 2 {
            2
        } else {
            1
        };
    if bufs[0].len() < need {
        return Err(crate::error::Error::shape("rng_fill out", need, bufs[0].len()));
    }
    cpu_rng_fill(&p, bufs[0]);
    Ok(())
}

/// A sub-seed for component `tag` of a run (SplitMix64 finalizer of seed ⊕ tag·φ64), so the
/// environment, each search and each baseline draw from unrelated Philox keys.
pub fn derive_seed(seed: u64, tag: u64) -> u64 {
    let mut z = seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

crate::kernel_params!(RngFillParams { key0, key1, c0, c1, c2, c3, dist, n, p0, p1, _pad0, _pad1 });

crate::kernels! {
    stem "rng" / "rng";
    /// Philox blocks and distributions into a buffer.
    RNG_FILL = rng_fill(RngFillParams; out: W U32)
        cpu cpu_rng_fill_kernel, sizes rng_sizes;
}

fn rng_sizes(bytes: &[u8]) -> Vec<u64> {
    let p: RngFillParams = crate::backend::params(bytes);
    let words = match p.dist {
        0 => 4,
        2 => 2,
        _ => 1,
    };
    vec![p.n as u64 * words]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 known-answer vectors for philox4x32-10.
    pub const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        ([0xffff_ffff; 4], [0xffff_ffff; 2], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];

    #[test]
    fn philox_known_answers() {
        for (ctr, key, want) in KAT {
            assert_eq!(philox4x32_10(ctr, key), want);
            let (a, b, c) = philox_lanes::<1>([ctr[0]], ctr[1], ctr[2], ctr[3], key);
            assert_eq!([a[0], b[0], c[0]], [want[0], want[1], want[2]]);
            let (a, b, c) = philox16([ctr[0]; 16], ctr[1], ctr[2], ctr[3], key);
            assert!((0..16).all(|l| [a[l], b[l], c[l]] == [want[0], want[1], want[2]]));
        }
        // philox16 on distinct lanes equals the scalar generator.
        let c0: [u32; 16] = core::array::from_fn(|l| 0xffff_fff8u32.wrapping_add(l as u32 * 977));
        let x = philox16x4(c0, 5, 6, 7, [8, 9]);
        let y = philox_lanes4(c0, 5, 6, 7, [8, 9]);
        for l in 0..16 {
            let w = philox4x32_10([c0[l], 5, 6, 7], [8, 9]);
            assert_eq!([x[0][l], x[1][l], x[2][l], x[3][l]], w);
            assert_eq!([y[0][l], y[1][l], y[2][l], y[3][l]], w);
        }
    }

    #[test]
    fn uniform_range_and_index() {
        assert_eq!(uniform(0), 0.0);
        assert_eq!(uniform(u32::MAX), 16_777_215.0 / 16_777_216.0);
        assert_eq!(uniform_index(u32::MAX, 11), 10);
        assert_eq!(uniform_index(0, 11), 0);
    }

    #[test]
    fn box_muller_hand_case() {
        // u1 = 1 - e^{-1/2} gives r = 1; u2 = 0.125 gives θ = π/4.
        let u1 = 1.0 - (-0.5f64).exp();
        let x0 = ((u1 * 16_777_216.0).round() as u32) << 8;
        let x1 = (2_097_152u32) << 8; // 0.125 · 2^24
        let (z0, z1) = normal2(x0, x1);
        let r = (-2.0 * (1.0 - uniform(x0) as f64).ln()).sqrt();
        assert!((z0 as f64 - r * (0.5f64).sqrt()).abs() < 1e-6);
        assert!((z1 as f64 - r * (0.5f64).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn sigma_u_eq22() {
        // Hand-computed: β = 1.5 → Γ(2.5)=1.32934, sin(0.75π)=0.70711, Γ(1.25)=0.90640,
        // 2^0.25 = 1.18921 → (0.93999 / 1.61683)^(2/3) = 0.69658.
        assert!((levy_sigma_u(1.5) - 0.696_574_3).abs() < 1e-6);
        // β = 1 → Cauchy: σ_u = Γ(2)·1 / (Γ(1)·1·1) = 1.
        assert!((levy_sigma_u(1.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn levy_step_eq20() {
        // u = σ_u z0 = 0.69657·0.5, |v| = 0.25, 1/β = 2/3: d = 0.348287 / 0.25^(2/3) = 0.877679.
        let d = levy_step(0.5, -0.25, 0.696_574_3, 2.0 / 3.0);
        assert!((d as f64 - 0.348_287_15 / 0.25f64.powf(2.0 / 3.0)).abs() < 1e-6);
    }

    fn fill(dist: Dist, n: u32, p0: f32, p1: f32) -> Vec<u32> {
        let p = RngFillParams {
            key0: 7,
            key1: 9,
            c0: 0,
            c1: 1,
            c2: 2,
            c3: 3,
            dist: dist as u32,
            n,
            p0,
            p1,
            ..Default::default()
        };
        let mut out = vec![0u32; n as usize * dist.words()];
        cpu_rng_fill(&p, &mut out);
        out
    }

    fn mean_var(x: &[f64]) -> (f64, f64) {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        (m, x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64)
    }

    #[test]
    fn distribution_moments() {
        let n = 200_000;
        let f = |w: &Vec<u32>| w.iter().map(|&b| f32::from_bits(b) as f64).collect::<Vec<_>>();
        let (m, v) = mean_var(&f(&fill(Dist::Uniform, n, 0.0, 0.0)));
        assert!((m - 0.5).abs() < 0.005 && (v - 1.0 / 12.0).abs() < 0.002);
        let (m, v) = mean_var(&f(&fill(Dist::Normal, n, 0.0, 0.0)));
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02);
        let (m, v) = mean_var(&f(&fill(Dist::Exponential, n, 0.0, 0.0)));
        assert!((m - 1.0).abs() < 0.01 && (v - 1.0).abs() < 0.03);
        for mean in [0.5f32, 4.0, 29.0, 30.0, 100.0, 1000.0] {
            let x: Vec<f64> = fill(Dist::Poisson, n, mean, 0.0).iter().map(|&k| k as f64).collect();
            let (m, v) = mean_var(&x);
            let tol = 4.0 * (mean as f64 / n as f64).sqrt() + 1e-3;
            assert!((m - mean as f64).abs() < tol, "poisson({mean}) mean {m}");
            assert!((v / mean as f64 - 1.0).abs() < 0.05, "poisson({mean}) var {v}");
        }
        // Lévy: symmetric, median |d| finite; P(d > 0) = 1/2.
        let x = f(&fill(Dist::Levy, n, levy_sigma_u(1.5) as f32, 1.0 / 1.5));
        let pos = x.iter().filter(|&&d| d > 0.0).count() as f64 / n as f64;
        assert!((pos - 0.5).abs() < 0.01);
        assert!(x.iter().all(|d| d.is_finite()));
    }
}
