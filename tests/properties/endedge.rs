//! `endedge` (CRB-DRQN; docs/endedge.md "Queues", "State, action, reward"; `src/env/endedge/model.rs`):
//! every task counted once and resolved by its deadline, the slot reward of eq. (18)–(19), Q_e of
//! eq. (7) and Load(t) of eq. (15), checked after every slot of random episodes.

use super::*;
use mecrl::env::endedge::contract::EndedgeBatchEnv;
use mecrl::env::endedge::model::{kind, server, AT_NONE, KIND_EDGE, RES_DELAY, RES_DONE, RES_DROP};
use mecrl::env::endedge::{EndedgeConfig, Semantics};

pub fn cfg() -> impl Strategy<Value = (EndedgeConfig, usize)> {
    (
        (1usize..=12, 1usize..=40, 1usize..=40, 0.0f64..=1.0, 1u32..=31, 0.05f64..0.2),
        (1e9f64..4e9, 5e9f64..5e10, 5e6f64..3e7, 200.0f64..800.0),
        (prop_oneof![Just(1.0f64), Just(0.0), 0.0f64..1.0], 0.5f64..4.0, 0.1f64..1.0, 0usize..8),
        (
            proptest::option::of(0.5f64..5.0),
            proptest::option::of(-50.0f64..-1.0),
            1usize..=4,
            any::<bool>(),
            1usize..=2,
        ),
    )
        .prop_map(|(a, b, c, d)| {
            let (devices, servers, slots, tail, deadline_slots, slot_s) = a;
            let (f_device_hz, f_edge_hz, rate_bps, density_cycles_per_bit) = b;
            let (arrival_prob, size_min_mbit, size_step_mbit, levels) = c;
            let (rate, drop_reward, load_history, paper, batch) = d;
            let cfg = EndedgeConfig {
                devices,
                servers,
                slots,
                tail_slots: (tail * slots as f64).floor() as usize,
                deadline_slots,
                slot_s,
                f_device_hz,
                f_edge_hz,
                rate_bps,
                density_cycles_per_bit,
                arrival_prob,
                size_min_mbit,
                size_max_mbit: size_min_mbit + levels as f64 * size_step_mbit,
                size_step_mbit,
                arrival_rate_mbps: rate.filter(|_| arrival_prob > 0.0),
                drop_reward,
                load_history,
                semantics: if paper { Semantics::Paper } else { Semantics::Reference },
            };
            (cfg, batch)
        })
}

