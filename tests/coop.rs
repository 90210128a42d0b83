//! `coop`: hand-worked 3-node scenarios for every queue rule, invariants on thousands of random
//! configurations, the offline data set format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mecrl::backend::{self, BackendKind};
use mecrl::env::coop::cpu::{step_instance, Inst};
use mecrl::env::coop::dataset::{collect, OfflineDataset};
use mecrl::env::coop::kernels::COOP_POLICY;
use mecrl::env::coop::policy::observe_one;
use mecrl::env::coop::{state, CoopConfig, CoopEnv, CoopParams, Heuristic, FLAG_NODE_FAIL, POOL_F, POOL_U};
use mecrl::rng;
use mecrl::Error;

/// A hand-built instance: 3 nodes, Δ = 1 s, W slots, no random arrivals (λ = 0).
struct Hand {
    p: CoopParams,
    node: Vec<f32>,
    link: Vec<f32>,
    arr_u: Vec<u32>,
    arr_f: Vec<f32>,
    pool_u: Vec<u32>,
    pool_f: Vec<f32>,
    xq: Vec<u32>,
    su: Vec<u32>,
    sf: Vec<f32>,
}

impl Hand {
    /// F = (10, 20, 10) Hz, every link 10 bit/s, no failures, deadline `w` slots.
    fn new(w: u32) -> Self {
        let cfg = CoopConfig {
            n_nodes: 3,
            slot_s: 1.0,
            deadline_s: w as f64,
            arrival_prob_min: 0.0,
            arrival_prob_max: 0.0,
            max_queue: 2,
            ..Default::default()
        };
        let mut p = cfg.params(1, 7);
        p.horizon = 1000;
        let n = 3usize;
        let w = w as usize;
        let mut link = vec![0.0; 2 * n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    link[2 * (i * n + j)] = 10.0;
                }
            }
        }
        Hand {
            p,
            node: vec![0.0, 10.0, 0.0, 0.0, 20.0, 0.0, 0.0, 10.0, 0.0],
            link,
            arr_u: vec![0; n],
            arr_f: vec![0.0; 4 * n],
            pool_u: vec![0; POOL_U * n * w],
            pool_f: vec![0.0; POOL_F * n * w],
            xq: vec![0; n * (1 + n * w)],
            su: vec![0; 8],
            sf: vec![0.0; 4],
        }
    }
    /// A task (s bits, c cycles) at node i in the current slot, with failure uniforms.
    fn arrive(&mut self, i: usize, s: f32, c: f32, u_link: f32, u_node: f32) {
        self.arr_u[i] = 1;
        self.arr_f[4 * i..4 * i + 4].copy_from_slice(&[s, c, u_link, u_node]);
    }
    /// Step slot `t` with actions; returns the team reward.
    fn step(&mut self, t: u32, act: [u32; 3]) -> f32 {
        self.p.slot = t;
        let mut x = Inst {
            node: &self.node,
            link: &self.link,
            arr_u: &mut self.arr_u,
            arr_f: &mut self.arr_f,
            pool_u: &mut self.pool_u,
            pool_f: &mut self.pool_f,
            xq: &mut self.xq,
            stats_u: &mut self.su,
            stats_f: &mut self.sf,
        };
        step_instance(&self.p, 0, &act, &mut x)
    }
    /// The pool entry of the task that arrived at node i in slot t: (state, t_end, remaining).
    fn task(&self, i: usize, t: u32) -> (u32, u32, f32) {
        let k = i * self.p.w as usize + t as usize % self.p.w as usize;
        assert_eq!(self.pool_u[k * POOL_U + 2], t, "entry holds the task of slot {t}");
        (self.pool_u[k * POOL_U] & 0xff, self.pool_u[k * POOL_U + 3], self.pool_f[k * POOL_F + 2])
    }
    /// Node j's execution queue as (origin, arrival slot) pairs.
    fn queue(&self, j: usize) -> Vec<(usize, u32)> {
        let xs = 1 + 3 * self.p.w as usize;
        let len = self.xq[j * xs] as usize;
        (0..len)
            .map(|h| {
                let k = self.xq[j * xs + 1 + h] as usize;
                (k / self.p.w as usize, self.pool_u[k * POOL_U + 2])
            })
            .collect()
    }
}

const NONE: u32 = 3; // "no task" with N = 3

