//! `endedge`: hand-worked 2-terminal scenarios for every queue rule, the invariants on thousands
//! of random configurations, the batched f32 environment against the f64 trace simulator, and
//! the trace-driven mode's files and errors.

use std::path::PathBuf;
use std::process::Command;

use mecrl::backend::{self, BackendKind};
use mecrl::env::endedge::model::{self, Rates, RES_DELAY, RES_DONE, RES_DROP};
use mecrl::env::endedge::trace::{self, HostSim, TaskResult};
use mecrl::env::endedge::{EndedgeConfig, EndedgeEnv, Heuristic, Semantics};
use mecrl::rng;
use mecrl::Error;

/// Simple rates in Mbit per slot.
fn rates(local: f64, edge: f64, tran: f64, tau: u32, paper: bool) -> Rates<f64> {
    Rates { local, edge, tran, tau, paper }
}

/// Run `slots` slots of 2 terminals; `tasks` = (slot, terminal, Mbit, action). Returns the sim
/// and Q_e after every slot.
fn run2(r: Rates<f64>, servers: usize, slots: u32, tasks: &[(u32, usize, f64, u32)]) -> (HostSim<f64>, Vec<Vec<u32>>) {
    let mut sim = HostSim::new(2, servers, r);
    let mut qs = vec![];
    for t in 0..slots {
        let (mut eta, mut act) = (vec![0.0; 2], vec![0; 2]);
        for &(s, d, x, a) in tasks {
            if s == t {
                eta[d] = x;
                act[d] = a;
            }
        }
        sim.step(t, &eta, &act);
        qs.push(sim.m.clone());
    }
    (sim, qs)
}

/// The result word of the task of terminal d that arrived at slot s.
fn result(sim: &HostSim<f64>, d: usize, s: u32) -> u32 {
    let w = sim.rates.w() as usize;
    assert_eq!(sim.arr[d * w + s as usize % w], s);
    sim.result[d * w + s as usize % w]
}

#[test]
fn local_fifo_serves_in_arrival_order() {
    // terminal 0: 1.5 Mbit at t = 0 and 1.0 at t = 1, local cap 1 per slot.
    // t0: A served 1 (0.5 left); t1: A done (delay 2), B waits; t2: B popped and done (delay 2).
    let (sim, _) = run2(rates(1.0, 2.0, 1.0, 4, false), 1, 4, &[(0, 0, 1.5, 0), (1, 0, 1.0, 0)]);
    assert_eq!(result(&sim, 0, 0), RES_DONE | 2);
    assert_eq!(result(&sim, 0, 1), RES_DONE | 2);
    assert_eq!(&sim.acc[..4], &[2, 2, 0, 4]);
    // terminal 1 is untouched
    assert_eq!(&sim.acc[4..], &[0, 0, 0, 0]);
}

#[test]
fn transmit_fifo_then_edge_queue_from_the_next_slot() {
    // terminal 0 sends 2.0 (t0) and 1.0 (t1) to server 0; radio 1 per slot, edge 2 per slot.
    // t0: A sends 1; t1: A sent (joins edge), B waits; t2: A computed (share 2/1): delay 3;
    // B sent; t3: B computed: delay 3 − 1 + 1 = 3.
    let (sim, qs) = run2(rates(1.0, 2.0, 1.0, 6, false), 1, 5, &[(0, 0, 2.0, 1), (1, 0, 1.0, 1)]);
    assert_eq!(result(&sim, 0, 0), RES_DONE | 3);
    assert_eq!(result(&sim, 0, 1), RES_DONE | 3);
    assert_eq!(qs.iter().map(|q| q[0]).collect::<Vec<_>>(), vec![0, 1, 1, 0, 0]);
}

#[test]
fn edge_shares_capacity_equally_among_non_empty_queues() {
    // both terminals send to server 0 at t0 (radio 2 per slot: sent in t0): Q_0 = 2 from t1.
    // t1: each computes 2/2 = 1: terminal 1's 1.0 Mbit task is done (delay 2), terminal 0's
    // 2.0 has 1 left; Q_0 = 1; t2: terminal 0 alone gets 2: done (delay 3).
    let (sim, qs) = run2(rates(1.0, 2.0, 2.0, 6, false), 2, 4, &[(0, 0, 2.0, 1), (0, 1, 1.0, 1)]);
    assert_eq!(result(&sim, 1, 0), RES_DONE | 2);
    assert_eq!(result(&sim, 0, 0), RES_DONE | 3);
    assert_eq!(qs.iter().map(|q| q[0]).collect::<Vec<_>>(), vec![2, 1, 0, 0]);
    assert!(qs.iter().all(|q| q[1] == 0));
    // on different servers they do not share: both done at t1 (delay 2)
    let (sim, _) = run2(rates(1.0, 2.0, 2.0, 6, false), 2, 4, &[(0, 0, 2.0, 1), (0, 1, 2.0, 2)]);
    assert_eq!((result(&sim, 0, 0), result(&sim, 1, 0)), (RES_DONE | 2, RES_DONE | 2));
}

