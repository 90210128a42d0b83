//! wgpu against the CPU reference, kernel by kernel, on identical inputs (lavapipe is enough).
//! Integers must be equal, floats within 1e-5 relative; scratch buffers are not compared.
//! Skips (passing, with a message) when no wgpu adapter is available.
#![cfg(feature = "wgpu")]

use std::sync::Arc;

use mecrl::backend::{cpu::CpuBackend, Backend};
use mecrl::backend::{Access, Elem, KernelSpec};
use mecrl::env::mec::kernels::{
    MEC_ALLOC, MEC_CHANNEL, MEC_HEURISTIC, MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER, MEC_OBSERVE, MEC_RESET,
};
use mecrl::env::mec::{MecConfig, MecEnv, MecParams};
use mecrl::rng::RNG_FILL;
use mecrl::rng::{self, RngFillParams};
use mecrl::search::levy::kernels::{LEVY_BEST, LEVY_GENERATION, LEVY_INIT};
use mecrl::search::levy::{LevyConfig, LevyParams};

fn wgpu_backend() -> Option<Arc<dyn Backend>> {
    match mecrl::backend::wgpu::WgpuBackend::new(false) {
        Ok(b) => Some(Arc::new(b)),
        Err(e) => {
            assert!(std::env::var("MECRL_REQUIRE_WGPU").as_deref() != Ok("1"), "wgpu is required here: {e}");
            eprintln!("skipping: {e}");
            None
        }
    }
}

/// Upload `inputs`, launch, download every buffer.
fn run(be: &dyn Backend, id: &'static KernelSpec, params: &[u8], threads: usize, inputs: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let bufs: Vec<_> = inputs.iter().map(|d| be.upload(d).unwrap()).collect();
    let refs: Vec<_> = bufs.iter().collect();
    be.launch(id, params, threads as u32, &refs).unwrap();
    bufs.iter().map(|b| be.download(b).unwrap()).collect()
}

/// Run on cpu and wgpu, compare non-scratch outputs; returns the CPU outputs and the largest
/// relative float error.
fn compare(
    gpu: &dyn Backend,
    id: &'static KernelSpec,
    params: &[u8],
    threads: usize,
    inputs: &[Vec<u32>],
    what: &str,
) -> (Vec<Vec<u32>>, f64) {
    let spec = id;
    let cpu = run(&CpuBackend::new(), id, params, threads, inputs);
    let got = run(gpu, id, params, threads, inputs);
    let mut worst = 0.0f64;
    let soft = std::env::var("SMOKE_SOFT").is_ok();
    let mut bad = 0usize;
    for (k, b) in spec.bufs.iter().enumerate() {
        if b.access == Access::Scratch {
            continue;
        }
        assert_eq!(cpu[k].len(), got[k].len());
        for (i, (&c, &g)) in cpu[k].iter().zip(&got[k]).enumerate() {
            match b.elem {
                Elem::U32 if soft => {
                    if c != g {
                        bad += 1;
                        if bad < 4 {
                            eprintln!(
                                "  {what}: {}.{}[{i}]: cpu {c:#x} ({}) wgpu {g:#x} ({})",
                                spec.entry,
                                b.name,
                                f32::from_bits(c),
                                f32::from_bits(g)
                            );
                        }
                    }
                }
                Elem::U32 => assert_eq!(c, g, "{what}: {}.{}[{i}]", spec.entry, b.name),
                Elem::F32 => {
                    let (c, g) = (f32::from_bits(c) as f64, f32::from_bits(g) as f64);
                    if c.is_nan() || g.is_nan() {
                        assert!(c.is_nan() && g.is_nan(), "{what}: {}.{}[{i}]: cpu {c} wgpu {g}", spec.entry, b.name);
                        continue;
                    }
                    let rel = (c - g).abs() / c.abs().max(g.abs()).max(1e-30);
                    if c != g {
                        worst = worst.max(rel);
                    }
                    if soft && rel > 1e-5 {
                        bad += 1;
                        if bad < 4 {
                            eprintln!("  {what}: {}.{}[{i}]: cpu {c} wgpu {g} rel {rel:e}", spec.entry, b.name);
                        }
                        continue;
                    }
                    assert!(rel <= 1e-5, "{what}: {}.{}[{i}]: cpu {c} wgpu {g} (rel {rel:e})", spec.entry, b.name);
                }
            }
        }
    }
    eprintln!(
        "{what:<40} max rel err {worst:.3e}{}",
        if bad > 0 { format!(" MISMATCHES {bad}") } else { String::new() }
    );
    (cpu, worst)
}