#[test]
fn execution_queue_is_fifo() {
    let mut h = Hand::new(8);
    // Slot 0: A (15 cycles) local at node 0 (F = 10): 10 served, 5 left.
    h.arrive(0, 1.0, 15.0, 0.0, 0.0);
    assert_eq!(h.step(0, [0, NONE, NONE]), 0.0);
    assert_eq!(h.task(0, 0), (state::QUEUED, 0, 5.0));
    // Slot 1: B (20 cycles) joins behind A: A finishes with 5, B gets the other 5.
    h.arrive(0, 1.0, 20.0, 0.0, 0.0);
    assert_eq!(h.step(1, [0, NONE, NONE]), 1.0);
    assert_eq!(h.task(0, 0), (state::SUCCESS, 1, 0.0));
    assert_eq!(h.task(0, 1), (state::QUEUED, 0, 15.0));
    assert_eq!(h.queue(0), vec![(0, 1)]);
    // Slot 2: B 15 → 5; slot 3: B done.
    assert_eq!(h.step(2, [NONE; 3]), 0.0);
    assert_eq!(h.task(0, 1).2, 5.0);
    assert_eq!(h.step(3, [NONE; 3]), 1.0);
    assert_eq!(h.task(0, 1), (state::SUCCESS, 3, 0.0));
    assert_eq!(h.su[..4], [2, 2, 0, 0]);
}

#[test]
fn send_queue_is_fifo_and_links_are_independent() {
    let mut h = Hand::new(8);
    // Slot 0: A (25 bits) 0 → 1 and C (10 bits) 2 → 1: each link 10 bit/s.
    h.arrive(0, 25.0, 10.0, 0.0, 0.0);
    h.arrive(2, 10.0, 40.0, 0.0, 0.0);
    assert_eq!(h.step(0, [1, NONE, 1]), 0.0);
    assert_eq!(h.task(0, 0), (state::SENDING, 0, 15.0));
    // C was sent in slot 0 and joined node 1's queue with its cycles as remaining work.
    assert_eq!(h.task(2, 0), (state::QUEUED, 0, 40.0));
    assert_eq!(h.queue(1), vec![(2, 0)]);
    // Slot 1: B (5 bits) 0 → 1 waits behind A (A: 15 → 5). Node 1 (F = 20) serves C: 40 → 20.
    h.arrive(0, 5.0, 10.0, 0.0, 0.0);
    assert_eq!(h.step(1, [1, NONE, NONE]), 0.0);
    assert_eq!(h.task(0, 0).2, 5.0);
    assert_eq!(h.task(0, 1), (state::SENDING, 0, 5.0));
    assert_eq!(h.task(2, 0).2, 20.0);
    // Slot 2: A finishes sending with 5 bits, then B with the other 5; both join node 1 in
    // order after C. C finishes (20 cycles).
    assert_eq!(h.step(2, [NONE; 3]), 1.0);
    assert_eq!(h.queue(1), vec![(0, 0), (0, 1)]);
    assert_eq!(h.task(2, 0), (state::SUCCESS, 2, 0.0));
    // Slot 3: A (10 cycles) then B (10 cycles) on F = 20.
    assert_eq!(h.step(3, [NONE; 3]), 2.0);
    assert_eq!(h.task(0, 0), (state::SUCCESS, 3, 0.0));
    assert_eq!(h.task(0, 1), (state::SUCCESS, 3, 0.0));
    assert_eq!(h.su[7], 3, "three tasks offloaded");
}

#[test]
fn deadline_drops_queued_and_sending_tasks() {
    let mut h = Hand::new(3);
    // A: 50 cycles local at node 0 (F = 10), deadline 3 slots: 10 + 10 + 10 then dropped at the
    // end of slot 2 = t_a + D − 1.
    h.arrive(0, 1.0, 50.0, 0.0, 0.0);
    // S: 45 bits 1 → 2 (10 bit/s): still sending at the end of slot 2 → dropped.
    h.arrive(1, 45.0, 1.0, 0.0, 0.0);
    assert_eq!(h.step(0, [0, 2, NONE]), 0.0);
    assert_eq!(h.step(1, [NONE; 3]), 0.0);
    assert_eq!(h.task(0, 0), (state::QUEUED, 0, 30.0));
    assert_eq!(h.task(1, 0), (state::SENDING, 0, 25.0));
    assert_eq!(h.step(2, [NONE; 3]), -2.0);
    assert_eq!(h.task(0, 0), (state::DROPPED, 2, 0.0));
    assert_eq!(h.task(1, 0), (state::DROPPED, 2, 0.0));
    assert!(h.queue(0).is_empty());
    assert_eq!(h.su[..4], [2, 0, 2, 0]);
    assert_eq!(h.sf[2], 46.0, "dropped bits");
    // A task that arrives by transmission in its last slot is dropped at once: 25 bits over
    // 3 slots reaches node 2 at the end of slot 2 + 3 − 1 = 5.
    h.arrive(1, 25.0, 1.0, 0.0, 0.0);
    h.step(3, [NONE, 2, NONE]);
    h.step(4, [NONE; 3]);
    assert_eq!(h.step(5, [NONE; 3]), -1.0);
    assert_eq!(h.task(1, 3), (state::DROPPED, 5, 0.0));
    assert!(h.queue(2).is_empty());
}

