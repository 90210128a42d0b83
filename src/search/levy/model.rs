//! Lévy search configuration, parameter block, candidate generation (eq. 20–28) and the CPU
//! kernels, the reference of every backend (their specs are in `kernels.rs`).

use serde::{Deserialize, Serialize};

use super::fast::{generate_proposed_exact, Draw, ProposedScratch};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::env::mec::{exact, objective_exact_one, objective_paper_one, Heuristic, MecParams};
use crate::error::{Error, Result};
use crate::rng::{self, stream};
use rayon::prelude::*;

/// Which variables evolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LevyMode {
    /// Evolve a; f and p solved by the allocation (default).
    #[default]
    Exact = 0,
    /// Evolve a, f and p as in eq. (24).
    Paper = 1,
}

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LevyVariant {
    /// The proposed search: h-mutation, Lévy crossover, greedy selection.
    #[default]
    Proposed = 0,
    /// The classic Lévy flight of Fig. 7: eq. (23) with rounding, greedy selection.
    Classic = 1,
}

/// Initial decisions of every candidate (Alg. 4 line 1 starts from the ensemble decision;
/// without agents the search starts from a baseline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LevyInit {
    /// The Greedy baseline's decisions (default).
    #[default]
    Greedy,
    /// All local.
    Local,
    /// The Random baseline's decisions.
    Random,
}

impl From<LevyInit> for Heuristic {
    fn from(v: LevyInit) -> Self {
        match v {
            LevyInit::Greedy => Heuristic::Greedy,
            LevyInit::Local => Heuristic::Local,
            LevyInit::Random => Heuristic::Random,
        }
    }
}

/// Lévy search settings (defaults and their sources: docs/mec.md; β and th from the DIRS paper
/// §VI-A, the rest mecrl's choices).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevyConfig {
    /// P, candidates per instance.
    pub population: usize,
    /// G_max, generations.
    pub generations: usize,
    /// β of the Lévy step, 0 < β < 2 (online search uses a large β; demonstrations 1.1).
    pub beta: f64,
    /// th, crossover threshold of eq. (27).
    pub th: f64,
    /// η for a in the classic variant (eq. 23).
    pub eta_a: f64,
    /// η for f as a fraction of F_max (eq. 23, paper mode).
    pub eta_f: f64,
    /// η for p as a fraction of P_max (eq. 23, paper mode).
    pub eta_p: f64,
    /// Lower clip of f in paper mode (Hz).
    pub f_min_hz: f64,
    /// Lower clip of p in paper mode (W).
    pub p_min_w: f64,
    /// exact or paper.
    pub mode: LevyMode,
    /// proposed or classic.
    pub variant: LevyVariant,
    /// Initial decisions.
    pub init: LevyInit,
}

impl Default for LevyConfig {
    fn default() -> Self {
        LevyConfig {
            population: 32,
            generations: 100,
            beta: 1.5,
            th: 0.5,
            eta_a: 1.0,
            eta_f: 0.1,
            eta_p: 0.1,
            f_min_hz: 1e6,
            p_min_w: 1e-3,
            mode: LevyMode::Exact,
            variant: LevyVariant::Proposed,
            init: LevyInit::Greedy,
        }
    }
}

