//! Parity: every kernel of the catalog on every available backend against the CPU reference, from
//! identical inputs (each kernel is fed the CPU's buffers, so differences never compound).
//!
//! Integers must be equal; floats within |a − b| ≤ 1e-5·max(|a|, |b|) + 1e-6·max|buffer|
//! (the second term covers values near zero that are differences of O(1) numbers, such as
//! standardized observations). Discrete decisions that come from float comparisons may differ
//! only where the float margin is below the tolerance; those cases are checked explicitly
//! (Lévy generation: the step or the fitness comparison is within 1e-5 of its threshold;
//! Poisson: a count off by one, at most 0.1% of draws).
//!
//! Backends: wgpu (lavapipe in CI), cuda-host (the .cu files on the CPU through
//! tools/cuda_host) and cuda (a real GPU, when one answers). With MECRL_REQUIRE_WGPU=1 /
//! MECRL_REQUIRE_CUDA_HOST=1 (set by tools/test.sh) a backend that cannot start fails the test.

use std::collections::BTreeSet;
use std::sync::Arc;

use mecrl::backend::{self, Backend, BackendKind};
use mecrl::backend::{Access, Elem, KernelSpec};
use mecrl::env::dag::batch::{DagBatch, DagParams};
use mecrl::env::dag::gen::{generate, DagGenConfig};
use mecrl::env::dag::kernels::{DAG_MAKESPAN, DAG_OPTIMAL, DAG_OPTIMAL_REDUCE, DAG_RESET, DAG_STEP};
use mecrl::env::dag::model::{reward_scale, DagSystem, Prepared, Semantics};
use mecrl::env::mec::kernels::{
    MEC_ALLOC, MEC_CHANNEL, MEC_HEURISTIC, MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER, MEC_OBSERVE, MEC_RESET,
};
use mecrl::env::mec::{objective_exact_one, objective_paper_one, MecConfig, MecEnv, MecParams};
use mecrl::rng::RNG_FILL;
use mecrl::rng::{self, Dist, RngFillParams};
use mecrl::search::levy::kernels::{LEVY_BEST, LEVY_GENERATION, LEVY_INIT};
use mecrl::search::levy::{self, LevyConfig, LevyParams};

#[path = "parity/algo.rs"]
mod algo;
#[path = "parity/attention.rs"]
mod attention;
#[path = "parity/contract.rs"]
mod contract;
#[path = "parity/coop.rs"]
mod coop;
#[path = "parity/crowd.rs"]
mod crowd;
#[path = "parity/dag.rs"]
mod dag;
#[path = "parity/endedge.rs"]
mod endedge;
#[path = "parity/o2o.rs"]
mod o2o;
#[path = "parity/ops.rs"]
mod ops;
#[path = "parity/rnn.rs"]
mod rnn;

fn backends_under_test() -> Vec<Arc<dyn Backend>> {
    let mut out = vec![];
    if std::env::var("MECRL_PARITY_SELF").as_deref() == Ok("1") {
        // Harness self-check: the CPU against itself must pass.
        out.push(backend::create(BackendKind::Cpu).unwrap());
    }
    for (kind, var) in [
        (BackendKind::Wgpu, Some("MECRL_REQUIRE_WGPU")),
        (BackendKind::CudaHost, Some("MECRL_REQUIRE_CUDA_HOST")),
        (BackendKind::Cuda, None),
    ] {
        match backend::create(kind) {
            Ok(b) => {
                eprintln!("parity: testing {}", b.describe());
                out.push(b);
            }
            Err(e) => {
                let required = var.map(|v| std::env::var(v).as_deref() == Ok("1")).unwrap_or(false);
                assert!(!required, "{kind} is required here but did not start: {e}");
                eprintln!("parity: skipping {kind}: {e}");
            }
        }
    }
    out
}

/// One launch: kernel, params, threads and the initial contents of every buffer.
struct Case {
    id: &'static KernelSpec,
    params: Vec<u8>,
    threads: u32,
    bufs: Vec<Vec<u32>>,
}

/// Run a case; returns the final contents of every non-Read, non-Scratch buffer (else None).
fn run(be: &dyn Backend, c: &Case) -> Vec<Option<Vec<u32>>> {
    let spec = c.id;
    let bufs: Vec<_> = c.bufs.iter().map(|d| be.upload(d).expect("upload")).collect();
    let refs: Vec<_> = bufs.iter().collect();
    be.launch(c.id, &c.params, c.threads, &refs)
        .unwrap_or_else(|e| panic!("{}: {} failed: {e}", be.kind(), spec.entry));
    be.sync().expect("sync");
    spec.bufs
        .iter()
        .zip(&bufs)
        .map(|(s, b)| match s.access {
            Access::ReadWrite => Some(be.download(b).expect("download")),
            _ => None,
        })
        .collect()
}