#[test]
fn node_failure_happens_at_the_end_of_execution() {
    // T^c = 20/10 = 2 s, α = 0.1 /s: R^c = e^{-0.2} = 0.8187 (eq. 4).
    for (u_node, want_state, want_reward) in [(0.9f32, state::FAILED, -1.0f32), (0.5, state::SUCCESS, 1.0)] {
        let mut h = Hand::new(8);
        h.node[2] = 0.1;
        h.arrive(0, 1.0, 20.0, 0.0, u_node);
        assert_eq!(h.step(0, [0, NONE, NONE]), 0.0);
        let k = 0; // node 0, slot 0
        assert_eq!(h.pool_u[k] & FLAG_NODE_FAIL != 0, u_node > 0.8187);
        assert_eq!(h.task(0, 0).0, state::QUEUED, "a failing task still runs to its end");
        assert_eq!(h.step(1, [NONE; 3]), want_reward);
        assert_eq!(h.task(0, 0).0, want_state);
        assert_eq!((h.su[3], h.su[6]), if want_reward < 0.0 { (1, 1) } else { (0, 0) });
        assert!((h.pool_f[3] - (-0.2f32).exp()).abs() < 1e-6, "R^c·R^t stored");
    }
}

#[test]
fn link_failure_happens_at_the_end_of_transmission() {
    // T^t = 20/10 = 2 s, β = 0.1 /s: R^t = 0.8187 (eq. 5); a link failure never reaches node 1.
    let mut h = Hand::new(8);
    for (i, j) in [(0usize, 1usize), (1, 0)] {
        h.link[2 * (i * 3 + j) + 1] = 0.1;
    }
    h.arrive(0, 20.0, 10.0, 0.9, 0.0);
    assert_eq!(h.step(0, [1, NONE, NONE]), 0.0);
    assert_eq!(h.task(0, 0), (state::SENDING, 0, 10.0));
    assert_eq!(h.step(1, [NONE; 3]), -1.0);
    assert_eq!(h.task(0, 0), (state::FAILED, 1, 0.0));
    assert!(h.queue(1).is_empty());
    assert_eq!((h.su[3], h.su[5]), (1, 1));
    // A local task never fails on a link, whatever u_link.
    h.arrive(0, 20.0, 10.0, 0.99, 0.0);
    assert_eq!(h.step(2, [0, NONE, NONE]), 1.0);
}

#[test]
fn masked_and_invalid_actions_drop_the_task() {
    let mut h = Hand::new(8);
    // Fill node 1's queue to max_queue = 2 with two long local tasks.
    h.arrive(1, 1.0, 1000.0, 0.0, 0.0);
    h.step(0, [NONE, 1, NONE]);
    h.arrive(1, 1.0, 1000.0, 0.0, 0.0);
    h.step(1, [NONE, 1, NONE]);
    assert_eq!(h.queue(1).len(), 2);
    // The mask of node 0 with a task: itself and node 2 allowed, node 1 masked, no "no task".
    h.arrive(0, 1.0, 1.0, 0.0, 0.0);
    let mut obs = vec![0.0; 14];
    let mut mask = vec![0; 4];
    h.p.slot = 2;
    observe_one(&h.p, 0, &h.node, &h.link, &h.arr_u, &h.arr_f, &h.pool_u, &h.xq, &mut obs, &mut mask);
    assert_eq!(mask, vec![1, 0, 1, 0]);
    // Node 1 may still keep its own task (a node is never masked for itself).
    let mut m1 = vec![0; 4];
    h.arrive(1, 1.0, 1.0, 0.0, 0.0);
    observe_one(&h.p, 1, &h.node, &h.link, &h.arr_u, &h.arr_f, &h.pool_u, &h.xq, &mut obs, &mut m1);
    assert_eq!(m1, vec![1, 1, 1, 0]);
    // Sending to the masked node: dropped and counted invalid; "no task" with a task too.
    assert_eq!(h.step(2, [1, NONE, NONE]), -2.0);
    assert_eq!(h.task(0, 2).0, state::DROPPED);
    assert_eq!(h.task(1, 2).0, state::DROPPED);
    assert_eq!((h.su[2], h.su[4]), (2, 2));
}

