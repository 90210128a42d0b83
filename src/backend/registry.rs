//! THE one list of kernels. Adding a kernel = its CPU function + WGSL section + CUDA entry +
//! one entry here; parity tests, shader validation and NVRTC tests walk this list.

use std::mem::offset_of;

use crate::env::crowd::{self, cpu as crowd_cpu, CrowdParams};
use crate::env::dag::batch::{self as dag, DagParams};
use crate::env::dag::mdp as dag_mdp;
use crate::env::mec::{self, MecParams};
use crate::error::Result;
use crate::rng::{self, RngFillParams};
use crate::search::levy::{self, LevyParams};

/// Kernel identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KernelId {
    /// Philox blocks and distributions into a buffer.
    RngFill,
    /// `mec`: positions and task sizes at reset.
    MecReset,
    /// `mec`: channel gains of a step (eq. 3).
    MecChannel,
    /// `mec`: optimal power, rates and per-IoTD cost table (eq. 2, 13).
    MecAlloc,
    /// `mec`: each agent's observation (its column h_j, log-standardized).
    MecObserve,
    /// `mec`: objective Σ Φ of candidate decisions with the exact allocation (eq. 8–11).
    MecObjectiveExact,
    /// `mec`: objective Σ Φ of candidate (a, f, p) as given (eq. 8–11, paper mode).
    MecObjectivePaper,
    /// `mec`: the Local / Greedy / Random baselines.
    MecHeuristic,
    /// Lévy search: population initialization and initial fitness.
    LevyInit,
    /// Lévy search: one generation (eq. 20–28).
    LevyGeneration,
    /// Lévy search: best candidate per instance.
    LevyBest,
    /// `dag`: makespan of given offloading plans, one thread per (graph, plan).
    DagMakespan,
    /// `dag`: exhaustive optimum per (graph, chunk of plan indices).
    DagOptimal,
    /// `dag`: the best of the chunks per graph.
    DagOptimalReduce,
    /// `dag` MDP: every graph back to position 0.
    DagReset,
    /// `dag` MDP: one decision per graph, reward −ΔT_c.
    DagStep,
    /// `crowd`: empty queues, first arrival countdowns, zero counts.
    CrowdReset,
    /// `crowd`: arrivals (Poisson λ1, λ2, λ3) and MD capacities of a slot.
    CrowdTasks,
    /// `crowd`: partial observations (own task, P̂ (5), D (14), bottlenecks).
    CrowdObserve,
    /// `crowd`: drift-plus-penalty / Greedy / Random actions and their f′ (22).
    CrowdPolicy,
    /// `crowd`: per-unit demand and per-link requested rate (A_u, H_l).
    CrowdLoad,
    /// `crowd`: E (6) and cost (7) per agent with shared link capacity (1).
    CrowdOutcome,
    /// `crowd`: reward (13), metrics, accounting, queue updates (2), (4).
    CrowdFinish,
}

/// How a kernel uses a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Read,
    /// Read and written.
    ReadWrite,
    /// Device scratch: written by the kernel, contents unspecified afterwards (not compared).
    Scratch,
}

/// Element type of a buffer (storage is always 32-bit words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// `u32` / `unsigned int`.
    U32,
    /// `f32` / `float`.
    F32,
}

/// One buffer binding.
#[derive(Clone, Copy, Debug)]
pub struct BufSpec {
    /// Name (the same in the `.wgsl` and the `.cu`).
    pub name: &'static str,
    /// Access.
    pub access: Access,
    /// Element type.
    pub elem: Elem,
}

/// Layout of the `#[repr(C)]` parameter block (checked against `.wgsl` and `.cu`).
#[derive(Clone, Copy, Debug)]
pub struct ParamLayout {
    /// The struct name in WGSL and CUDA.
    pub name: &'static str,
    /// Size in bytes (a multiple of 16).
    pub size: usize,
    /// (field, byte offset) in declaration order.
    pub fields: &'static [(&'static str, usize)],
}

/// CPU implementation: parameter bytes and the buffers in binding order.
pub type CpuFn = fn(&[u8], &mut [&mut [u32]]) -> Result<()>;

