//! Population Lévy flight search (DIRS paper §V-D, Algorithm 4; docs/mec.md).
//!
//! P candidates per instance evolve for G_max generations. Generation G (0-based, so that every
//! generation moves: γ = 2 − 2G/G_max ∈ (0, 2], eq. 26) draws, for every candidate and IoTD i,
//! one Philox block (p·N + i, instance, call·2^16 + G, LEVY_STEP_A): words 0, 1 give the Lévy step
//! d_i (eq. 20–22), word 2 the random target rand_m ∈ {0..M}. Then
//! - **h-mutation (25)**: a^m_i = rand_m if γ d_i > ĥ_{i,a_i} else a_i, with ĥ_ij = h_ij / Σ_j h_ij
//!   and ĥ_{i,0} = 0 for a local task (no channel: least stable);
//! - **Lévy crossover (27)**: x^c_i = x^m_i if γ d_i > th else x_i (the same d_i);
//! - **greedy selection (28)**: the candidate replaces its parent iff f(x^c) < f(x) (strictly).
//!
//! Mode `exact` evolves a only; f and p come from the exact allocation (the cost table of
//! [`crate::env::mec`]). Mode `paper` evolves (a, f, p) of eq. (24): f^m, p^m by eq. (23) with
//! their own Lévy steps (block LEVY_STEP_FP: words 0,1 → d_f, words 2,3 → d_p), clipped to
//! [f_min, F_max] and [p_min, P_max]; constraint (6) is enforced in the objective by scaling.
//! Variant `classic` (Fig. 7) is plain eq. (23) with rounding, no γ, no crossover:
//! a^c_i = (a_i + ⌊clamp(η_a d_i, ±2^20) + 0.5⌋) mod (M+1).

mod fast;
pub mod kernels;
pub mod model;

use self::kernels::{LEVY_BEST, LEVY_GENERATION, LEVY_INIT};
use crate::backend::Buffer;
use crate::env::mec::MecEnv;
use crate::error::{Error, Result};

pub use model::*;

/// Result of one search.
pub struct LevyResult {
    /// Best decisions \[B,N\] (device).
    pub best_a: Buffer,
    /// Best CPU shares \[B,N\] (paper mode; zeros in exact mode).
    pub best_f: Buffer,
    /// Best powers \[B,N\] (paper mode; zeros in exact mode).
    pub best_p: Buffer,
    /// Best objective per instance.
    pub best_fit: Vec<f32>,
    /// Mean over instances of the best fitness after each generation (when tracked).
    pub history: Vec<f64>,
}

/// The result of [`search_dev`], all on the device.
pub struct LevyDevResult {
    /// Best offloading vector \[B,N\].
    pub best_a: Buffer,
    /// Best CPU shares \[B,N\] (paper mode; zeros in exact mode).
    pub best_f: Buffer,
    /// Best powers \[B,N\] (paper mode; zeros in exact mode).
    pub best_p: Buffer,
    /// Best objective per instance \[B\].
    pub best_fit: Buffer,
}

/// Algorithm 4 on every instance of `env`, every candidate starting from `a0` \[B,N\] (device),
/// with nothing read back: `after_generation(g, fitness [B·P])` runs after every generation.
/// `call` separates the random streams of successive searches with one seed.
pub fn search_dev(
    env: &MecEnv,
    cfg: &LevyConfig,
    a0: &Buffer,
    seed: u64,
    call: u32,
    after_generation: &mut dyn FnMut(usize, &Buffer) -> Result<()>,
) -> Result<LevyDevResult> {
    cfg.validate()?;
    if call > 0xffff {
        return Err(Error::config("levy call", call, "at most 65535 searches per seed"));
    }
    let be = &**env.backend();
    let ep = env.params();
    let (b, n, m, pp) = (ep.b as usize, ep.n as usize, ep.m as usize, cfg.population);
    if a0.words() < b * n {
        return Err(Error::shape("levy a0", b * n, a0.words()));
    }
    let total = b.checked_mul(pp).and_then(|x| x.checked_mul(n)).filter(|&x| x < u32::MAX as usize);
    if total.is_none() {
        return Err(Error::config("levy.population", pp, "batch·population·n_iotd must fit in 32-bit indexing"));
    }
    let mut lp = cfg.params(&ep, seed, call);
    let pop_a = be.alloc(b * pp * n)?;
    let pop_f = be.alloc(b * pp * n)?;
    let pop_p = be.alloc(b * pp * n)?;
    let fit = be.alloc(b * pp)?;
    let bins = be.alloc(b * pp * (2 * m + 1))?;
    let threads = (b * pp) as u32;
    be.launch(
        &LEVY_INIT,
        bytemuck::bytes_of(&lp),
        threads,
        &[&env.cost, &env.sqrt_f, &env.h, &env.task_d, &env.task_f, a0, &pop_a, &pop_f, &pop_p, &fit, &bins],
    )?;
    for g in 0..cfg.generations {
        lp.generation = g as u32;
        be.launch(
            &LEVY_GENERATION,
            bytemuck::bytes_of(&lp),
            threads,
            &[&env.cost, &env.sqrt_f, &env.h, &env.hn, &env.task_d, &env.task_f, &pop_a, &pop_f, &pop_p, &fit, &bins],
        )?;
        after_generation(g, &fit)?;
    }
    let best_a = be.alloc(b * n)?;
    let best_f = be.alloc(b * n)?;
    let best_p = be.alloc(b * n)?;
    let best_fit = be.alloc(b)?;
    be.launch(
        &LEVY_BEST,
        bytemuck::bytes_of(&lp),
        b as u32,
        &[&pop_a, &pop_f, &pop_p, &fit, &best_a, &best_f, &best_p, &best_fit],
    )?;
    Ok(LevyDevResult { best_a, best_f, best_p, best_fit })
}