impl LevyConfig {
    /// Check every field (names prefixed `levy.`).
    pub fn validate(&self) -> Result<()> {
        if self.population == 0 || self.population > 65_536 {
            return Err(Error::config("levy.population", self.population, "must be in 1..=65536"));
        }
        if self.generations == 0 || self.generations > 65_535 {
            return Err(Error::config("levy.generations", self.generations, "must be in 1..=65535"));
        }
        if !(self.beta > 0.0 && self.beta < 2.0) {
            return Err(Error::config("levy.beta", self.beta, "must be in (0, 2) (Mantegna; β = 2 gives σ_u = 0)"));
        }
        for (f, v) in
            [("levy.th", self.th), ("levy.eta_a", self.eta_a), ("levy.eta_f", self.eta_f), ("levy.eta_p", self.eta_p)]
        {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(f, v, "must be a finite number >= 0"));
            }
        }
        for (f, v) in [("levy.f_min_hz", self.f_min_hz), ("levy.p_min_w", self.p_min_w)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(f, v, "must be a finite number > 0"));
            }
        }
        Ok(())
    }

    /// The kernel parameter block for `env`.
    pub fn params(&self, env: &MecParams, seed: u64, call: u32) -> LevyParams {
        let key = rng::key_of(seed);
        LevyParams {
            b: env.b,
            n: env.n,
            m: env.m,
            p: self.population as u32,
            key0: key[0],
            key1: key[1],
            call,
            generation: 0,
            gmax: self.generations as u32,
            variant: self.variant as u32,
            mode: self.mode as u32,
            _pad0: 0,
            sigma_u: rng::levy_sigma_u(self.beta) as f32,
            inv_beta: (1.0 / self.beta) as f32,
            th: self.th as f32,
            eta_a: self.eta_a as f32,
            eta_f: (self.eta_f * env.f_max as f64) as f32,
            eta_p: (self.eta_p * env.p_max as f64) as f32,
            f_min: self.f_min_hz as f32,
            p_min: self.p_min_w as f32,
            f_max: env.f_max,
            p_max: env.p_max,
            f_local: env.f_local,
            p_local: env.p_local,
            phi_t: env.phi_t,
            phi_e: env.phi_e,
            bandwidth: env.bandwidth,
            noise_psd: env.noise_psd,
        }
    }
}

/// Parameters of the `levy_*` kernels (mirrored in `kernels/search/levy.cu`, `shaders/search/levy.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LevyParams {
    /// B.
    pub b: u32,
    /// N.
    pub n: u32,
    /// M.
    pub m: u32,
    /// P, candidates per instance.
    pub p: u32,
    /// Key word 0.
    pub key0: u32,
    /// Key word 1.
    pub key1: u32,
    /// Search call index (counter word 2, high 16 bits).
    pub call: u32,
    /// Generation G, 0-based (counter word 2, low 16 bits).
    pub generation: u32,
    /// G_max.
    pub gmax: u32,
    /// 0 proposed, 1 classic.
    pub variant: u32,
    /// 0 exact, 1 paper.
    pub mode: u32,
    /// Padding.
    pub _pad0: u32,
    /// σ_u of eq. (22).
    pub sigma_u: f32,
    /// 1/β.
    pub inv_beta: f32,
    /// Crossover threshold.
    pub th: f32,
    /// η for a (classic).
    pub eta_a: f32,
    /// η for f (Hz).
    pub eta_f: f32,
    /// η for p (W).
    pub eta_p: f32,
    /// f clip low (Hz).
    pub f_min: f32,
    /// p clip low (W).
    pub p_min: f32,
    /// F_max.
    pub f_max: f32,
    /// P_max.
    pub p_max: f32,
    /// f_i0.
    pub f_local: f32,
    /// p^E.
    pub p_local: f32,
    /// φ_T.
    pub phi_t: f32,
    /// φ_E.
    pub phi_e: f32,
    /// B (Hz).
    pub bandwidth: f32,
    /// σ² (W/Hz).
    pub noise_psd: f32,
}

impl LevyParams {
    fn mec(&self) -> MecParams {
        MecParams {
            b: self.b,
            n: self.n,
            m: self.m,
            p: self.p,
            bandwidth: self.bandwidth,
            noise_psd: self.noise_psd,
            f_local: self.f_local,
            p_local: self.p_local,
            f_max: self.f_max,
            p_max: self.p_max,
            phi_t: self.phi_t,
            phi_e: self.phi_e,
            ..Default::default()
        }
    }
    fn ctr2(&self, g: u32) -> u32 {
        (self.call << 16) | (g & 0xffff)
    }