#[test]
fn deadline_drops_and_the_queue_moves_on() {
    // τ = 2, local cap 1: 3.0 Mbit at t0 is served 1 in t0 and t1, dropped at the end of t1
    // (delay τ); the 1.0 Mbit task of t1 starts in t2 at age 2 ≤ τ and finishes (delay 2).
    let (sim, _) = run2(rates(1.0, 2.0, 1.0, 2, false), 1, 4, &[(0, 0, 3.0, 0), (1, 0, 1.0, 0)]);
    assert_eq!(result(&sim, 0, 0), RES_DROP | 2);
    assert_eq!(result(&sim, 0, 1), RES_DONE | 2);
    assert_eq!(&sim.acc[..4], &[2, 1, 1, 2]);
}

#[test]
fn a_task_sent_in_its_deadline_slot_per_semantics() {
    // τ = 2, radio 1: 2.0 Mbit to server 0 is sent at the end of t1 = its deadline slot.
    // reference: it joins the edge queue (Q_0 = 1 after t1) and is dropped when popped in t2;
    // paper: it is dropped in t1 and never counts towards Q_0. Delay τ either way.
    for (paper, q1) in [(false, 1), (true, 0)] {
        let (sim, qs) = run2(rates(1.0, 8.0, 1.0, 2, paper), 1, 4, &[(0, 1, 2.0, 1)]);
        assert_eq!(result(&sim, 1, 0), RES_DROP | 2, "paper = {paper}");
        assert_eq!(qs[1][0], q1, "paper = {paper}");
        assert_eq!(qs[2][0], 0);
    }
}

#[test]
fn horizon_leaves_unfinished_tasks_with_delay_t_minus_arrival() {
    let cfg = EndedgeConfig { devices: 2, servers: 1, slots: 3, tail_slots: 0, ..EndedgeConfig::reference() };
    // local cap 0.8417 Mbit per slot: 4.0 Mbit needs 5 slots; T = 3 ends it unfinished
    let eta = vec![vec![4.0, 0.0], vec![0.0, 0.5], vec![0.0; 2]];
    let act = vec![vec![0, 0]; 3];
    let res = trace::simulate(&cfg, &eta, &act);
    assert_eq!(
        res,
        vec![
            TaskResult { slot: 0, device: 0, action: 0, delay: 3, unfinished: true },
            TaskResult { slot: 1, device: 1, action: 0, delay: 1, unfinished: false },
        ]
    );
}

/// Small deterministic generator for the random configurations.
struct Draw(u32, u32);
impl Draw {
    fn u(&mut self) -> f64 {
        self.1 += 1;
        rng::uniform(rng::philox4x32_10([self.1, self.0, 0, 99], [5, 6])[0]) as f64
    }
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.u() * (hi - lo + 1) as f64) as u32
    }
}