/// [`search_dev`] with the best objectives read back; `track_history` also reads the mean best
/// fitness after each generation. `on_generation` is called after every generation (progress
/// bars).
pub fn search(
    env: &MecEnv,
    cfg: &LevyConfig,
    a0: &Buffer,
    seed: u64,
    call: u32,
    track_history: bool,
    on_generation: &mut dyn FnMut(usize),
) -> Result<LevyResult> {
    let be = &**env.backend();
    let (b, pp) = (env.params().b as usize, cfg.population);
    let mut history = Vec::new();
    let r = search_dev(env, cfg, a0, seed, call, &mut |g, fit| {
        if track_history {
            let f = crate::backend::download_f32(be, fit)?;
            let mean = f.chunks(pp).map(|c| c[best_index(c)] as f64).sum::<f64>() / b as f64;
            history.push(mean);
        }
        on_generation(g);
        Ok(())
    })?;
    let best_fit = crate::backend::download_f32(be, &r.best_fit)?;
    Ok(LevyResult { best_a: r.best_a, best_f: r.best_f, best_p: r.best_p, best_fit, history })
}

#[cfg(test)]
mod tests {
    use super::fast::{generate_proposed_exact_on, ProposedScratch};
    use super::model::{generate_exact, generate_paper};
    use super::*;
    use crate::isa::Isa;
    use crate::rng::{self, stream};

    #[test]
    fn eq26_gamma_schedule() {
        assert_eq!(gamma(0, 100), 2.0);
        assert_eq!(gamma(50, 100), 1.0);
        assert!((gamma(99, 100) - 0.02).abs() < 1e-6);
    }

    fn lp(variant: u32, mode: u32) -> LevyParams {
        let mut env = crate::env::mec::MecConfig::default().params(1, 4, 1);
        env.m = 3;
        env.n = 5;
        let cfg = LevyConfig { population: 4, ..LevyConfig::default() };
        let mut p = cfg.params(&env, 7, 0);
        p.variant = variant;
        p.mode = mode;
        p
    }

    /// Eq. (25) and (27) by hand: recompute d from the Philox block and check the rule.
    #[test]
    fn eq25_27_mutation_and_crossover_rules() {
        let mut p = lp(0, 0);
        let hn_row = [0.6f32, 0.3, 0.1];
        let mut seen = [0usize; 3];
        for g in 0..20u32 {
            p.generation = g;
            for i in 0..5u32 {
                for a in 0..=3u32 {
                    let w = rng::philox4x32_10(rng::counter(2 * 5 + i, 0, g, stream::LEVY_STEP_A, 0), [p.key0, p.key1]);
                    let (z0, z1) = rng::normal2(w[0], w[1]);
                    let gd = gamma(g, p.gmax) * rng::levy_step(z0, z1, p.sigma_u, p.inv_beta);
                    let stab = if a == 0 { 0.0 } else { hn_row[a as usize - 1] };
                    let (ac, _, _) = candidate(&p, 0, 2, i, a, 0.0, 0.0, &hn_row);
                    let want = if gd > p.th && gd > stab { rng::uniform_index(w[2], 4) } else { a };
                    assert_eq!(ac, want);
                    seen[if gd <= p.th {
                        0
                    } else if gd > stab {
                        1
                    } else {
                        2
                    }] += 1;
                }
            }
        }
        assert!(seen[0] > 0 && seen[1] > 0, "both branches exercised: {seen:?}");
    }