    /// What the CPU fast path reads to generate candidate `pi` of instance `bi`.
    pub(crate) fn draw(&self, bi: u32, pi: u32) -> Draw {
        Draw {
            ctr: [pi.wrapping_mul(self.n), bi, self.ctr2(self.generation), stream::LEVY_STEP_A],
            key: [self.key0, self.key1],
            m: self.m,
            th: self.th,
            sigma_u: self.sigma_u,
            inv_beta: self.inv_beta,
            g: gamma(self.generation, self.gmax),
        }
    }
}

/// Initial f and p of candidate `c` (= b·P + p), IoTD i (paper mode): uniform in the boxes.
#[inline(always)]
pub fn init_fp(lp: &LevyParams, bi: u32, pi: u32, i: u32) -> (f32, f32) {
    let w =
        rng::philox4x32_10(rng::counter(pi * lp.n + i, bi, lp.ctr2(0xffff), stream::LEVY_INIT, 0), [lp.key0, lp.key1]);
    (lp.f_min + (lp.f_max - lp.f_min) * rng::uniform(w[0]), lp.p_min + (lp.p_max - lp.p_min) * rng::uniform(w[1]))
}

/// The fitness of one candidate in the kernel's mode.
#[allow(clippy::too_many_arguments)]
#[inline]
fn fitness(
    lp: &LevyParams,
    mp: &MecParams,
    bi: usize,
    inst: &Inst<'_>,
    a: &[u32],
    f: &[f32],
    pw: &[f32],
    bins: &mut [f32],
) -> f32 {
    let (n, m) = (lp.n as usize, lp.m as usize);
    if lp.mode == 0 {
        objective_exact_one(
            &inst.cost[bi * n * (m + 1)..(bi + 1) * n * (m + 1)],
            &inst.sqrt_f[bi * n..(bi + 1) * n],
            a,
            m,
            lp.f_max,
            lp.phi_t,
            bins,
        )
    } else {
        objective_paper_one(
            mp,
            &inst.h[bi * n * m..(bi + 1) * n * m],
            &inst.task_d[bi * n..(bi + 1) * n],
            &inst.task_f[bi * n..(bi + 1) * n],
            a,
            f,
            pw,
            bins,
        )
    }
}

struct Inst<'a> {
    cost: &'a [f32],
    sqrt_f: &'a [f32],
    h: &'a [f32],
    task_d: &'a [f32],
    task_f: &'a [f32],
}

/// `levy_init`: bufs cost, sqrt_f, h, task_d, task_f, a0 \[B,N\], pop_a, pop_f, pop_p \[B,P,N\],
/// fit \[B,P\], bins (scratch).
pub fn cpu_init(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let lp: LevyParams = decode(params);
    let (b, n, m, pp) = (lp.b as usize, lp.n as usize, lp.m as usize, lp.p as usize);
    for (k, (name, want)) in [
        ("cost", b * n * (m + 1)),
        ("sqrt_f", b * n),
        ("h", b * n * m),
        ("task_d", b * n),
        ("task_f", b * n),
        ("a0", b * n),
        ("pop_a", b * pp * n),
        ("pop_f", b * pp * n),
        ("pop_p", b * pp * n),
        ("fit", b * pp),
    ]
    .into_iter()
    .enumerate()
    {
        need("levy_init", name, bufs[k].len(), want)?;
    }
    let [cost, sf, h, td, tf, a0, pa, pf, ppw, fit, _bins] = bufs else { unreachable!() };
    let inst = Inst { cost: f32s(cost), sqrt_f: f32s(sf), h: f32s(h), task_d: f32s(td), task_f: f32s(tf) };
    let a0 = &a0[..];
    let mp = lp.mec();
    pa[..b * pp * n]
        .par_chunks_mut(n)
        .zip(f32s_mut(pf)[..b * pp * n].par_chunks_mut(n))
        .zip(f32s_mut(ppw)[..b * pp * n].par_chunks_mut(n))
        .zip(f32s_mut(fit)[..b * pp].par_iter_mut())
        .enumerate()
        .for_each_init(
            || vec![0.0f32; 2 * m + 1],
            |bins, (c, (((a, f), pw), fit))| {
                let (bi, pi) = (c / pp, c % pp);
                a.copy_from_slice(&a0[bi * n..(bi + 1) * n]);
                if lp.mode == 1 {
                    for i in 0..n {
                        (f[i], pw[i]) = init_fp(&lp, bi as u32, pi as u32, i as u32);
                    }
                }
                *fit = fitness(&lp, &mp, bi, &inst, a, f, pw, bins);
            },
        );
    Ok(())
}