/// Minimum length in words of every buffer, from the parameter block (checked before every
/// launch on every backend, so no kernel reads or writes out of bounds).
pub type SizeFn = fn(&[u8]) -> Vec<u64>;

/// A registered kernel.
#[derive(Clone, Copy, Debug)]
pub struct KernelSpec {
    /// Identity.
    pub id: KernelId,
    /// Stem (file name without extension).
    pub stem: &'static str,
    /// Entry point name on every backend.
    pub entry: &'static str,
    /// WGSL stem file under `shaders/`.
    pub wgsl: &'static str,
    /// CUDA file under `kernels/`.
    pub cu: &'static str,
    /// Parameter block.
    pub params: ParamLayout,
    /// Buffers in binding order (WGSL bindings 1.., CUDA arguments after the params).
    pub bufs: &'static [BufSpec],
    /// The CPU reference.
    pub cpu: CpuFn,
    /// Required buffer sizes.
    pub sizes: SizeFn,
}

macro_rules! fields {
    ($t:ty; $($f:ident),* $(,)?) => {
        &[$((stringify!($f), offset_of!($t, $f))),*]
    };
}

const fn b(name: &'static str, access: Access, elem: Elem) -> BufSpec {
    BufSpec { name, access, elem }
}

use Access::{Read as R, ReadWrite as W, Scratch as S};
use Elem::{F32, U32};

const RNG_PARAMS: ParamLayout = ParamLayout {
    name: "RngFillParams",
    size: std::mem::size_of::<RngFillParams>(),
    fields: fields!(RngFillParams; key0, key1, c0, c1, c2, c3, dist, n, p0, p1, _pad0, _pad1),
};

const MEC_PARAMS: ParamLayout = ParamLayout {
    name: "MecParams",
    size: std::mem::size_of::<MecParams>(),
    fields: fields!(MecParams; b, n, m, p, key0, key1, step, variant, area, beta0, bandwidth,
        noise_psd, d_lo, d_hi, f_lo, f_hi, f_local, p_local, f_max, p_max, phi_t, phi_e, d2_min,
        capacity),
};

const LEVY_PARAMS: ParamLayout = ParamLayout {
    name: "LevyParams",
    size: std::mem::size_of::<LevyParams>(),
    fields: fields!(LevyParams; b, n, m, p, key0, key1, call, generation, gmax, variant, mode,
        _pad0, sigma_u, inv_beta, th, eta_a, eta_f, eta_p, f_min, p_min, f_max, p_max, f_local,
        p_local, phi_t, phi_e, bandwidth, noise_psd),
};

const DAG_PARAMS: ParamLayout = ParamLayout {
    name: "DagParams",
    size: std::mem::size_of::<DagParams>(),
    fields: fields!(DagParams; b, n_max, e_max, p, semantics, chunks, scaled, _pad1),
};

const CROWD_PARAMS: ParamLayout = ParamLayout {
    name: "CrowdParams",
    size: std::mem::size_of::<CrowdParams>(),
    fields: fields!(CrowdParams; b, n, s, k, r, step, key0, key1, policy, gap_lo, gap_hi, _pad0, lambda1,
        lambda2, lambda3, f_md, idle_lo, idle_hi, f_edge, f_cloud, c_wireless, c_wired, c_backbone, dt, alpha,
        beta, v_penalty, fee_local, fee_md, fee_edge, fee_cloud, rate_unit, cycles_unit, bits_per_mb, lv0, lv1,
        lv2, lv3, _pad1, _pad2),
};

/// (B, N, U, L, obs width, S + 1) of a `crowd_*` parameter block.
fn crowd_dims(bytes: &[u8]) -> (u64, u64, u64, u64, u64, u64) {
    let p: CrowdParams = params(bytes);
    let (b, n, u, l, _, w) = crowd_cpu::dims(&p);
    (b as u64, n as u64, u as u64, l as u64, w as u64, p.s as u64 + 1)
}

fn crowd_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, _) = crowd_dims(bytes);
    vec![b * n, b * u, b * l, b * crowd::count::WIDTH as u64]
}