/// One episode with valid random actions; after every slot, per terminal: every arrival is
/// counted once (the observed η_d > 0), arrivals = finished + dropped + pending, a finished
/// task's delay is in 1..=τ slots, the reward is eq. (18)–(19) of the tasks resolved in the
/// slot, no pending task is past its deadline, Q_e counts the non-empty edge queues
/// (eq. 7) and Load(t) shifts by one row (eq. 15).
pub fn run(cfg: &EndedgeConfig, batch: usize, seed: u64, raws: &[u32]) -> Result<(), TestCaseError> {
    prop_assert!(cfg.validate().is_ok(), "{:?}", cfg.validate());
    let be = cpu();
    let mut env = EndedgeBatchEnv::new(be.clone(), cfg, batch).unwrap();
    let spec = env.spec().clone();
    let out = EnvBuffers::new(&*be, &spec).unwrap();
    env.reset(seed, &out).unwrap();
    let (d, e, tau, c) = (cfg.devices, cfg.servers, cfg.deadline_slots, cfg.load_history);
    let w = tau as usize + 1;
    let konst = cfg.drop_reward() as f32;
    let age = if cfg.semantics == Semantics::Paper { tau - 1 } else { tau };
    let mut prev_acc = vec![0u32; batch * d * 4];
    let mut prev_state = download_f32(&*be, &out.state).unwrap();
    prop_assert!(prev_state.iter().all(|&x| x == 0.0), "Load(0) is empty");
    for t in 0..cfg.slots {
        let obs = download_f32(&*be, &out.obs).unwrap();
        let mask = be.download(&out.mask).unwrap();
        let mut actions = vec![0u32; batch * d];
        for k in 0..batch * d {
            let row = &mask[k * (1 + e)..(k + 1) * (1 + e)];
            let eta = obs[k * (3 + e)];
            // the mask: every target with a task, only the no-op "local" without one
            let want: Vec<u32> = (0..=e).map(|a| (eta > 0.0 || a == 0) as u32).collect();
            prop_assert_eq!(row, &want[..], "slot {} terminal {}: mask with η = {}", t, k, eta);
            actions[k] = pick(row, raws[(t * batch * d + k) % raws.len()])?;
        }
        env.step_host(&actions, &out).unwrap();
        let now = env.inner().t;
        prop_assert_eq!(now as usize, t + 1);
        let words = env.inner().state_words().unwrap();
        let (m, size, rem, arr, at, result, acc) =
            (&words[0], &words[2], &words[3], &words[4], &words[5], &words[6], &words[8]);
        let (size, rem): (&[f32], &[f32]) = (bytemuck::cast_slice(size), bytemuck::cast_slice(rem));
        let reward = download_f32(&*be, &out.reward).unwrap();
        for k in 0..batch * d {
            let (a, p) = (&acc[4 * k..4 * k + 4], &prev_acc[4 * k..4 * k + 4]);
            let arrived = (obs[k * (3 + e)] > 0.0) as u32;
            prop_assert_eq!(a[0] - p[0], arrived, "slot {} terminal {}: arrivals counted", t, k);
            let ring = k * w..(k + 1) * w;
            let pending = at[ring.clone()].iter().filter(|&&x| x != AT_NONE).count() as u32;
            prop_assert!(pending as usize <= w);
            prop_assert_eq!(
                a[0],
                a[1] + a[2] + pending,
                "slot {} terminal {}: arrivals = finished + dropped + pending",
                t,
                k
            );
            let (done, delay, dropped) = (a[1] - p[1], a[3] - p[3], a[2] - p[2]);
            prop_assert!(
                done <= delay && delay <= tau * done,
                "slot {t} terminal {k}: {done} tasks finished with delays summing to {delay} (τ = {tau})"
            );
            let want = -(delay as f32) + konst * dropped as f32;
            prop_assert!(
                near(reward[k] as f64, want as f64, 1e-5, want as f64, 1e-4),
                "slot {t} terminal {k}: reward {} but resolved {done} (delays {delay}), dropped {dropped}",
                reward[k]
            );
            for x in ring {
                if at[x] != AT_NONE {
                    // resolved by the end of slot arrival + τ − 1 (`paper`), or popped and
                    // dropped one slot later when transmitted in its deadline slot (`reference`)
                    prop_assert!(now - arr[x] <= age, "slot {t}: a task of slot {} is past τ = {tau}", arr[x]);
                    prop_assert!(size[x] > 0.0 && rem[x] > 0.0 && rem[x] <= size[x], "{} of {}", rem[x], size[x]);
                } else if result[x] != 0 {
                    let r = result[x] & !RES_DELAY;
                    prop_assert!(r == RES_DONE || r == RES_DROP, "result word {:#x}", result[x]);
                    prop_assert!((1..=tau).contains(&(result[x] & RES_DELAY)), "result word {:#x}", result[x]);
                }
            }
        }
        for g in 0..batch {
            for s in 0..e {
                let busy = (0..d)
                    .filter(|&dd| {
                        let k = g * d + dd;
                        at[k * w..(k + 1) * w].iter().any(|&x| kind(x) == KIND_EDGE && server(x) as usize == s)
                    })
                    .count() as u32;
                prop_assert_eq!(m[g * e + s], busy, "slot {}: Q_{} of instance {}", t, s, g);
            }
        }
        if (now as usize) < cfg.slots {
            let state = download_f32(&*be, &out.state).unwrap();
            for g in 0..batch {
                let (new, old) = (&state[g * c * e..(g + 1) * c * e], &prev_state[g * c * e..(g + 1) * c * e]);
                prop_assert_eq!(&new[..(c - 1) * e], &old[e..], "slot {}: Load(t) shifts by one row", t);
                let last: Vec<f32> = m[g * e..(g + 1) * e].iter().map(|&x| x as f32).collect();
                prop_assert_eq!(&new[(c - 1) * e..], &last[..], "slot {}: Load(t)'s last row is Q", t);
            }
            prev_state = state;
        }
        prev_acc = acc.clone();
    }
    let s = env.inner().stats().unwrap();
    prop_assert_eq!(s.arrivals, s.finished + s.dropped + s.unfinished, "episode totals: {:?}", s);
    Ok(())
}
