//! The `endedge` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::config::EndedgeParams;

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
        cpu super::cpu::cpu_arrive, sizes super::cpu::sizes_arrive;
    /// `endedge`: the Local / Random / Greedy baselines.
    ENDEDGE_POLICY = endedge_policy(EndedgeParams;
        eta: R F32, pred: R U32, rem: R F32, at: R U32, m: R U32, action: W U32
    )
        cpu super::cpu::cpu_policy, sizes super::cpu::sizes_policy;
    /// `endedge`: one slot of every terminal's queues (eq. 2–13).
    ENDEDGE_STEP = endedge_step(EndedgeParams;
        eta: R F32, action: R U32, m: R U32, size: W F32, rem: W F32, arr: W U32, at: W U32,
        result: W U32, pred: W U32, acc: W U32, nonempty: W U32
    )
        cpu super::cpu::cpu_step, sizes super::cpu::sizes_step;
    /// `endedge`: Q_e and the Load history (eq. 7, 15).
    ENDEDGE_LOAD = endedge_load(EndedgeParams; nonempty: R U32, m: W U32, load: W U32)
        cpu super::cpu::cpu_load, sizes super::cpu::sizes_load;
    /// `endedge`: the state (16) and the action mask.
    ENDEDGE_OBSERVE = endedge_observe(EndedgeParams;
        eta: R F32, pred: R U32, rem: R F32, at: R U32, obs: W F32, mask: W U32
    )
        cpu super::cpu::cpu_observe, sizes super::cpu::sizes_observe;
    /// `endedge`: each terminal's reward of the slot (eq. 18–19) from its counters.
    ENDEDGE_REWARD = endedge_reward(EndedgeParams; acc: R U32, prev: W U32, reward: W F32)
        cpu super::cpu::cpu_reward, sizes super::cpu::sizes_reward;
    /// `endedge`: Load(t) (eq. 15) as floats, the instance-wide part of the state (16).
    ENDEDGE_STATE = endedge_state(EndedgeParams; load: R U32, state: W F32)
        cpu super::cpu::cpu_state, sizes super::cpu::sizes_state;
    /// `endedge`: the reward of each terminal's task that arrived at slot `t`, credited to it
    /// (eq. 18–19; the learner's view of the result ring).
    ENDEDGE_CREDIT = endedge_credit(EndedgeParams; result: R U32, arrived: R F32, reward: W F32)
        cpu super::cpu::cpu_credit, sizes super::cpu::sizes_credit;
}