fn crowd_tasks_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, ..) = crowd_dims(bytes);
    vec![b * n, b * n * 3, b * n]
}

fn crowd_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, w, c) = crowd_dims(bytes);
    vec![c, b * n * 3, b * n, b * u, b * l, b * n * w]
}

fn crowd_policy_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, _, _, w, _) = crowd_dims(bytes);
    vec![b * n * w, b * n, b * n]
}

fn crowd_load_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, c) = crowd_dims(bytes);
    vec![c, b * n * 3, b * n, b * (u + l)]
}

fn crowd_outcome_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, c) = crowd_dims(bytes);
    vec![c, b * n * 3, b * n, b * u, b * n, b * (u + l), b * n * 2]
}

fn crowd_finish_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, u, l, _, c) = crowd_dims(bytes);
    let (m, k) = (crowd::metric::WIDTH as u64, crowd::count::WIDTH as u64);
    vec![c, b * n * 3, b * n, b * n, b * n * 2, b * (u + l), b * u, b * l, b, b * m, b * k]
}

fn mec_dims(bytes: &[u8]) -> (u64, u64, u64, u64) {
    let p: MecParams = params(bytes);
    (p.b as u64, p.n as u64, p.m as u64, p.p as u64)
}

fn levy_dims(bytes: &[u8]) -> (u64, u64, u64, u64) {
    let p: LevyParams = params(bytes);
    (p.b as u64, p.n as u64, p.m as u64, p.p as u64)
}

fn rng_sizes(bytes: &[u8]) -> Vec<u64> {
    let p: RngFillParams = params(bytes);
    let words = match p.dist {
        0 => 4,
        2 => 2,
        _ => 1,
    };
    vec![p.n as u64 * words]
}

fn mec_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * 2 * n, b * 2 * m, b * n, b * n]
}

fn mec_channel_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * 2 * n, b * 2 * m, b * n * m]
}

fn mec_alloc_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * n * m, b * n, b * n, b * n * m, b * n * m, b * n * (m + 1), b * n]
}

fn mec_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * n * m, b * m * n]
}

fn mec_objective_exact_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = mec_dims(bytes);
    vec![b * n * (m + 1), b * n, b * p * n, b * p * (m + 1), b * p]
}

fn mec_objective_paper_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = mec_dims(bytes);
    vec![b * n * m, b * n, b * n, b * p * n, b * p * n, b * p * n, b * p * 2 * m, b * p]
}

fn mec_heuristic_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, _) = mec_dims(bytes);
    vec![b * 2 * n, b * 2 * m, b * n, b * n, b * m, b * n]
}

fn levy_init_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = levy_dims(bytes);
    let pop = b * p * n;
    vec![b * n * (m + 1), b * n, b * n * m, b * n, b * n, b * n, pop, pop, pop, b * p, b * p * (2 * m + 1)]
}

fn levy_generation_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, m, p) = levy_dims(bytes);
    let pop = b * p * n;
    vec![b * n * (m + 1), b * n, b * n * m, b * n * m, b * n, b * n, pop, pop, pop, b * p, b * p * (2 * m + 1)]
}

fn levy_best_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, _, p) = levy_dims(bytes);
    let pop = b * p * n;
    vec![pop, pop, pop, b * p, b * n, b * n, b * n, b]
}

/// (B, N, E, P, chunks) of a `dag_*` parameter block; chunks is at least 1.
fn dag_dims(bytes: &[u8]) -> (u64, u64, u64, u64, u64) {
    let p: DagParams = params(bytes);
    (p.b as u64, p.n_max as u64, p.e_max as u64, p.p as u64, p.chunks.max(1) as u64)
}

fn dag_makespan_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, p, _) = dag_dims(bytes);
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, b * p * n, b * p * n * 4, b * p]
}

fn dag_optimal_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, _, c) = dag_dims(bytes);
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, b * c * n * 4, b * c * 2]
}

fn dag_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, _, _, _) = dag_dims(bytes);
    vec![b, 2 * b, dag_mdp::STATE_WORDS as u64 * b, b * n]
}