/// γ of eq. (26) for 0-based generation g.
#[inline(always)]
pub fn gamma(g: u32, gmax: u32) -> f32 {
    2.0 - 2.0 * g as f32 / gmax as f32
}

/// The candidate value of IoTD i (kernel `levy_generation`), given the parent (a, f, p).
/// `hn_row` is ĥ_i (M entries). Returns (a^c, f^c, p^c).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn candidate(
    lp: &LevyParams,
    bi: u32,
    pi: u32,
    i: u32,
    a: u32,
    f: f32,
    pw: f32,
    hn_row: &[f32],
) -> (u32, f32, f32) {
    let key = [lp.key0, lp.key1];
    let c2 = lp.ctr2(lp.generation);
    let w = rng::philox4x32_10(rng::counter(pi * lp.n + i, bi, c2, stream::LEVY_STEP_A, 0), key);
    let (z0, z1) = rng::normal2(w[0], w[1]);
    let d = rng::levy_step(z0, z1, lp.sigma_u, lp.inv_beta); // eq. (20)–(22)
    let (fm, pm) = if lp.mode == 1 {
        let v = rng::philox4x32_10(rng::counter(pi * lp.n + i, bi, c2, stream::LEVY_STEP_FP, 0), key);
        let (y0, y1) = rng::normal2(v[0], v[1]);
        let (y2, y3) = rng::normal2(v[2], v[3]);
        let df = rng::levy_step(y0, y1, lp.sigma_u, lp.inv_beta);
        let dp = rng::levy_step(y2, y3, lp.sigma_u, lp.inv_beta);
        // eq. (23), clipped to the boxes
        ((f + lp.eta_f * df).clamp(lp.f_min, lp.f_max), (pw + lp.eta_p * dp).clamp(lp.p_min, lp.p_max))
    } else {
        (f, pw)
    };
    if lp.variant == 1 {
        // classic: eq. (23) with rounding on a
        let s = (lp.eta_a * d).clamp(-1_048_576.0, 1_048_576.0);
        let s = (s + 0.5).floor() as i32;
        let k = lp.m as i32 + 1;
        let ac = (a as i32 + s).rem_euclid(k) as u32;
        return (ac, fm, pm);
    }
    let gd = gamma(lp.generation, lp.gmax) * d;
    let stab = if a == 0 { 0.0 } else { hn_row[a as usize - 1] };
    let am = if gd > stab { rng::uniform_index(w[2], lp.m + 1) } else { a }; // eq. (25)
    if gd > lp.th {
        (am, fm, pm) // eq. (27)
    } else {
        (a, f, pw)
    }
}

