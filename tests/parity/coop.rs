//! `coop` kernels against the CPU: states snapshotted along CPU trajectories (three heuristics,
//! several deadlines including W = 1 and the 32-slot maximum), every kernel from each snapshot,
//! actions including invalid and masked ones. Every output is bit-exact (IEEE additions,
//! divisions and the portable exp only). Then whole episodes on each backend against the CPU.

use std::collections::BTreeSet;

use mecrl::backend::KernelSpec;
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::env::coop::{CoopConfig, CoopEnv, CoopParams, Heuristic};

use super::{assert_bit_exact, assert_equal, backends_under_test, Case};
use mecrl::env::coop::kernels::{COOP_OBSERVE, COOP_POLICY, COOP_RESET, COOP_STEP};

fn configs() -> Vec<(CoopConfig, usize)> {
    let base = CoopConfig {
        n_nodes: 6,
        horizon: 12,
        arrival_prob_min: 0.3,
        max_queue: 2,
        node_failure_max: 0.3,
        link_failure_max: 0.3,
        ..Default::default()
    };
    vec![
        (base.clone(), 5),
        (CoopConfig { n_nodes: 3, deadline_s: 16.0, slot_s: 0.5, task_bits_max: 1.6e8, ..base.clone() }, 3),
        (CoopConfig { n_nodes: 4, deadline_s: 0.5, ..base.clone() }, 2),
        (CoopConfig { n_nodes: 5, fixed_network: true, ..base.clone() }, 3),
        (CoopConfig { n_nodes: 1, ..base }, 2),
    ]
}

/// The CPU's state buffers of `env`, in `coop_step` order after the actions: arr_u, arr_f,
/// pool_u, pool_f, xq, stats_u, stats_f, reward; plus node and link.
fn snapshot(env: &CoopEnv) -> (Vec<u32>, Vec<u32>, Vec<Vec<u32>>) {
    let be = env.backend();
    let dl = |b: &mecrl::Buffer| be.download(b).unwrap();
    (
        dl(&env.node),
        dl(&env.link),
        vec![
            dl(&env.arr_u),
            dl(&env.arr_f),
            dl(&env.pool_u),
            dl(&env.pool_f),
            dl(&env.xq),
            dl(&env.stats_u),
            dl(&env.stats_f),
            dl(&env.reward),
        ],
    )
}

