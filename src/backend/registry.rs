//! THE one list of kernels. Adding a kernel = its CPU function + WGSL section + CUDA entry +
//! one entry here; parity tests, shader validation and NVRTC tests walk this list.

use std::mem::offset_of;

use crate::algo::dirs::{self, DirsParams};
use crate::algo::replay::{self, ReplayParams};

use crate::env::coop::{kernel as coop, CoopParams};
use crate::env::crowd::{self, cpu as crowd_cpu, CrowdParams};
use crate::env::dag::batch::{self as dag, DagParams};
use crate::env::dag::mdp as dag_mdp;
use crate::env::endedge::{self, EndedgeParams};
use crate::env::mec::{self, MecParams};
use crate::error::Result;
use crate::ops::act::{self, ActParams};
use crate::ops::attention::{self, AttentionParams};
use crate::ops::categorical::{self, CategoricalParams};
use crate::ops::dueling;
use crate::ops::elementwise::{self, AxpbyParams};
use crate::ops::glue::{self, CopyParams};
use crate::ops::half::{self, HalfParams};
use crate::ops::index::{self, IndexParams};
use crate::ops::layer_norm::{self, LayerNormParams};
use crate::ops::linear::{self, LinearParams};
use crate::ops::loss::{self, LossParams};
use crate::ops::optim::{self, ClipParams, FillParams, OptimParams};
use crate::ops::rnn::{self, CellParams};
use crate::ops::softmax::{self, SoftmaxParams};
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
    /// `coop`: node and link parameters, empty queues, the first arrivals.
    CoopReset,
    /// `coop`: one slot (decisions, execution, transmission, deadlines, arrivals).
    CoopStep,
    /// `coop`: observations and action masks.
    CoopObserve,
    /// `coop`: the Random / RATC / RDA heuristics.
    CoopPolicy,
    /// nn: grouped linear forward.
    LinearFwd,
    /// nn: grouped linear, gradient of the input.
    LinearBwdX,
    /// nn: grouped linear, gradients of the weights and bias.
    LinearBwdW,
    /// nn: elementwise activation forward.
    ActFwd,
    /// nn: elementwise activation backward.
    ActBwd,
    /// nn: mean squared error.
    MseFwd,
    /// nn: mean squared error backward.
    MseBwd,
    /// nn: fused optimizer step (SGD, Adam, RMSProp).
    OptimStep,
    /// Fill a buffer with one word.
    Fill,
    /// nn: LSTM cell forward (fused gates i, f, g, o).
    LstmCellFwd,
    /// nn: LSTM cell backward.
    LstmCellBwd,
    /// nn: GRU cell forward (gates r, z, n).
    GruCellFwd,
    /// nn: GRU cell backward.
    GruCellBwd,
    /// nn: layer normalization forward.
    LayerNormFwd,
    /// nn: layer normalization, gradient of the input.
    LayerNormBwdX,
    /// nn: layer normalization, gradients of the gain and bias.
    LayerNormBwdW,
    /// nn glue: strided block copy (write or accumulate).
    GlueCopy,
    /// nn: row-wise (masked) softmax / log-softmax.
    SoftmaxFwd,
    /// nn: softmax / log-softmax backward.
    SoftmaxBwd,
    /// nn: y[r] = x[r, idx[r]].
    Gather,
    /// nn: x[r, idx[r]] += y[r].
    ScatterAdd,
    /// nn: masked categorical sampling through Philox.
    CategoricalSample,
    /// nn: the most likely allowed action per row (greedy decoding).
    CategoricalArgmax,
    /// nn: entropy of categorical rows.
    EntropyFwd,
    /// nn: entropy backward.
    EntropyBwd,
    /// nn: dueling combine V + A − mean A.
    DuelingFwd,
    /// nn: dueling combine backward.
    DuelingBwd,
    /// nn: Huber loss.
    HuberFwd,
    /// nn: Huber loss backward.
    HuberBwd,
    /// nn: binary cross-entropy with logits.
    BceFwd,
    /// nn: binary cross-entropy backward.
    BceBwd,
    /// nn: categorical cross-entropy from log-probabilities.
    CeFwd,
    /// nn: categorical cross-entropy backward.
    CeBwd,
    /// nn: PPO clipped surrogate.
    PpoFwd,
    /// nn: PPO clipped surrogate backward.
    PpoBwd,
    /// nn: squared gradient norm into a device scalar.
    SumsqAcc,
    /// nn: global-norm gradient clipping.
    ClipScale,
    /// nn: y = a·x1 + b·x2.
    Axpby,
    /// nn: dx += a·dy.
    ScaleAcc,
    /// nn: mean of a tensor.
    MeanFwd,
    /// nn: mean backward.
    MeanBwd,
    /// f32 → packed f16/bf16 storage.
    HalfPack,
    /// packed f16/bf16 → f32.
    HalfUnpack,
    /// `endedge`: Bernoulli arrivals and sizes of a slot.
    EndedgeArrive,
    /// `endedge`: the Local / Random / Greedy baselines.
    EndedgePolicy,
    /// `endedge`: one slot of every terminal's queues (eq. 2–13).
    EndedgeStep,
    /// `endedge`: Q_e and the Load history (eq. 7, 15).
    EndedgeLoad,
    /// `endedge`: the state (16) and the action mask.
    EndedgeObserve,
    /// nn: additive attention scores vᵀ tanh(q + key_t).
    AttentionScore,
    /// nn: attention weights (masked softmax over the encoder steps).
    AttentionWeights,
    /// nn: attention context Σ_t α_t e_t.
    AttentionContext,
    /// nn: attention backward, the gradient reaching the weights.
    AttentionBwdGw,
    /// nn: attention backward, the gradient of the values.
    AttentionBwdValues,
    /// nn: attention backward through the softmax.
    AttentionBwdScore,
    /// nn: attention backward, the gradients of the query and the keys.
    AttentionBwdQk,
    /// nn: attention backward, the gradient of v.
    AttentionBwdV,
    /// Prioritized replay: write transitions into the ring.
    ReplayPush,
    /// Prioritized replay: draw a minibatch by eq. (16).
    ReplaySample,
    /// Prioritized replay: new |Δδ| of the sampled slots.
    ReplayUpdate,
    /// Prioritized replay: gather slots into the ensemble layout [M, K, N].
    ReplayGather,
    /// DIRS: the maximum vote of the agents (§V-C (5)).
    DirsVote,
    /// DIRS: per-transition loss summed over agents and IoTDs.
    DirsLossRows,
    /// DIRS: loss (17), its weights and the new |Δδ|.
    DirsLossTotal,
    /// DIRS: gradient of loss (17) with respect to the logits.
    DirsLossGrad,
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

