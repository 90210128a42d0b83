// Population Levy flight search (src/search/levy/). One thread per candidate c = b P + p.
// The generation kernel stores no candidate: pass 1 generates every IoTD's candidate value
// (counter-based Philox, so it can be regenerated) and accumulates its fitness; only if that is
// strictly smaller than fit[c] does pass 2 regenerate the values and write them (eq. 28). The
// fitness is the mec objective: the parts `mec_phi_exact` and `mec_phi_paper` of env/mec (a stem
// in this one's `includes`).

struct LevyParams {
    b: u32,
    n: u32,
    m: u32,
    p: u32,
    key0: u32,
    key1: u32,
    call: u32,
    generation: u32,
    gmax: u32,
    variant: u32,
    mode: u32,
    _pad0: u32,
    sigma_u: f32,
    inv_beta: f32,
    th: f32,
    eta_a: f32,
    eta_f: f32,
    eta_p: f32,
    f_min: f32,
    p_min: f32,
    f_max: f32,
    p_max: f32,
    f_local: f32,
    p_local: f32,
    phi_t: f32,
    phi_e: f32,
    bandwidth: f32,
    noise_psd: f32,
}

@group(0) @binding(0) var<uniform> params: LevyParams;

// A candidate value of one IoTD.
struct Cand {
    a: u32,
    f: f32,
    p: f32,
}

fn levy_key() -> vec2<u32> {
    return vec2<u32>(params.key0, params.key1);
}

// Counter word 2: call << 16 | generation.
fn levy_ctr2(g: u32) -> u32 {
    return (params.call << 16u) | (g & 0xffffu);
}

// Eq. (26) for 0-based generation g.
fn levy_gamma(g: u32, gmax: u32) -> f32 {
    return 2.0 - pm_keep(pm_keep(2.0 * f32(g)) / f32(gmax));
}

// Initial (f, p) of candidate pi, IoTD i of instance bi (paper mode).
fn levy_init_fp(bi: u32, pi: u32, i: u32) -> vec2<f32> {
    let w = philox4x32_10(philox_counter(pi * params.n + i, bi, levy_ctr2(0xffffu), STREAM_LEVY_INIT, 0u), levy_key());
    return vec2<f32>(
        params.f_min + pm_keep(pm_keep(params.f_max - params.f_min) * rng_uniform(w.x)),
        params.p_min + pm_keep(pm_keep(params.p_max - params.p_min) * rng_uniform(w.y))
    );
}

// The candidate value of IoTD i from the parent (a, f, p); `stab` = hn[i, a - 1] (0 if a = 0).
fn levy_candidate(bi: u32, pi: u32, i: u32, a: u32, f: f32, pw: f32, stab: f32) -> Cand {
    let key = levy_key();
    let c2 = levy_ctr2(params.generation);
    let w = philox4x32_10(philox_counter(pi * params.n + i, bi, c2, STREAM_LEVY_STEP_A, 0u), key);
    let z = rng_normal2(w.x, w.y);
    let d = rng_levy_step(z.x, z.y, params.sigma_u, params.inv_beta); // eq. (20)-(22)
    var fm = f;
    var pm = pw;
    if (params.mode == 1u) {
        let v = philox4x32_10(philox_counter(pi * params.n + i, bi, c2, STREAM_LEVY_STEP_FP, 0u), key);
        let y01 = rng_normal2(v.x, v.y);
        let y23 = rng_normal2(v.z, v.w);
        let df = rng_levy_step(y01.x, y01.y, params.sigma_u, params.inv_beta);
        let dp = rng_levy_step(y23.x, y23.y, params.sigma_u, params.inv_beta);
        // eq. (23), clipped to the boxes
        fm = min(max(pm_keep(f + pm_keep(params.eta_f * df)), params.f_min), params.f_max);
        pm = min(max(pm_keep(pw + pm_keep(params.eta_p * dp)), params.p_min), params.p_max);
    }
    if (params.variant == 1u) {
        // classic: eq. (23) with rounding on a
        let s = min(max(pm_keep(params.eta_a * d), -1048576.0), 1048576.0);
        let si = i32(floor(pm_keep(s) + 0.5));
        let k = i32(params.m) + 1;
        var r = (i32(a) + si) % k;
        if (r < 0) {
            r = r + k;
        }
        return Cand(u32(r), fm, pm);
    }
    let gd = pm_keep(levy_gamma(params.generation, params.gmax) * d);
    var am = a;
    if (gd > stab) {
        am = rng_uniform_index(w.z, params.m + 1u); // eq. (25)
    }
    if (gd > params.th) {
        return Cand(am, fm, pm); // eq. (27)
    }
    return Cand(a, f, pw);
}