#[test]
fn observation_is_normalized_with_one_hot_index() {
    let mut h = Hand::new(4);
    h.p.lambda_norm = 1.0;
    h.p.alpha_norm = 0.1;
    h.p.f_norm = 40.0;
    h.p.r_norm = 40.0;
    h.p.s_norm = 100.0;
    h.p.c_norm = 1000.0;
    h.node = vec![0.5, 10.0, 0.05, 0.0, 20.0, 0.0, 0.0, 10.0, 0.0];
    // One task of node 2 being sent to node 1 (a receiving queue of node 1).
    h.arrive(2, 100.0, 1.0, 0.0, 0.0);
    h.step(0, [NONE, NONE, 1]);
    h.arrive(1, 50.0, 250.0, 0.0, 0.0);
    h.p.slot = 1;
    let mut obs = vec![0.0; 14];
    let mut mask = vec![0; 4];
    observe_one(&h.p, 1, &h.node, &h.link, &h.arr_u, &h.arr_f, &h.pool_u, &h.xq, &mut obs, &mut mask);
    #[rustfmt::skip]
    let want = [
        0.0, 0.0, 0.5, 0.0,       // λ_1/1, α_1/0.1, F_1/40, l_1/(N·W)
        0.0, 0.25,                 // l^r_10 / W, l^r_12 / W (one task of node 2 in flight)
        0.25, 0.25,                // r_10/40, r_12/40
        0.5, 0.25, 1.0,            // s/100, c/1000, d/d_max
        0.0, 1.0, 0.0,             // one-hot index 1
    ];
    assert_eq!(obs, want);
    assert_eq!(mask, vec![1, 1, 1, 0]);
    // Without a task: zeros for the task and only "no task" allowed.
    h.arr_u[1] = 0;
    observe_one(&h.p, 1, &h.node, &h.link, &h.arr_u, &h.arr_f, &h.pool_u, &h.xq, &mut obs, &mut mask);
    assert_eq!(&obs[8..11], &[0.0, 0.0, 0.0]);
    assert_eq!(mask, vec![0, 0, 0, 1]);
}

/// A random valid configuration number `k`.
fn random_config(k: u32) -> (CoopConfig, usize) {
    let w = |e: u32| rng::philox4x32_10([k, e, 0, 99], [1, 2]);
    let u = |e: u32, i: usize| rng::uniform(w(e)[i]) as f64;
    let n = 1 + rng::uniform_index(w(0)[0], 7) as usize;
    let d = 1 + rng::uniform_index(w(0)[1], 10);
    let lo = u(1, 0) * 0.5;
    let cfg = CoopConfig {
        n_nodes: n,
        slot_s: 0.5,
        horizon: 4 + rng::uniform_index(w(0)[2], 12) as usize,
        deadline_s: 0.5 * d as f64,
        arrival_prob_min: lo,
        arrival_prob_max: lo + u(1, 1) * (1.0 - lo),
        task_bits_min: 1e6,
        task_bits_max: 1e6 + u(1, 2) * 6e7,
        intensity_min: 100.0,
        intensity_max: 100.0 + 2000.0 * u(1, 3),
        node_failure_max: 0.5 * u(2, 0),
        link_failure_max: 0.5 * u(2, 1),
        max_queue: 1 + rng::uniform_index(w(0)[3], 5),
        ..Default::default()
    };
    (cfg, 1 + rng::uniform_index(w(3)[0], 3) as usize)
}

