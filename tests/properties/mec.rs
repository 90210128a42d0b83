//! `mec` (DIRS; docs/mec.md "Resource allocation", "Baselines"; /work/shared/SPEC.md `mec`): the
//! exact allocation of eq. (13) within the constraints (6)–(7) and optimal for its decision; the
//! heuristics' capacity rule; the contract's reward and objective column.

use super::*;
use mecrl::env::mec::contract::MecBatchEnv;
use mecrl::env::mec::{Heuristic, MecConfig, RewardKind};

pub fn cfg() -> impl Strategy<Value = (MecConfig, usize)> {
    (
        (1usize..=12, 1usize..=4, 1.0f64..1000.0, 1e-6f64..1.0, 1e4f64..1e8, 1e-16f64..1e-9),
        (1e5f64..2e6, proptest::option::of(1.0f64..3.0), 1e8f64..5e9, proptest::option::of(1.0f64..3.0)),
        (5e8f64..2e9, 1e10f64..1e11, 1e-2f64..10.0, 1e-28f64..5e-27, 2.0f64..3.0),
        (prop_oneof![Just(0.0f64), 0.0f64..1.0], prop_oneof![Just(0.0f64), 0.0f64..1.0], 0.5f64..2.0, 0.05f64..2.0),
        (any::<bool>(), 1usize..=3),
    )
        .prop_map(|(a, b, c, d, f)| {
            let (n_iotd, n_mec, area_m, beta0, bandwidth_hz, noise_psd) = a;
            let (task_bits, bits_x, task_cycles, cycles_x) = b;
            let (f_local_hz, f_mec_max_hz, p_max_w, kappa, nu) = c;
            let (phi_t, phi_e, d2_min_m2, capacity_horizon_s) = d;
            let (negative, batch) = f;
            let cfg = MecConfig {
                profile: Default::default(),
                n_iotd,
                n_mec,
                area_m,
                beta0,
                bandwidth_hz,
                noise_psd,
                task_bits,
                task_bits_max: bits_x.map(|x| x * task_bits),
                task_cycles,
                task_cycles_max: cycles_x.map(|x| x * task_cycles),
                f_local_hz,
                f_mec_max_hz,
                p_max_w,
                kappa,
                nu,
                phi_t: if phi_t + phi_e > 0.0 { phi_t } else { 0.5 },
                phi_e,
                d2_min_m2,
                capacity_horizon_s,
                reward: if negative { RewardKind::NegativeMean } else { RewardKind::Inverse },
            };
            (cfg, batch)
        })
}

/// Draws for one case: decisions, weights of the alternative CPU split, fractions of the
/// MEC capacity it uses and of P_max for the alternative powers, and power probes.
#[derive(Clone, Debug)]
pub struct Draws {
    pub decisions: Vec<u32>,
    pub weights: Vec<f64>,
    pub used: Vec<f64>,
    pub powers: Vec<f64>,
    pub probes: Vec<f64>,
}

pub fn draws() -> impl Strategy<Value = Draws> {
    (
        prop::collection::vec(any::<u32>(), 64),
        prop::collection::vec(1e-3f64..=1.0, 64),
        prop::collection::vec(1e-3f64..=1.0, 16),
        prop::collection::vec(1e-3f64..=1.0, 64),
        prop::collection::vec(1e-6f64..=1.0, 8),
    )
        .prop_map(|(decisions, weights, used, powers, probes)| Draws { decisions, weights, used, powers, probes })
}

/// Σ Φ's transmission part (φ_T + φ_E p)·D / r(p), eq. (2), (13), in f64.
fn tx(cfg: &MecConfig, h: f64, d: f64, p: f64) -> f64 {
    // ln_1p: at a tiny SNR, log2(1 + x) would lose the digits of x
    let r = cfg.bandwidth_hz * (p * h / (cfg.noise_psd * cfg.bandwidth_hz)).ln_1p() / std::f64::consts::LN_2;
    (cfg.phi_t + cfg.phi_e * p) * d / r
}