/// Bits in = computed + queued + dropped after every slot; an entry is never overwritten while
/// in use; a task's result is written once and never changes; after draining, finished +
/// dropped = arrivals — for 2,000 random configurations of both semantics.
#[test]
fn conservation_and_once_only_on_random_configurations() {
    for c in 0..2000u32 {
        let mut g = Draw(c, 0);
        let (d, e, tau) = (g.int(1, 6) as usize, g.int(1, 4) as usize, g.int(1, 9));
        let r = rates(0.2 + 2.0 * g.u(), 0.5 + 6.0 * g.u(), 0.2 + 3.0 * g.u(), tau, c % 2 == 1);
        let p = 0.2 + 0.8 * g.u();
        let slots = 40 + tau + 1;
        let mut sim = HostSim::new(d, e, r);
        let w = r.w() as usize;
        let (mut bits_in, mut computed, mut dropped) = (0.0f64, 0.0f64, 0.0f64);
        let mut seen: Vec<Option<u32>> = vec![None; d * w]; // result of the task in each entry
        for t in 0..slots {
            let mut eta = vec![0.0; d];
            let mut act = vec![0; d];
            for i in 0..d {
                if t < 40 && g.u() < p {
                    eta[i] = 0.1 + 5.0 * g.u();
                    act[i] = g.int(0, e as u32);
                    let k = i * w + t as usize % w;
                    assert_eq!(sim.at[k], model::AT_NONE, "config {c}: entry in use at slot {t}");
                    seen[k] = None;
                    bits_in += eta[i];
                }
            }
            let f = sim.step(t, &eta, &act);
            computed += f.computed;
            dropped += f.dropped;
            let q = sim.queued();
            assert!(
                (bits_in - (computed + q + dropped)).abs() <= 1e-9 * bits_in.max(1.0),
                "config {c} slot {t}: in {bits_in} != computed {computed} + queued {q} + dropped {dropped}"
            );
            for (k, seen_k) in seen.iter_mut().enumerate() {
                let res = sim.result[k];
                if let Some(prev) = *seen_k {
                    assert_eq!(res, prev, "config {c}: a result changed");
                } else if res != 0 {
                    assert_eq!(sim.at[k], model::AT_NONE, "config {c}: resolved task still queued");
                    let delay = res & RES_DELAY;
                    assert!(delay >= 1 && delay <= tau, "config {c}: delay {delay} outside 1..=τ");
                    *seen_k = Some(res);
                }
            }
        }
        assert!(sim.at.iter().all(|&a| a == model::AT_NONE), "config {c}: drained");
        let (mut arrivals, mut done, mut drop) = (0, 0, 0);
        for a in sim.acc.chunks(4) {
            arrivals += a[0];
            done += a[1];
            drop += a[2];
        }
        assert_eq!(done + drop, arrivals, "config {c}");
        assert!((bits_in - computed - dropped).abs() <= 1e-9 * bits_in.max(1.0));
    }
}

/// The mask-based fast path [`model::slot`] is bit-identical to the plain loops of
/// [`model::slot_scalar`] (which the WGSL and CUDA kernels mirror), in f32 as the kernels run it.
#[test]
fn fast_slot_is_bit_identical_to_the_scalar_rules() {
    for c in 0..1000u32 {
        let mut g = Draw(c, 7);
        let (d, e, tau) = (g.int(1, 5) as usize, g.int(1, 40) as usize, g.int(1, 31));
        let r = Rates {
            local: (0.2 + 2.0 * g.u()) as f32,
            edge: (0.5 + 6.0 * g.u()) as f32,
            tran: (0.2 + 3.0 * g.u()) as f32,
            tau,
            paper: c % 2 == 1,
        };
        let p = 0.2 + 0.8 * g.u();
        let (mut fast, mut scalar) = (HostSim::new(d, e, r), HostSim::new(d, e, r));
        scalar.scalar = true;
        for t in 0..60 {
            let mut eta = vec![0.0f32; d];
            let mut act = vec![0; d];
            for i in 0..d {
                if g.u() < p {
                    eta[i] = (0.1 + 5.0 * g.u()) as f32;
                    act[i] = g.int(0, e as u32);
                }
            }
            fast.step(t, &eta, &act);
            scalar.step(t, &eta, &act);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast.rem), bits(&scalar.rem), "config {c} slot {t}");
            assert_eq!(
                (&fast.at, &fast.result, &fast.acc, &fast.m),
                (&scalar.at, &scalar.result, &scalar.acc, &scalar.m)
            );
        }
        assert!(scalar.acc.iter().step_by(4).sum::<u32>() > 0);
    }
}