/// Every slot: tasks and bits are conserved, queues hold exactly the queued tasks, every task
/// gets exactly one outcome, rewards count the outcomes; at the end every task is resolved.
#[test]
fn invariants_hold_on_random_configurations() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let (mut episodes, mut invalid) = (0, 0u64);
    for k in 0..2000u32 {
        let (cfg, b) = random_config(k);
        let mut env = CoopEnv::new(be.clone(), &cfg, b, k as u64).unwrap();
        let (n, w) = (cfg.n_nodes, cfg.deadline_slots() as usize);
        let xs = 1 + n * w;
        // Per instance: (origin, arrival slot) → outcome.
        let mut outcome: Vec<BTreeMap<(usize, u32), u32>> = vec![BTreeMap::new(); b];
        let mut prev = env.stats().unwrap();
        let policy = k % 5; // 0..2 heuristics, 3 random valid host actions, 4 arbitrary device actions
        while !env.done() {
            let t = env.slot();
            if policy < 3 {
                env.policy(Heuristic::ALL[policy as usize]).unwrap();
                env.step_device().unwrap();
            } else if policy == 4 {
                // Out of range, masked and "no task" with a task: dropped and counted, never lost.
                let act: Vec<u32> = (0..b * n)
                    .map(|q| rng::uniform_index(rng::philox4x32_10([q as u32, t, k, 6], [3, 4])[0], n as u32 + 3))
                    .collect();
                be.write(&env.act, &act).unwrap();
                env.step_device().unwrap();
            } else {
                env.observe().unwrap();
                let mask = be.download(&env.mask).unwrap();
                let act: Vec<u32> = (0..b * n)
                    .map(|q| {
                        let m = &mask[q * (n + 1)..(q + 1) * (n + 1)];
                        let ok: Vec<u32> = (0..=n as u32).filter(|&a| m[a as usize] == 1).collect();
                        ok[rng::uniform_index(rng::philox4x32_10([q as u32, t, k, 5], [3, 4])[0], ok.len() as u32)
                            as usize]
                    })
                    .collect();
                env.step(&act).unwrap();
            }
            let stats = env.stats().unwrap();
            let reward = env.last_reward().unwrap();
            let pu = be.download(&env.pool_u).unwrap();
            let pf: Vec<f32> = backend::download_f32(&*be, &env.pool_f).unwrap();
            let xq = be.download(&env.xq).unwrap();
            for bi in 0..b {
                let s = &stats[bi];
                let (mut alive, mut alive_bits) = (0u32, 0f64);
                let mut queued = BTreeSet::new();
                for e in 0..n * w {
                    let g = (bi * n * w + e) * POOL_U;
                    let (st, t_arr, t_end) = (pu[g] & 0xff, pu[g + 2], pu[g + 3]);
                    match st {
                        state::SENDING | state::QUEUED => {
                            alive += 1;
                            alive_bits += pf[(bi * n * w + e) * POOL_F] as f64;
                            assert!(t_arr + w as u32 > t, "cfg {k}: a live task outlived its deadline");
                            if st == state::QUEUED {
                                queued.insert(e);
                            }
                        }
                        state::SUCCESS | state::DROPPED | state::FAILED if t_end == t => {
                            let key = (e / w, t_arr);
                            assert!(outcome[bi].insert(key, st).is_none(), "cfg {k}: task {key:?} resolved twice");
                            assert!(t_end < t_arr + w as u32, "cfg {k}: resolved after its deadline");
                        }
                        _ => {}
                    }
                }
                assert_eq!(s.arrivals, s.success + s.dropped + s.failed + alive, "cfg {k}: task conservation");
                let (bin, bout) = (s.bits[0] as f64, (s.bits[1] + s.bits[2] + s.bits[3]) as f64);
                assert!(
                    (bin - bout - alive_bits).abs() <= 1e-5 * bin.max(1.0),
                    "cfg {k}: bits {bin} vs {bout} + {alive_bits}"
                );
                // Queues hold every queued task once, and nothing else.
                let mut inq = BTreeSet::new();
                for j in 0..n {
                    let base = (bi * n + j) * xs;
                    for h in 0..xq[base] as usize {
                        let e = xq[base + 1 + h] as usize;
                        assert!(inq.insert(e), "cfg {k}: task twice in the queues");
                        assert_eq!(pu[(bi * n * w + e) * POOL_U + 1] as usize, j, "cfg {k}: queued at its target");
                    }
                }
                assert_eq!(inq, queued, "cfg {k}: execution queues vs queued tasks");
                let p = &prev[bi];
                let d = |a: u32, b: u32| a as f32 - b as f32;
                assert_eq!(reward[bi], d(s.success, p.success) - d(s.dropped, p.dropped) - d(s.failed, p.failed));
                if policy < 4 {
                    assert_eq!(s.invalid, 0, "cfg {k}: valid actions only");
                }
            }
            prev = stats;
        }
        for (bi, s) in prev.iter().enumerate() {
            assert_eq!(s.arrivals, s.success + s.dropped + s.failed, "cfg {k}: every task resolved at the end");
            assert_eq!(outcome[bi].len() as u32, s.arrivals);
        }
        episodes += 1;
        invalid += prev.iter().map(|s| s.invalid as u64).sum::<u64>();
    }
    assert_eq!(episodes, 2000);
    assert!(invalid > 1000, "the arbitrary actions exercised the refusal path ({invalid})");
}