fn f32w(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / 16_777_216.0
    }
}

#[test]
fn rng_fill_matches_cpu() {
    let Some(gpu) = wgpu_backend() else { return };
    for dist in rng::Dist::ALL {
        for (p0, p1) in [(4.0f32, 0.0f32), (100.0, 0.0), (rng::levy_sigma_u(1.5) as f32, 1.0 / 1.5), (0.7, 1.0 / 1.1)] {
            let n = 5000u32;
            let p = RngFillParams {
                key0: 11,
                key1: 0xdead_beef,
                c0: 0xffff_fff0,
                c1: 2,
                c2: 3,
                c3: 4,
                dist: dist as u32,
                n,
                p0,
                p1,
                ..Default::default()
            };
            let words = n as usize * dist.words();
            compare(
                &*gpu,
                &RNG_FILL,
                bytemuck::bytes_of(&p),
                n as usize,
                &[vec![0; words]],
                &format!("rng_fill {dist:?} p0={p0}"),
            );
        }
    }
    // A 2-D grid: more than 65535 workgroups.
    let n = 64 * 65_535 + 1000;
    let p = RngFillParams { key0: 1, key1: 2, dist: 1, n, ..Default::default() };
    compare(&*gpu, &RNG_FILL, bytemuck::bytes_of(&p), n as usize, &[vec![0; n as usize]], "rng_fill uniform 2-D grid");
}

fn config() -> MecConfig {
    MecConfig { n_iotd: 37, n_mec: 5, task_bits_max: Some(2e6), task_cycles_max: Some(3e9), ..MecConfig::default() }
}

#[test]
fn mec_kernels_match_cpu() {
    let Some(gpu) = wgpu_backend() else { return };
    let cfg = config();
    let (b, n, m, pp) = (3usize, cfg.n_iotd, cfg.n_mec, 6usize);
    let mut p: MecParams = cfg.params(b, pp, 1234);
    p.step = 7;
    let pb = bytemuck::bytes_of(&p).to_vec();

    let (out, _) = compare(
        &*gpu,
        &MEC_RESET,
        &pb,
        b * (n + m),
        &[vec![0; b * 2 * n], vec![0; b * 2 * m], vec![0; b * n], vec![0; b * n]],
        "mec_reset",
    );
    let (ip, mp, td, tf) = (out[0].clone(), out[1].clone(), out[2].clone(), out[3].clone());

    let (out, _) =
        compare(&*gpu, &MEC_CHANNEL, &pb, b * n, &[ip.clone(), mp.clone(), vec![0; b * n * m]], "mec_channel");
    let h = out[2].clone();

    let (out, _) = compare(
        &*gpu,
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
        "mec_alloc",
    );
    let (cost, sqrt_f) = (out[5].clone(), out[6].clone());
    // A wide range of gains exercises both branches of the power solve.
    let mut rng = Lcg(5);
    let h_wide: Vec<f32> = (0..b * n * m).map(|_| 10f32.powf(-9.0 + 7.0 * rng.unit())).collect();
    compare(
        &*gpu,
        &MEC_ALLOC,
        &pb,
        b * n,
        &[
            f32w(&h_wide),
            td.clone(),
            tf.clone(),
            vec![0; b * n * m],
            vec![0; b * n * m],
            vec![0; b * n * (m + 1)],
            vec![0; b * n],
        ],
        "mec_alloc (gains 1e-9..1e-2)",
    );

    compare(&*gpu, &MEC_OBSERVE, &pb, b * m, &[h.clone(), vec![0; b * m * n]], "mec_observe");

    // Decisions: random in 0..=M, one candidate with an invalid target (NaN).
    let mut a: Vec<u32> = (0..b * pp * n).map(|_| rng.next() % (m as u32 + 1)).collect();
    a[2 * n + 5] = m as u32 + 1;
    compare(
        &*gpu,
        &MEC_OBJECTIVE_EXACT,
        &pb,
        b * pp,
        &[cost.clone(), sqrt_f.clone(), a.clone(), vec![0; b * pp * (m + 1)], vec![0; b * pp]],
        "mec_objective_exact",
    );

    let f: Vec<f32> = (0..b * pp * n).map(|_| 1e8 + 3e10 * rng.unit()).collect();
    let pw: Vec<f32> = (0..b * pp * n).map(|_| 1e-3 + 1.4 * rng.unit()).collect();
    compare(
        &*gpu,
        &MEC_OBJECTIVE_PAPER,
        &pb,
        b * pp,
        &[h.clone(), td.clone(), tf.clone(), a.clone(), f32w(&f), f32w(&pw), vec![0; b * pp * 2 * m], vec![0; b * pp]],
        "mec_objective_paper",
    );

    // Heuristics; `order` sorts each instance's IoTDs by ascending F.
    let tff: Vec<f32> = tf.iter().map(|&x| f32::from_bits(x)).collect();
    let mut order = Vec::new();
    for bi in 0..b {
        let mut o: Vec<u32> = (0..n as u32).collect();
        o.sort_by(|&x, &y| tff[bi * n + x as usize].total_cmp(&tff[bi * n + y as usize]));
        order.extend(o);
    }
    for (variant, cap) in [(0u32, 50e9f32), (1, 50e9), (1, 9e9), (2, 50e9), (2, 6e9)] {
        let mut q = p;
        q.variant = variant;
        q.capacity = cap;
        compare(
            &*gpu,
            &MEC_HEURISTIC,
            bytemuck::bytes_of(&q),
            b,
            &[ip.clone(), mp.clone(), tf.clone(), order.clone(), vec![0; b * m], vec![0; b * n]],
            &format!("mec_heuristic variant {variant} cap {cap:e}"),
        );
    }
}

