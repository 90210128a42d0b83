//! `crowd`: hand-worked single-cell slots, the heuristics on a hand-made observation, and the
//! invariants (conservation over units and links, no negative backlog, every task counted once)
//! over whole episodes of every policy and case.

use std::sync::Arc;

use mecrl::backend::{create, Backend, BackendKind};
use mecrl::env::crowd::cpu::policy_user;
use mecrl::env::crowd::kernels::CROWD_OBSERVE;
use mecrl::env::crowd::{count, metric, Case, CrowdConfig, CrowdEnv, Policy};

fn cpu() -> Arc<dyn Backend> {
    create(BackendKind::Cpu).unwrap()
}

/// One cell (S = 1) of 3 MDs, K = 2, rate levels {0.5, 1}: units 0–2 MDs, 3 edge, 4 cloud;
/// links 0–2 wireless, 3 backbone. Targets: 0 local, 1–2 MDs, 3 edge, 4 cloud.
fn one_cell() -> CrowdConfig {
    CrowdConfig {
        n_servers: 1,
        clusters_per_cell: 1,
        cluster_sizes: Some(vec![3]),
        md_candidates: 2,
        rate_levels: vec![0.5, 1.0],
        ..CrowdConfig::default()
    }
}

fn close(a: f32, b: f64) -> bool {
    (a as f64 - b).abs() <= 1e-5 * b.abs().max(1.0)
}

#[test]
fn hand_worked_slot_in_one_cell() {
    let be = cpu();
    let mut env = CrowdEnv::new(be.clone(), &one_cell(), 1, 3).unwrap();
    assert_eq!((env.agents(), env.n_actions()), (3, 10));
    // state: Q = (1, 0, 0 | edge 5 | cloud 0) GHz·s, V = (5 Mbit, 0, 0 | backbone 2 Mbit)
    be.write(&env.q, bytemuck::cast_slice(&[1e9f32, 0.0, 0.0, 5e9, 0.0])).unwrap();
    be.write(&env.v, bytemuck::cast_slice(&[5e6f32, 0.0, 0.0, 2e6])).unwrap();
    be.write(&env.cap, bytemuck::cast_slice(&[2e9f32, 1e9, 1e9])).unwrap();
    // user 0: 1 task, s = 2, o = 1 MB; user 1: 2 tasks, s = 4, o = 2 MB; user 2: none
    be.write(&env.task, &[1, 2, 1, 2, 4, 2, 0, 0, 0]).unwrap();
    // user 0 → edge at level 0.5 (6 = 3·2 + 0); user 1 → MD 2 (slot 1) at level 1 (3 = 1·2 + 1)
    env.act(&[6, 3, 0]).unwrap();
    env.end_slot().unwrap();
    let out = env.f32s(&env.out).unwrap();
    // user 0: P = (5 + 2) / 25 = 0.28 s (5); x = 5 Mbps, T = 8 Mbit / 5 Mbps = 1.6 s; E = 1.88 (6)
    // cost = 0.5·1.88 + 0.5·2·2 = 2.94 (7)
    assert!(close(out[0], 1.88) && close(out[1], 2.94), "{out:?}");
    // user 1: P = 4 / 1 = 4 s; x = 10 Mbps, T = 16 / 10 = 1.6 s; E = 5.6; cost = 2.8 + 0.5·1·4 = 4.8
    assert!(close(out[2], 5.6) && close(out[3], 4.8), "{out:?}");
    assert_eq!(&out[4..6], &[0.0, 0.0]);
    let load = env.f32s(&env.load).unwrap();
    assert_eq!(&load[..5], &[0.0, 0.0, 4e9, 2e9, 0.0], "A_u");
    assert_eq!(&load[5..], &[5e6, 10e6, 10e6, 0.0], "Σx per link");
    // drift (13): link 0: 5·(5 − 10) = −25; backbone: 2·(0 − 100) = −200; others 0
    // reward = −(1·(2.94 + 4.8) − 225) = 217.26
    let slot = env.slot_metrics().unwrap();
    assert!(close(slot[metric::DRIFT], -225.0), "{slot:?}");
    assert!(close(slot[metric::REWARD], 217.26), "{slot:?}");
    assert!(close(slot[metric::COST], 7.74) && close(slot[metric::DELAY], 7.48));
    assert_eq!((slot[metric::DATA_MB], slot[metric::BUNDLES]), (3.0, 2.0));
    // (4): u0 1 − 2 → 0; u2 0 + 4 − 1 → 3; edge 5 + 2 − 25 → 0 ; (2): every V drains to 0
    assert_eq!(env.f32s(&env.q).unwrap(), vec![0.0, 0.0, 3e9, 0.0, 0.0]);
    assert_eq!(env.f32s(&env.v).unwrap(), vec![0.0; 4]);
    assert!(close(slot[metric::LOAD_MD], 1.0) && slot[metric::LOAD_EDGE] == 0.0);
    assert_eq!(slot[metric::SERVED_CYCLES], 1e9 + 1e9 + 7e9);
    assert_eq!(slot[metric::SERVED_BITS], 10e6 + 10e6 + 10e6 + 2e6);
    let c = env.counts().unwrap();
    assert_eq!((c[count::GENERATED], c[count::MD], c[count::EDGE], c[count::BUNDLES]), (3, 2, 1, 2));

    // shared capacity (1): users 0 and 1 both send 1 MB to MD 2 at full rate: link 2 carries
    // 20 Mbps > 10, each gets 5 Mbps → T = 1.6 s; V_2 grows by 10 Mbit (2)
    be.write(&env.q, bytemuck::cast_slice(&[0.0f32; 5])).unwrap();
    be.write(&env.task, &[1, 1, 1, 1, 1, 1, 0, 0, 0]).unwrap();
    env.act(&[2 * 2 + 1, 2 + 1, 0]).unwrap(); // user 0: slot 2 = MD 2; user 1: slot 1 = MD 2
    env.end_slot().unwrap();
    let out = env.f32s(&env.out).unwrap();
    // P: (0 + 1) / 1 = 1 s each (both see Q_2(t) = 0, (5)); E = 2.6
    assert!(close(out[0], 2.6) && close(out[2], 2.6), "{out:?}");
    assert_eq!(env.f32s(&env.v).unwrap(), vec![0.0, 0.0, 10e6, 0.0]);
    // Q_2 = 2 − 1 = 1 GHz·s
    assert_eq!(env.f32s(&env.q).unwrap()[2], 1e9);
}