#[test]
fn heuristics_are_deterministic_and_differ() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let cfg = CoopConfig { n_nodes: 10, horizon: 40, ..Default::default() };
    let mut rates = vec![];
    for h in Heuristic::ALL {
        let mut env = CoopEnv::new(be.clone(), &cfg, 8, 3).unwrap();
        let a = env.run_episode(0, h).unwrap();
        let b = env.run_episode(0, h).unwrap();
        assert_eq!(a, b, "{h:?}: same seed and episode, same outcome");
        let (s, d): (u32, u32) = a.iter().fold((0, 0), |(s, d), x| (s + x.success, d + x.arrivals));
        assert!(a.iter().all(|x| x.invalid == 0));
        rates.push(s as f64 / d as f64);
        if h == Heuristic::Rda {
            // RDA offloads only from full queues; Random offloads most tasks.
            let off: u32 = a.iter().map(|x| x.offloaded).sum();
            assert!((off as f64) < 0.5 * d as f64, "RDA offloaded {off} of {d}");
        }
    }
    eprintln!("success rates random, ratc, rda: {rates:?}");
    assert!(rates[0] != rates[1] && rates[1] != rates[2], "{rates:?}");
}

#[test]
fn host_actions_are_checked() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let cfg = CoopConfig { n_nodes: 3, ..Default::default() };
    let mut env = CoopEnv::new(be, &cfg, 2, 1).unwrap();
    assert!(matches!(env.step(&[0; 5]), Err(Error::Shape { .. })));
    match env.step(&[4; 6]) {
        Err(Error::Input { field, index: 0, value, .. }) => {
            assert_eq!((field.as_str(), value.as_str()), ("coop actions", "4"))
        }
        other => panic!("{other:?}"),
    }
    let bad = CoopConfig { deadline_s: 0.1, ..cfg.clone() };
    assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "coop.deadline_s"));
    let bad = CoopConfig { arrival_prob_max: 1.5, ..cfg.clone() };
    assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "coop.arrival_prob_max"));
    let bad = CoopConfig { rate_min_bps: 5e8, ..cfg.clone() };
    assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "coop.rate_max_bps"));
    let bad = CoopConfig { cores: vec![], ..cfg };
    assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "coop.cores"));
}

#[test]
fn bad_kernel_params_are_refused_on_the_cpu() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let cfg = CoopConfig { n_nodes: 3, ..Default::default() };
    let env = CoopEnv::new(be.clone(), &cfg, 1, 1).unwrap();
    for (w, n_cores) in [(0u32, 7u32), (33, 7), (8, 0), (8, 9)] {
        let mut p = env.params();
        p.w = w;
        p.n_cores = n_cores;
        let bufs = [&env.node, &env.link, &env.arr_u, &env.arr_f, &env.pool_u, &env.pool_f, &env.xq, &env.act];
        match be.launch(&COOP_POLICY, bytemuck::bytes_of(&p), 3, &bufs) {
            Err(Error::Input { field, .. }) => assert_eq!(field, "coop_policy params"),
            Err(e) => assert!(matches!(e, Error::Shape { .. }), "{e}"),
            Ok(()) => panic!("w = {w}, n_cores = {n_cores} accepted"),
        }
    }
}

fn small_log(h: Heuristic) -> OfflineDataset {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let cfg = CoopConfig { n_nodes: 4, horizon: 6, ..Default::default() };
    let mut env = CoopEnv::new(be, &cfg, 3, 11).unwrap();
    let (ds, stats) = collect(&mut env, h, 0, 2, 11).unwrap();
    let slots = cfg.episode_slots() as usize;
    assert_eq!(ds.len(), 2 * slots * 3 * 4);
    // Team rewards of the log add up to the outcomes (each row repeats its instance's reward
    // for every node).
    let total: f32 = ds.reward.iter().sum::<f32>() / 4.0;
    let want: i64 = stats.iter().flatten().map(|s| s.success as i64 - s.dropped as i64 - s.failed as i64).sum();
    assert_eq!(total as i64, want);
    assert_eq!(ds.done.iter().sum::<u32>() as usize, 2 * 3 * 4);
    ds
}