fn f32_close(a: f32, b: f32, scale: f32) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-6 * scale
}

/// Compare outputs; returns indices of mismatching elements per buffer (for margin checks).
fn compare(be: &str, c: &Case, want: &[Option<Vec<u32>>], got: &[Option<Vec<u32>>]) -> Vec<Vec<usize>> {
    let spec = c.id;
    let mut bad = vec![];
    for (k, s) in spec.bufs.iter().enumerate() {
        let mut idx = vec![];
        if let (Some(w), Some(g)) = (&want[k], &got[k]) {
            assert_eq!(w.len(), g.len());
            let scale = w.iter().map(|&x| f32::from_bits(x).abs()).filter(|x| x.is_finite()).fold(0.0f32, f32::max);
            for i in 0..w.len() {
                let ok = match s.elem {
                    Elem::U32 => w[i] == g[i],
                    Elem::F32 => f32_close(f32::from_bits(w[i]), f32::from_bits(g[i]), scale),
                };
                if !ok {
                    idx.push(i);
                }
            }
            if !idx.is_empty() {
                let i = idx[0];
                eprintln!(
                    "{be}: {}.{}: {} of {} differ; first at {i}: cpu {:?} vs {:?}",
                    spec.entry,
                    s.name,
                    idx.len(),
                    w.len(),
                    (w[i], f32::from_bits(w[i])),
                    (g[i], f32::from_bits(g[i]))
                );
            }
        }
        bad.push(idx);
    }
    bad
}

fn assert_equal(be: &dyn Backend, c: &Case, done: &mut BTreeSet<&'static KernelSpec>) -> Vec<Option<Vec<u32>>> {
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let want = run(&*cpu, c);
    let got = run(be, c);
    let bad = compare(&be.kind().to_string(), c, &want, &got);
    let entry = c.id.entry;
    assert!(bad.iter().all(|b| b.is_empty()), "{}: {entry} differs from the CPU reference", be.kind());
    done.insert(c.id);
    want
}

