//! Parity of the `crowd_*` kernels: a CPU episode of the paper's topology (cases I and III, three
//! instances) and of one cell (S = 1) supplies the inputs of every kernel at every slot; each
//! kernel runs on the backend under test from those inputs and must match the CPU (integers
//! equal, floats within the tolerance of `assert_equal`). The load → outcome → finish chain is
//! fed the CPU's outputs, so differences never compound. Some slots carry an invalid device
//! action (refused tasks, NaN reward) and host actions of every slot kind.

use std::collections::BTreeSet;

use mecrl::backend::KernelSpec;
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::env::crowd::cpu::dims;
use mecrl::env::crowd::{count, metric, Case as TaskCase, CrowdConfig, CrowdEnv, Policy};

use super::{assert_equal, Case};
use mecrl::env::crowd::kernels::{
    CROWD_FINISH, CROWD_LOAD, CROWD_OBSERVE, CROWD_OUTCOME, CROWD_POLICY, CROWD_RESET, CROWD_STATE, CROWD_TASKS,
};

fn out(v: &[Option<Vec<u32>>], k: usize) -> Vec<u32> {
    v[k].clone().expect("a written buffer")
}

pub(super) fn crowd_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    kernel_cases(be, done);
    whole_episodes(be);
}

/// Whole episodes driven by the device's own policy kernel: the same counts every slot (so the
/// same decisions), metrics and queues within the float tolerance.
fn whole_episodes(be: &dyn Backend) {
    let cfgs = [CrowdConfig::default().with_case(TaskCase::II), CrowdConfig::default().with_case(TaskCase::I)];
    for cfg in cfgs {
        let cpu = backend::create(BackendKind::Cpu).unwrap();
        let dev = backend::create(be.kind()).unwrap();
        let mut a = CrowdEnv::new(cpu, &cfg, 2, 5).unwrap();
        let mut d = CrowdEnv::new(dev, &cfg, 2, 5).unwrap();
        for t in 0..40 {
            let policy = Policy::ALL[(t / 5) % 3];
            a.step_policy(policy).unwrap();
            d.step_policy(policy).unwrap();
            assert_eq!(a.counts().unwrap(), d.counts().unwrap(), "{}: slot {t} counts", be.kind());
            assert_eq!(
                a.backend().download(&a.action).unwrap(),
                d.backend().download(&d.action).unwrap(),
                "{}: slot {t} actions",
                be.kind()
            );
            for (x, y) in [(&a.slot, &d.slot), (&a.q, &d.q), (&a.v, &d.v), (&a.est, &d.est)] {
                let (x, y) = (a.f32s(x).unwrap(), d.f32s(y).unwrap());
                let scale = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (k, (p, q)) in x.iter().zip(&y).enumerate() {
                    assert!(
                        p == q || (p - q).abs() <= 1e-5 * p.abs().max(q.abs()) + 1e-6 * scale,
                        "{}: slot {t} element {k}: {p} vs {q}",
                        be.kind()
                    );
                }
            }
        }
    }
}