    #[test]
    fn classic_rounding_wraps() {
        let p = lp(1, 0);
        for i in 0..5u32 {
            let w = rng::philox4x32_10(rng::counter(i, 0, 0, stream::LEVY_STEP_A, 0), [p.key0, p.key1]);
            let (z0, z1) = rng::normal2(w[0], w[1]);
            let d = rng::levy_step(z0, z1, p.sigma_u, p.inv_beta);
            let s = ((p.eta_a * d).clamp(-1_048_576.0, 1_048_576.0) + 0.5).floor() as i32;
            let (ac, _, _) = candidate(&p, 0, 0, i, 2, 0.0, 0.0, &[0.0; 3]);
            assert_eq!(ac as i32, (2 + s).rem_euclid(4));
        }
    }

    #[test]
    fn exact_generation_matches_scalar_candidate() {
        // The vectorized exact path equals `candidate` element by element.
        for variant in [0, 1] {
            let p = lp(variant, 0);
            let a = [0u32, 1, 2, 3, 1];
            let hn: Vec<f32> = (0..15).map(|k| (k as f32 * 0.37).fract()).collect();
            let mut out = [0u32; 5];
            generate_exact(&p, 0, 1, &a, &hn, &mut out);
            for i in 0..5 {
                assert_eq!(out[i], candidate(&p, 0, 1, i as u32, a[i], 0.0, 0.0, &hn[i * 3..i * 3 + 3]).0);
            }
        }
    }

    #[test]
    fn proposed_exact_fast_path_matches_scalar_candidate() {
        for n in [1usize, 5, 16, 17, 32, 37, 100, 1000] {
            let mut p = lp(0, 0);
            p.n = n as u32;
            let a: Vec<u32> = (0..n as u32).map(|i| i % 4).collect();
            let hn: Vec<f32> = (0..n * 3).map(|k| (k as f32 * 0.37).fract()).collect();
            let mut sc = ProposedScratch::new(n);
            for (g, isa) in
                [0u32, 3, 50, 99].into_iter().flat_map(|g| Isa::available().into_iter().map(move |i| (g, i)))
            {
                p.generation = g;
                let mut out = vec![9u32; n];
                generate_proposed_exact_on(isa, &p.draw(1, 2), &a, &hn, &mut out, &mut sc);
                for i in 0..n {
                    let want = candidate(&p, 1, 2, i as u32, a[i], 0.0, 0.0, &hn[i * 3..i * 3 + 3]).0;
                    assert_eq!(out[i], want, "n={n} g={g} i={i} {isa:?}");
                }
            }
        }
    }

    #[test]
    fn paper_fast_path_matches_scalar_candidate() {
        for variant in [0, 1] {
            for n in [1usize, 16, 37] {
                let mut p = lp(variant, 1);
                p.n = n as u32;
                p.generation = 4;
                let a: Vec<u32> = (0..n as u32).map(|i| i % 4).collect();
                let f: Vec<f32> = (0..n).map(|i| 1e9 + 1e8 * i as f32).collect();
                let pw: Vec<f32> = (0..n).map(|i| 0.1 + 0.03 * i as f32).collect();
                let hn: Vec<f32> = (0..n * 3).map(|k| (k as f32 * 0.37).fract()).collect();
                let (mut ca, mut cf, mut cp) = (vec![0u32; n], vec![0f32; n], vec![0f32; n]);
                generate_paper(&p, 1, 2, &a, &f, &pw, &hn, &mut ca, &mut cf, &mut cp);
                for i in 0..n {
                    let want = candidate(&p, 1, 2, i as u32, a[i], f[i], pw[i], &hn[i * 3..i * 3 + 3]);
                    assert_eq!((ca[i], cf[i].to_bits(), cp[i].to_bits()), (want.0, want.1.to_bits(), want.2.to_bits()));
                }
            }
        }
    }

    #[test]
    fn paper_mode_clips_to_boxes() {
        let p = lp(0, 1);
        for i in 0..5 {
            let (_, f, pw) = candidate(&p, 0, 0, i, 1, p.f_max, p.p_min, &[0.5; 3]);
            assert!(f >= p.f_min && f <= p.f_max && pw >= p.p_min && pw <= p.p_max);
        }
    }

    #[test]
    fn eq28_best_index_is_first_minimum_and_skips_nan() {
        assert_eq!(best_index(&[3.0, 1.0, 1.0, 2.0]), 1);
        assert_eq!(best_index(&[f32::NAN, 2.0]), 1);
    }
}