fn f32v(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn rng_cases() -> Vec<Case> {
    let mut cases = vec![];
    let sigma = rng::levy_sigma_u(1.5) as f32;
    for dist in Dist::ALL {
        let means: &[f32] = if dist == Dist::Poisson { &[0.7, 12.0, 29.9, 30.0, 250.0] } else { &[0.0] };
        for &mean in means {
            let n = 4096u32;
            let p = RngFillParams {
                key0: 0xdead_beef,
                key1: 17,
                c0: 5,
                c1: 2,
                c2: 9,
                c3: 3,
                dist: dist as u32,
                n,
                p0: if dist == Dist::Levy { sigma } else { mean },
                p1: 1.0 / 1.5,
                ..Default::default()
            };
            cases.push(Case {
                id: &RNG_FILL,
                params: bytemuck::bytes_of(&p).to_vec(),
                threads: n,
                bufs: vec![vec![0; n as usize * dist.words()]],
            });
        }
    }
    cases
}

#[test]
fn philox_known_answers_on_every_backend() {
    let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        ([0xffff_ffff; 4], [0xffff_ffff; 2], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];
    let mut all = backends_under_test();
    all.insert(0, backend::create(BackendKind::Cpu).unwrap());
    for be in all {
        for (ctr, key, want) in kat {
            let p = RngFillParams {
                key0: key[0],
                key1: key[1],
                c0: ctr[0],
                c1: ctr[1],
                c2: ctr[2],
                c3: ctr[3],
                dist: 0,
                n: 1,
                ..Default::default()
            };
            let out = be.upload(&[0; 4]).unwrap();
            be.launch(&RNG_FILL, bytemuck::bytes_of(&p), 1, &[&out]).unwrap();
            assert_eq!(be.download(&out).unwrap(), want.to_vec(), "{}: Philox KAT", be.kind());
        }
    }
}

/// `download_into` reads the first words of a buffer into a caller's array on every backend
/// (the CPU's own copy, the others' download-and-copy) and refuses an array longer than the
/// buffer.
#[test]
fn download_into_reads_a_prefix_on_every_backend() {
    let mut all = backends_under_test();
    all.insert(0, backend::create(BackendKind::Cpu).unwrap());
    let data: Vec<u32> = (0..37u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    for be in all {
        let buf = be.upload(&data).unwrap();
        let mut dst = vec![0u32; 29];
        be.download_into(&buf, &mut dst).unwrap();
        assert_eq!(dst, data[..29], "{}", be.kind());
        assert!(be.download_into(&buf, &mut [0u32; 38]).is_err(), "{}: longer than the buffer", be.kind());
    }
}

/// A small, deliberately odd-sized scenario: B = 3, N = 37, M = 5, heterogeneous tasks.
fn scenario() -> (MecEnv, MecConfig) {
    let cfg = MecConfig {
        n_iotd: 37,
        n_mec: 5,
        task_bits_max: Some(2e6),
        task_cycles_max: Some(3e9),
        capacity_horizon_s: 0.2,
        ..MecConfig::default()
    };
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    (MecEnv::new(cpu, &cfg, 3, 11).unwrap(), cfg)
}

fn dl(env: &MecEnv, b: &mecrl::Buffer) -> Vec<u32> {
    env.backend().download(b).unwrap()
}

#[test]
fn every_kernel_matches_cpu_on_every_backend() {
    let bes = backends_under_test();
    if bes.is_empty() {
        eprintln!("no backend besides cpu available: nothing to compare");
        return;
    }
    let (env, cfg) = scenario();
    let (b, n, m) = (3usize, cfg.n_iotd, cfg.n_mec);
    let mp: MecParams = env.params();
    let pos = dl(&env, &env.iotd_pos);
    let mpos = dl(&env, &env.mec_pos);
    let (td, tf) = (dl(&env, &env.task_d), dl(&env, &env.task_f));
    let h = dl(&env, &env.h);
    let (cost, sf) = (dl(&env, &env.cost), dl(&env, &env.sqrt_f));
    let bytes = |p: &MecParams| bytemuck::bytes_of(p).to_vec();

    for be in &bes {
        let mut done = BTreeSet::new();
        for c in rng_cases() {
            let cpu = backend::create(BackendKind::Cpu).unwrap();
            let want = run(&*cpu, &c);
            let got = run(&**be, &c);
            let bad = compare(&be.kind().to_string(), &c, &want, &got);
            let p: RngFillParams = mecrl::backend::params(&c.params);
            if p.dist == Dist::Poisson as u32 {
                // Poisson counts come from float comparisons: off-by-one at a margin only.
                let (w, g) = (want[0].as_ref().unwrap(), got[0].as_ref().unwrap());
                assert!(bad[0].len() * 1000 <= w.len(), "poisson({}): {} of {} differ", p.p0, bad[0].len(), w.len());
                assert!(bad[0].iter().all(|&i| w[i].abs_diff(g[i]) <= 1));
            } else if p.dist == Dist::Raw as u32 {
                assert!(bad[0].is_empty(), "{}: raw Philox words differ", be.kind());
            } else {
                // The buffer is declared u32 (it holds raw words for dist 0), but these
                // distributions are f32 values: compare them with the float tolerance (a GPU's
                // division or sqrt may be an ulp off; lavapipe and the host shim are exact).
                let (w, g) = (want[0].as_ref().unwrap(), got[0].as_ref().unwrap());
                // Absolute floor at the O(1) scale of a standard draw (not the heavy-tailed max).
                for &i in &bad[0] {
                    assert!(
                        f32_close(f32::from_bits(w[i]), f32::from_bits(g[i]), 1.0),
                        "{}: rng_fill dist {} element {i}: {} vs {}",
                        be.kind(),
                        p.dist,
                        f32::from_bits(w[i]),
                        f32::from_bits(g[i])
                    );
                }
            }
            done.insert(c.id);
        }

        // mec_reset: positions and tasks.
        let mut p = mp;
        p.step = 4;
        assert_equal(
            &**be,
            &Case {
                id: &MEC_RESET,
                params: bytes(&p),
                threads: (b * (n + m)) as u32,
                bufs: vec![vec![0; b * 2 * n], vec![0; b * 2 * m], vec![0; b * n], vec![0; b * n]],
            },
            &mut done,
        );
        // mec_channel at a later step.
        let mut p = mp;
        p.step = 7;
        assert_equal(
            &**be,
            &Case {
                id: &MEC_CHANNEL,
                params: bytes(&p),
                threads: (b * n) as u32,
                bufs: vec![pos.clone(), mpos.clone(), vec![0; b * n * m]],
            },
            &mut done,
        );
        // mec_alloc and mec_observe from the CPU's gains.
        assert_equal(
            &**be,
            &Case {
                id: &MEC_ALLOC,
                params: bytes(&mp),
                threads: (b * n) as u32,
                bufs: vec![
                    h.clone(),
                    td.clone(),
                    tf.clone(),
                    vec![0; b * n * m],
                    vec![0; b * n * m],
                    vec![0; b * n * (m + 1)],
                    vec![0; b * n],
                ],
            },
            &mut done,
        );
        assert_equal(
            &**be,
            &Case {
                id: &MEC_OBSERVE,
                params: bytes(&mp),
                threads: (b * m) as u32,
                bufs: vec![h.clone(), vec![0; b * m * n]],
            },
            &mut done,
        );
        // Objectives of P = 6 random candidates; candidate 5 of instance 1 holds an invalid a (NaN).
        let pp = 6usize;
        let mut a: Vec<u32> = (0..b * pp * n)
            .map(|k| rng::uniform_index(rng::philox4x32_10([k as u32, 1, 2, 3], [4, 5])[0], m as u32 + 1))
            .collect();
        a[(pp + 5) * n + 3] = m as u32 + 1;
        let f: Vec<f32> = (0..b * pp * n)
            .map(|k| 1e8 + 1e9 * rng::uniform(rng::philox4x32_10([k as u32, 9, 2, 3], [4, 5])[0]))
            .collect();
        let pw: Vec<f32> = (0..b * pp * n)
            .map(|k| 0.01 + 1.4 * rng::uniform(rng::philox4x32_10([k as u32, 8, 2, 3], [4, 5])[0]))
            .collect();
        let mut p = mp;
        p.p = pp as u32;
        let out = assert_equal(
            &**be,
            &Case {
                id: &MEC_OBJECTIVE_EXACT,
                params: bytes(&p),
                threads: (b * pp) as u32,
                bufs: vec![cost.clone(), sf.clone(), a.clone(), vec![0; b * pp * (m + 1)], vec![0; b * pp]],
            },
            &mut done,
        );
        assert!(f32::from_bits(out[4].as_ref().unwrap()[pp + 5]).is_nan(), "invalid action gives NaN");
        assert_equal(
            &**be,
            &Case {
                id: &MEC_OBJECTIVE_PAPER,
                params: bytes(&p),
                threads: (b * pp) as u32,
                bufs: vec![
                    h.clone(),
                    td.clone(),
                    tf.clone(),
                    a.clone(),
                    f32v(&f),
                    f32v(&pw),
                    vec![0; b * pp * 2 * m],
                    vec![0; b * pp],
                ],
            },
            &mut done,
        );
        // Heuristics: local, greedy, random.
        let order = dl(&env, &{
            // ascending-F order as MecEnv::reset computes it
            let tfv: Vec<f32> = tf.iter().map(|&x| f32::from_bits(x)).collect();
            let mut o = vec![];
            for bi in 0..b {
                let row = &tfv[bi * n..(bi + 1) * n];
                let mut idx: Vec<u32> = (0..n as u32).collect();
                idx.sort_by(|&x, &y| row[x as usize].total_cmp(&row[y as usize]).then(x.cmp(&y)));
                o.extend(idx);
            }
            env.backend().upload(&o).unwrap()
        });
        for variant in 0..3 {
            let mut p = mp;
            p.variant = variant;
            p.step = 2;
            assert_equal(
                &**be,
                &Case {
                    id: &MEC_HEURISTIC,
                    params: bytes(&p),
                    threads: b as u32,
                    bufs: vec![pos.clone(), mpos.clone(), tf.clone(), order.clone(), vec![0; b * m], vec![0; b * n]],
                },
                &mut done,
            );
        }
        // Lévy search kernels, every variant and mode.
        let a0 = env.heuristic(mecrl::env::mec::Heuristic::Greedy).unwrap();
        for (variant, mode) in [(0u32, 0u32), (0, 1), (1, 0), (1, 1)] {
            levy_cases(&**be, &env, &a0, variant, mode, &mut done);
        }
        // DAG makespan / exhaustive optimum, both semantics.
        for sem in [Semantics::Reference, Semantics::Paper] {
            dag_cases(&**be, sem, &mut done);
            dag_mdp_cases(&**be, sem, &mut done);
            dag::episode_cases(&**be, sem, &mut done);
        }
        crowd::crowd_cases(&**be, &mut done);
        coop::cases(&**be, &mut done);
        ops::ops_cases(&**be, &mut done);
        rnn::rnn_cases(&**be, &mut done);
        attention::attention_cases(&**be, &mut done);
        endedge::cases(&**be, &mut done);
        algo::cases(&**be, &mut done);
        o2o::cases(&**be, &mut done);
        contract::cases(&**be, &mut done);

        let missing: Vec<_> = mecrl::catalog::kernels().filter(|k| !done.contains(k)).map(|k| k.entry).collect();
        assert!(missing.is_empty(), "{}: kernels not exercised by the parity test: {missing:?}", be.kind());
    }
}

/// `assert_equal`, and bit-exact: the dag kernels only take f32 max and single additions.
fn assert_bit_exact(be: &dyn Backend, c: &Case, done: &mut BTreeSet<&'static KernelSpec>) -> Vec<Option<Vec<u32>>> {
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let want = run(&*cpu, c);
    let got = run(be, c);
    let bad = compare(&be.kind().to_string(), c, &want, &got);
    let entry = c.id.entry;
    assert!(bad.iter().all(|b| b.is_empty()), "{}: {entry} differs from the CPU reference", be.kind());
    assert_eq!(want, got, "{}: {entry} is not bit-exact", be.kind());
    done.insert(c.id);
    want
}

/// Generated graphs of 8, 11 and 12 tasks plus a single task (N = 12: padded positions and, for
/// the single task, empty chunks), P = 24 plans per graph (all local, all offloaded, random),
/// C = 4 chunks of the exhaustive search, then the reduction (and one with crafted ties).
fn dag_cases(be: &dyn Backend, sem: Semantics, done: &mut BTreeSet<&'static KernelSpec>) {
    let sys = DagSystem { semantics: sem, ..Default::default() };
    let graphs: Vec<Prepared> = [(8usize, 1u32), (11, 2), (12, 3), (1, 4)]
        .iter()
        .map(|&(n, k)| {
            let dag = generate(&DagGenConfig { n, ..Default::default() }, 2024, k).unwrap();
            Prepared::new(&dag, &sys).unwrap()
        })
        .collect();
    let batch = DagBatch::new(&graphs).unwrap();
    let (b, n) = (graphs.len(), batch.n_max);
    let (pp, chunks) = (24usize, 4usize);
    let plans: Vec<u32> = (0..b * pp * n)
        .map(|i| match (i / n) % pp {
            0 => 0,
            1 => 1,
            _ => rng::philox4x32_10([i as u32, 7, 1, 3], [11, sem as u32])[0] & 1,
        })
        .collect();
    let p: DagParams = batch.params(sem, pp, chunks);
    let graph_bufs = vec![
        batch.n_tasks.clone(),
        f32v(&batch.cost),
        batch.par_off.clone(),
        batch.par_idx.clone(),
        batch.exit.clone(),
    ];
    let mut bufs = graph_bufs.clone();
    bufs.extend([plans, vec![0; b * pp * n * 4], vec![0; b * pp]]);
    let out = assert_bit_exact(
        be,
        &Case { id: &DAG_MAKESPAN, params: bytemuck::bytes_of(&p).to_vec(), threads: (b * pp) as u32, bufs },
        done,
    );
    assert!(out[7].as_ref().unwrap().iter().all(|&x| f32::from_bits(x) > 0.0), "makespans are positive");

    let mut bufs = graph_bufs.clone();
    bufs.extend([vec![0; b * chunks * n * 4], vec![0; b * chunks * 2]]);
    let opt = Case { id: &DAG_OPTIMAL, params: bytemuck::bytes_of(&p).to_vec(), threads: (b * chunks) as u32, bufs };
    let partial = assert_bit_exact(be, &opt, done)[6].clone().unwrap();
    // the single-task graph: chunks 2 and 3 are empty
    assert_eq!(
        &partial[(3 * chunks + 2) * 2..],
        &[f32::INFINITY.to_bits(), u32::MAX, f32::INFINITY.to_bits(), u32::MAX]
    );

    let reduce = |partial: Vec<u32>, done: &mut BTreeSet<&'static KernelSpec>| {
        let c = Case {
            id: &DAG_OPTIMAL_REDUCE,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: b as u32,
            bufs: vec![partial, vec![0; b * 2]],
        };
        assert_bit_exact(be, &c, done)[1].clone().unwrap()
    };
    let best = reduce(partial.clone(), done);
    for (g, gp) in graphs.iter().enumerate() {
        let (m, _) = gp.optimal(24).unwrap();
        let got = f32::from_bits(best[2 * g]) as f64;
        assert!((got - m).abs() <= 1e-6 * m, "{sem:?} graph {g}: optimum {got} vs {m}");
    }
    // ties go to the smaller plan index, whatever the chunk order; +inf never wins over a value
    let inf = f32::INFINITY.to_bits();
    let x15 = 1.5f32.to_bits();
    #[rustfmt::skip]
    let crafted = vec![
        x15, 9, x15, 3, x15, 7, inf, u32::MAX,
        inf, u32::MAX, inf, u32::MAX, inf, u32::MAX, inf, u32::MAX,
        inf, u32::MAX, 2.0f32.to_bits(), 5, 1.0f32.to_bits(), 6, 1.0f32.to_bits(), 2,
        0.5f32.to_bits(), 4, inf, u32::MAX, inf, 1, 0.5f32.to_bits(), 4,
    ];
    let best = reduce(crafted, done);
    assert_eq!(best, vec![x15, 3, inf, u32::MAX, 1.0f32.to_bits(), 2, 0.5f32.to_bits(), 4]);

    // more than 30 tasks: the kernel answers (+inf, 0xffffffff) and reads nothing out of bounds
    // (the CPU refuses such input, so this is checked on the backend alone)
    let mut bufs = opt.bufs.clone();
    bufs[0][1] = 31;
    let refs: Vec<_> = bufs.iter().map(|d| be.upload(d).unwrap()).collect();
    let r: Vec<_> = refs.iter().collect();
    be.launch(&DAG_OPTIMAL, &opt.params, opt.threads, &r).unwrap();
    be.sync().unwrap();
    let got = be.download(&refs[6]).unwrap();
    assert_eq!(&got[2 * chunks..4 * chunks], &[inf, u32::MAX].repeat(chunks)[..], "{}: n > 30", be.kind());
    assert_eq!(got[..2 * chunks], partial[..2 * chunks], "{}: other graphs are unaffected", be.kind());
    assert_eq!(got[4 * chunks..], partial[4 * chunks..], "{}: other graphs are unaffected", be.kind());
}

/// The batched MDP: reset from garbage, then every step of an episode (graphs of 8, 11, 12 and
/// 1 tasks: graphs finish at different steps), each step fed the CPU's state; random actions,
/// one bad action (graph 2 at step 3: flagged, then sticky), unscaled and scaled rewards.
fn dag_mdp_cases(be: &dyn Backend, sem: Semantics, done: &mut BTreeSet<&'static KernelSpec>) {
    let sys = DagSystem { semantics: sem, ..Default::default() };
    let dags: Vec<_> = [(8usize, 1u32), (11, 2), (12, 3), (1, 4)]
        .iter()
        .map(|&(n, k)| generate(&DagGenConfig { n, ..Default::default() }, 99, k).unwrap())
        .collect();
    let graphs: Vec<Prepared> = dags.iter().map(|d| Prepared::new(d, &sys).unwrap()).collect();
    let batch = DagBatch::new(&graphs).unwrap();
    let (b, n) = (graphs.len(), batch.n_max);
    let scale: Vec<f32> = dags
        .iter()
        .flat_map(|d| {
            let (hi, lo) = reward_scale(d, &sys);
            [hi as f32, lo as f32]
        })
        .collect();
    for scaled in [0u32, 1] {
        let mut p: DagParams = batch.params(sem, 1, 1);
        p.scaled = scaled;
        let params = bytemuck::bytes_of(&p).to_vec();
        let garbage = |len: usize| (0..len as u32).map(|i| i.wrapping_mul(2654435761)).collect::<Vec<u32>>();
        let reset = Case {
            id: &DAG_RESET,
            params: params.clone(),
            threads: b as u32,
            bufs: vec![batch.n_tasks.clone(), garbage(2 * b), garbage(8 * b), garbage(b * n)],
        };
        let out = assert_bit_exact(be, &reset, done);
        let (mut ft, mut state, mut ctl, mut plan) =
            (garbage(b * n * 4), out[2].clone().unwrap(), out[1].clone().unwrap(), out[3].clone().unwrap());
        for step in 0..=n {
            let action: Vec<u32> = (0..b)
                .map(|g| {
                    if g == 2 && step == 3 {
                        5
                    } else {
                        rng::philox4x32_10([g as u32, step as u32, scaled, 9], [3, sem as u32])[0] & 1
                    }
                })
                .collect();
            let bufs = vec![
                batch.n_tasks.clone(),
                f32v(&batch.cost),
                batch.par_off.clone(),
                batch.par_idx.clone(),
                batch.exit.clone(),
                f32v(&scale),
                action,
                ft,
                state,
                ctl,
                plan,
                vec![0; b],
            ];
            let c = Case { id: &DAG_STEP, params: params.clone(), threads: b as u32, bufs };
            let out = assert_equal(be, &c, done);
            let [f, s, k, pl, r] = [7, 8, 9, 10, 11].map(|i| out[i].clone().unwrap());
            if step == 3 {
                assert!(f32::from_bits(r[2]).is_nan() && k[5] == 2, "bad action flagged");
            }
            if step == n {
                assert_eq!(k.chunks(2).map(|c| c[1]).collect::<Vec<_>>(), vec![1, 1, 2, 1], "statuses at the end");
            }
            (ft, state, ctl, plan) = (f, s, k, pl);
        }
    }
}

fn levy_cases(
    be: &dyn Backend,
    env: &MecEnv,
    a0: &[u32],
    variant: u32,
    mode: u32,
    done: &mut BTreeSet<&'static KernelSpec>,
) {
    let mp = env.params();
    let (b, n, m) = (mp.b as usize, mp.n as usize, mp.m as usize);
    let pp = 8usize;
    let cfg = LevyConfig { population: pp, generations: 10, ..LevyConfig::default() };
    let mut lp: LevyParams = cfg.params(&mp, 99, 3);
    lp.variant = variant;
    lp.mode = mode;
    let inst = [dl(env, &env.cost), dl(env, &env.sqrt_f), dl(env, &env.h), dl(env, &env.task_d), dl(env, &env.task_f)];
    let hn = dl(env, &env.hn);
    let init = Case {
        id: &LEVY_INIT,
        params: bytemuck::bytes_of(&lp).to_vec(),
        threads: (b * pp) as u32,
        bufs: vec![
            inst[0].clone(),
            inst[1].clone(),
            inst[2].clone(),
            inst[3].clone(),
            inst[4].clone(),
            a0.to_vec(),
            vec![0; b * pp * n],
            vec![0; b * pp * n],
            vec![0; b * pp * n],
            vec![0; b * pp],
            vec![0; b * pp * (2 * m + 1)],
        ],
    };
    let st = assert_equal(be, &init, done);
    let (mut pa, mut pf, mut ppw, mut fit) =
        (st[6].clone().unwrap(), st[7].clone().unwrap(), st[8].clone().unwrap(), st[9].clone().unwrap());
    for g in [0u32, 1, 5, 9] {
        lp.generation = g;
        let c = Case {
            id: &LEVY_GENERATION,
            params: bytemuck::bytes_of(&lp).to_vec(),
            threads: (b * pp) as u32,
            bufs: vec![
                inst[0].clone(),
                inst[1].clone(),
                inst[2].clone(),
                hn.clone(),
                inst[3].clone(),
                inst[4].clone(),
                pa.clone(),
                pf.clone(),
                ppw.clone(),
                fit.clone(),
                vec![0; b * pp * (2 * m + 1)],
            ],
        };
        let cpu = backend::create(BackendKind::Cpu).unwrap();
        let want = run(&*cpu, &c);
        let got = run(be, &c);
        let bad = compare(&be.kind().to_string(), &c, &want, &got);
        // Candidates whose outputs differ must sit at a float margin.
        let mut rows = BTreeSet::new();
        for k in [6usize, 7, 8] {
            rows.extend(bad[k].iter().map(|&i| i / n));
        }
        rows.extend(bad[9].iter().copied());
        for &r in &rows {
            assert!(
                at_margin(&lp, &c, r, &hn),
                "{}: levy_generation (variant {variant}, mode {mode}, G {g}) candidate {r} differs without a float margin",
                be.kind()
            );
        }
        assert!(rows.len() * 20 <= b * pp, "{}: too many margin cases ({})", be.kind(), rows.len());
        if !rows.is_empty() {
            eprintln!(
                "{}: levy_generation G={g}: {} candidate(s) differ at a float margin (allowed)",
                be.kind(),
                rows.len()
            );
        }
        done.insert(&LEVY_GENERATION);
        pa = want[6].clone().unwrap();
        pf = want[7].clone().unwrap();
        ppw = want[8].clone().unwrap();
        fit = want[9].clone().unwrap();
    }
    let best = Case {
        id: &LEVY_BEST,
        params: bytemuck::bytes_of(&lp).to_vec(),
        threads: b as u32,
        bufs: vec![pa, pf, ppw, fit, vec![0; b * n], vec![0; b * n], vec![0; b * n], vec![0; b]],
    };
    assert_equal(be, &best, done);
}

/// Whether candidate row `r` of a generation case has a decision at a float margin: a Lévy
/// comparison (γd vs th or ĥ) or the greedy selection (candidate vs parent fitness) within 1e-5.
fn at_margin(lp: &LevyParams, c: &Case, r: usize, hn: &[u32]) -> bool {
    let (n, m, pp) = (lp.n as usize, lp.m as usize, lp.p as usize);
    let (bi, pi) = (r / pp, r % pp);
    let f = |v: &Vec<u32>| v.iter().map(|&x| f32::from_bits(x)).collect::<Vec<f32>>();
    let (cost, sf, h, td, tf) = (f(&c.bufs[0]), f(&c.bufs[1]), f(&c.bufs[2]), f(&c.bufs[4]), f(&c.bufs[5]));
    let hn = f(&hn.to_vec());
    let (pa, pf, ppw, fit) = (&c.bufs[6], f(&c.bufs[7]), f(&c.bufs[8]), f(&c.bufs[9]));
    let near = |x: f32, t: f32| (x - t).abs() <= 1e-5 * x.abs().max(t.abs()).max(1.0);
    let key = [lp.key0, lp.key1];
    let mut ca = vec![0u32; n];
    let (mut cf, mut cp) = (vec![0f32; n], vec![0f32; n]);
    let mut margin = false;
    for i in 0..n {
        let k = r * n + i;
        let w = rng::philox4x32_10(
            rng::counter((pi * n + i) as u32, bi as u32, (lp.call << 16) | lp.generation, rng::stream::LEVY_STEP_A, 0),
            key,
        );
        let (z0, z1) = rng::normal2(w[0], w[1]);
        let d = rng::levy_step(z0, z1, lp.sigma_u, lp.inv_beta);
        let gd = levy::gamma(lp.generation, lp.gmax) * d;
        let a = pa[k];
        let stab = if a == 0 { 0.0 } else { hn[(bi * n + i) * m + a as usize - 1] };
        if lp.variant == 0 && (near(gd, lp.th) || near(gd, stab)) {
            margin = true;
        }
        if lp.variant == 1 {
            let s = lp.eta_a * d;
            if (s - s.floor() - 0.5).abs() < 1e-4 {
                margin = true;
            }
        }
        let row = &hn[(bi * n + i) * m..(bi * n + i + 1) * m];
        (ca[i], cf[i], cp[i]) = levy::candidate(lp, bi as u32, pi as u32, i as u32, a, pf[k], ppw[k], row);
    }
    let mut bins = vec![0f32; 2 * m + 1];
    let new = if lp.mode == 0 {
        objective_exact_one(
            &cost[bi * n * (m + 1)..(bi + 1) * n * (m + 1)],
            &sf[bi * n..(bi + 1) * n],
            &ca,
            m,
            lp.f_max,
            lp.phi_t,
            &mut bins,
        )
    } else {
        let mp = MecParams {
            m: lp.m,
            bandwidth: lp.bandwidth,
            noise_psd: lp.noise_psd,
            f_local: lp.f_local,
            p_local: lp.p_local,
            f_max: lp.f_max,
            phi_t: lp.phi_t,
            phi_e: lp.phi_e,
            ..Default::default()
        };
        objective_paper_one(
            &mp,
            &h[bi * n * m..(bi + 1) * n * m],
            &td[bi * n..(bi + 1) * n],
            &tf[bi * n..(bi + 1) * n],
            &ca,
            &cf,
            &cp,
            &mut bins,
        )
    };
    margin || near(new, fit[r])
}

/// End to end: `mecrl run`'s evaluation of every method on each backend gives the CPU's
/// objectives (within the float tolerance; here every backend is in fact bit-exact).
#[test]
fn whole_run_matches_cpu_on_every_backend() {
    use mecrl::experiment::{runner, RunConfig};
    let cfg: RunConfig = RunConfig::from_toml(
        "batch = 4\nsteps = 2\n[mec]\nn_iotd = 25\nn_mec = 3\ntask_cycles_max = 2e9\n[levy]\npopulation = 6\ngenerations = 12\n",
        std::path::Path::new("inline.toml"),
    )
    .unwrap();
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let want = runner::run_mec(&cfg, cpu, &mut |_| {}).unwrap();
    for be in backends_under_test() {
        let kind = be.kind();
        let got = runner::run_mec(&cfg, be, &mut |_| {}).unwrap();
        for (w, g) in want.methods.iter().zip(&got.methods) {
            for (x, y) in w.per_instance.iter().zip(&g.per_instance) {
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * a.abs().max(b.abs());
                assert!(
                    close(x.objective, y.objective)
                        && close(x.mean_time, y.mean_time)
                        && close(x.mean_energy, y.mean_energy),
                    "{kind}: {} differs: {x:?} vs {y:?}",
                    w.method.name()
                );
            }
        }
    }
}
