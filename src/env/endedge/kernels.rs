//! The `endedge` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::EndedgeParams;
use crate::backend::params;

crate::kernel_params!(EndedgeParams {
    b,
    d,
    e,
    w,
    tau,
    c,
    ew,
    t,
    key0,
    key1,
    semantics,
    policy,
    size_levels,
    arrive_until,
    _pad0,
    _pad1,
    local_cap,
    edge_cap,
    tran_cap,
    p_arrive,
    size_min,
    size_step,
    drop_reward,
    _pad2
});

crate::kernels! {
    stem "env" / "endedge";
    /// `endedge`: Bernoulli arrivals and sizes of a slot.
    ENDEDGE_ARRIVE = endedge_arrive(EndedgeParams; eta: W F32)
        cpu super::cpu_arrive, sizes endedge_arrive_sizes;
    /// `endedge`: the Local / Random / Greedy baselines.
    ENDEDGE_POLICY = endedge_policy(EndedgeParams;
        eta: R F32, pred: R U32, rem: R F32, at: R U32, m: R U32, action: W U32
    )
        cpu super::cpu_policy, sizes endedge_policy_sizes;
    /// `endedge`: one slot of every terminal's queues (eq. 2–13).
    ENDEDGE_STEP = endedge_step(EndedgeParams;
        eta: R F32, action: R U32, m: R U32, size: W F32, rem: W F32, arr: W U32, at: W U32,
        result: W U32, pred: W U32, acc: W U32, nonempty: W U32
    )
        cpu super::cpu_step, sizes endedge_step_sizes;
    /// `endedge`: Q_e and the Load history (eq. 7, 15).
    ENDEDGE_LOAD = endedge_load(EndedgeParams; nonempty: R U32, m: W U32, load: W U32)
        cpu super::cpu_load, sizes endedge_load_sizes;
    /// `endedge`: the state (16) and the action mask.
    ENDEDGE_OBSERVE = endedge_observe(EndedgeParams;
        eta: R F32, pred: R U32, rem: R F32, at: R U32, obs: W F32, mask: W U32
    )
        cpu super::cpu_observe, sizes endedge_observe_sizes;
}

/// The kernels whose buffer sizes [`sizes`] knows.
#[derive(Clone, Copy)]
enum Kernel {
    Arrive,
    Policy,
    Step,
    Load,
    Observe,
}

/// Minimum words of every buffer of kernel `k`.
fn sizes(k: Kernel, bytes: &[u8]) -> Vec<u64> {
    let p: EndedgeParams = params(bytes);
    let (b, d, e, w, ew) = (p.b as u64, p.d as u64, p.e as u64, p.w as u64, p.ew as u64);
    let (bd, bdw, c) = (b * d, b * d * w, p.c as u64);
    match k {
        Kernel::Arrive => vec![bd],
        Kernel::Policy => vec![bd, bd * 2, bdw, bdw, b * e, bd],
        Kernel::Step => vec![bd, bd, b * e, bdw, bdw, bdw, bdw, bdw, bd * 2, bd * 4, bd * ew],
        Kernel::Load => vec![b * d * ew, b * e, b * c * e],
        Kernel::Observe => vec![bd, bd * 2, bdw, bdw, bd * (3 + e), bd * (1 + e)],
    }
}

fn endedge_arrive_sizes(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Arrive, bytes)
}

fn endedge_policy_sizes(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Policy, bytes)
}

fn endedge_step_sizes(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Step, bytes)
}

fn endedge_load_sizes(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Load, bytes)
}

fn endedge_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Observe, bytes)
}