fn kernel_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let one_cell = CrowdConfig {
        n_servers: 1,
        clusters_per_cell: 1,
        cluster_sizes: Some(vec![7]),
        md_candidates: 3,
        rate_levels: vec![0.5, 1.0],
        ..CrowdConfig::default()
    };
    let configs = [
        (CrowdConfig::default().with_case(TaskCase::I), 14),
        (CrowdConfig::default().with_case(TaskCase::III), 14),
        (one_cell.with_case(TaskCase::II), 10),
    ];
    for (cfg, slots) in configs {
        let cpu = backend::create(BackendKind::Cpu).unwrap();
        let mut env = CrowdEnv::new(cpu.clone(), &cfg, 3, 21).unwrap();
        let dl = |b: &mecrl::Buffer| cpu.download(b).unwrap();
        let p0 = *env.params();
        let (b, n, u, l, ..) = dims(&p0);
        // reset from garbage
        let garbage = |k: usize| (0..k as u32).map(|x| x.wrapping_mul(2_654_435_761)).collect::<Vec<u32>>();
        let mut p = p0;
        p.step = 77;
        assert_equal(
            be,
            &Case {
                id: &CROWD_RESET,
                params: bytemuck::bytes_of(&p).to_vec(),
                threads: (b * (u + l)) as u32,
                bufs: vec![garbage(b * n), garbage(b * u), garbage(b * l), garbage(b * count::WIDTH)],
            },
            done,
        );
        for slot in 0..slots {
            let p = *env.params();
            let bytes = bytemuck::bytes_of(&p).to_vec();
            assert_equal(
                be,
                &Case {
                    id: &CROWD_TASKS,
                    params: bytes.clone(),
                    threads: (b * n) as u32,
                    bufs: vec![dl(&env.ctl), vec![0; b * n * 3], vec![0; b * n]],
                },
                done,
            );
            env.begin_slot().unwrap();
            let (cell_off, task, cap, q, v) = (dl(&env.cell_off), dl(&env.task), dl(&env.cap), dl(&env.q), dl(&env.v));
            let w = env.topology().obs_dim();
            assert_equal(
                be,
                &Case {
                    id: &CROWD_OBSERVE,
                    params: bytes.clone(),
                    threads: (b * n) as u32,
                    bufs: vec![cell_off.clone(), task.clone(), cap.clone(), q.clone(), v.clone(), vec![0; b * n * w]],
                },
                done,
            );
            let sw = env.state_width();
            assert_equal(
                be,
                &Case {
                    id: &CROWD_STATE,
                    params: bytes.clone(),
                    threads: (b * sw) as u32,
                    bufs: vec![cap.clone(), q.clone(), v.clone(), vec![0; b * sw]],
                },
                done,
            );
            let policy = Policy::ALL[slot % 3];
            env.act_policy(policy).unwrap();
            let pp = *env.params();
            assert_equal(
                be,
                &Case {
                    id: &CROWD_POLICY,
                    params: bytemuck::bytes_of(&pp).to_vec(),
                    threads: (b * n) as u32,
                    bufs: vec![dl(&env.obs), vec![0; b * n], vec![0; b * n]],
                },
                done,
            );
            let mut action = dl(&env.action);
            if slot % 4 == 3 {
                // host actions cycling through every (slot, level), one invalid device action
                let m = env.n_actions() as u32;
                for (i, a) in action.iter_mut().enumerate() {
                    *a = (i as u32 * 7 + slot as u32) % m;
                }
                action[n + 1] = m + 5;
                cpu.write(&env.action, &action).unwrap();
            }
            let load = assert_equal(
                be,
                &Case {
                    id: &CROWD_LOAD,
                    params: bytes.clone(),
                    threads: (b * (u + l)) as u32,
                    bufs: vec![cell_off.clone(), task.clone(), action.clone(), vec![0; b * (u + l)]],
                },
                done,
            );
            let load = out(&load, 3);
            let outc = assert_equal(
                be,
                &Case {
                    id: &CROWD_OUTCOME,
                    params: bytes.clone(),
                    threads: (b * n) as u32,
                    bufs: vec![
                        cell_off.clone(),
                        task.clone(),
                        cap.clone(),
                        q.clone(),
                        action.clone(),
                        load.clone(),
                        vec![0; b * n * 2],
                    ],
                },
                done,
            );
            let fin = assert_equal(
                be,
                &Case {
                    id: &CROWD_FINISH,
                    params: bytes.clone(),
                    threads: b as u32,
                    bufs: vec![
                        cell_off.clone(),
                        task.clone(),
                        cap.clone(),
                        action.clone(),
                        out(&outc, 6),
                        load,
                        q,
                        v,
                        vec![0; b],
                        vec![0; b * metric::WIDTH],
                        dl(&env.counts),
                    ],
                },
                done,
            );
            env.end_slot().unwrap();
            // the chained CPU case is the environment's own slot
            assert_eq!(out(&fin, 6), dl(&env.q));
            assert_eq!(out(&fin, 10), dl(&env.counts));
        }
    }
}
