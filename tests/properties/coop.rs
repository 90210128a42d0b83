//! `coop` (O2O-DRL; docs/coop.md "Time and queues", "Failures", "Observation, action, reward";
//! `src/env/coop/mod.rs` buffers): success + drop + failure + live = arrivals, in tasks and bits,
//! after every slot; the team reward; the deadline (eq. 8); the execution queues; every task
//! resolved by the end of the episode.

use super::*;
use mecrl::env::coop::contract::CoopBatchEnv;
use mecrl::env::coop::{state, CoopConfig, POOL_F, POOL_U};

pub fn cfg() -> impl Strategy<Value = (CoopConfig, usize)> {
    (
        (1usize..=8, 0.25f64..1.0, 1u32..=32, 0.0f64..0.9, 1usize..=24),
        (prop_oneof![Just(1.0f64), 0.0f64..=1.0], 0.0f64..=1.0),
        (1e6f64..3e7, 1.0f64..3.0, 200.0f64..2000.0, 1.0f64..2.0),
        (prop::collection::vec(1u32..=16, 1..=3), 1e9f64..4e9, 2e7f64..2e8, 1.0f64..3.0),
        (0.0f64..0.5, 0.0f64..0.5, 0.0f64..0.5, 0.0f64..0.5),
        (1u32..=4, any::<bool>(), 1usize..=2),
    )
        .prop_map(|(a, b, c, d, f, g)| {
            let (n_nodes, slot_s, dl, frac, horizon) = a;
            let (lam_lo, lam_span) = b;
            let (bits, bits_x, intensity, intensity_x) = c;
            let (cores, core_hz, rate, rate_x) = d;
            let (alpha, alpha_span, beta, beta_span) = f;
            let (max_queue, fixed_network, batch) = g;
            let cfg = CoopConfig {
                n_nodes,
                slot_s,
                horizon,
                deadline_s: (dl as f64 + frac) * slot_s,
                arrival_prob_min: lam_lo,
                arrival_prob_max: lam_lo + (1.0 - lam_lo) * lam_span,
                task_bits_min: bits,
                task_bits_max: bits * bits_x,
                intensity_min: intensity,
                intensity_max: intensity * intensity_x,
                cores,
                core_hz,
                rate_min_bps: rate,
                rate_max_bps: rate * rate_x,
                node_failure_min: alpha,
                node_failure_max: alpha + alpha_span,
                link_failure_min: beta,
                link_failure_max: beta + beta_span,
                max_queue,
                fixed_network,
            };
            (cfg, batch)
        })
}