//!part levy_fitness
//!use mec_phi_exact
//!use mec_phi_paper
// The fitness of a candidate: the mec objective of params.mode (1: paper, else exact), for the
// entries that bind the buffers of both; bins of candidate c at base = c (2M + 1).

fn levy_start(base: u32) -> array<f32, 4> {
    if (params.mode == 1u) {
        return mec_paper_start(base);
    }
    return mec_exact_start(base);
}

// Adds IoTD i of instance bi with the value (ai <= M, f, pw) to s and the bins.
fn levy_add(s: ptr<function, array<f32, 4>>, base: u32, bi: u32, i: u32, ai: u32, f: f32, pw: f32) {
    if (params.mode == 1u) {
        mec_paper_add(s, base, bi, i, ai, f, pw);
    } else {
        mec_exact_add(s, base, bi, i, ai);
    }
}

fn levy_finish(s: array<f32, 4>, base: u32) -> f32 {
    if (params.mode == 1u) {
        return mec_paper_finish(s, base);
    }
    return mec_exact_finish(s, base);
}

//!entry levy_init
@group(0) @binding(1) var<storage, read> cost: array<f32>;
@group(0) @binding(2) var<storage, read> sqrt_f: array<f32>;
@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read> task_d: array<f32>;
@group(0) @binding(5) var<storage, read> task_f: array<f32>;
@group(0) @binding(6) var<storage, read> a0: array<u32>;
@group(0) @binding(7) var<storage, read_write> pop_a: array<u32>;
@group(0) @binding(8) var<storage, read_write> pop_f: array<f32>;
@group(0) @binding(9) var<storage, read_write> pop_p: array<f32>;
@group(0) @binding(10) var<storage, read_write> fit: array<f32>;
@group(0) @binding(11) var<storage, read_write> bins: array<f32>;

//!use levy_fitness

//!main c
    let n = params.n;
    let m = params.m;
    let pp = params.p;
    if (c >= params.b * pp) {
        return;
    }
    let bi = c / pp;
    let pi = c % pp;
    let row = c * n;
    let sb = bi * n;
    let base = c * (2u * m + 1u);
    var s = levy_start(base);
    var bad = false;
    for (var i = 0u; i < n; i = i + 1u) {
        let ai = a0[sb + i];
        pop_a[row + i] = ai;
        if (ai > m) {
            bad = true;
        }
        var fp = vec2<f32>(0.0, 0.0);
        if (params.mode == 1u) {
            fp = levy_init_fp(bi, pi, i);
            pop_f[row + i] = fp.x;
            pop_p[row + i] = fp.y;
        }
        if (!bad) {
            levy_add(&s, base, bi, i, ai, fp.x, fp.y);
        }
    }
    if (bad) {
        fit[c] = pm_nan();
        return;
    }
    fit[c] = levy_finish(s, base);
}