/// `levy_generation`: bufs cost, sqrt_f, h, hn, task_d, task_f, pop_a, pop_f, pop_p, fit, bins.
pub fn cpu_generation(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let lp: LevyParams = decode(params);
    let (b, n, m, pp) = (lp.b as usize, lp.n as usize, lp.m as usize, lp.p as usize);
    for (k, (name, want)) in [
        ("cost", b * n * (m + 1)),
        ("sqrt_f", b * n),
        ("h", b * n * m),
        ("hn", b * n * m),
        ("task_d", b * n),
        ("task_f", b * n),
        ("pop_a", b * pp * n),
        ("pop_f", b * pp * n),
        ("pop_p", b * pp * n),
        ("fit", b * pp),
    ]
    .into_iter()
    .enumerate()
    {
        need("levy_generation", name, bufs[k].len(), want)?;
    }
    let [cost, sf, h, hn, td, tf, pa, pf, ppw, fit, _bins] = bufs else { unreachable!() };
    let inst = Inst { cost: f32s(cost), sqrt_f: f32s(sf), h: f32s(h), task_d: f32s(td), task_f: f32s(tf) };
    let hn = f32s(hn);
    let mp = lp.mec();
    let paper = lp.mode == 1;
    if b * pp * n == 0 {
        return Ok(());
    }
    // Tasks of up to `rows` candidates of one instance: exact mode evaluates them together
    // ([`exact::objective_exact_rows`]).
    let rows = if paper { 1 } else { exact::ROWS };
    let (pf, ppw, fit) = (f32s_mut(pf), f32s_mut(ppw), f32s_mut(fit));
    let mut tasks = Vec::with_capacity(b * pp.div_ceil(rows));
    let per_instance = pa[..b * pp * n]
        .chunks_mut(pp * n)
        .zip(pf[..b * pp * n].chunks_mut(pp * n))
        .zip(ppw[..b * pp * n].chunks_mut(pp * n))
        .zip(fit[..b * pp].chunks_mut(pp));
    for (bi, (((a, f), pw), fit)) in per_instance.enumerate() {
        let groups = a.chunks_mut(rows * n).zip(f.chunks_mut(rows * n)).zip(pw.chunks_mut(rows * n));
        for (g, (((a, f), pw), fit)) in groups.zip(fit.chunks_mut(rows)).enumerate() {
            tasks.push((bi, g * rows, a, f, pw, fit));
        }
    }
    tasks.into_par_iter().for_each_init(
        || {
            let (fp, sc) = if paper { (n, 0) } else { (0, n) };
            let scratch = ProposedScratch::new(sc);
            (
                vec![0u32; rows * n],
                vec![0.0f32; fp],
                vec![0.0f32; fp],
                vec![0.0f32; 2 * m + 1],
                scratch,
                vec![0.0; rows],
            )
        },
        |(ca, cf, cp, bins, scratch, new), (bi, p0, a, f, pw, fit)| {
            let hn_b = &hn[bi * n * m..(bi + 1) * n * m];
            let k = fit.len();
            for r in 0..k {
                let (pi, a, ca) = ((p0 + r) as u32, &a[r * n..(r + 1) * n], &mut ca[r * n..(r + 1) * n]);
                if paper {
                    generate_paper(&lp, bi as u32, pi, a, f, pw, hn_b, ca, cf, cp);
                } else if lp.variant == 0 {
                    generate_proposed_exact(&lp.draw(bi as u32, pi), a, hn_b, ca, scratch);
                } else {
                    generate_exact(&lp, bi as u32, pi, a, hn_b, ca);
                }
            }
            if paper {
                new[0] = fitness(&lp, &mp, bi, &inst, ca, cf, cp, bins);
            } else {
                let cost = &inst.cost[bi * n * (m + 1)..(bi + 1) * n * (m + 1)];
                let mut candidates: [&[u32]; exact::ROWS] = [&[]; exact::ROWS];
                for (c, row) in candidates.iter_mut().zip(ca[..k * n].chunks(n)) {
                    *c = row;
                }
                let sqrt_f = &inst.sqrt_f[bi * n..(bi + 1) * n];
                exact::objective_exact_rows(cost, sqrt_f, &candidates[..k], m, lp.f_max, lp.phi_t, bins, &mut new[..k]);
            }
            for r in 0..k {
                if new[r] < fit[r] {
                    // eq. (28)
                    a[r * n..(r + 1) * n].copy_from_slice(&ca[r * n..(r + 1) * n]);
                    if paper {
                        f.copy_from_slice(cf);
                        pw.copy_from_slice(cp);
                    }
                    fit[r] = new[r];
                }
            }
        },
    );
    Ok(())
}