const REPLAY_PARAMS: ParamLayout = ParamLayout {
    name: "ReplayParams",
    size: std::mem::size_of::<ReplayParams>(),
    fields: fields!(ReplayParams; cap, size, n, m, rows, head, demo, k, key0, key1, step, tau, eps_a, eps_d,
        floor, _pad1),
};

const DIRS_PARAMS: ParamLayout = ParamLayout {
    name: "DirsParams",
    size: std::mem::size_of::<DirsParams>(),
    fields: fields!(DirsParams; m, rows, n, _pad0, lambda2, _pad1, _pad2, _pad3),
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

const COOP_PARAMS: ParamLayout = ParamLayout {
    name: "CoopParams",
    size: std::mem::size_of::<CoopParams>(),
    fields: fields!(CoopParams; b, n, w, horizon, slot, episode, key0, key1, max_queue, variant, n_cores,
        cores0, cores1, cores2, cores3, cores4, cores5, cores6, cores7, _pad0, dt, deadline, lambda_lo,
        lambda_hi, s_lo, s_hi, delta_lo, delta_hi, core_hz, alpha_lo, alpha_hi, beta_lo, beta_hi, r_lo, r_hi,
        lambda_norm, alpha_norm, f_norm, r_norm, s_norm, c_norm, _pad1, _pad2, _pad3),
};

/// B and the per-instance words of the `coop` state buffers (`coop::instance_words`).
fn coop_dims(bytes: &[u8]) -> (u64, u64, [u64; 9]) {
    let p: CoopParams = params(bytes);
    (p.b as u64, p.n as u64, coop::instance_words(&p).map(|w| w as u64))
}

fn coop_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, _, iw) = coop_dims(bytes);
    iw.iter().map(|w| b * w).chain([b]).collect()
}

fn coop_step_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, iw) = coop_dims(bytes);
    let mut v = vec![b * iw[0], b * iw[1], b * n];
    v.extend(iw[2..].iter().map(|w| b * w));
    v.push(b);
    v
}

fn coop_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, iw) = coop_dims(bytes);
    vec![b * iw[0], b * iw[1], b * iw[2], b * iw[3], b * iw[4], b * iw[6], b * n * (3 * n + 5), b * n * (n + 1)]
}

fn coop_policy_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, iw) = coop_dims(bytes);
    vec![b * iw[0], b * iw[1], b * iw[2], b * iw[3], b * iw[4], b * iw[5], b * iw[6], b * n]
}
const LINEAR_PARAMS: ParamLayout = ParamLayout {
    name: "LinearParams",
    size: std::mem::size_of::<LinearParams>(),
    fields: fields!(LinearParams; k, b, i, o, has_bias, fresh, _pad1, _pad2),
};

const ACT_PARAMS: ParamLayout = ParamLayout {
    name: "ActParams",
    size: std::mem::size_of::<ActParams>(),
    fields: fields!(ActParams; n, kind, fresh, _pad1),
};

const LOSS_PARAMS: ParamLayout = ParamLayout {
    name: "LossParams",
    size: std::mem::size_of::<LossParams>(),
    fields: fields!(LossParams; n, cols, a, fresh),
};

const OPTIM_PARAMS: ParamLayout = ParamLayout {
    name: "OptimParams",
    size: std::mem::size_of::<OptimParams>(),
    fields: fields!(OptimParams; n, rule, decoupled, _pad0, lr, beta1, beta2, eps, wd, step_size, rsqrt_bc2, _pad1),
};

const CLIP_PARAMS: ParamLayout = ParamLayout {
    name: "ClipParams",
    size: std::mem::size_of::<ClipParams>(),
    fields: fields!(ClipParams; n, max_norm, eps, _pad0),
};

const SOFTMAX_PARAMS: ParamLayout = ParamLayout {
    name: "SoftmaxParams",
    size: std::mem::size_of::<SoftmaxParams>(),
    fields: fields!(SoftmaxParams; rows, cols, log, masked),
};

const ATTENTION_PARAMS: ParamLayout = ParamLayout {
    name: "AttentionParams",
    size: std::mem::size_of::<AttentionParams>(),
    fields: fields!(AttentionParams; k, b, t, a, h, masked, _pad0, _pad1),
};

const INDEX_PARAMS: ParamLayout = ParamLayout {
    name: "IndexParams",
    size: std::mem::size_of::<IndexParams>(),
    fields: fields!(IndexParams; rows, cols, _pad0, _pad1),
};

