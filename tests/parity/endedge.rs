//! `endedge` parity: every kernel from states reached by a CPU run (heavy load, so queues,
//! processor sharing, stale pops and deadline drops all occur), both semantics, E = 5 (one
//! `nonempty` word) and E = 37 (two), then whole episodes on the backend against the CPU.
//! The kernels take only f32 subtractions, one division per share, sums in ring order and
//! comparisons, all IEEE: every output is compared bit for bit.

use std::collections::BTreeSet;

use mecrl::backend::{self, Backend, BackendKind, KernelSpec};
use mecrl::env::endedge::{EndedgeConfig, EndedgeEnv, EndedgeParams, Heuristic, Semantics};

use super::{assert_bit_exact, f32v, Case};
use mecrl::env::endedge::kernels::{
    ENDEDGE_ARRIVE, ENDEDGE_CREDIT, ENDEDGE_LOAD, ENDEDGE_OBSERVE, ENDEDGE_POLICY, ENDEDGE_STEP,
};

fn config(servers: usize, semantics: Semantics) -> EndedgeConfig {
    EndedgeConfig {
        devices: 29,
        servers,
        slots: 60,
        tail_slots: 8,
        deadline_slots: 6,
        arrival_prob: 0.8,
        size_min_mbit: 0.5,
        size_max_mbit: 6.0,
        size_step_mbit: 0.25,
        f_edge_hz: 8e9,
        semantics,
        ..EndedgeConfig::reference()
    }
}

/// Cases of every kernel at slots 0, 9, 23 and 41 of a CPU run with `policy`.
pub(super) fn cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let batch = 3usize;
    for (servers, semantics, policy) in [
        (5usize, Semantics::Reference, Heuristic::Random),
        (5, Semantics::Paper, Heuristic::Greedy),
        (37, Semantics::Reference, Heuristic::Greedy),
    ] {
        let cfg = config(servers, semantics);
        let mut env = EndedgeEnv::new(&cfg, batch, 77, cpu.clone()).unwrap();
        env.reset().unwrap();
        let (d, e) = (cfg.devices, cfg.servers);
        for t in 0..42u32 {
            env.arrive().unwrap();
            let p: EndedgeParams = env.params(policy);
            let bytes = bytemuck::bytes_of(&p).to_vec();
            let dl = |b: &mecrl::Buffer| cpu.download(b).unwrap();
            if [0, 9, 23, 41].contains(&t) {
                let [m, load, size, rem, arr, at, result, pred, acc, nonempty] =
                    <[Vec<u32>; 10]>::try_from(env.state_words().unwrap()).unwrap();
                let eta = dl(&env.eta);
                let n = batch * d;
                let case = |id, threads: usize, bufs: Vec<Vec<u32>>| Case {
                    id,
                    params: bytes.clone(),
                    threads: threads as u32,
                    bufs,
                };
                assert_bit_exact(be, &case(&ENDEDGE_ARRIVE, n, vec![vec![7; n]]), done);
                let pol = vec![eta.clone(), pred.clone(), rem.clone(), at.clone(), m.clone(), vec![9; n]];
                let actions = assert_bit_exact(be, &case(&ENDEDGE_POLICY, n, pol), done)[5].clone().unwrap();
                let step = vec![
                    eta.clone(),
                    actions,
                    m.clone(),
                    size,
                    rem.clone(),
                    arr,
                    at.clone(),
                    result,
                    pred.clone(),
                    acc,
                    nonempty.clone(),
                ];
                let out = assert_bit_exact(be, &case(&ENDEDGE_STEP, n, step), done);
                // the credit of arrival slot t from the ring after the step (done, dropped,
                // pending and invalid words; terminals with and without a task)
                let rows = t as usize + 1;
                let arrived: Vec<f32> = (0..rows * n).map(|i| if (i * 7919) % 3 == 0 { 0.0 } else { 1.0 }).collect();
                let mut ring = out[7].clone().unwrap();
                ring[1] = 3 << 30;
                let credit = vec![ring, f32v(&arrived), vec![7; rows * n]];
                assert_bit_exact(be, &case(&ENDEDGE_CREDIT, n, credit), done);
                assert_bit_exact(be, &case(&ENDEDGE_LOAD, batch * e, vec![out[10].clone().unwrap(), m, load]), done);
                let w = cfg.deadline_slots as usize + 1;
                let obs = vec![eta, pred, rem, at, vec![0; n * (3 + e)], vec![5; n * (1 + e)]];
                assert_eq!(obs[2].len(), n * w);
                assert_bit_exact(be, &case(&ENDEDGE_OBSERVE, n, obs), done);
            }
            env.policy(policy).unwrap();
            env.step().unwrap();
        }
        let s = env.stats().unwrap();
        assert!(s.dropped > 0 && s.finished > 0, "{semantics:?} E={servers}: the scenario must drop and finish tasks");

        // whole episodes: every state word equal after T slots
        let mut on_be = EndedgeEnv::new(&cfg, batch, 77, backend::create(be.kind()).unwrap()).unwrap();
        let mut on_cpu = EndedgeEnv::new(&cfg, batch, 77, cpu.clone()).unwrap();
        let a = on_cpu.run_episode(policy, &mut |_| {}).unwrap();
        let b = on_be.run_episode(policy, &mut |_| {}).unwrap();
        assert_eq!(a, b, "{}: {semantics:?} E={servers} {policy:?}: episode totals", be.kind());
        assert_eq!(on_cpu.state_words().unwrap(), on_be.state_words().unwrap(), "{}: final state", be.kind());
    }
}