#[test]
fn offline_dataset_round_trips_bit_exactly() {
    let dir = std::env::temp_dir().join(format!("mecrl-coop-ds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for h in Heuristic::ALL {
        let ds = small_log(h);
        let path = dir.join(format!("{}.bin", h.name()));
        ds.write(&path).unwrap();
        let back = OfflineDataset::read(&path).unwrap();
        assert_eq!(back.to_bytes(), ds.to_bytes());
        assert_eq!(back.source, Some(h));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.obs), bits(&ds.obs));
        assert_eq!(bits(&back.next_obs), bits(&ds.next_obs));
        assert_eq!((&back.action, &back.done, &back.mask), (&ds.action, &ds.done, &ds.mask));
        let rows: Vec<_> = back.iter().collect();
        assert_eq!(rows.len(), ds.len());
        let last = back.get(ds.len() - 1).unwrap();
        assert!(last.done && last.mask[last.action as usize] == 1 && back.get(ds.len()).is_none());
        assert_eq!(rows[7].obs, &ds.obs[7 * ds.obs_dim as usize..8 * ds.obs_dim as usize]);
        // next_obs of a non-final slot is the obs of the following slot (same instance, node).
        let (od, rows_per_slot) = (ds.obs_dim as usize, 3 * 4);
        assert_eq!(ds.next_obs[..rows_per_slot * od], ds.obs[rows_per_slot * od..2 * rows_per_slot * od]);
    }
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp")));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn parse_err(bytes: &[u8], path: &Path) -> String {
    match OfflineDataset::from_bytes(bytes, path) {
        Err(Error::Parse { path: p, why, .. }) => {
            assert_eq!(p, path);
            why
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn offline_dataset_rejects_bad_files() {
    let ds = small_log(Heuristic::Ratc);
    let good = ds.to_bytes();
    let path = Path::new("log.bin");
    // Corrupt one byte of the arrays: checksum.
    let mut b = good.clone();
    b[100] ^= 0x40;
    assert!(parse_err(&b, path).contains("checksum mismatch"));
    // Truncated, in the arrays and in the header.
    assert!(parse_err(&good[..good.len() - 9], path).contains("truncated"));
    assert!(parse_err(&good[..20], path).contains("truncated"));
    // Trailing garbage.
    let mut b = good.clone();
    b.extend_from_slice(&[0; 4]);
    assert!(parse_err(&b, path).contains("trailing"));
    // Wrong version (checksum fixed up so only the version is wrong).
    let mut b = good.clone();
    b[8] = 2;
    let body = b.len() - 4;
    let c = mecrl::env::coop::dataset::crc32(&b[..body]);
    b[body..].copy_from_slice(&c.to_le_bytes());
    assert!(parse_err(&b, path).contains("unsupported format version 2"));
    // Wrong magic.
    let mut b = good.clone();
    b[0] = b'X';
    assert!(parse_err(&b, path).contains("bad magic"));
    // An action outside its mask, with a valid checksum: a semantic error naming the row.
    let mut bad = ds.clone();
    let row = bad.mask.chunks(bad.n_actions as usize).position(|m| m[0] == 0).unwrap();
    bad.action[row] = 0;
    let mut b = bad.to_bytes();
    let body = b.len() - 4;
    let c = mecrl::env::coop::dataset::crc32(&b[..body]);
    b[body..].copy_from_slice(&c.to_le_bytes());
    assert!(parse_err(&b, path).contains(&format!("row {row}: action 0 is not allowed")));
    // A missing file: an I/O error naming it.
    match OfflineDataset::read(Path::new("/nonexistent/coop.bin")) {
        Err(Error::Io { path, .. }) => assert_eq!(path, Path::new("/nonexistent/coop.bin")),
        other => panic!("{other:?}"),
    }
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-coop-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `mecrl run configs/coop.toml` (cut down) writes a run directory with one row per setting and
/// method; `mecrl coop log` writes a data set the library reads back; bad input is refused.
#[test]
fn cli_run_and_log() {
    let d = tmpdir("cli");
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/coop.toml")).unwrap();
    let small = shipped
        .replace("batch = 10", "batch = 2")
        .replace("horizon = 100", "horizon = 10")
        .replace("backend = \"auto\"", "backend = \"cpu\"");
    assert_ne!(small, shipped);
    let cfg = d.join("coop.toml");
    std::fs::write(&cfg, &small).unwrap();
    let out = d.join("runs");
    let mecrl = || std::process::Command::new(env!("CARGO_BIN_EXE_mecrl"));
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    for label in ["task_bits_max", "arrival_prob_max", "node_failure_max", "nodes", "ratc", "rda", "random"] {
        assert!(stdout.contains(label), "table shows {label}:\n{stdout}");
    }
    let csv = std::fs::read_to_string(out.join("coop").join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + (4 + 5 + 5 + 5) * 3, "{csv}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("coop").join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["system"], "coop");

    let file = d.join("ratc.bin");
    let o = mecrl()
        .args(["coop", "log", "--method", "ratc", "--batch", "2", "--episodes", "2", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ds = OfflineDataset::read(&file).unwrap();
    assert_eq!((ds.n_nodes, ds.source), (20, Some(Heuristic::Ratc)));
    assert_eq!(ds.len(), 2 * (10 + 8 - 1) * 2 * 20);

    for (args, must) in [
        (vec!["coop", "log", "--method", "greedy", "--out", "x.bin"], "greedy"),
        (vec!["coop", "log", "--method", "rda", "--nodes", "0", "--out", "x.bin"], "coop.n_nodes"),
    ] {
        let o = mecrl().args(&args).current_dir(&d).output().unwrap();
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains(must), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = mecrl()
        .args([
            "bench",
            "coop",
            "--backends",
            "cpu",
            "--batch",
            "4",
            "--nodes",
            "5",
            "--repeats",
            "1",
            "--no-reference",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && stdout.contains("mecrl cpu (heuristic + step)"), "{stdout}");
    std::fs::write(&cfg, "system = \"coop\"\n[coop]\ndeadline_s = 100.0\n").unwrap();
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(d.join("bad")).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("coop.deadline_s"));
    std::fs::remove_dir_all(&d).unwrap();
}

/// On a driver with a loop budget (lavapipe) a config whose loops would be cut short is refused.
#[cfg(feature = "wgpu")]
#[test]
fn lavapipe_loop_budget_is_checked() {
    let Ok(be) = backend::create(BackendKind::Wgpu) else {
        assert!(std::env::var("MECRL_REQUIRE_WGPU").as_deref() != Ok("1"), "wgpu required");
        return;
    };
    if be.max_loop_iterations().is_none() {
        return;
    }
    let cfg = CoopConfig { n_nodes: 200, ..Default::default() };
    match CoopEnv::new(be.clone(), &cfg, 1, 1) {
        Err(Error::Config { field, .. }) => assert_eq!(field, "coop.n_nodes"),
        other => panic!("{:?}", other.err()),
    }
    assert!(CoopEnv::new(be, &CoopConfig { n_nodes: 100, ..Default::default() }, 1, 1).is_ok());
}

#[test]
fn a_fixed_network_is_the_same_for_every_instance_and_episode() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let net = |fixed: bool, episode: u32| {
        let cfg = CoopConfig { n_nodes: 5, horizon: 4, fixed_network: fixed, ..CoopConfig::default() };
        let mut env = CoopEnv::new(be.clone(), &cfg, 3, 9).unwrap();
        env.reset(episode).unwrap();
        let (node, link) = (be.download(&env.node).unwrap(), be.download(&env.link).unwrap());
        let (wn, wl) = (node.len() / 3, link.len() / 3);
        let arrivals = be.download(&env.arr_u).unwrap();
        (
            (0..3)
                .map(|b| (node[b * wn..(b + 1) * wn].to_vec(), link[b * wl..(b + 1) * wl].to_vec()))
                .collect::<Vec<_>>(),
            arrivals,
        )
    };
    let (a, arr_a) = net(true, 0);
    let (b, arr_b) = net(true, 7);
    assert!(a.iter().all(|x| *x == a[0]), "instances share the network");
    assert_eq!(a, b, "episodes share the network");
    assert_ne!(arr_a, arr_b, "tasks still differ between episodes");
    let (c, _) = net(false, 0);
    assert_ne!(c[0], c[1], "without it each instance has its own network");
    assert_ne!(net(false, 7).0, c, "and each episode");
}