#[test]
fn levy_kernels_match_cpu() {
    let Some(gpu) = wgpu_backend() else { return };
    let cfg = config();
    let (b, n, m) = (3usize, cfg.n_iotd, cfg.n_mec);
    let env = MecEnv::new(Arc::new(CpuBackend::new()), &cfg, b, 99).unwrap();
    let be = env.backend().clone();
    let dl = |x: &mecrl::Buffer| be.download(x).unwrap();
    let (cost, sqrt_f, h, hn, td, tf) =
        (dl(&env.cost), dl(&env.sqrt_f), dl(&env.h), dl(&env.hn), dl(&env.task_d), dl(&env.task_f));
    let a0 = be.download(&env.heuristic_dev(mecrl::env::mec::Heuristic::Greedy).unwrap()).unwrap();
    for mode in [0u32, 1] {
        for variant in [0u32, 1] {
            let lcfg = LevyConfig { population: 8, generations: 30, ..LevyConfig::default() };
            let pp = lcfg.population;
            let mut lp: LevyParams = lcfg.params(&env.params(), 4242, 3);
            lp.mode = mode;
            lp.variant = variant;
            let tag = format!("mode {mode} variant {variant}");
            let (out, _) = compare(
                &*gpu,
                &LEVY_INIT,
                bytemuck::bytes_of(&lp),
                b * pp,
                &[
                    cost.clone(),
                    sqrt_f.clone(),
                    h.clone(),
                    td.clone(),
                    tf.clone(),
                    a0.clone(),
                    vec![0; b * pp * n],
                    vec![0; b * pp * n],
                    vec![0; b * pp * n],
                    vec![0; b * pp],
                    vec![0; b * pp * (2 * m + 1)],
                ],
                &format!("levy_init {tag}"),
            );
            let (mut pa, mut pf, mut ppw, mut fit) = (out[6].clone(), out[7].clone(), out[8].clone(), out[9].clone());
            // Each generation on identical inputs (the CPU's previous generation).
            let mut worst = 0.0f64;
            for g in 0..lcfg.generations as u32 {
                lp.generation = g;
                let (out, w) = compare(
                    &*gpu,
                    &LEVY_GENERATION,
                    bytemuck::bytes_of(&lp),
                    b * pp,
                    &[
                        cost.clone(),
                        sqrt_f.clone(),
                        h.clone(),
                        hn.clone(),
                        td.clone(),
                        tf.clone(),
                        pa,
                        pf,
                        ppw,
                        fit,
                        vec![0; b * pp * (2 * m + 1)],
                    ],
                    &format!("levy_generation {tag} g {g}"),
                );
                worst = worst.max(w);
                (pa, pf, ppw, fit) = (out[6].clone(), out[7].clone(), out[8].clone(), out[9].clone());
            }
            eprintln!("levy_generation {tag}: worst over generations {worst:.3e}");
            compare(
                &*gpu,
                &LEVY_BEST,
                bytemuck::bytes_of(&lp),
                b,
                &[pa, pf, ppw, fit, vec![0; b * n], vec![0; b * n], vec![0; b * n], vec![0; b]],
                &format!("levy_best {tag}"),
            );
        }
    }
}