/// One episode (T slots with arrivals, D − 1 draining) with valid random actions; after
/// every slot, per instance: arrivals = success + dropped + failed + live tasks (and the
/// same in bits), the arrivals counted are the tasks the nodes observed, the team reward is
/// Σ feedback of the outcomes counted in the slot (§IV-B3), failures are link or node
/// failures, no live task is past its deadline (eq. 8), every queued task is in exactly its
/// target's execution queue; at the end every task has its outcome.
pub fn run(cfg: &CoopConfig, batch: usize, seed: u64, raws: &[u32]) -> Result<(), TestCaseError> {
    prop_assert!(cfg.validate().is_ok(), "{:?}", cfg.validate());
    let be = cpu();
    let mut env = CoopBatchEnv::new(be.clone(), cfg, batch).unwrap();
    let spec = env.spec().clone();
    let out = EnvBuffers::new(&*be, &spec).unwrap();
    env.reset(seed, &out).unwrap();
    let (n, dd) = (cfg.n_nodes, cfg.deadline_slots());
    let w = dd as usize; // pool entries per node
    let slots = cfg.episode_slots() as usize;
    let mut prev = env.inner().stats().unwrap();
    for t in 0..slots {
        let mask = be.download(&out.mask).unwrap();
        let mut actions = vec![0u32; batch * n];
        let mut arrived = vec![0u32; batch];
        let mut offloaded = vec![0u32; batch];
        for k in 0..batch * n {
            let row = &mask[k * (n + 1)..(k + 1) * (n + 1)];
            let has = row[n] == 0;
            prop_assert!(has || row[..n].iter().all(|&x| x == 0), "slot {t} node {k}: mask {row:?}");
            prop_assert!(!has || row[k % n] == 1, "slot {t} node {k}: a node may always keep its task");
            prop_assert!(!has || t < cfg.horizon, "slot {t}: an arrival in the draining slots");
            actions[k] = pick(row, raws[(t * batch * n + k) % raws.len()])?;
            arrived[k / n] += has as u32;
            offloaded[k / n] += (has && actions[k] as usize != k % n) as u32;
        }
        env.step_host(&actions, &out).unwrap();
        let now = env.inner().slot();
        let stats = env.inner().stats().unwrap();
        let reward = download_f32(&*be, &out.reward).unwrap();
        let pool_u = be.download(&env.inner().pool_u).unwrap();
        let pool_f = download_f32(&*be, &env.inner().pool_f).unwrap();
        let xq = be.download(&env.inner().xq).unwrap();
        for g in 0..batch {
            let (s, p) = (&stats[g], &prev[g]);
            prop_assert_eq!(s.arrivals - p.arrivals, arrived[g], "slot {} instance {}: arrivals", t, g);
            prop_assert_eq!(s.offloaded - p.offloaded, offloaded[g], "slot {} instance {}: offloaded", t, g);
            prop_assert_eq!(s.invalid, 0, "valid actions are never invalid");
            prop_assert_eq!(s.failed, s.fail_link + s.fail_node, "{:?}", s);
            let feedback =
                (s.success - p.success) as f32 - (s.dropped - p.dropped) as f32 - (s.failed - p.failed) as f32;
            prop_assert_eq!(reward[g], feedback, "slot {} instance {}: team reward", t, g);
            let entries = n * w;
            let (mut live, mut live_bits, mut queued) = (0u32, 0.0f64, vec![0u32; n]);
            for k in 0..entries {
                let u = &pool_u[(g * entries + k) * POOL_U..(g * entries + k + 1) * POOL_U];
                let st = u[0] & 0xff;
                if st == state::SUCCESS || st == state::DROPPED || st == state::FAILED {
                    // resolved by the end of slot t_a + D − 1 (eq. 8: T_i ≤ d)
                    prop_assert!(
                        u[3] >= u[2] && u[3] - u[2] < dd,
                        "slot {t}: resolved at {} after arrival {}",
                        u[3],
                        u[2]
                    );
                }
                if st == state::SENDING || st == state::QUEUED {
                    live += 1;
                    live_bits += pool_f[(g * entries + k) * POOL_F] as f64;
                    prop_assert!(now - u[2] < dd, "slot {t}: a live task of slot {} past D = {dd}", u[2]);
                    prop_assert!((u[1] as usize) < n, "target {}", u[1]);
                    if st == state::QUEUED {
                        queued[u[1] as usize] += 1;
                    }
                }
            }
            prop_assert_eq!(
                s.arrivals,
                s.success + s.dropped + s.failed + live,
                "slot {} instance {}: arrivals = success + dropped + failed + live ({:?})",
                t,
                g,
                s
            );
            let [b_in, b_ok, b_drop, b_fail] = s.bits.map(|x| x as f64);
            // f32 running sums: each within (terms)·2^−24 of the exact sum (two of them here)
            let rel = 2.0 * (s.arrivals as f64 + 1.0) * f32::EPSILON as f64 / 2.0;
            prop_assert!(
                near(b_ok + b_drop + b_fail + live_bits, b_in, rel, b_in, 1.0),
                "slot {t} instance {g}: bits in {b_in} vs out {} + live {live_bits}",
                b_ok + b_drop + b_fail
            );
            let xs = 1 + entries;
            let mut seen = vec![false; entries];
            for j in 0..n {
                let q = &xq[(g * n + j) * xs..(g * n + j + 1) * xs];
                prop_assert_eq!(q[0], queued[j], "slot {} instance {}: length of node {}'s queue", t, g, j);
                for &k in &q[1..1 + q[0] as usize] {
                    let k = k as usize;
                    prop_assert!(k < entries && !seen[k], "slot {t}: pool entry {k} twice or out of range");
                    seen[k] = true;
                    let u = &pool_u[(g * entries + k) * POOL_U..];
                    prop_assert!(u[0] & 0xff == state::QUEUED && u[1] as usize == j, "entry {k} in queue {j}: {u:?}");
                }
            }
            if now as usize == slots {
                prop_assert_eq!(live, 0, "instance {}: tasks without an outcome at the end", g);
            }
        }
        prev = stats;
    }
    Ok(())
}