const CATEGORICAL_PARAMS: ParamLayout = ParamLayout {
    name: "CategoricalParams",
    size: std::mem::size_of::<CategoricalParams>(),
    fields: fields!(CategoricalParams; rows, cols, key0, key1, step, _pad0, _pad1, _pad2),
};

const AXPBY_PARAMS: ParamLayout = ParamLayout {
    name: "AxpbyParams",
    size: std::mem::size_of::<AxpbyParams>(),
    fields: fields!(AxpbyParams; n, a, b, _pad0),
};

const HALF_PARAMS: ParamLayout = ParamLayout {
    name: "HalfParams",
    size: std::mem::size_of::<HalfParams>(),
    fields: fields!(HalfParams; n, format, _pad0, _pad1),
};

const FILL_PARAMS: ParamLayout = ParamLayout {
    name: "FillParams",
    size: std::mem::size_of::<FillParams>(),
    fields: fields!(FillParams; n, value, _pad0, _pad1),
};

const CELL_PARAMS: ParamLayout = ParamLayout {
    name: "CellParams",
    size: std::mem::size_of::<CellParams>(),
    fields: fields!(CellParams; n, h, _pad0, _pad1),
};

const LAYER_NORM_PARAMS: ParamLayout = ParamLayout {
    name: "LayerNormParams",
    size: std::mem::size_of::<LayerNormParams>(),
    fields: fields!(LayerNormParams; n, d, per_group, eps),
};

const COPY_PARAMS: ParamLayout = ParamLayout {
    name: "CopyParams",
    size: std::mem::size_of::<CopyParams>(),
    fields: fields!(CopyParams; d0, d1, d2, n, s0, s1, s2, soff, t0, t1, t2, toff, accumulate, _pad0, _pad1, _pad2),
};

const ENDEDGE_PARAMS: ParamLayout = ParamLayout {
    name: "EndedgeParams",
    size: std::mem::size_of::<EndedgeParams>(),
    fields: fields!(EndedgeParams; b, d, e, w, tau, c, ew, t, key0, key1, semantics, policy, size_levels,
        arrive_until, _pad0, _pad1, local_cap, edge_cap, tran_cap, p_arrive, size_min, size_step, drop_reward,
        _pad2),
};

fn endedge_arrive_sizes(bytes: &[u8]) -> Vec<u64> {
    endedge::sizes(KernelId::EndedgeArrive, bytes)
}

fn endedge_policy_sizes(bytes: &[u8]) -> Vec<u64> {
    endedge::sizes(KernelId::EndedgePolicy, bytes)
}

fn endedge_step_sizes(bytes: &[u8]) -> Vec<u64> {
    endedge::sizes(KernelId::EndedgeStep, bytes)
}

fn endedge_load_sizes(bytes: &[u8]) -> Vec<u64> {
    endedge::sizes(KernelId::EndedgeLoad, bytes)
}