/// For each channel state of an episode and each instance: every power of the exact
/// allocation is in (0, P_max] (eq. 7) and minimizes the transmission cost on that interval
/// (eq. 13, to 1e-5 against a grid and random probes); the cost table is eq. (8)–(10) at
/// those powers; for random and heuristic decisions the KKT CPU shares are positive and sum
/// to at most F_max per MEC (eq. 6), the exact objective is the closed form and equals that
/// allocation evaluated as an explicit (f, p), and no feasible (f, p) does better; Greedy
/// and Random stay within each MEC's capacity C, Greedy sends only to the nearest MEC and
/// keeps a task local only when it no longer fits; the contract's reward and `objective`
/// column are those of the decision.
pub fn run(cfg: &MecConfig, batch: usize, seed: u64, steps: u32, dr: &Draws) -> Result<(), TestCaseError> {
    prop_assert!(cfg.validate().is_ok(), "{:?}", cfg.validate());
    let be = cpu();
    let mut env = MecBatchEnv::new(be.clone(), cfg, batch, steps).unwrap();
    let out = EnvBuffers::new(&*be, env.spec()).unwrap();
    env.reset(seed, &out).unwrap();
    let (n, mm) = (cfg.n_iotd, cfg.n_mec);
    let (p_max, f_max) = (cfg.p_max_w as f32 as f64, cfg.f_mec_max_hz);
    let cap_c = cfg.f_mec_max_hz * cfg.capacity_horizon_s;
    for step in 0..steps as usize {
        let e = env.inner();
        let h = download_f32(&*be, &e.h).unwrap();
        let po = download_f32(&*be, &e.p_opt).unwrap();
        let cost = download_f32(&*be, &e.cost).unwrap();
        let td = download_f32(&*be, &e.task_d).unwrap();
        let tf = download_f32(&*be, &e.task_f).unwrap();
        let ip = download_f32(&*be, &e.iotd_pos).unwrap();
        let mp = download_f32(&*be, &e.mec_pos).unwrap();
        // the allocation's powers and the cost table, per IoTD and MEC
        for bi in 0..batch {
            for i in 0..n {
                let (d, f) = (td[bi * n + i] as f64, tf[bi * n + i] as f64);
                let local = (cfg.phi_t + cfg.phi_e * cfg.p_local()) * f / cfg.f_local_hz;
                let c0 = cost[(bi * n + i) * (mm + 1)] as f64;
                prop_assert!(near(c0, local, 1e-5, local, 0.0), "step {step}: local cost {c0} vs {local}");
                for j in 0..mm {
                    let (hh, p) = (h[(bi * n + i) * mm + j] as f64, po[(bi * n + i) * mm + j] as f64);
                    prop_assert!(p.is_finite() && p > 0.0 && p <= p_max, "step {step}: p*[{i},{j}] = {p} (eq. 7)");
                    let at = tx(cfg, hh, d, p);
                    let grid = (1..=64).map(|k| p_max * k as f64 / 64.0).chain(dr.probes.iter().map(|u| u * p_max));
                    for q in grid {
                        let other = tx(cfg, hh, d, q);
                        prop_assert!(
                            at <= other * (1.0 + 1e-5),
                            "step {step} instance {bi} IoTD {i} MEC {j}: p* = {p} costs {at}, p = {q} costs {other} \
                             (h = {hh}, D = {d})"
                        );
                    }
                    let c = cost[(bi * n + i) * (mm + 1) + j + 1] as f64;
                    prop_assert!(near(c, at, 1e-4, at, 0.0), "step {step}: cost[{i},{}] = {c} vs {at}", j + 1);
                }
            }
        }
        // decisions: random, then the three baselines
        let random: Vec<u32> = (0..batch * n).map(|k| dr.decisions[k % 64] % (mm as u32 + 1)).collect();
        let local = e.heuristic(Heuristic::Local).unwrap();
        let greedy = e.heuristic(Heuristic::Greedy).unwrap();
        let rnd = e.heuristic(Heuristic::Random).unwrap();
        prop_assert!(local.iter().all(|&a| a == 0));
        for (name, a) in [("greedy", &greedy), ("random", &rnd)] {
            for bi in 0..batch {
                let mut load = vec![0.0f64; mm + 1];
                for i in 0..n {
                    prop_assert!(a[bi * n + i] as usize <= mm);
                    load[a[bi * n + i] as usize] += tf[bi * n + i] as f64;
                }
                for (j, &x) in load.iter().enumerate().skip(1) {
                    prop_assert!(x <= cap_c * (1.0 + 1e-6), "{name}: MEC {j} holds {x} cycles > C = {cap_c}");
                }
                if name == "greedy" {
                    for i in 0..n {
                        let (x, y) = (ip[bi * 2 * n + i], ip[bi * 2 * n + n + i]);
                        let d2 = |j: usize| {
                            let (dx, dy) = (mp[bi * 2 * mm + j] - x, mp[bi * 2 * mm + mm + j] - y);
                            dx * dx + dy * dy
                        };
                        let near_j = (0..mm).fold(0, |b, j| if d2(j) < d2(b) { j } else { b });
                        let ai = greedy[bi * n + i] as usize;
                        prop_assert!(
                            ai == 0 || ai == near_j + 1,
                            "greedy: IoTD {i} to MEC {ai}, nearest {}",
                            near_j + 1
                        );
                        if ai == 0 {
                            let fit = load[near_j + 1] + tf[bi * n + i] as f64;
                            prop_assert!(fit > cap_c * (1.0 - 1e-6), "greedy: IoTD {i} local though it fits");
                        }
                    }
                }
            }
        }
        for (name, a) in [("random decision", &random), ("local", &local), ("greedy", &greedy), ("random", &rnd)] {
            let exact = e.objective_exact(a, 1).unwrap();
            let summary = e.summarize_exact(a).unwrap();
            // the exact allocation as explicit (f, p), and an alternative feasible one
            let (mut f_kkt, mut p_kkt) = (vec![0.0f32; batch * n], vec![0.0f32; batch * n]);
            let (mut f_alt, mut p_alt) = (vec![0.0f32; batch * n], vec![0.0f32; batch * n]);
            for bi in 0..batch {
                let row = bi * n..(bi + 1) * n;
                let mut sj = vec![0.0f64; mm + 1];
                let mut wsum = vec![0.0f64; mm + 1];
                for i in row.clone() {
                    sj[a[i] as usize] += (tf[i] as f64).sqrt();
                    wsum[a[i] as usize] += dr.weights[i % 64];
                }
                let mut closed = 0.0f64;
                let mut shares = vec![0.0f64; mm + 1];
                for i in row.clone() {
                    let j = a[i] as usize;
                    if j == 0 {
                        closed += (cfg.phi_t + cfg.phi_e * cfg.p_local()) * tf[i] as f64 / cfg.f_local_hz;
                        continue;
                    }
                    let k = i * mm + j - 1;
                    let share = f_max * (tf[i] as f64).sqrt() / sj[j]; // KKT (eq. 13)
                    prop_assert!(share > 0.0);
                    shares[j] += share;
                    closed += tx(cfg, h[k] as f64, td[i] as f64, po[k] as f64) + cfg.phi_t * tf[i] as f64 / share;
                    f_kkt[i] = share as f32;
                    p_kkt[i] = po[k];
                    let used = dr.used[(bi * mm + j) % 16];
                    f_alt[i] = (f_max * used * dr.weights[i % 64] / wsum[j] * (1.0 - 1e-6)) as f32;
                    p_alt[i] = ((p_max * dr.powers[i % 64]) as f32).min(cfg.p_max_w as f32);
                }
                for (j, &x) in shares.iter().enumerate().skip(1) {
                    prop_assert!(x <= f_max * (1.0 + 1e-9), "{name}: Σ f on MEC {j} = {x} > F_max (eq. 6)");
                }
                let got = exact[bi] as f64;
                prop_assert!(near(got, closed, 1e-4, closed, 0.0), "{name}: objective {got} vs closed form {closed}");
                let sum = summary[bi].objective;
                prop_assert!(near(sum, closed, 1e-4, closed, 0.0), "{name}: summary {sum} vs {closed}");
            }
            let as_given = e.objective_paper(a, &f_kkt, &p_kkt, 1).unwrap();
            let alt = e.objective_paper(a, &f_alt, &p_alt, 1).unwrap();
            for bi in 0..batch {
                let (x, y, z) = (exact[bi] as f64, as_given[bi] as f64, alt[bi] as f64);
                prop_assert!(near(y, x, 1e-4, x, 0.0), "{name}: the allocation as (f, p) gives {y}, exact {x}");
                prop_assert!(x <= z * (1.0 + 1e-4), "{name}: a feasible (f, p) gives {z} < exact {x}");
            }
        }
        // the contract: objective column and reward of the decision, then the next state
        let want = e.objective_exact(&random, 1).unwrap();
        env.step_host(&random, &out).unwrap();
        let info = download_f32(&*be, &out.info).unwrap();
        let reward = download_f32(&*be, &out.reward).unwrap();
        for bi in 0..batch {
            prop_assert_eq!(info[bi], want[bi]);
            let r = match cfg.reward {
                RewardKind::Inverse => 1.0 / want[bi],
                RewardKind::NegativeMean => -want[bi] / n as f32,
            };
            prop_assert!(near(reward[bi] as f64, r as f64, 1e-6, r as f64, 0.0), "reward {} vs {r}", reward[bi]);
        }
    }
    Ok(())
}
