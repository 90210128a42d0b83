//! The CUDA host shim runs every registered kernel's `.cu` code on the CPU and reproduces the CPU
//! reference: Philox known answers bit for bit, then each kernel in isolation on the same inputs
//! (integers equal, floats within 1e-5 relative; the count of bit-exact floats is printed).
#![cfg(feature = "cuda-host")]

use mecrl::backend::{create, Backend, BackendKind};
use mecrl::backend::{Access, Elem, KernelSpec};
use mecrl::env::mec::kernels::{
    MEC_ALLOC, MEC_CHANNEL, MEC_HEURISTIC, MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER, MEC_OBSERVE, MEC_RESET,
};
use mecrl::env::mec::{MecConfig, MecParams};
use mecrl::rng::RNG_FILL;
use mecrl::rng::{Dist, RngFillParams};
use mecrl::search::levy::kernels::{LEVY_BEST, LEVY_GENERATION, LEVY_INIT};
use mecrl::search::levy::{LevyConfig, LevyMode, LevyVariant};
use std::sync::Arc;

fn backends() -> (Arc<dyn Backend>, Arc<dyn Backend>) {
    let host = create(BackendKind::CudaHost).unwrap_or_else(|e| panic!("cuda-host backend: {e}"));
    (create(BackendKind::Cpu).unwrap(), host)
}

fn run(be: &dyn Backend, id: &'static KernelSpec, params: &[u8], threads: usize, inputs: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let bufs: Vec<_> = inputs.iter().map(|v| be.upload(v).unwrap()).collect();
    let refs: Vec<_> = bufs.iter().collect();
    be.launch(id, params, threads as u32, &refs).unwrap_or_else(|e| panic!("{} {:?}: {e}", be.kind(), id));
    bufs.iter().map(|b| be.download(b).unwrap()).collect()
}

/// Max relative difference of two f32 words (NaN == NaN).
fn rel(a: u32, b: u32) -> f64 {
    let (x, y) = (f32::from_bits(a) as f64, f32::from_bits(b) as f64);
    if a == b || (x.is_nan() && y.is_nan()) {
        return 0.0;
    }
    (x - y).abs() / x.abs().max(y.abs()).max(1e-30)
}

/// Runs `id` on cpu and cuda-host with the same inputs, asserts parity, returns the CPU outputs.
fn check(id: &'static KernelSpec, params: &[u8], threads: usize, inputs: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let (cpu, host) = backends();
    let want = run(&*cpu, id, params, threads, inputs);
    let got = run(&*host, id, params, threads, inputs);
    let spec = id;
    let (mut exact, mut total, mut worst) = (0usize, 0usize, 0.0f64);
    for (k, b) in spec.bufs.iter().enumerate() {
        if b.access != Access::ReadWrite {
            continue;
        }
        for (i, (&w, &g)) in want[k].iter().zip(&got[k]).enumerate() {
            total += 1;
            exact += (w == g) as usize;
            match b.elem {
                Elem::U32 => assert_eq!(g, w, "{} `{}`[{i}]", spec.entry, b.name),
                Elem::F32 => {
                    let r = rel(w, g);
                    worst = worst.max(r);
                    assert!(
                        r <= 1e-5,
                        "{} `{}`[{i}]: cuda-host {} cpu {}",
                        spec.entry,
                        b.name,
                        f32::from_bits(g),
                        f32::from_bits(w)
                    );
                }
            }
        }
    }
    println!("{:<20} {exact}/{total} words bit-exact, worst rel diff {worst:.2e}", spec.entry);
    want
}

fn kat(ctr: [u32; 4], key: [u32; 2]) -> Vec<u32> {
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
    let (_, host) = backends();
    run(&*host, &RNG_FILL, bytemuck::bytes_of(&p), 1, &[vec![0; 4]]).remove(0)
}