/// Paper-mode candidates (a, f, p) of one (instance, candidate), 16 IoTDs at a time: the same
/// values as [`candidate`] element by element (tested), with Philox and the three Lévy steps
/// lane-parallel.
#[allow(clippy::too_many_arguments)]
pub(crate) fn generate_paper(
    lp: &LevyParams,
    bi: u32,
    pi: u32,
    a: &[u32],
    f: &[f32],
    pw: &[f32],
    hn_b: &[f32],
    ca: &mut [u32],
    cf: &mut [f32],
    cp: &mut [f32],
) {
    const L: usize = 16;
    let n = a.len();
    let m = lp.m as usize;
    let key = [lp.key0, lp.key1];
    let c2 = lp.ctr2(lp.generation);
    let g = gamma(lp.generation, lp.gmax);
    let base = pi * lp.n;
    for i0 in (0..n).step_by(L) {
        let len = L.min(n - i0);
        let mut c0 = [0u32; L];
        for (l, c) in c0.iter_mut().enumerate() {
            *c = base.wrapping_add((i0 + l) as u32);
        }
        let w = rng::philox16x4(c0, bi, c2, stream::LEVY_STEP_A, key);
        let v = rng::philox16x4(c0, bi, c2, stream::LEVY_STEP_FP, key);
        let (mut d, mut df, mut dp) = ([0.0f32; L], [0.0f32; L], [0.0f32; L]);
        for l in 0..L {
            let (z0, z1) = rng::normal2(w[0][l], w[1][l]);
            d[l] = rng::levy_step(z0, z1, lp.sigma_u, lp.inv_beta);
            let (y0, y1) = rng::normal2(v[0][l], v[1][l]);
            df[l] = rng::levy_step(y0, y1, lp.sigma_u, lp.inv_beta);
            let (y2, y3) = rng::normal2(v[2][l], v[3][l]);
            dp[l] = rng::levy_step(y2, y3, lp.sigma_u, lp.inv_beta);
        }
        for l in 0..len {
            let i = i0 + l;
            let (ai, fi, pi_) = (a[i], f[i], pw[i]);
            let fm = (fi + lp.eta_f * df[l]).clamp(lp.f_min, lp.f_max);
            let pm = (pi_ + lp.eta_p * dp[l]).clamp(lp.p_min, lp.p_max);
            (ca[i], cf[i], cp[i]) = if lp.variant == 1 {
                let s = (lp.eta_a * d[l]).clamp(-1_048_576.0, 1_048_576.0);
                let s = (s + 0.5).floor() as i32;
                ((ai as i32 + s).rem_euclid(lp.m as i32 + 1) as u32, fm, pm)
            } else {
                let gd = g * d[l];
                let j = ai.min(lp.m) as usize;
                let stab = if j == 0 { 0.0 } else { hn_b[i * m + j - 1] };
                let am = if gd > stab { rng::uniform_index(w[2][l], lp.m + 1) } else { ai };
                if gd > lp.th {
                    (am, fm, pm)
                } else {
                    (ai, fi, pi_)
                }
            };
        }
    }
}