#[test]
fn heuristics_on_a_hand_made_observation() {
    let cfg = one_cell();
    let topo = cfg.topology().unwrap();
    // K = 1, s = 2, o = 1 MB; per target (P̂, D, c̄ in Mbps)
    let row = [
        1.0f32, 2.0, 1.0, //
        4.0, 0.0, 0.0, // local: f′ = 0.5·4 = 2
        1.0, 0.0, 10.0, // MD 1: lv 1: 0.5·(1 + 0.8) + 0.5·1·2 = 1.9; lv 0.5: 2.3
        3.0, 0.0, 10.0, // MD 2: 0.5·3.8 + 1 = 2.9
        0.2, 0.5, 10.0, // edge: lv 1: 0.5·1.0 + 2 + 0.5·10 = 7.5; lv 0.5: 0.9 + 2 + 2.5 = 5.4
        0.05, 0.0, 10.0, // cloud: lv 1: 0.5·0.85 + 4 = 4.425
    ];
    let dpp = cfg.params(&topo, 1, 0, Policy::Dpp);
    let (a, f) = policy_user(&dpp, 0, 0, &row);
    assert_eq!(a, 2 + 1);
    assert!((f - 1.9).abs() < 1e-6, "{f}");
    // Greedy: least delay P̂ + o/x at full rate: cloud 0.85 < edge 1.0 < MD 1 1.8 < MD 2 < local
    let (a, f) = policy_user(&cfg.params(&topo, 1, 0, Policy::Greedy), 0, 0, &row);
    assert_eq!(a, 4 * 2 + 1);
    assert!((f - 4.425).abs() < 1e-6, "{f}");
    // Random: in range, its f′ is the value of the action drawn; draws cover every target
    let rp = cfg.params(&topo, 1, 0, Policy::Random);
    let mut seen = [false; 5];
    for i in 0..200 {
        let (a, _) = policy_user(&rp, 0, i, &row);
        assert!(a < 10);
        seen[(a / 2) as usize] = true;
    }
    assert!(seen.iter().all(|&s| s), "{seen:?}");
    // no task: local, cost 0
    let mut idle = row;
    idle[0] = 0.0;
    assert_eq!(policy_user(&dpp, 0, 0, &idle), (0, 0.0));
}

