//! The `crowd` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::config::CrowdParams;
use crate::backend::params;

crate::kernel_params!(CrowdParams {
    b,
    n,
    s,
    k,
    r,
    step,
    key0,
    key1,
    policy,
    gap_lo,
    gap_hi,
    _pad0,
    lambda1,
    lambda2,
    lambda3,
    f_md,
    idle_lo,
    idle_hi,
    f_edge,
    f_cloud,
    c_wireless,
    c_wired,
    c_backbone,
    dt,
    alpha,
    beta,
    v_penalty,
    fee_local,
    fee_md,
    fee_edge,
    fee_cloud,
    rate_unit,
    cycles_unit,
    bits_per_mb,
    lv0,
    lv1,
    lv2,
    lv3,
    _pad1,
    _pad2
});

crate::kernels! {
    stem "env" / "crowd";
    /// `crowd`: empty queues, first arrival countdowns, zero counts.
    CROWD_RESET = crowd_reset(CrowdParams; ctl: W U32, q: W F32, v: W F32, counts: W U32)
        cpu super::cpu::cpu_reset, sizes crowd_reset_sizes;
    /// `crowd`: arrivals (Poisson λ1, λ2, λ3) and MD capacities of a slot.
    CROWD_TASKS = crowd_tasks(CrowdParams; ctl: W U32, task: W U32, cap: W F32)
        cpu super::cpu::cpu_tasks, sizes crowd_tasks_sizes;
    /// `crowd`: partial observations (own task, P̂ (5), D (14), bottlenecks).
    CROWD_OBSERVE = crowd_observe(CrowdParams;
        cell_off: R U32, task: R U32, cap: R F32, q: R F32, v: R F32, obs: W F32
    )
        cpu super::cpu::cpu_observe, sizes crowd_observe_sizes;
    /// `crowd`: the global state s = {Q_u, V_l, F_u} of the critics, scaled.
    CROWD_STATE = crowd_state(CrowdParams; cap: R F32, q: R F32, v: R F32, state: W F32)
        cpu super::cpu::cpu_state, sizes crowd_state_sizes;
    /// `crowd`: drift-plus-penalty / Greedy / Random actions and their f′ (22).
    CROWD_POLICY = crowd_policy(CrowdParams; obs: R F32, action: W U32, est: W F32)
        cpu super::cpu::cpu_policy, sizes crowd_policy_sizes;
    /// `crowd`: per-unit demand and per-link requested rate (A_u, H_l).
    CROWD_LOAD = crowd_load(CrowdParams; cell_off: R U32, task: R U32, action: R U32, load: W F32)
        cpu super::cpu::cpu_load, sizes crowd_load_sizes;
    /// `crowd`: E (6) and cost (7) per agent with shared link capacity (1).
    CROWD_OUTCOME = crowd_outcome(CrowdParams;
        cell_off: R U32, task: R U32, cap: R F32, q: R F32, action: R U32, load: R F32, out: W F32
    )
        cpu super::cpu::cpu_outcome, sizes crowd_outcome_sizes;
    /// `crowd`: reward (13), metrics, accounting, queue updates (2), (4).
    CROWD_FINISH = crowd_finish(CrowdParams;
        cell_off: R U32, task: R U32, cap: R F32, action: R U32, out: R F32, load: R F32, q: W F32,
        v: W F32, reward: W F32, slot: W F32, counts: W U32
    )
        cpu super::cpu::cpu_finish, sizes crowd_finish_sizes;
}

/// (B, N, U, L, obs width, S + 1) of a `crowd_*` parameter block.
fn crowd_dims(bytes: &[u8]) -> (u64, u64, u64, u64, u64, u64) {
    let p: CrowdParams = params(bytes);
    let (b, n, u, l, _, w) = super::cpu::dims(&p);
    (b as u64, n as u64, u as u64, l as u64, w as u64, p.s as u64 + 1)
}

fn crowd_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, _) = crowd_dims(bytes);
    vec![b * n, b * u, b * l, b * super::config::count::WIDTH as u64]
}

fn crowd_tasks_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, ..) = crowd_dims(bytes);
    vec![b * n, b * n * 3, b * n]
}

fn crowd_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, w, c) = crowd_dims(bytes);
    vec![c, b * n * 3, b * n, b * u, b * l, b * n * w]
}

fn crowd_state_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, ..) = crowd_dims(bytes);
    vec![b * n, b * u, b * l, b * (u + l + n)]
}

fn crowd_policy_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, _, _, w, _) = crowd_dims(bytes);
    vec![b * n * w, b * n, b * n]
}

fn crowd_load_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, c) = crowd_dims(bytes);
    vec![c, b * n * 3, b * n, b * (u + l)]
}

fn crowd_outcome_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, c) = crowd_dims(bytes);
    vec![c, b * n * 3, b * n, b * u, b * n, b * (u + l), b * n * 2]
}

fn crowd_finish_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, c) = crowd_dims(bytes);
    let (m, k) = (super::config::metric::WIDTH as u64, super::config::count::WIDTH as u64);
    vec![c, b * n * 3, b * n, b * n, b * n * 2, b * (u + l), b * u, b * l, b, b * m, b * k]
}