/// Exact-mode candidates of one (instance, candidate), in chunks the compiler vectorizes:
/// Philox and the Lévy step for 16 IoTDs at a time, then the (gathering) mutation.
#[inline]
pub(crate) fn generate_exact(lp: &LevyParams, bi: u32, pi: u32, a: &[u32], hn_b: &[f32], out: &mut [u32]) {
    const L: usize = 16;
    let n = a.len();
    let m = lp.m as usize;
    assert_eq!(hn_b.len(), n * m, "ĥ block of one instance");
    let key = [lp.key0, lp.key1];
    let c2 = lp.ctr2(lp.generation);
    let g = gamma(lp.generation, lp.gmax);
    let base = pi * lp.n;
    let mut i0 = 0;
    while i0 < n {
        let len = L.min(n - i0);
        let mut c0 = [0u32; L];
        for (l, c) in c0.iter_mut().enumerate() {
            *c = base.wrapping_add((i0 + l) as u32);
        }
        let (w0, w1, w2) = rng::philox16(c0, bi, c2, stream::LEVY_STEP_A, key);
        let mut gd = [0.0f32; L];
        for l in 0..L {
            let (z0, z1) = rng::normal2(w0[l], w1[l]);
            let d = rng::levy_step(z0, z1, lp.sigma_u, lp.inv_beta);
            gd[l] = if lp.variant == 1 { d } else { g * d };
        }
        if lp.variant == 1 {
            for l in 0..len {
                let s = (lp.eta_a * gd[l]).clamp(-1_048_576.0, 1_048_576.0);
                let s = (s + 0.5).floor() as i32;
                out[i0 + l] = (a[i0 + l] as i32 + s).rem_euclid(m as i32 + 1) as u32;
            }
        } else if len == L {
            // Branch-free lanes: ĥ_{i,a_i} gathered (index clamped in range, so an invalid
            // a_i > M reads a valid entry; its fitness is NaN anyway), eq. (25) and (27).
            let ai: &[u32; L] = a[i0..i0 + L].try_into().expect("full chunk");
            let mut stab = [0.0f32; L];
            for l in 0..L {
                let j = ai[l].min(lp.m) as usize;
                let k = (i0 + l) * m + j.max(1) - 1;
                // SAFETY: i0 + l < n and 1 <= max(j,1) <= m, so k < n·m = hn_b.len().
                let v = unsafe { *hn_b.get_unchecked(k) };
                stab[l] = f32::from_bits(v.to_bits() & ((j != 0) as u32).wrapping_neg());
            }
            let o: &mut [u32; L] = (&mut out[i0..i0 + L]).try_into().expect("full chunk");
            for l in 0..L {
                let randm = rng::uniform_index(w2[l], lp.m + 1);
                // Bitwise, not short-circuit: the outcome is random, so a branch mispredicts.
                let take = ((gd[l] > lp.th) & (gd[l] > stab[l])) as u32;
                let mask = take.wrapping_neg();
                o[l] = (randm & mask) | (ai[l] & !mask);
            }
        } else {
            for l in 0..len {
                let i = i0 + l;
                let ai = a[i];
                let j = ai.min(lp.m) as usize;
                let stab = if j == 0 { 0.0 } else { hn_b[i * m + j - 1] };
                out[i] = if gd[l] > lp.th && gd[l] > stab { rng::uniform_index(w2[l], lp.m + 1) } else { ai };
            }
        }
        i0 += L;
    }
}

/// `levy_best`: bufs pop_a, pop_f, pop_p, fit, best_a \[B,N\], best_f, best_p, best_fit \[B\];
/// the first candidate with the smallest fitness (NaN never wins).
pub fn cpu_best(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let lp: LevyParams = decode(params);
    let (b, n, pp) = (lp.b as usize, lp.n as usize, lp.p as usize);
    for (k, (name, want)) in [
        ("pop_a", b * pp * n),
        ("pop_f", b * pp * n),
        ("pop_p", b * pp * n),
        ("fit", b * pp),
        ("best_a", b * n),
        ("best_f", b * n),
        ("best_p", b * n),
        ("best_fit", b),
    ]
    .into_iter()
    .enumerate()
    {
        need("levy_best", name, bufs[k].len(), want)?;
    }
    let [pa, pf, ppw, fit, ba, bf, bp, bfit] = bufs else { unreachable!() };
    let (pf, ppw, fit) = (f32s(pf), f32s(ppw), f32s(fit));
    let bfit = f32s_mut(bfit);
    for bi in 0..b {
        let k = best_index(&fit[bi * pp..(bi + 1) * pp]);
        let r = (bi * pp + k) * n..(bi * pp + k + 1) * n;
        ba[bi * n..(bi + 1) * n].copy_from_slice(&pa[r.clone()]);
        f32s_mut(bf)[bi * n..(bi + 1) * n].copy_from_slice(&pf[r.clone()]);
        f32s_mut(bp)[bi * n..(bi + 1) * n].copy_from_slice(&ppw[r]);
        bfit[bi] = fit[bi * pp + k];
    }
    Ok(())
}

/// Index of the first minimum (NaN never wins; all NaN → 0).
#[inline]
pub fn best_index(fit: &[f32]) -> usize {
    let mut k = 0;
    let mut best = f32::INFINITY;
    for (i, &v) in fit.iter().enumerate() {
        if v < best {
            best = v;
            k = i;
        }
    }
    k
}