/// Conservation, non-negativity and accounting over an episode.
fn check_episode(cfg: &CrowdConfig, policy: Policy, slots: usize) {
    let be = cpu();
    let mut env = CrowdEnv::new(be.clone(), cfg, 2, 11).unwrap();
    let b = env.batch();
    let (mut in_c, mut served_c, mut in_b, mut served_b) = (vec![0f64; b], vec![0f64; b], vec![0f64; b], vec![0f64; b]);
    let mut generated = vec![0u64; b];
    let mut bundles = vec![0u64; b];
    let n = env.agents();
    for _ in 0..slots {
        env.step_policy(policy).unwrap();
        let task = be.download(&env.task).unwrap();
        let slot = env.slot_metrics().unwrap();
        let q = env.f32s(&env.q).unwrap();
        let v = env.f32s(&env.v).unwrap();
        assert!(q.iter().chain(&v).all(|&x| x >= 0.0 && x.is_finite()), "backlogs stay >= 0 and finite");
        let r = env.f32s(&env.reward).unwrap();
        assert!(r.iter().all(|x| x.is_finite()));
        for g in 0..b {
            let m = &slot[g * metric::WIDTH..(g + 1) * metric::WIDTH];
            in_c[g] += m[metric::IN_CYCLES] as f64;
            served_c[g] += m[metric::SERVED_CYCLES] as f64;
            in_b[g] += m[metric::IN_BITS] as f64;
            served_b[g] += m[metric::SERVED_BITS] as f64;
            for i in 0..n {
                let k = task[3 * (g * n + i)];
                generated[g] += k as u64;
                bundles[g] += (k > 0) as u64;
            }
        }
    }
    let q = env.f32s(&env.q).unwrap();
    let v = env.f32s(&env.v).unwrap();
    let c = env.counts().unwrap();
    let (u, l) = (q.len() / b, v.len() / b);
    for g in 0..b {
        // in = served + still queued, units and links
        let qs: f64 = q[g * u..(g + 1) * u].iter().map(|&x| x as f64).sum();
        let vs: f64 = v[g * l..(g + 1) * l].iter().map(|&x| x as f64).sum();
        assert!(in_c[g] > 0.0 && (in_c[g] - served_c[g] - qs).abs() <= 1e-4 * in_c[g], "{policy:?} units g{g}");
        if policy != Policy::Dpp || in_b[g] > 0.0 {
            assert!((in_b[g] - served_b[g] - vs).abs() <= 1e-4 * in_b[g].max(1.0), "{policy:?} links g{g}");
        }
        let row = &c[g * count::WIDTH..(g + 1) * count::WIDTH];
        assert_eq!(row[count::GENERATED] as u64, generated[g], "every generated task counted");
        assert_eq!(row[count::BUNDLES] as u64, bundles[g]);
        let placed = row[count::LOCAL] + row[count::MD] + row[count::EDGE] + row[count::CLOUD] + row[count::REFUSED];
        assert_eq!(placed, row[count::GENERATED], "each task placed exactly once");
        assert_eq!(row[count::REFUSED], 0);
        assert_eq!(row[count::SLOTS] as usize, slots);
    }
}

#[test]
fn invariants_over_episodes() {
    for case in Case::ALL {
        for policy in Policy::ALL {
            check_episode(&CrowdConfig::default().with_case(case), policy, 120);
        }
    }
    check_episode(&one_cell(), Policy::Random, 200);
}

#[test]
fn arrivals_follow_the_configured_process() {
    // every user has an event every 5..=20 slots with Poisson(λ1) tasks: over T slots the mean
    // tasks per user-slot is λ1 / E[gap] = 12 / 12.5 (case III)
    let be = cpu();
    let mut env = CrowdEnv::new(be.clone(), &CrowdConfig::default(), 4, 5).unwrap();
    let slots = 400;
    for _ in 0..slots {
        env.step_policy(Policy::Greedy).unwrap();
    }
    let c = env.counts().unwrap();
    let gen: u64 = (0..4).map(|g| c[g * count::WIDTH + count::GENERATED] as u64).sum();
    let rate = gen as f64 / (4 * env.agents() * slots) as f64;
    assert!((rate - 12.0 / 12.5).abs() < 0.05, "{rate}");
}

#[test]
fn bad_actions_are_refused_or_flagged() {
    let be = cpu();
    let mut env = CrowdEnv::new(be.clone(), &one_cell(), 1, 3).unwrap();
    let e = env.act(&[0, 10, 0]).unwrap_err().to_string();
    assert!(e.contains("action") && e.contains("10"), "{e}");
    assert!(env.act(&[0, 0]).is_err(), "wrong length");
    be.write(&env.task, &[1, 1, 1, 1, 1, 1, 0, 0, 0]).unwrap();
    be.write(&env.cap, bytemuck::cast_slice(&[1e9f32; 3])).unwrap();
    // a device action past A·R (written into the action buffer, as a policy kernel would)
    be.write(&env.action, &[99, 0, 0]).unwrap();
    env.end_slot().unwrap();
    assert!(env.f32s(&env.reward).unwrap()[0].is_nan());
    let c = env.counts().unwrap();
    assert_eq!((c[count::REFUSED], c[count::LOCAL], c[count::GENERATED]), (1, 1, 2));
    let out = env.f32s(&env.out).unwrap();
    assert!(out[0].is_nan() && out[2].is_finite());
}