/// Every coop kernel from snapshots of CPU trajectories.
pub(super) fn cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    for (ci, (cfg, b)) in configs().into_iter().enumerate() {
        let n = cfg.n_nodes;
        let mut env = CoopEnv::new(cpu.clone(), &cfg, b, 40 + ci as u64).unwrap();
        let bytes = |p: &CoopParams| bytemuck::bytes_of(p).to_vec();
        for (hi, h) in Heuristic::ALL.into_iter().enumerate() {
            env.reset(hi as u32).unwrap();
            let p0 = env.params();
            // coop_reset from garbage-filled buffers.
            let (node, link, st) = snapshot(&env);
            let junk = |v: &Vec<u32>| vec![0x7fc0_0001u32; v.len()];
            let mut reset_bufs = vec![junk(&node), junk(&link)];
            reset_bufs.extend(st.iter().map(junk));
            assert_bit_exact(
                be,
                &Case { id: &COOP_RESET, params: bytes(&p0), threads: b as u32, bufs: reset_bufs },
                done,
            );
            let mut t = 0;
            while !env.done() {
                let p = env.params();
                let (node, link, st) = snapshot(&env);
                if t % 3 == 0 || env.slot() + 1 == cfg.episode_slots() {
                    let obs = vec![0u32; b * n * (3 * n + 5)];
                    let mask = vec![0u32; b * n * (n + 1)];
                    let bufs = vec![
                        node.clone(),
                        link.clone(),
                        st[0].clone(),
                        st[1].clone(),
                        st[2].clone(),
                        st[4].clone(),
                        obs,
                        mask,
                    ];
                    assert_bit_exact(
                        be,
                        &Case { id: &COOP_OBSERVE, params: bytes(&p), threads: (b * n) as u32, bufs },
                        done,
                    );
                    for v in 0..3u32 {
                        let mut pv = p;
                        pv.variant = v;
                        let bufs = vec![
                            node.clone(),
                            link.clone(),
                            st[0].clone(),
                            st[1].clone(),
                            st[2].clone(),
                            st[3].clone(),
                            st[4].clone(),
                            vec![0; b * n],
                        ];
                        assert_bit_exact(
                            be,
                            &Case { id: &COOP_POLICY, params: bytes(&pv), threads: (b * n) as u32, bufs },
                            done,
                        );
                    }
                    // A step with arbitrary actions: out of range, masked, "no task" with a task.
                    let act: Vec<u32> = (0..b * n).map(|k| ((k * 7 + t) % (n + 2)) as u32).collect();
                    let mut bufs = vec![node.clone(), link.clone(), act];
                    bufs.extend(st.iter().cloned());
                    assert_bit_exact(be, &Case { id: &COOP_STEP, params: bytes(&p), threads: b as u32, bufs }, done);
                }
                if t == 5 {
                    // Corrupt state (queue lengths, queued indices, targets, arrival slots out of
                    // range): every backend clamps the same way and stays in bounds.
                    let mut st = st.clone();
                    for (k, v) in st[4].iter_mut().enumerate() {
                        if k % 5 == 0 {
                            *v = v.wrapping_mul(2_654_435_761).wrapping_add(k as u32);
                        }
                    }
                    for (k, v) in st[2].iter_mut().enumerate() {
                        match k % 4 {
                            1 if k % 3 == 0 => *v = 0xdead_beef,
                            2 if k % 7 == 0 => *v = u32::MAX - 2,
                            _ => {}
                        }
                    }
                    let act: Vec<u32> = (0..b * n).map(|k| (k % (n + 1)) as u32).collect();
                    let mut bufs = vec![node.clone(), link.clone(), act.clone()];
                    bufs.extend(st.iter().cloned());
                    assert_equal(be, &Case { id: &COOP_STEP, params: bytes(&p), threads: b as u32, bufs }, done);
                    for v in 0..3u32 {
                        let mut pv = p;
                        pv.variant = v;
                        let bufs = vec![
                            node.clone(),
                            link.clone(),
                            st[0].clone(),
                            st[1].clone(),
                            st[2].clone(),
                            st[3].clone(),
                            st[4].clone(),
                            vec![0; b * n],
                        ];
                        assert_equal(
                            be,
                            &Case { id: &COOP_POLICY, params: bytes(&pv), threads: (b * n) as u32, bufs },
                            done,
                        );
                    }
                }
                env.policy(h).unwrap();
                let act = cpu.download(&env.act).unwrap();
                let mut bufs = vec![node, link, act];
                bufs.extend(st);
                assert_bit_exact(be, &Case { id: &COOP_STEP, params: bytes(&p), threads: b as u32, bufs }, done);
                env.step_device().unwrap();
                t += 1;
            }
        }
    }
}

/// Whole episodes (device-resident heuristic actions) on every backend give the CPU's counts
/// and bits.
#[test]
fn coop_episodes_match_cpu_on_every_backend() {
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let cfg = CoopConfig { n_nodes: 8, horizon: 30, ..Default::default() };
    for be in backends_under_test() {
        for h in Heuristic::ALL {
            let want = CoopEnv::new(cpu.clone(), &cfg, 6, 9).unwrap().run_episode(2, h).unwrap();
            let got = CoopEnv::new(be.clone(), &cfg, 6, 9).unwrap().run_episode(2, h).unwrap();
            assert_eq!(want, got, "{}: {h:?} episode differs from the CPU", be.kind());
        }
    }
}
