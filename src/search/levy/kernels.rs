//! The `levy` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::model::LevyParams;
use crate::backend::params;

crate::kernel_params!(LevyParams {
    b,
    n,
    m,
    p,
    key0,
    key1,
    call,
    generation,
    gmax,
    variant,
    mode,
    _pad0,
    sigma_u,
    inv_beta,
    th,
    eta_a,
    eta_f,
    eta_p,
    f_min,
    p_min,
    f_max,
    p_max,
    f_local,
    p_local,
    phi_t,
    phi_e,
    bandwidth,
    noise_psd
});

crate::kernels! {
    stem "search" / "levy" includes [crate::env::mec::kernels::STEM];
    /// Lévy search: population initialization and initial fitness.
    LEVY_INIT = levy_init(LevyParams;
        cost: R F32, sqrt_f: R F32, h: R F32, task_d: R F32, task_f: R F32, a0: R U32,
        pop_a: W U32, pop_f: W F32, pop_p: W F32, fit: W F32, bins: S F32
    )
        cpu super::model::cpu_init, sizes levy_init_sizes;
    /// Lévy search: one generation (eq. 20–28).
    LEVY_GENERATION = levy_generation(LevyParams;
        cost: R F32, sqrt_f: R F32, h: R F32, hn: R F32, task_d: R F32, task_f: R F32,
        pop_a: W U32, pop_f: W F32, pop_p: W F32, fit: W F32, bins: S F32
    )
        cpu super::model::cpu_generation, sizes levy_generation_sizes;
    /// Lévy search: best candidate per instance.
    LEVY_BEST = levy_best(LevyParams;
        pop_a: R U32, pop_f: R F32, pop_p: R F32, fit: R F32, best_a: W U32, best_f: W F32,
        best_p: W F32, best_fit: W F32
    )
        cpu super::model::cpu_best, sizes levy_best_sizes;
}

fn levy_dims(bytes: &[u8]) -> (u64, u64, u64, u64) {
    let p: LevyParams = params(bytes);
    (p.b as u64, p.n as u64, p.m as u64, p.p as u64)
}

fn levy_init_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = levy_dims(bytes);
    let pop = b * p * n;
    vec![b * n * (m + 1), b * n, b * n * m, b * n, b * n, b * n, pop, pop, pop, b * p, b * p * (2 * m + 1)]
}

fn levy_generation_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = levy_dims(bytes);
    let pop = b * p * n;
    vec![b * n * (m + 1), b * n, b * n * m, b * n * m, b * n, b * n, pop, pop, pop, b * p, b * p * (2 * m + 1)]
}

fn levy_best_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, _, p) = levy_dims(bytes);
    let pop = b * p * n;
    vec![pop, pop, pop, b * p, b * n, b * n, b * n, b]
}
