//! The `coop` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::config::CoopParams;
use crate::backend::params;

crate::kernel_params!(CoopParams {
    b,
    n,
    w,
    horizon,
    slot,
    episode,
    key0,
    key1,
    max_queue,
    variant,
    n_cores,
    cores0,
    cores1,
    cores2,
    cores3,
    cores4,
    cores5,
    cores6,
    cores7,
    fixed_network,
    dt,
    deadline,
    lambda_lo,
    lambda_hi,
    s_lo,
    s_hi,
    delta_lo,
    delta_hi,
    core_hz,
    alpha_lo,
    alpha_hi,
    beta_lo,
    beta_hi,
    r_lo,
    r_hi,
    lambda_norm,
    alpha_norm,
    f_norm,
    r_norm,
    s_norm,
    c_norm,
    _pad1,
    _pad2,
    _pad3
});

crate::kernels! {
    stem "env" / "coop";
    /// `coop`: node and link parameters, empty queues, the first arrivals.
    COOP_RESET = coop_reset(CoopParams;
        node: W F32, link: W F32, arr_u: W U32, arr_f: W F32, pool_u: W U32, pool_f: W F32,
        xq: W U32, stats_u: W U32, stats_f: W F32, reward: W F32
    )
        cpu super::cpu::cpu_reset, sizes coop_reset_sizes;
    /// `coop`: one slot (decisions, execution, transmission, deadlines, arrivals).
    COOP_STEP = coop_step(CoopParams;
        node: R F32, link: R F32, act: R U32, arr_u: W U32, arr_f: W F32, pool_u: W U32,
        pool_f: W F32, xq: W U32, stats_u: W U32, stats_f: W F32, reward: W F32
    )
        cpu super::cpu::cpu_step, sizes coop_step_sizes;
    /// `coop`: observations and action masks.
    COOP_OBSERVE = coop_observe(CoopParams;
        node: R F32, link: R F32, arr_u: R U32, arr_f: R F32, pool_u: R U32, xq: R U32, obs: W F32,
        mask: W U32
    )
        cpu super::policy::cpu_observe, sizes coop_observe_sizes;
    /// `coop`: the Random / RATC / RDA heuristics.
    COOP_POLICY = coop_policy(CoopParams;
        node: R F32, link: R F32, arr_u: R U32, arr_f: R F32, pool_u: R U32, pool_f: R F32,
        xq: R U32, act: W U32
    )
        cpu super::policy::cpu_policy, sizes coop_policy_sizes;
}

/// B and the per-instance words of the `coop` state buffers (`super::cpu::instance_words`).
fn coop_dims(bytes: &[u8]) -> (u64, u64, [u64; 9]) {
    let p: CoopParams = params(bytes);
    (p.b as u64, p.n as u64, super::cpu::instance_words(&p).map(|w| w as u64))
}

fn coop_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, _, iw) = coop_dims(bytes);
    iw.iter().map(|w| b * w).chain([b]).collect()
}

fn coop_step_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, iw) = coop_dims(bytes);
    let mut v = vec![b * iw[0], b * iw[1], b * n];
    v.extend(iw[2..].iter().map(|w| b * w));
    v.push(b);
    v
}

fn coop_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, iw) = coop_dims(bytes);
    vec![b * iw[0], b * iw[1], b * iw[2], b * iw[3], b * iw[4], b * iw[6], b * n * (3 * n + 5), b * n * (n + 1)]
}

fn coop_policy_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, iw) = coop_dims(bytes);
    vec![b * iw[0], b * iw[1], b * iw[2], b * iw[3], b * iw[4], b * iw[5], b * iw[6], b * n]
}