fn endedge_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    endedge::sizes(KernelId::EndedgeObserve, bytes)
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
    KernelSpec {
        id: KernelId::LinearFwd,
        stem: "linear",
        entry: "linear_fwd",
        wgsl: "ops/linear.wgsl",
        cu: "ops/linear.cu",
        params: LINEAR_PARAMS,
        bufs: &[b("x", R, F32), b("w", R, F32), b("bias", R, F32), b("y", W, F32)],
        cpu: linear::cpu_fwd,
        sizes: linear::sizes_fwd,
    },
    KernelSpec {
        id: KernelId::LinearBwdX,
        stem: "linear",
        entry: "linear_bwd_x",
        wgsl: "ops/linear.wgsl",
        cu: "ops/linear.cu",
        params: LINEAR_PARAMS,
        bufs: &[b("dy", R, F32), b("w", R, F32), b("dx", W, F32)],
        cpu: linear::cpu_bwd_x,
        sizes: linear::sizes_bwd_x,
    },
    KernelSpec {
        id: KernelId::LinearBwdW,
        stem: "linear",
        entry: "linear_bwd_w",
        wgsl: "ops/linear.wgsl",
        cu: "ops/linear.cu",
        params: LINEAR_PARAMS,
        bufs: &[b("x", R, F32), b("dy", R, F32), b("dw", W, F32), b("db", W, F32)],
        cpu: linear::cpu_bwd_w,
        sizes: linear::sizes_bwd_w,
    },
    KernelSpec {
        id: KernelId::ActFwd,
        stem: "act",
        entry: "act_fwd",
        wgsl: "ops/act.wgsl",
        cu: "ops/act.cu",
        params: ACT_PARAMS,
        bufs: &[b("x", R, F32), b("y", W, F32)],
        cpu: act::cpu_fwd,
        sizes: act::sizes_fwd,
    },
    KernelSpec {
        id: KernelId::ActBwd,
        stem: "act",
        entry: "act_bwd",
        wgsl: "ops/act.wgsl",
        cu: "ops/act.cu",
        params: ACT_PARAMS,
        bufs: &[b("y", R, F32), b("dy", R, F32), b("dx", W, F32)],
        cpu: act::cpu_bwd,
        sizes: act::sizes_bwd,
    },
    KernelSpec {
        id: KernelId::MseFwd,
        stem: "loss",
        entry: "mse_fwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("y", R, F32), b("t", R, F32), b("loss", W, F32)],
        cpu: loss::cpu_mse_fwd,
        sizes: loss::sizes_pair_fwd,
    },
    KernelSpec {
        id: KernelId::MseBwd,
        stem: "loss",
        entry: "mse_bwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("y", R, F32), b("t", R, F32), b("dl", R, F32), b("dy", W, F32)],
        cpu: loss::cpu_mse_bwd,
        sizes: loss::sizes_pair_bwd,
    },
    KernelSpec {
        id: KernelId::OptimStep,
        stem: "optim",
        entry: "optim_step",
        wgsl: "ops/optim.wgsl",
        cu: "ops/optim.cu",
        params: OPTIM_PARAMS,
        bufs: &[b("p", W, F32), b("g", R, F32), b("m", W, F32), b("v", W, F32)],
        cpu: optim::cpu_step,
        sizes: optim::sizes_step,
    },
    KernelSpec {
        id: KernelId::Fill,
        stem: "optim",
        entry: "fill",
        wgsl: "ops/optim.wgsl",
        cu: "ops/optim.cu",
        params: FILL_PARAMS,
        bufs: &[b("out", W, U32)],
        cpu: optim::cpu_fill,
        sizes: optim::sizes_fill,
    },
    KernelSpec {
        id: KernelId::LstmCellFwd,
        stem: "rnn",
        entry: "lstm_cell_fwd",
        wgsl: "ops/rnn.wgsl",
        cu: "ops/rnn.cu",
        params: CELL_PARAMS,
        bufs: &[b("z", R, F32), b("c", R, F32), b("h_out", W, F32), b("c_out", W, F32), b("act", W, F32)],
        cpu: rnn::cpu_lstm_fwd,
        sizes: rnn::sizes_lstm_fwd,
    },
    KernelSpec {
        id: KernelId::LstmCellBwd,
        stem: "rnn",
        entry: "lstm_cell_bwd",
        wgsl: "ops/rnn.wgsl",
        cu: "ops/rnn.cu",
        params: CELL_PARAMS,
        bufs: &[
            b("act", R, F32),
            b("c", R, F32),
            b("dh", R, F32),
            b("dc_out", R, F32),
            b("dz", W, F32),
            b("dc", W, F32),
        ],
        cpu: rnn::cpu_lstm_bwd,
        sizes: rnn::sizes_lstm_bwd,
    },
    KernelSpec {
        id: KernelId::GruCellFwd,
        stem: "rnn",
        entry: "gru_cell_fwd",
        wgsl: "ops/rnn.wgsl",
        cu: "ops/rnn.cu",
        params: CELL_PARAMS,
        bufs: &[b("gx", R, F32), b("gh", R, F32), b("h", R, F32), b("h_out", W, F32), b("act", W, F32)],
        cpu: rnn::cpu_gru_fwd,
        sizes: rnn::sizes_gru_fwd,
    },
    KernelSpec {
        id: KernelId::GruCellBwd,
        stem: "rnn",
        entry: "gru_cell_bwd",
        wgsl: "ops/rnn.wgsl",
        cu: "ops/rnn.cu",
        params: CELL_PARAMS,
        bufs: &[
            b("act", R, F32),
            b("gh", R, F32),
            b("h", R, F32),
            b("dh_out", R, F32),
            b("dgx", W, F32),
            b("dgh", W, F32),
            b("dh", W, F32),
        ],
        cpu: rnn::cpu_gru_bwd,
        sizes: rnn::sizes_gru_bwd,
    },
    KernelSpec {
        id: KernelId::LayerNormFwd,
        stem: "layer_norm",
        entry: "layer_norm_fwd",
        wgsl: "ops/layer_norm.wgsl",
        cu: "ops/layer_norm.cu",
        params: LAYER_NORM_PARAMS,
        bufs: &[b("x", R, F32), b("gain", R, F32), b("bias", R, F32), b("y", W, F32), b("stats", W, F32)],
        cpu: layer_norm::cpu_fwd,
        sizes: layer_norm::sizes_fwd,
    },
    KernelSpec {
        id: KernelId::LayerNormBwdX,
        stem: "layer_norm",
        entry: "layer_norm_bwd_x",
        wgsl: "ops/layer_norm.wgsl",
        cu: "ops/layer_norm.cu",
        params: LAYER_NORM_PARAMS,
        bufs: &[b("x", R, F32), b("gain", R, F32), b("stats", R, F32), b("dy", R, F32), b("dx", W, F32)],
        cpu: layer_norm::cpu_bwd_x,
        sizes: layer_norm::sizes_bwd_x,
    },
    KernelSpec {
        id: KernelId::LayerNormBwdW,
        stem: "layer_norm",
        entry: "layer_norm_bwd_w",
        wgsl: "ops/layer_norm.wgsl",
        cu: "ops/layer_norm.cu",
        params: LAYER_NORM_PARAMS,
        bufs: &[b("x", R, F32), b("stats", R, F32), b("dy", R, F32), b("dgain", W, F32), b("dbias", W, F32)],
        cpu: layer_norm::cpu_bwd_w,
        sizes: layer_norm::sizes_bwd_w,
    },
    KernelSpec {
        id: KernelId::GlueCopy,
        stem: "glue",
        entry: "glue_copy",
        wgsl: "ops/glue.wgsl",
        cu: "ops/glue.cu",
        params: COPY_PARAMS,
        bufs: &[b("src", R, F32), b("dst", W, F32)],
        cpu: glue::cpu_copy,
        sizes: glue::sizes_copy,
    },
    KernelSpec {
        id: KernelId::SoftmaxFwd,
        stem: "softmax",
        entry: "softmax_fwd",
        wgsl: "ops/softmax.wgsl",
        cu: "ops/softmax.cu",
        params: SOFTMAX_PARAMS,
        bufs: &[b("x", R, F32), b("mask", R, U32), b("y", W, F32)],
        cpu: softmax::cpu_fwd,
        sizes: softmax::sizes_fwd,
    },
    KernelSpec {
        id: KernelId::SoftmaxBwd,
        stem: "softmax",
        entry: "softmax_bwd",
        wgsl: "ops/softmax.wgsl",
        cu: "ops/softmax.cu",
        params: SOFTMAX_PARAMS,
        bufs: &[b("y", R, F32), b("dy", R, F32), b("mask", R, U32), b("dx", W, F32)],
        cpu: softmax::cpu_bwd,
        sizes: softmax::sizes_bwd,
    },
    KernelSpec {
        id: KernelId::AttentionScore,
        stem: "attention",
        entry: "attention_score",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("q", R, F32), b("keys", R, F32), b("v", R, F32), b("s", W, F32)],
        cpu: attention::cpu_score,
        sizes: attention::sizes_score,
    },
    KernelSpec {
        id: KernelId::AttentionWeights,
        stem: "attention",
        entry: "attention_weights",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("s", R, F32), b("mask", R, U32), b("w", W, F32)],
        cpu: attention::cpu_weights,
        sizes: attention::sizes_weights,
    },
    KernelSpec {
        id: KernelId::AttentionContext,
        stem: "attention",
        entry: "attention_context",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("w", R, F32), b("values", R, F32), b("ctx", W, F32)],
        cpu: attention::cpu_context,
        sizes: attention::sizes_context,
    },
    KernelSpec {
        id: KernelId::AttentionBwdGw,
        stem: "attention",
        entry: "attention_bwd_gw",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("values", R, F32), b("dctx", R, F32), b("dw", R, F32), b("gw", W, F32)],
        cpu: attention::cpu_bwd_gw,
        sizes: attention::sizes_bwd_gw,
    },
    KernelSpec {
        id: KernelId::AttentionBwdValues,
        stem: "attention",
        entry: "attention_bwd_values",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("w", R, F32), b("dctx", R, F32), b("dvalues", W, F32)],
        cpu: attention::cpu_bwd_values,
        sizes: attention::sizes_bwd_values,
    },
    KernelSpec {
        id: KernelId::AttentionBwdScore,
        stem: "attention",
        entry: "attention_bwd_score",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("w", R, F32), b("gw", R, F32), b("ds", W, F32)],
        cpu: attention::cpu_bwd_score,
        sizes: attention::sizes_bwd_score,
    },
    KernelSpec {
        id: KernelId::AttentionBwdQk,
        stem: "attention",
        entry: "attention_bwd_qk",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[
            b("q", R, F32),
            b("keys", R, F32),
            b("v", R, F32),
            b("ds", R, F32),
            b("dq", W, F32),
            b("dkeys", W, F32),
        ],
        cpu: attention::cpu_bwd_qk,
        sizes: attention::sizes_bwd_qk,
    },
    KernelSpec {
        id: KernelId::AttentionBwdV,
        stem: "attention",
        entry: "attention_bwd_v",
        wgsl: "ops/attention.wgsl",
        cu: "ops/attention.cu",
        params: ATTENTION_PARAMS,
        bufs: &[b("q", R, F32), b("keys", R, F32), b("ds", R, F32), b("dv", W, F32)],
        cpu: attention::cpu_bwd_v,
        sizes: attention::sizes_bwd_v,
    },
    KernelSpec {
        id: KernelId::Gather,
        stem: "index",
        entry: "gather",
        wgsl: "ops/index.wgsl",
        cu: "ops/index.cu",
        params: INDEX_PARAMS,
        bufs: &[b("x", R, F32), b("idx", R, U32), b("y", W, F32)],
        cpu: index::cpu_gather,
        sizes: index::sizes_gather,
    },
    KernelSpec {
        id: KernelId::ScatterAdd,
        stem: "index",
        entry: "scatter_add",
        wgsl: "ops/index.wgsl",
        cu: "ops/index.cu",
        params: INDEX_PARAMS,
        bufs: &[b("y", R, F32), b("idx", R, U32), b("x", W, F32)],
        cpu: index::cpu_scatter_add,
        sizes: index::sizes_scatter,
    },
    KernelSpec {
        id: KernelId::CategoricalSample,
        stem: "categorical",
        entry: "categorical_sample",
        wgsl: "ops/categorical.wgsl",
        cu: "ops/categorical.cu",
        params: CATEGORICAL_PARAMS,
        bufs: &[b("logp", R, F32), b("action", W, U32)],
        cpu: categorical::cpu_sample,
        sizes: categorical::sizes_rows,
    },
    KernelSpec {
        id: KernelId::CategoricalArgmax,
        stem: "categorical",
        entry: "categorical_argmax",
        wgsl: "ops/categorical.wgsl",
        cu: "ops/categorical.cu",
        params: CATEGORICAL_PARAMS,
        bufs: &[b("logp", R, F32), b("action", W, U32)],
        cpu: categorical::cpu_argmax,
        sizes: categorical::sizes_rows,
    },
    KernelSpec {
        id: KernelId::EntropyFwd,
        stem: "categorical",
        entry: "entropy_fwd",
        wgsl: "ops/categorical.wgsl",
        cu: "ops/categorical.cu",
        params: CATEGORICAL_PARAMS,
        bufs: &[b("logp", R, F32), b("h", W, F32)],
        cpu: categorical::cpu_entropy_fwd,
        sizes: categorical::sizes_rows,
    },
    KernelSpec {
        id: KernelId::EntropyBwd,
        stem: "categorical",
        entry: "entropy_bwd",
        wgsl: "ops/categorical.wgsl",
        cu: "ops/categorical.cu",
        params: CATEGORICAL_PARAMS,
        bufs: &[b("logp", R, F32), b("dh", R, F32), b("dlogp", W, F32)],
        cpu: categorical::cpu_entropy_bwd,
        sizes: categorical::sizes_entropy_bwd,
    },
    KernelSpec {
        id: KernelId::DuelingFwd,
        stem: "dueling",
        entry: "dueling_fwd",
        wgsl: "ops/dueling.wgsl",
        cu: "ops/dueling.cu",
        params: INDEX_PARAMS,
        bufs: &[b("v", R, F32), b("a", R, F32), b("q", W, F32)],
        cpu: dueling::cpu_fwd,
        sizes: dueling::sizes_fwd,
    },
    KernelSpec {
        id: KernelId::DuelingBwd,
        stem: "dueling",
        entry: "dueling_bwd",
        wgsl: "ops/dueling.wgsl",
        cu: "ops/dueling.cu",
        params: INDEX_PARAMS,
        bufs: &[b("dq", R, F32), b("dv", W, F32), b("da", W, F32)],
        cpu: dueling::cpu_bwd,
        sizes: dueling::sizes_bwd,
    },
    KernelSpec {
        id: KernelId::HuberFwd,
        stem: "loss",
        entry: "huber_fwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("y", R, F32), b("t", R, F32), b("loss", W, F32)],
        cpu: loss::cpu_huber_fwd,
        sizes: loss::sizes_pair_fwd,
    },
    KernelSpec {
        id: KernelId::HuberBwd,
        stem: "loss",
        entry: "huber_bwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("y", R, F32), b("t", R, F32), b("dl", R, F32), b("dy", W, F32)],
        cpu: loss::cpu_huber_bwd,
        sizes: loss::sizes_pair_bwd,
    },
    KernelSpec {
        id: KernelId::BceFwd,
        stem: "loss",
        entry: "bce_fwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("z", R, F32), b("t", R, F32), b("loss", W, F32)],
        cpu: loss::cpu_bce_fwd,
        sizes: loss::sizes_pair_fwd,
    },
    KernelSpec {
        id: KernelId::BceBwd,
        stem: "loss",
        entry: "bce_bwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("z", R, F32), b("t", R, F32), b("dl", R, F32), b("dz", W, F32)],
        cpu: loss::cpu_bce_bwd,
        sizes: loss::sizes_pair_bwd,
    },
    KernelSpec {
        id: KernelId::CeFwd,
        stem: "loss",
        entry: "ce_fwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("logp", R, F32), b("labels", R, U32), b("loss", W, F32)],
        cpu: loss::cpu_ce_fwd,
        sizes: loss::sizes_ce_fwd,
    },
    KernelSpec {
        id: KernelId::CeBwd,
        stem: "loss",
        entry: "ce_bwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("labels", R, U32), b("dl", R, F32), b("dlogp", W, F32)],
        cpu: loss::cpu_ce_bwd,
        sizes: loss::sizes_ce_bwd,
    },
    KernelSpec {
        id: KernelId::PpoFwd,
        stem: "loss",
        entry: "ppo_fwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("logp", R, F32), b("logp_old", R, F32), b("adv", R, F32), b("loss", W, F32)],
        cpu: loss::cpu_ppo_fwd,
        sizes: loss::sizes_ppo_fwd,
    },
    KernelSpec {
        id: KernelId::PpoBwd,
        stem: "loss",
        entry: "ppo_bwd",
        wgsl: "ops/loss.wgsl",
        cu: "ops/loss.cu",
        params: LOSS_PARAMS,
        bufs: &[b("logp", R, F32), b("logp_old", R, F32), b("adv", R, F32), b("dl", R, F32), b("dlogp", W, F32)],
        cpu: loss::cpu_ppo_bwd,
        sizes: loss::sizes_ppo_bwd,
    },
    KernelSpec {
        id: KernelId::SumsqAcc,
        stem: "optim",
        entry: "sumsq_acc",
        wgsl: "ops/optim.wgsl",
        cu: "ops/optim.cu",
        params: CLIP_PARAMS,
        bufs: &[b("g", R, F32), b("acc", W, F32)],
        cpu: optim::cpu_sumsq,
        sizes: optim::sizes_sumsq,
    },
    KernelSpec {
        id: KernelId::ClipScale,
        stem: "optim",
        entry: "clip_scale",
        wgsl: "ops/optim.wgsl",
        cu: "ops/optim.cu",
        params: CLIP_PARAMS,
        bufs: &[b("acc", R, F32), b("g", W, F32)],
        cpu: optim::cpu_clip,
        sizes: optim::sizes_clip,
    },
    KernelSpec {
        id: KernelId::Axpby,
        stem: "elementwise",
        entry: "axpby",
        wgsl: "ops/elementwise.wgsl",
        cu: "ops/elementwise.cu",
        params: AXPBY_PARAMS,
        bufs: &[b("x1", R, F32), b("x2", R, F32), b("y", W, F32)],
        cpu: elementwise::cpu_axpby,
        sizes: elementwise::sizes_axpby,
    },
    KernelSpec {
        id: KernelId::ScaleAcc,
        stem: "elementwise",
        entry: "scale_acc",
        wgsl: "ops/elementwise.wgsl",
        cu: "ops/elementwise.cu",
        params: AXPBY_PARAMS,
        bufs: &[b("dy", R, F32), b("dx", W, F32)],
        cpu: elementwise::cpu_scale_acc,
        sizes: elementwise::sizes_scale_acc,
    },
    KernelSpec {
        id: KernelId::MeanFwd,
        stem: "elementwise",
        entry: "mean_fwd",
        wgsl: "ops/elementwise.wgsl",
        cu: "ops/elementwise.cu",
        params: AXPBY_PARAMS,
        bufs: &[b("x", R, F32), b("y", W, F32)],
        cpu: elementwise::cpu_mean_fwd,
        sizes: elementwise::sizes_mean_fwd,
    },
    KernelSpec {
        id: KernelId::MeanBwd,
        stem: "elementwise",
        entry: "mean_bwd",
        wgsl: "ops/elementwise.wgsl",
        cu: "ops/elementwise.cu",
        params: AXPBY_PARAMS,
        bufs: &[b("dy", R, F32), b("dx", W, F32)],
        cpu: elementwise::cpu_mean_bwd,
        sizes: elementwise::sizes_mean_bwd,
    },
    KernelSpec {
        id: KernelId::HalfPack,
        stem: "half",
        entry: "half_pack",
        wgsl: "ops/half.wgsl",
        cu: "ops/half.cu",
        params: HALF_PARAMS,
        bufs: &[b("x", R, F32), b("h", W, U32)],
        cpu: half::cpu_pack,
        sizes: half::sizes_pack,
    },
    KernelSpec {
        id: KernelId::HalfUnpack,
        stem: "half",
        entry: "half_unpack",
        wgsl: "ops/half.wgsl",
        cu: "ops/half.cu",
        params: HALF_PARAMS,
        bufs: &[b("h", R, U32), b("x", W, F32)],
        cpu: half::cpu_unpack,
        sizes: half::sizes_unpack,
    },
    KernelSpec {
        id: KernelId::CoopReset,
        stem: "coop",
        entry: "coop_reset",
        wgsl: "env/coop.wgsl",
        cu: "env/coop.cu",
        params: COOP_PARAMS,
        bufs: &[
            b("node", W, F32),
            b("link", W, F32),
            b("arr_u", W, U32),
            b("arr_f", W, F32),
            b("pool_u", W, U32),
            b("pool_f", W, F32),
            b("xq", W, U32),
            b("stats_u", W, U32),
            b("stats_f", W, F32),
            b("reward", W, F32),
        ],
        cpu: coop::cpu_reset,
        sizes: coop_reset_sizes,
    },
    KernelSpec {
        id: KernelId::CoopStep,
        stem: "coop",
        entry: "coop_step",
        wgsl: "env/coop.wgsl",
        cu: "env/coop.cu",
        params: COOP_PARAMS,
        bufs: &[
            b("node", R, F32),
            b("link", R, F32),
            b("act", R, U32),
            b("arr_u", W, U32),
            b("arr_f", W, F32),
            b("pool_u", W, U32),
            b("pool_f", W, F32),
            b("xq", W, U32),
            b("stats_u", W, U32),
            b("stats_f", W, F32),
            b("reward", W, F32),
        ],
        cpu: coop::cpu_step,
        sizes: coop_step_sizes,
    },
    KernelSpec {
        id: KernelId::CoopObserve,
        stem: "coop",
        entry: "coop_observe",
        wgsl: "env/coop.wgsl",
        cu: "env/coop.cu",
        params: COOP_PARAMS,
        bufs: &[
            b("node", R, F32),
            b("link", R, F32),
            b("arr_u", R, U32),
            b("arr_f", R, F32),
            b("pool_u", R, U32),
            b("xq", R, U32),
            b("obs", W, F32),
            b("mask", W, U32),
        ],
        cpu: coop::cpu_observe,
        sizes: coop_observe_sizes,
    },
    KernelSpec {
        id: KernelId::CoopPolicy,
        stem: "coop",
        entry: "coop_policy",
        wgsl: "env/coop.wgsl",
        cu: "env/coop.cu",
        params: COOP_PARAMS,
        bufs: &[
            b("node", R, F32),
            b("link", R, F32),
            b("arr_u", R, U32),
            b("arr_f", R, F32),
            b("pool_u", R, U32),
            b("pool_f", R, F32),
            b("xq", R, U32),
            b("act", W, U32),
        ],
        cpu: coop::cpu_policy,
        sizes: coop_policy_sizes,
    },
    KernelSpec {
        id: KernelId::EndedgeArrive,
        stem: "endedge",
        entry: "endedge_arrive",
        wgsl: "env/endedge.wgsl",
        cu: "env/endedge.cu",
        params: ENDEDGE_PARAMS,
        bufs: &[b("eta", W, F32)],
        cpu: endedge::cpu_arrive,
        sizes: endedge_arrive_sizes,
    },
    KernelSpec {
        id: KernelId::EndedgePolicy,
        stem: "endedge",
        entry: "endedge_policy",
        wgsl: "env/endedge.wgsl",
        cu: "env/endedge.cu",
        params: ENDEDGE_PARAMS,
        bufs: &[
            b("eta", R, F32),
            b("pred", R, U32),
            b("rem", R, F32),
            b("at", R, U32),
            b("m", R, U32),
            b("action", W, U32),
        ],
        cpu: endedge::cpu_policy,
        sizes: endedge_policy_sizes,
    },
    KernelSpec {
        id: KernelId::EndedgeStep,
        stem: "endedge",
        entry: "endedge_step",
        wgsl: "env/endedge.wgsl",
        cu: "env/endedge.cu",
        params: ENDEDGE_PARAMS,
        bufs: &[
            b("eta", R, F32),
            b("action", R, U32),
            b("m", R, U32),
            b("size", W, F32),
            b("rem", W, F32),
            b("arr", W, U32),
            b("at", W, U32),
            b("result", W, U32),
            b("pred", W, U32),
            b("acc", W, U32),
            b("nonempty", W, U32),
        ],
        cpu: endedge::cpu_step,
        sizes: endedge_step_sizes,
    },
    KernelSpec {
        id: KernelId::EndedgeLoad,
        stem: "endedge",
        entry: "endedge_load",
        wgsl: "env/endedge.wgsl",
        cu: "env/endedge.cu",
        params: ENDEDGE_PARAMS,
        bufs: &[b("nonempty", R, U32), b("m", W, U32), b("load", W, U32)],
        cpu: endedge::cpu_load,
        sizes: endedge_load_sizes,
    },
    KernelSpec {
        id: KernelId::EndedgeObserve,
        stem: "endedge",
        entry: "endedge_observe",
        wgsl: "env/endedge.wgsl",
        cu: "env/endedge.cu",
        params: ENDEDGE_PARAMS,
        bufs: &[
            b("eta", R, F32),
            b("pred", R, U32),
            b("rem", R, F32),
            b("at", R, U32),
            b("obs", W, F32),
            b("mask", W, U32),
        ],
        cpu: endedge::cpu_observe,
        sizes: endedge_observe_sizes,
    },
    KernelSpec {
        id: KernelId::ReplayPush,
        stem: "replay",
        entry: "replay_push",
        wgsl: "algo/replay.wgsl",
        cu: "algo/replay.cu",
        params: REPLAY_PARAMS,
        bufs: &[
            b("obs_in", R, F32),
            b("label_in", R, U32),
            b("obs", W, F32),
            b("label", W, U32),
            b("demo", W, U32),
            b("delta", W, F32),
            b("maxd", R, F32),
        ],
        cpu: replay::cpu_push,
        sizes: replay::sizes_push,
    },
    KernelSpec {
        id: KernelId::ReplaySample,
        stem: "replay",
        entry: "replay_sample",
        wgsl: "algo/replay.wgsl",
        cu: "algo/replay.cu",
        params: REPLAY_PARAMS,
        bufs: &[b("demo", R, U32), b("delta", R, F32), b("idx", W, U32)],
        cpu: replay::cpu_sample,
        sizes: replay::sizes_sample,
    },
    KernelSpec {
        id: KernelId::ReplayUpdate,
        stem: "replay",
        entry: "replay_update",
        wgsl: "algo/replay.wgsl",
        cu: "algo/replay.cu",
        params: REPLAY_PARAMS,
        bufs: &[b("idx", R, U32), b("v", R, F32), b("delta", W, F32), b("maxd", W, F32)],
        cpu: replay::cpu_update,
        sizes: replay::sizes_update,
    },
    KernelSpec {
        id: KernelId::ReplayGather,
        stem: "replay",
        entry: "replay_gather",
        wgsl: "algo/replay.wgsl",
        cu: "algo/replay.cu",
        params: REPLAY_PARAMS,
        bufs: &[
            b("idx", R, U32),
            b("obs", R, F32),
            b("label", R, U32),
            b("demo", R, U32),
            b("x", W, F32),
            b("label_out", W, U32),
            b("demo_out", W, U32),
        ],
        cpu: replay::cpu_gather,
        sizes: replay::sizes_gather,
    },
    KernelSpec {
        id: KernelId::DirsVote,
        stem: "dirs",
        entry: "dirs_vote",
        wgsl: "algo/dirs.wgsl",
        cu: "algo/dirs.cu",
        params: DIRS_PARAMS,
        bufs: &[b("z", R, F32), b("a", W, U32)],
        cpu: dirs::cpu_vote,
        sizes: dirs::sizes_vote,
    },
    KernelSpec {
        id: KernelId::DirsLossRows,
        stem: "dirs",
        entry: "dirs_loss_rows",
        wgsl: "algo/dirs.wgsl",
        cu: "algo/dirs.cu",
        params: DIRS_PARAMS,
        bufs: &[b("z", R, F32), b("label", R, U32), b("ls", W, F32)],
        cpu: dirs::cpu_loss_rows,
        sizes: dirs::sizes_loss_rows,
    },
    KernelSpec {
        id: KernelId::DirsLossTotal,
        stem: "dirs",
        entry: "dirs_loss_total",
        wgsl: "algo/dirs.wgsl",
        cu: "algo/dirs.cu",
        params: DIRS_PARAMS,
        bufs: &[b("demo", R, U32), b("ls", R, F32), b("c", W, F32), b("v", W, F32), b("loss", W, F32)],
        cpu: dirs::cpu_loss_total,
        sizes: dirs::sizes_loss_total,
    },
    KernelSpec {
        id: KernelId::DirsLossGrad,
        stem: "dirs",
        entry: "dirs_loss_grad",
        wgsl: "algo/dirs.wgsl",
        cu: "algo/dirs.cu",
        params: DIRS_PARAMS,
        bufs: &[b("z", R, F32), b("label", R, U32), b("c", R, F32), b("g", W, F32)],
        cpu: dirs::cpu_loss_grad,
        sizes: dirs::sizes_loss_grad,
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