/// The batched f32 environment (CPU backend) and the f64 trace simulator give the same task
/// outcomes on one instance of the reference system with Random actions.
#[test]
fn batched_environment_agrees_with_the_trace_simulator() {
    for semantics in [Semantics::Reference, Semantics::Paper] {
        let cfg = EndedgeConfig { devices: 20, servers: 3, arrival_prob: 0.6, semantics, ..EndedgeConfig::reference() };
        let cpu = backend::create(BackendKind::Cpu).unwrap();
        let mut env = EndedgeEnv::new(&cfg, 1, 3, cpu.clone()).unwrap();
        env.reset().unwrap();
        let (mut eta, mut act) = (vec![], vec![]);
        for _ in 0..cfg.slots {
            env.arrive().unwrap();
            env.policy(Heuristic::Random).unwrap();
            let e: Vec<f32> = bytemuck::cast_slice(&cpu.download(&env.eta).unwrap()).to_vec();
            eta.push(e.iter().map(|&x| x as f64).collect::<Vec<f64>>());
            act.push(cpu.download(&env.action).unwrap());
            env.step().unwrap();
        }
        let s = env.stats().unwrap();
        let res = trace::simulate(&cfg, &eta, &act);
        let fails = res.iter().filter(|r| r.unfinished).count() as u64;
        let delay: u64 = res.iter().filter(|r| !r.unfinished).map(|r| r.delay as u64).sum();
        assert_eq!(res.len() as u64, s.arrivals);
        assert_eq!((fails, delay), (s.dropped + s.unfinished, s.delay_sum), "{semantics:?}");
        assert!(fails > 0 && s.finished > 0);
    }
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mecrl-endedge-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cfg4() -> EndedgeConfig {
    EndedgeConfig { devices: 4, servers: 2, slots: 20, tail_slots: 0, ..EndedgeConfig::reference() }
}

#[test]
fn trace_files_round_trip_and_bad_rows_name_the_line() {
    let dir = tmp("files");
    let (a, b, out) = (dir.join("a.csv"), dir.join("b.csv"), dir.join("r.csv"));
    std::fs::write(&a, "slot,device,mbits\n0,1,2.5\n\n3,0,4.1\n4,2,0\n").unwrap();
    std::fs::write(&b, "slot,device,action\n0,1,2\n3,0,0\n4,2,1\n").unwrap();
    let res = trace::run_trace(&cfg4(), &a, &b, &out, &mut |_| {}).unwrap();
    assert_eq!(res.len(), 2);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, "slot,device,action,delay_slots,unfinished\n0,1,2,3,0\n3,0,0,5,0\n");
    // 2.5 Mbit: sent in t0–t1 at 1.4 per slot, computed in t2 at (4.18/0.297)/1 = 14.07 per slot:
    // delay 3; 4.1 Mbit locally at 0.8418 per slot: t3–t7, delay 5

    let bad = |arr: &str, act: &str, line: usize, needle: &str| {
        std::fs::write(&a, arr).unwrap();
        std::fs::write(&b, act).unwrap();
        let _ = std::fs::remove_file(&out);
        match trace::run_trace(&cfg4(), &a, &b, &out, &mut |_| {}) {
            Err(Error::Parse { path, line: l, why }) => {
                assert_eq!(l, line, "{why}");
                assert!(why.contains(needle), "{why}");
                assert!(path == a || path == b);
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        assert!(!out.exists(), "no output on error");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "no temporary file left");
    };
    let acts = "0,1,0\n";
    bad("slot,device,mbits\n0,1,2.5,7\n", acts, 2, "3 fields");
    bad("0,9,2.5\n", acts, 1, "device 9 out of range");
    bad("0,1,abc\n", acts, 1, "not a number");
    bad("0,1,-1\n", acts, 1, "must be finite");
    bad("0,1,inf\n", acts, 1, "must be finite");
    bad("25,1,2\n", acts, 1, "slot 25 out of range");
    bad("0,1,2\n0,1,3\n", acts, 2, "second arrival");
    bad("0,1,2\n", "0,1,3\n", 1, "action 3 out of range");
    bad("0,1,2\n", "0,1,x\n", 1, "action `x`");
    bad("0,1,2\n1,1,2\n", "0,1,0\n", 2, "no action");
    bad("0,1,2\n", "0,1,0\n0,1,1\n", 2, "second action");
}

#[test]
fn cli_trace_writes_results_or_fails_cleanly() {
    let dir = tmp("cli");
    let (a, b, out) = (dir.join("a.csv"), dir.join("b.csv"), dir.join("r.csv"));
    std::fs::write(&a, "slot,device,mbits\n0,0,3.0\n1,49,2.2\n").unwrap();
    std::fs::write(&b, "slot,device,action\n0,0,5\n1,49,0\n").unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mecrl"))
            .args(["endedge", "trace", "--arrivals"])
            .arg(&a)
            .arg("--actions")
            .arg(&b)
            .args(["--devices", "50", "--servers", "5", "--slots", "110", "--deadline", "10"])
            .args(["--semantics", "reference", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.starts_with("slot,device,action,delay_slots,unfinished\n0,0,5,"));
    // an action out of range: non-zero exit, message with file and line, the old output kept
    std::fs::write(&b, "slot,device,action\n0,0,6\n1,49,0\n").unwrap();
    let o = run();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("b.csv:2") && err.contains("action 6 out of range"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

/// The golden traces of tests/data/endedge (computed by the published simulator's queue logic):
/// identical per-task delays and unfinished flags, byte for byte.
#[test]
fn reference_semantics_reproduces_the_published_simulator() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/endedge");
    let out = tmp("golden");
    for (g, d, e, t, tau) in [("g1", 8, 3, 80, 5), ("g2", 12, 2, 100, 10)] {
        let cfg = EndedgeConfig {
            devices: d,
            servers: e,
            slots: t,
            tail_slots: 0,
            deadline_slots: tau,
            ..EndedgeConfig::reference()
        };
        let r = out.join(format!("{g}.csv"));
        let f = |x: &str| dir.join(format!("{g}_{x}.csv"));
        let res = trace::run_trace(&cfg, &f("arrivals"), &f("actions"), &r, &mut |_| {}).unwrap();
        assert!(res.iter().any(|x| x.unfinished) && res.iter().any(|x| !x.unfinished));
        assert_eq!(std::fs::read_to_string(&r).unwrap(), std::fs::read_to_string(f("expected")).unwrap(), "{g}");
    }
}

/// State (16) by hand: η, μ^comp and μ^tran (eq. 2, 5) from the predicted end slots (eq. 3, 6),
/// q_{d,e}(t−1), the mask, and Load(t) (eq. 15), reference rates (local 0.8418, radio 1.4 Mbit).
#[test]
fn observation_follows_eq_16() {
    let cfg = EndedgeConfig { devices: 2, servers: 5, load_history: 3, ..EndedgeConfig::reference() };
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let mut env = EndedgeEnv::new(&cfg, 1, 1, cpu).unwrap();
    env.reset().unwrap();
    // t0: terminal 0 computes 2.0 Mbit locally (⌈2.376⌉ = 3 slots: T^comp = 2); terminal 1
    // sends 2.8 Mbit to server 1 (2 slots: T^tran = 1)
    env.set_arrivals(&[2.0, 2.8]).unwrap();
    env.set_actions(&[0, 2]).unwrap();
    env.step().unwrap();
    // t1: a 1.0 Mbit task at terminal 0
    env.set_arrivals(&[1.0, 0.0]).unwrap();
    let (obs, mask, _) = env.observe().unwrap();
    let row = |d: usize| obs[d * 8..(d + 1) * 8].to_vec();
    assert_eq!(row(0), vec![1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]); // μ^comp = 2 − 1 + 1
    assert_eq!(row(1), vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]); // μ^tran = 1 − 1 + 1
    assert_eq!(mask, vec![1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    env.set_actions(&[0, 0]).unwrap();
    env.step().unwrap();
    // t2: terminal 1's task was sent in t1 and waits on server 1 (q = 2.8); Q_1 = 1 since t1
    env.set_arrivals(&[0.0, 0.0]).unwrap();
    let (obs, mask, load) = env.observe().unwrap();
    assert_eq!(obs[8 + 3 + 1], 2.8);
    assert_eq!(obs[1], 3.0); // T^comp of the t1 task = max(2 + 1, 1) + ⌈1.188⌉ − 1 = 4: μ = 4 − 2 + 1
    assert!(mask.iter().step_by(6).all(|&x| x == 1) && mask.iter().filter(|&&x| x == 1).count() == 2);
    assert_eq!(load, vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
}

#[test]
fn reward_follows_eq_18_19() {
    assert_eq!(model::reward(RES_DONE | 4, -30.0), Some(-4.0));
    assert_eq!(model::reward(RES_DROP | 10, -30.0), Some(-30.0));
    assert_eq!(model::reward(0, -30.0), None);
}

/// `mecrl run configs/endedge.toml` (cut down) prints the paper's metrics per sweep point and
/// method and writes a run directory; a bad field is refused with its name and no directory.
#[test]
fn cli_run_of_the_shipped_config() {
    let d = tmp("run-config");
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/endedge.toml")).unwrap();
    let small = shipped
        .replace("batch = 16", "batch = 2")
        .replace("slots = 110", "slots = 30")
        .replace("backend = \"auto\"", "backend = \"cpu\"");
    assert_ne!(small, shipped);
    let cfg = d.join("endedge.toml");
    std::fs::write(&cfg, &small).unwrap();
    let out = d.join("runs");
    let mecrl = || std::process::Command::new(env!("CARGO_BIN_EXE_mecrl"));
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    for label in ["devices=5", "devices=35", "arrival_rate_mbps=3", "local", "random", "greedy"] {
        assert!(stdout.contains(label), "table shows {label}:\n{stdout}");
    }
    let run = out.join("endedge");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["system"], "endedge");
    assert!(std::fs::read_dir(&run).unwrap().count() >= 2, "results and manifest");
    let bad = small.replace("deadline_slots = 12", "deadline_slots = 0");
    std::fs::write(&cfg, bad).unwrap();
    let out2 = d.join("runs-bad");
    let o = mecrl().arg("run").arg(&cfg).arg("--out").arg(&out2).arg("--quiet").output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("deadline"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out2.exists() || std::fs::read_dir(&out2).unwrap().count() == 0, "no run directory");
    let _ = std::fs::remove_dir_all(&d);
}