//!entry levy_generation
@group(0) @binding(1) var<storage, read> cost: array<f32>;
@group(0) @binding(2) var<storage, read> sqrt_f: array<f32>;
@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read> hn: array<f32>;
@group(0) @binding(5) var<storage, read> task_d: array<f32>;
@group(0) @binding(6) var<storage, read> task_f: array<f32>;
@group(0) @binding(7) var<storage, read_write> pop_a: array<u32>;
@group(0) @binding(8) var<storage, read_write> pop_f: array<f32>;
@group(0) @binding(9) var<storage, read_write> pop_p: array<f32>;
@group(0) @binding(10) var<storage, read_write> fit: array<f32>;
@group(0) @binding(11) var<storage, read_write> bins: array<f32>;

//!use levy_fitness

// The candidate of IoTD i of candidate row `row`, from the stored parent.
fn levy_gen_candidate(bi: u32, pi: u32, i: u32, row: u32, hb: u32, paper: bool) -> Cand {
    let m = params.m;
    let ai = pop_a[row + i];
    var fi = 0.0;
    var pwi = 0.0;
    if (paper) {
        fi = pop_f[row + i];
        pwi = pop_p[row + i];
    }
    // An out-of-range a_i (fitness NaN anyway) reads its row's last entry, as the CPU does.
    let j = min(ai, m);
    var stab = 0.0;
    if (j > 0u) {
        stab = hn[hb + i * m + j - 1u];
    }
    return levy_candidate(bi, pi, i, ai, fi, pwi, stab);
}

//!main c
    let n = params.n;
    let m = params.m;
    let pp = params.p;
    if (c >= params.b * pp) {
        return;
    }
    let bi = c / pp;
    let pi = c % pp;
    let row = c * n;
    let hb = bi * n * m;
    let base = c * (2u * m + 1u);
    let paper = params.mode == 1u;
    // Pass 1: the candidate's fitness.
    var s = levy_start(base);
    for (var i = 0u; i < n; i = i + 1u) {
        let cd = levy_gen_candidate(bi, pi, i, row, hb, paper);
        if (cd.a > m) {
            return; // fitness NaN: never selected
        }
        levy_add(&s, base, bi, i, cd.a, cd.f, cd.p);
    }
    let next = levy_finish(s, base);
    // Greedy selection, eq. (28): strictly better replaces the parent.
    if (!(next < fit[c])) {
        return;
    }
    // Pass 2: regenerate and store.
    for (var i = 0u; i < n; i = i + 1u) {
        let cd = levy_gen_candidate(bi, pi, i, row, hb, paper);
        pop_a[row + i] = cd.a;
        if (paper) {
            pop_f[row + i] = cd.f;
            pop_p[row + i] = cd.p;
        }
    }
    fit[c] = next;
}

//!entry levy_best
@group(0) @binding(1) var<storage, read> pop_a: array<u32>;
@group(0) @binding(2) var<storage, read> pop_f: array<f32>;
@group(0) @binding(3) var<storage, read> pop_p: array<f32>;
@group(0) @binding(4) var<storage, read> fit: array<f32>;
@group(0) @binding(5) var<storage, read_write> best_a: array<u32>;
@group(0) @binding(6) var<storage, read_write> best_f: array<f32>;
@group(0) @binding(7) var<storage, read_write> best_p: array<f32>;
@group(0) @binding(8) var<storage, read_write> best_fit: array<f32>;

// One thread per instance: the first candidate with the smallest fitness (NaN never wins).
//!main bi
    let n = params.n;
    let pp = params.p;
    if (bi >= params.b) {
        return;
    }
    var k = 0u;
    var best = pm_inf();
    for (var q = 0u; q < pp; q = q + 1u) {
        let v = fit[bi * pp + q];
        if (v < best) {
            best = v;
            k = q;
        }
    }
    let src = (bi * pp + k) * n;
    for (var i = 0u; i < n; i = i + 1u) {
        best_a[bi * n + i] = pop_a[src + i];
        best_f[bi * n + i] = pop_f[src + i];
        best_p[bi * n + i] = pop_p[src + i];
    }
    best_fit[bi] = fit[bi * pp + k];
}
