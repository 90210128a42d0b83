//! The `mec` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::config::MecParams;
use crate::backend::params;

crate::kernel_params!(MecParams {
    b,
    n,
    m,
    p,
    key0,
    key1,
    step,
    variant,
    area,
    beta0,
    bandwidth,
    noise_psd,
    d_lo,
    d_hi,
    f_lo,
    f_hi,
    f_local,
    p_local,
    f_max,
    p_max,
    phi_t,
    phi_e,
    d2_min,
    capacity
});

crate::kernels! {
    stem "env" / "mec";
    /// `mec`: positions and task sizes at reset.
    MEC_RESET = mec_reset(MecParams; iotd_pos: W F32, mec_pos: W F32, task_d: W F32, task_f: W F32)
        cpu super::cpu::cpu_reset, sizes mec_reset_sizes;
    /// `mec`: channel gains of a step (eq. 3).
    MEC_CHANNEL = mec_channel(MecParams; iotd_pos: R F32, mec_pos: R F32, h: W F32)
        cpu super::cpu::cpu_channel, sizes mec_channel_sizes;
    /// `mec`: optimal power, rates and per-IoTD cost table (eq. 2, 13).
    MEC_ALLOC = mec_alloc(MecParams;
        h: R F32, task_d: R F32, task_f: R F32, hn: W F32, p_opt: W F32, cost: W F32, sqrt_f: W F32
    )
        cpu super::cpu::cpu_alloc, sizes mec_alloc_sizes;
    /// `mec`: each agent's observation (its column h_j, log-standardized).
    MEC_OBSERVE = mec_observe(MecParams; h: R F32, obs: W F32)
        cpu super::cpu::cpu_observe, sizes mec_observe_sizes;
    /// `mec`: objective Σ Φ of candidate decisions with the exact allocation (eq. 8–11).
    MEC_OBJECTIVE_EXACT = mec_objective_exact(MecParams;
        cost: R F32, sqrt_f: R F32, a: R U32, bins: S F32, phi: W F32
    )
        cpu super::cpu::cpu_objective_exact, sizes mec_objective_exact_sizes;
    /// `mec`: objective Σ Φ of candidate (a, f, p) as given (eq. 8–11, paper mode).
    MEC_OBJECTIVE_PAPER = mec_objective_paper(MecParams;
        h: R F32, task_d: R F32, task_f: R F32, a: R U32, f: R F32, pw: R F32, bins: S F32,
        phi: W F32
    )
        cpu super::cpu::cpu_objective_paper, sizes mec_objective_paper_sizes;
    /// `mec`: the Local / Greedy / Random baselines.
    MEC_HEURISTIC = mec_heuristic(MecParams;
        iotd_pos: R F32, mec_pos: R F32, task_f: R F32, order: R U32, load: S F32, a: W U32
    )
        cpu super::cpu::cpu_heuristic, sizes mec_heuristic_sizes;
    /// `mec`: the reward of each instance from its Σ Φ (§V-C), kind in `variant`.
    MEC_REWARD = mec_reward(MecParams; phi: R F32, reward: W F32)
        cpu super::cpu::cpu_reward, sizes mec_reward_sizes;
}

fn mec_dims(bytes: &[u8]) -> (u64, u64, u64, u64) {
    let p: MecParams = params(bytes);
    (p.b as u64, p.n as u64, p.m as u64, p.p as u64)
}

fn mec_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * 2 * n, b * 2 * m, b * n, b * n]
}

fn mec_channel_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * 2 * n, b * 2 * m, b * n * m]
}

fn mec_alloc_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * n * m, b * n, b * n, b * n * m, b * n * m, b * n * (m + 1), b * n]
}

fn mec_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * n * m, b * m * n]
}

fn mec_objective_exact_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = mec_dims(bytes);
    vec![b * n * (m + 1), b * n, b * p * n, b * p * (m + 1), b * p]
}

fn mec_objective_paper_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = mec_dims(bytes);
    vec![b * n * m, b * n, b * n, b * p * n, b * p * n, b * p * n, b * p * 2 * m, b * p]
}

fn mec_heuristic_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * 2 * n, b * 2 * m, b * n, b * n, b * m, b * n]
}

fn mec_reward_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, ..) = mec_dims(bytes);
    vec![b, b]
}