#[test]
fn config_errors_name_the_field() {
    let bad = [
        (CrowdConfig { md_candidates: 10, ..CrowdConfig::default() }, "crowd.md_candidates"),
        (CrowdConfig { rate_levels: vec![], ..CrowdConfig::default() }, "crowd.rate_levels"),
        (CrowdConfig { rate_levels: vec![1.5], ..CrowdConfig::default() }, "crowd.rate_levels"),
        (CrowdConfig { alpha: 2.0, ..CrowdConfig::default() }, "crowd.alpha"),
        (CrowdConfig { idle_min: 0.0, ..CrowdConfig::default() }, "crowd.idle_min"),
        (CrowdConfig { cluster_sizes: Some(vec![5, 5]), ..CrowdConfig::default() }, "crowd.cluster_sizes"),
        (CrowdConfig { gap_min_slots: 0, ..CrowdConfig::default() }, "crowd.gap_max_slots"),
        (CrowdConfig { wired_bps: f64::NAN, ..CrowdConfig::default() }, "crowd.wired_bps"),
    ];
    for (cfg, field) in bad {
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
    let topo = CrowdConfig::default().topology().unwrap();
    assert_eq!(topo.cell_off.len(), 4);
    assert_eq!(topo.cluster_sizes.len(), 6);
    assert!(topo.cluster_sizes.iter().all(|&z| (5..=10).contains(&z)));
}

#[test]
fn lavapipe_loop_budget_is_refused_with_a_typed_error() {
    // Where the driver cuts long loops silently (lavapipe), an instance whose kernels would loop
    // past the budget is refused before anything runs; the paper's size is accepted.
    let be = match create(BackendKind::Wgpu) {
        Ok(be) => be,
        Err(e) => {
            assert!(std::env::var("MECRL_REQUIRE_WGPU").as_deref() != Ok("1"), "wgpu is required here: {e}");
            return;
        }
    };
    let Some(limit) = be.max_loop_iterations() else { return };
    let big = CrowdConfig { cluster_sizes: Some(vec![2000; 6]), ..CrowdConfig::default() };
    match CrowdEnv::new(be.clone(), &big, 1, 1) {
        Err(e) => assert!(e.to_string().contains("crowd.cluster_sizes") && e.to_string().contains(&limit.to_string())),
        Ok(_) => panic!("12,000 users must exceed a {limit}-iteration budget"),
    }
    assert!(CrowdEnv::new(be, &CrowdConfig::default(), 1, 1).is_ok());
}

#[test]
fn hand_worked_observation_in_one_cell() {
    let be = cpu();
    let env = CrowdEnv::new(be.clone(), &one_cell(), 1, 3).unwrap();
    be.write(&env.q, bytemuck::cast_slice(&[1e9f32, 0.0, 0.0, 5e9, 0.0])).unwrap();
    be.write(&env.v, bytemuck::cast_slice(&[5e6f32, 0.0, 0.0, 2e6])).unwrap();
    be.write(&env.cap, bytemuck::cast_slice(&[2e9f32, 1e9, 1e9])).unwrap();
    be.write(&env.task, &[1, 2, 1, 0, 0, 0, 0, 0, 0]).unwrap();
    be.launch(
        &CROWD_OBSERVE,
        bytemuck::bytes_of(env.params()),
        3,
        &[&env.cell_off, &env.task, &env.cap, &env.q, &env.v, &env.obs],
    )
    .unwrap();
    let obs = env.f32s(&env.obs).unwrap();
    let w = env.topology().obs_dim();
    assert_eq!(w, 3 + 3 * 5);
    // user 0: task (1, 2, 1); per target (P̂ (5), D (14), c̄ in Mbps):
    // local (1 + 2)/2 = 1.5; MD 1 and MD 2: 2/1 = 2, D = 5 Mbit / 10 Mbps = 0.5 (own wireless) + 0;
    // edge: (5 + 2)/25 = 0.28, D = 0.5; cloud: 2/200 = 0.01, D = 0.5 + 2/100 = 0.52
    let want = [1.0, 2.0, 1.0, 1.5, 0.0, 0.0, 2.0, 0.5, 10.0, 2.0, 0.5, 10.0, 0.28, 0.5, 10.0, 0.01, 0.52, 10.0];
    for (k, (&g, &x)) in obs[..w].iter().zip(&want).enumerate() {
        assert!(close(g, x), "obs[{k}] = {g}, want {x}");
    }
    // user 1 (no task): zeros for the task, its estimates with s = 0 (local: 0 / 1 GHz = 0)
    assert_eq!(&obs[w..w + 4], &[0.0, 0.0, 0.0, 0.0]);
}