#[test]
fn philox_known_answers_on_the_host_shim() {
    assert_eq!(kat([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
    assert_eq!(kat([u32::MAX; 4], [u32::MAX; 2]), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]);
    assert_eq!(
        kat([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
}

#[test]
fn rng_fill_matches_cpu() {
    for dist in Dist::ALL {
        let means: &[f32] = if dist == Dist::Poisson { &[0.0, 0.5, 4.0, 29.9, 30.0, 100.0, 5000.0] } else { &[0.7] };
        for &p0 in means {
            let n = 3000u32;
            let p = RngFillParams {
                key0: 11,
                key1: 3,
                c0: 5,
                c1: 1,
                c2: 2,
                c3: 9,
                dist: dist as u32,
                n,
                p0,
                p1: 1.0 / 1.5,
                ..Default::default()
            };
            check(&RNG_FILL, bytemuck::bytes_of(&p), n as usize, &[vec![0; n as usize * dist.words()]]);
        }
    }
}

fn f32w(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn words(v: &[u32]) -> Vec<f32> {
    v.iter().map(|&x| f32::from_bits(x)).collect()
}

/// A small deterministic generator for test inputs (not the library's randomness).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / 16_777_216.0
    }
}

struct Inst {
    p: MecParams,
    ip: Vec<u32>,
    mp: Vec<u32>,
    td: Vec<u32>,
    tf: Vec<u32>,
    h: Vec<u32>,
    hn: Vec<u32>,
    cost: Vec<u32>,
    sf: Vec<u32>,
}

/// reset, channel, alloc and observe, each checked; returns the CPU state.
fn mec_instance(b: usize, n: usize, m: usize, pcand: usize, seed: u64) -> Inst {
    let cfg = MecConfig {
        n_iotd: n,
        n_mec: m,
        task_bits_max: Some(2e6),
        task_cycles_max: Some(3e9),
        capacity_horizon_s: 0.1,
        ..Default::default()
    };
    let mut p = cfg.params(b, pcand, seed);
    p.step = 3;
    let pb = bytemuck::bytes_of(&p).to_vec();
    let r =
        check(&MEC_RESET, &pb, b * (n + m), &[vec![0; b * 2 * n], vec![0; b * 2 * m], vec![0; b * n], vec![0; b * n]]);
    let (ip, mp, td, tf) = (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone());
    let r = check(&MEC_CHANNEL, &pb, b * n, &[ip.clone(), mp.clone(), vec![0; b * n * m]]);
    let h = r[2].clone();
    let r = check(
        &MEC_ALLOC,
        &pb,
        b * n,
        &[
            h.clone(),
            td.clone(),
            tf.clone(),
            vec![0; b * n * m],
            vec![0; b * n * m],
            vec![0; b * n * (m + 1)],
            vec![0; b * n],
        ],
    );
    let (hn, cost, sf) = (r[3].clone(), r[5].clone(), r[6].clone());
    check(&MEC_OBSERVE, &pb, b * m, &[h.clone(), vec![0; b * m * n]]);
    Inst { p, ip, mp, td, tf, h, hn, cost, sf }
}

#[test]
fn mec_kernels_match_cpu() {
    for &(b, n, m, pc) in &[(7usize, 13usize, 3usize, 5usize), (3, 30, 5, 23), (2, 4, 1, 1)] {
        let inst = mec_instance(b, n, m, pc, 42 + n as u64);
        let pb = bytemuck::bytes_of(&inst.p).to_vec();
        let mut rng = Lcg(n as u64);
        let a: Vec<u32> = (0..b * pc * n).map(|_| rng.below(m as u32 + 1)).collect();
        check(
            &MEC_OBJECTIVE_EXACT,
            &pb,
            b * pc,
            &[inst.cost.clone(), inst.sf.clone(), a.clone(), vec![0; b * pc * (m + 1)], vec![0; b * pc]],
        );
        // An out-of-range decision gives NaN on both.
        let mut bad = a.clone();
        bad[n + 1] = m as u32 + 1;
        let r = check(
            &MEC_OBJECTIVE_EXACT,
            &pb,
            b * pc,
            &[inst.cost.clone(), inst.sf.clone(), bad, vec![0; b * pc * (m + 1)], vec![0; b * pc]],
        );
        assert!(f32::from_bits(r[4][(n + 1) / n]).is_nan(), "a_i > M gives NaN");
        let f: Vec<f32> = (0..b * pc * n).map(|_| 1e9 + 2e10 * rng.unit()).collect();
        let pw: Vec<f32> = (0..b * pc * n).map(|_| 1e-3 + 1.4 * rng.unit()).collect();
        check(
            &MEC_OBJECTIVE_PAPER,
            &pb,
            b * pc,
            &[
                inst.h.clone(),
                inst.td.clone(),
                inst.tf.clone(),
                a.clone(),
                f32w(&f),
                f32w(&pw),
                vec![0; b * pc * 2 * m],
                vec![0; b * pc],
            ],
        );
        // Heuristics: order = ascending F per instance.
        let tf = words(&inst.tf);
        let mut order = Vec::new();
        for bi in 0..b {
            let mut o: Vec<u32> = (0..n as u32).collect();
            o.sort_by(|&x, &y| tf[bi * n + x as usize].total_cmp(&tf[bi * n + y as usize]));
            order.extend(o);
        }
        for variant in 0..3 {
            let mut p = inst.p;
            p.variant = variant;
            let r = check(
                &MEC_HEURISTIC,
                bytemuck::bytes_of(&p),
                b,
                &[inst.ip.clone(), inst.mp.clone(), inst.tf.clone(), order.clone(), vec![0; b * m], vec![0; b * n]],
            );
            if variant == 1 {
                assert!(r[5].iter().any(|&x| x > 0), "greedy offloads something");
            }
        }
    }
}

#[test]
fn levy_kernels_match_cpu() {
    let (b, n, m, pc) = (5usize, 17usize, 3usize, 14usize);
    let inst = mec_instance(b, n, m, pc, 7);
    let mut rng = Lcg(99);
    let a0: Vec<u32> = (0..b * n).map(|_| rng.below(m as u32 + 1)).collect();
    // An invalid parent decision (a_i > M) in exact mode: its candidate's fitness is NaN on
    // both backends and it is never replaced.
    let mut a0_bad = a0.clone();
    a0_bad[n + 2] = m as u32 + 1;
    let cases = [(&a0, LevyMode::Exact), (&a0, LevyMode::Paper), (&a0_bad, LevyMode::Exact)];
    for (a0, mode) in cases {
        for variant in [LevyVariant::Proposed, LevyVariant::Classic] {
            let cfg = LevyConfig { population: pc, generations: 12, mode, variant, ..Default::default() };
            let mut lp = cfg.params(&inst.p, 1234, 2);
            let sz = b * pc * n;
            let r = check(
                &LEVY_INIT,
                bytemuck::bytes_of(&lp),
                b * pc,
                &[
                    inst.cost.clone(),
                    inst.sf.clone(),
                    inst.h.clone(),
                    inst.td.clone(),
                    inst.tf.clone(),
                    a0.clone(),
                    vec![0; sz],
                    vec![0; sz],
                    vec![0; sz],
                    vec![0; b * pc],
                    vec![0; b * pc * (2 * m + 1)],
                ],
            );
            let (mut pa, mut pf, mut pp, mut fit) = (r[6].clone(), r[7].clone(), r[8].clone(), r[9].clone());
            let first = words(&fit);
            let mut improved = 0;
            for g in 0..cfg.generations as u32 {
                lp.generation = g;
                let r = check(
                    &LEVY_GENERATION,
                    bytemuck::bytes_of(&lp),
                    b * pc,
                    &[
                        inst.cost.clone(),
                        inst.sf.clone(),
                        inst.h.clone(),
                        inst.hn.clone(),
                        inst.td.clone(),
                        inst.tf.clone(),
                        pa,
                        pf,
                        pp,
                        fit.clone(),
                        vec![0; b * pc * (2 * m + 1)],
                    ],
                );
                improved += r[9].iter().zip(&fit).filter(|(x, y)| x != y).count();
                (pa, pf, pp, fit) = (r[6].clone(), r[7].clone(), r[8].clone(), r[9].clone());
            }
            assert!(improved > 0, "{mode:?}/{variant:?}: selection accepted some candidate");
            assert!(
                words(&fit).iter().zip(&first).all(|(x, y)| x <= y || (x.is_nan() && y.is_nan())),
                "fitness never increases"
            );
            check(
                &LEVY_BEST,
                bytemuck::bytes_of(&lp),
                b,
                &[pa, pf, pp, fit, vec![0; b * n], vec![0; b * n], vec![0; b * n], vec![0; b]],
            );
        }
    }
}

#[test]
fn every_registered_kernel_has_a_host_entry() {
    let (_, host) = backends();
    assert!(host.describe().contains("cuda-host"));
    for k in mecrl::catalog::kernels() {
        // A launch with zero threads runs one (idle) block: the symbol exists and the params fit.
        let bufs: Vec<_> = k.bufs.iter().map(|_| host.alloc(1).unwrap()).collect();
        let refs: Vec<_> = bufs.iter().collect();
        host.launch(k, &vec![0u8; k.params.size], 0, &refs).unwrap_or_else(|e| panic!("{}: {e}", k.entry));
    }
}