#[test]
fn levy_search_end_to_end_matches_cpu() {
    let Some(gpu) = wgpu_backend() else { return };
    let cfg = config();
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new());
    for mode in [mecrl::search::levy::LevyMode::Exact, mecrl::search::levy::LevyMode::Paper] {
        let lcfg = LevyConfig { population: 16, generations: 40, mode, ..LevyConfig::default() };
        let mut res = Vec::new();
        for be in [cpu.clone(), gpu.clone()] {
            let env = MecEnv::new(be.clone(), &cfg, 4, 7).unwrap();
            let a0 = env.heuristic_dev(mecrl::env::mec::Heuristic::Greedy).unwrap();
            let r = mecrl::search::levy::search(&env, &lcfg, &a0, 7, 0, false, &mut |_| {}).unwrap();
            res.push((be.download(&r.best_a).unwrap(), r.best_fit));
        }
        assert_eq!(res[0].0, res[1].0, "{mode:?}: best decisions");
        for (c, g) in res[0].1.iter().zip(&res[1].1) {
            assert!(((c - g) / c).abs() <= 1e-5, "{mode:?}: best fitness cpu {c} wgpu {g}");
        }
        eprintln!("levy search {mode:?}: best fit cpu {:?} wgpu {:?}", res[0].1, res[1].1);
    }
}

#[test]
fn backend_errors_are_typed_not_panics() {
    let Some(gpu) = wgpu_backend() else { return };
    let raw = mecrl::backend::wgpu::WgpuBackend::new(false).unwrap();
    let info = raw.adapter_info().clone();
    assert!(gpu.describe().contains(&info.name), "{}", gpu.describe());
    // `--backend auto` refuses a software adapter, naming it.
    if info.device_type == wgpu::DeviceType::Cpu {
        match mecrl::backend::wgpu::WgpuBackend::new(true) {
            Err(mecrl::Error::NoDevice { backend, why }) => {
                assert_eq!(backend, "wgpu");
                assert!(why.contains(&info.name), "{why}");
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a CPU adapter was accepted with require_hardware"),
        }
    }
    // A buffer beyond the adapter's storage binding limit.
    let words = (raw.limits().max_storage_buffer_binding_size / 4 + 1) as usize;
    assert!(matches!(gpu.alloc(words), Err(mecrl::Error::Shape { .. })));
    // Writes beyond the end, buffers of another backend, wrong buffer counts and params.
    let b = gpu.alloc(4).unwrap();
    assert!(matches!(gpu.write(&b, &[0; 5]), Err(mecrl::Error::Shape { .. })));
    let host = CpuBackend::new().alloc(4).unwrap();
    assert!(matches!(gpu.download(&host), Err(mecrl::Error::Device { .. })));
    let p = RngFillParams { n: 1, ..Default::default() };
    assert!(gpu.launch(&RNG_FILL, bytemuck::bytes_of(&p), 1, &[&host]).is_err());
    assert!(gpu.launch(&RNG_FILL, bytemuck::bytes_of(&p), 1, &[]).is_err());
    assert!(gpu.launch(&RNG_FILL, &[0u8; 4], 1, &[&b]).is_err());
    // Zero-word buffers and the download counter.
    let empty = gpu.alloc(0).unwrap();
    let before = gpu.downloads();
    assert!(gpu.download(&empty).unwrap().is_empty());
    assert_eq!(gpu.upload(&[1, 2, 3]).and_then(|x| gpu.download(&x)).unwrap(), vec![1, 2, 3]);
    assert_eq!(gpu.downloads(), before + 2);
    gpu.sync().unwrap();
}

#[test]
fn a_wgsl_error_names_the_kernel_and_carries_the_log() {
    let Ok(raw) = mecrl::backend::wgpu::WgpuBackend::new(false) else {
        assert!(std::env::var("MECRL_REQUIRE_WGPU").as_deref() != Ok("1"), "wgpu is required here");
        return;
    };
    let good = mecrl::backend::source::wgsl_module(&mecrl::rng::STEM, "rng_fill").unwrap();
    raw.compile_check(&RNG_FILL, &good).unwrap();
    // A syntax error and a type error: both typed, naming the entry, with the compiler's log.
    for broken in [good.replacen("fn ", "fn fn ", 1), format!("{good}\nfn mecrl_bad() -> u32 {{ return 1.5; }}\n")] {
        match raw.compile_check(&RNG_FILL, &broken) {
            Err(mecrl::Error::KernelCompile { backend, kernel, log }) => {
                assert_eq!((backend.as_str(), kernel.as_str()), ("wgpu", "rng_fill"));
                assert!(!log.trim().is_empty());
            }
            other => panic!("expected KernelCompile, got {other:?}"),
        }
    }
}