fn dag_step_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, _, _) = dag_dims(bytes);
    let s = dag_mdp::STATE_WORDS as u64;
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, 2 * b, b, b * n * 4, s * b, 2 * b, b * n, b]
}

fn dag_optimal_reduce_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, _, _, _, c) = dag_dims(bytes);
    vec![b * c * 2, b * 2]
}

/// Every kernel of mecrl.
pub static KERNELS: &[KernelSpec] = &[
    KernelSpec {
        id: KernelId::RngFill,
        stem: "rng",
        entry: "rng_fill",
        wgsl: "rng/rng.wgsl",
        cu: "rng/rng.cu",
        params: RNG_PARAMS,
        bufs: &[b("out", W, U32)],
        cpu: rng::cpu_rng_fill_kernel,
        sizes: rng_sizes,
    },
    KernelSpec {
        id: KernelId::MecReset,
        stem: "mec",
        entry: "mec_reset",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[b("iotd_pos", W, F32), b("mec_pos", W, F32), b("task_d", W, F32), b("task_f", W, F32)],
        cpu: mec::cpu_reset,
        sizes: mec_reset_sizes,
    },
    KernelSpec {
        id: KernelId::MecChannel,
        stem: "mec",
        entry: "mec_channel",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[b("iotd_pos", R, F32), b("mec_pos", R, F32), b("h", W, F32)],
        cpu: mec::cpu_channel,
        sizes: mec_channel_sizes,
    },
    KernelSpec {
        id: KernelId::MecAlloc,
        stem: "mec",
        entry: "mec_alloc",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[
            b("h", R, F32),
            b("task_d", R, F32),
            b("task_f", R, F32),
            b("hn", W, F32),
            b("p_opt", W, F32),
            b("cost", W, F32),
            b("sqrt_f", W, F32),
        ],
        cpu: mec::cpu_alloc,
        sizes: mec_alloc_sizes,
    },
    KernelSpec {
        id: KernelId::MecObserve,
        stem: "mec",
        entry: "mec_observe",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[b("h", R, F32), b("obs", W, F32)],
        cpu: mec::cpu_observe,
        sizes: mec_observe_sizes,
    },
    KernelSpec {
        id: KernelId::MecObjectiveExact,
        stem: "mec",
        entry: "mec_objective_exact",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[b("cost", R, F32), b("sqrt_f", R, F32), b("a", R, U32), b("bins", S, F32), b("phi", W, F32)],
        cpu: mec::cpu_objective_exact,
        sizes: mec_objective_exact_sizes,
    },
    KernelSpec {
        id: KernelId::MecObjectivePaper,
        stem: "mec",
        entry: "mec_objective_paper",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[
            b("h", R, F32),
            b("task_d", R, F32),
            b("task_f", R, F32),
            b("a", R, U32),
            b("f", R, F32),
            b("pw", R, F32),
            b("bins", S, F32),
            b("phi", W, F32),
        ],
        cpu: mec::cpu_objective_paper,
        sizes: mec_objective_paper_sizes,
    },
    KernelSpec {
        id: KernelId::MecHeuristic,
        stem: "mec",
        entry: "mec_heuristic",
        wgsl: "env/mec.wgsl",
        cu: "env/mec.cu",
        params: MEC_PARAMS,
        bufs: &[
            b("iotd_pos", R, F32),
            b("mec_pos", R, F32),
            b("task_f", R, F32),
            b("order", R, U32),
            b("load", S, F32),
            b("a", W, U32),
        ],
        cpu: mec::cpu_heuristic,
        sizes: mec_heuristic_sizes,
    },
    KernelSpec {
        id: KernelId::LevyInit,
        stem: "levy",
        entry: "levy_init",
        wgsl: "search/levy.wgsl",
        cu: "search/levy.cu",
        params: LEVY_PARAMS,
        bufs: &[
            b("cost", R, F32),
            b("sqrt_f", R, F32),
            b("h", R, F32),
            b("task_d", R, F32),
            b("task_f", R, F32),
            b("a0", R, U32),
            b("pop_a", W, U32),
            b("pop_f", W, F32),
            b("pop_p", W, F32),
            b("fit", W, F32),
            b("bins", S, F32),
        ],
        cpu: levy::cpu_init,
        sizes: levy_init_sizes,
    },
    KernelSpec {
        id: KernelId::LevyGeneration,
        stem: "levy",
        entry: "levy_generation",
        wgsl: "search/levy.wgsl",
        cu: "search/levy.cu",
        params: LEVY_PARAMS,
        bufs: &[
            b("cost", R, F32),
            b("sqrt_f", R, F32),
            b("h", R, F32),
            b("hn", R, F32),
            b("task_d", R, F32),
            b("task_f", R, F32),
            b("pop_a", W, U32),
            b("pop_f", W, F32),
            b("pop_p", W, F32),
            b("fit", W, F32),
            b("bins", S, F32),
        ],
        cpu: levy::cpu_generation,
        sizes: levy_generation_sizes,
    },
    KernelSpec {
        id: KernelId::LevyBest,
        stem: "levy",
        entry: "levy_best",
        wgsl: "search/levy.wgsl",
        cu: "search/levy.cu",
        params: LEVY_PARAMS,
        bufs: &[
            b("pop_a", R, U32),
            b("pop_f", R, F32),
            b("pop_p", R, F32),
            b("fit", R, F32),
            b("best_a", W, U32),
            b("best_f", W, F32),
            b("best_p", W, F32),
            b("best_fit", W, F32),
        ],
        cpu: levy::cpu_best,
        sizes: levy_best_sizes,
    },
    KernelSpec {
        id: KernelId::DagMakespan,
        stem: "dag",
        entry: "dag_makespan",
        wgsl: "env/dag.wgsl",
        cu: "env/dag.cu",
        params: DAG_PARAMS,
        bufs: &[
            b("n_tasks", R, U32),
            b("cost", R, F32),
            b("par_off", R, U32),
            b("par_idx", R, U32),
            b("exit", R, U32),
            b("plans", R, U32),
            b("ft", S, F32),
            b("makespan", W, F32),
        ],
        cpu: dag::cpu_makespan,
        sizes: dag_makespan_sizes,
    },
    KernelSpec {
        id: KernelId::DagOptimal,
        stem: "dag",
        entry: "dag_optimal",
        wgsl: "env/dag.wgsl",
        cu: "env/dag.cu",
        params: DAG_PARAMS,
        bufs: &[
            b("n_tasks", R, U32),
            b("cost", R, F32),
            b("par_off", R, U32),
            b("par_idx", R, U32),
            b("exit", R, U32),
            b("ft", S, F32),
            b("partial", W, U32),
        ],
        cpu: dag::cpu_optimal,
        sizes: dag_optimal_sizes,
    },
    KernelSpec {
        id: KernelId::DagOptimalReduce,
        stem: "dag",
        entry: "dag_optimal_reduce",
        wgsl: "env/dag.wgsl",
        cu: "env/dag.cu",
        params: DAG_PARAMS,
        bufs: &[b("partial", R, U32), b("best", W, U32)],
        cpu: dag::cpu_optimal_reduce,
        sizes: dag_optimal_reduce_sizes,
    },
    KernelSpec {
        id: KernelId::DagReset,
        stem: "dag",
        entry: "dag_reset",
        wgsl: "env/dag.wgsl",
        cu: "env/dag.cu",
        params: DAG_PARAMS,
        bufs: &[b("n_tasks", R, U32), b("ctl", W, U32), b("state", W, F32), b("plan", W, U32)],
        cpu: dag_mdp::cpu_reset,
        sizes: dag_reset_sizes,
    },
    KernelSpec {
        id: KernelId::DagStep,
        stem: "dag",
        entry: "dag_step",
        wgsl: "env/dag.wgsl",
        cu: "env/dag.cu",
        params: DAG_PARAMS,
        bufs: &[
            b("n_tasks", R, U32),
            b("cost", R, F32),
            b("par_off", R, U32),
            b("par_idx", R, U32),
            b("exit", R, U32),
            b("scale", R, F32),
            b("action", R, U32),
            b("ft", W, F32),
            b("state", W, F32),
            b("ctl", W, U32),
            b("plan", W, U32),
            b("reward", W, F32),
        ],
        cpu: dag_mdp::cpu_step,
        sizes: dag_step_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdReset,
        stem: "crowd",
        entry: "crowd_reset",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[b("ctl", W, U32), b("q", W, F32), b("v", W, F32), b("counts", W, U32)],
        cpu: crowd_cpu::cpu_reset,
        sizes: crowd_reset_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdTasks,
        stem: "crowd",
        entry: "crowd_tasks",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[b("ctl", W, U32), b("task", W, U32), b("cap", W, F32)],
        cpu: crowd_cpu::cpu_tasks,
        sizes: crowd_tasks_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdObserve,
        stem: "crowd",
        entry: "crowd_observe",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[
            b("cell_off", R, U32),
            b("task", R, U32),
            b("cap", R, F32),
            b("q", R, F32),
            b("v", R, F32),
            b("obs", W, F32),
        ],
        cpu: crowd_cpu::cpu_observe,
        sizes: crowd_observe_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdPolicy,
        stem: "crowd",
        entry: "crowd_policy",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[b("obs", R, F32), b("action", W, U32), b("est", W, F32)],
        cpu: crowd_cpu::cpu_policy,
        sizes: crowd_policy_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdLoad,
        stem: "crowd",
        entry: "crowd_load",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[b("cell_off", R, U32), b("task", R, U32), b("action", R, U32), b("load", W, F32)],
        cpu: crowd_cpu::cpu_load,
        sizes: crowd_load_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdOutcome,
        stem: "crowd",
        entry: "crowd_outcome",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[
            b("cell_off", R, U32),
            b("task", R, U32),
            b("cap", R, F32),
            b("q", R, F32),
            b("action", R, U32),
            b("load", R, F32),
            b("out", W, F32),
        ],
        cpu: crowd_cpu::cpu_outcome,
        sizes: crowd_outcome_sizes,
    },
    KernelSpec {
        id: KernelId::CrowdFinish,
        stem: "crowd",
        entry: "crowd_finish",
        wgsl: "env/crowd.wgsl",
        cu: "env/crowd.cu",
        params: CROWD_PARAMS,
        bufs: &[
            b("cell_off", R, U32),
            b("task", R, U32),
            b("cap", R, F32),
            b("action", R, U32),
            b("out", R, F32),
            b("load", R, F32),
            b("q", W, F32),
            b("v", W, F32),
            b("reward", W, F32),
            b("slot", W, F32),
            b("counts", W, U32),
        ],
        cpu: crowd_cpu::cpu_finish,
        sizes: crowd_finish_sizes,
    },
];

/// The spec of `id`.
pub fn spec(id: KernelId) -> &'static KernelSpec {
    KERNELS.iter().find(|k| k.id == id).expect("every KernelId is registered")
}

/// Decode a parameter block (size already checked by the backend).
pub fn params<T: bytemuck::Pod>(bytes: &[u8]) -> T {
    bytemuck::pod_read_unaligned(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for (i, k) in KERNELS.iter().enumerate() {
            assert_eq!(k.params.size % 16, 0, "{}: params must be a multiple of 16 bytes", k.entry);
            let last = k.params.fields.last().unwrap();
            assert_eq!(last.1 + 4, k.params.size, "{}: all fields are 4-byte scalars", k.entry);
            for (j, f) in k.params.fields.iter().enumerate() {
                assert_eq!(f.1, 4 * j, "{}: field {} offset", k.entry, f.0);
            }
            assert!(KERNELS[i + 1..].iter().all(|o| o.id != k.id && o.entry != k.entry));
            assert!(k.bufs.len() <= 12, "{}: at most 12 storage buffers", k.entry);
            assert_eq!((k.sizes)(&vec![0u8; k.params.size]).len(), k.bufs.len(), "{}: one size per buffer", k.entry);
        }
    }
}
