// Philox4x32-10 and the distributions of src/rng.rs, bit for bit (WGSL has no u64: the 32x32
// products are formed from 16-bit halves). Counter = (element, instance, step, stream | draw<<16),
// key = (seed lo, seed hi).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// Stream ids (src/rng.rs `stream`).
const STREAM_MEC_IOTD_POS: u32 = 1u;
const STREAM_MEC_MEC_POS: u32 = 2u;
const STREAM_MEC_TASK: u32 = 3u;
const STREAM_MEC_FADING: u32 = 4u;
const STREAM_MEC_RANDOM_POLICY: u32 = 5u;
const STREAM_LEVY_INIT: u32 = 6u;
const STREAM_LEVY_STEP_A: u32 = 7u;
const STREAM_LEVY_STEP_FP: u32 = 8u;

// (hi, lo) of the 64-bit product a*b.
fn mulhilo32(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let r0 = mulhilo32(PHILOX_M0, c.x);
    let r1 = mulhilo32(PHILOX_M1, c.z);
    return vec4<u32>(r1.x ^ c.y ^ k.x, r1.y, r0.x ^ c.w ^ k.y, r0.y);
}

// Philox4x32-10: the 128-bit block for `ctr` under `key`.
fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var r = 0u; r < 10u; r = r + 1u) {
        c = philox_round(c, k);
        if (r < 9u) {
            k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
        }
    }
    return c;
}

// The counter for (element, instance, step, stream, draw).
fn philox_counter(element: u32, instance: u32, step: u32, stream: u32, draw: u32) -> vec4<u32> {
    return vec4<u32>(element, instance, step, stream | (draw << 16u));
}

// Uniform in [0, 1): top 24 bits / 2^24.
fn rng_uniform(x: u32) -> f32 {
    return f32(x >> 8u) * (1.0 / 16777216.0);
}

// floor(u * n) for the 24-bit uniform u: ((x >> 8) * n) >> 24 with a 56-bit product.
fn rng_uniform_index(x: u32, n: u32) -> u32 {
    let p = mulhilo32(x >> 8u, n);
    return (p.x << 8u) | (p.y >> 24u);
}

// Two standard normals by Box-Muller from two raw words.
fn rng_normal2(x0: u32, x1: u32) -> vec2<f32> {
    let u1 = rng_uniform(x0);
    let u2 = rng_uniform(x1);
    let r = pm_keep(sqrt(pm_keep(-2.0 * pm_ln(pm_keep(1.0 - u1)))));
    let sc = pm_sincos_2pi(u2);
    return vec2<f32>(pm_keep(r * sc.y), pm_keep(r * sc.x));
}

// Exp(1): -ln(1 - u).
fn rng_exponential(x: u32) -> f32 {
    return -pm_ln(pm_keep(1.0 - rng_uniform(x)));
}

// Levy step d = sigma_u z0 / max(|z1|, 1e-30)^(1/beta) (Mantegna, eq. 20-22).
fn rng_levy_step(z0: f32, z1: f32, sigma_u: f32, inv_beta: f32) -> f32 {
    let v = max(abs(pm_keep(z1)), 1e-30);
    return pm_keep(pm_keep(sigma_u * pm_keep(z0)) * pm_exp(pm_keep(-inv_beta * pm_ln(v))));
}

// ln k! (exact table below 16, Stirling series above).
fn rng_ln_factorial(k: f32) -> f32 {
    var t = array<f32, 16>(
        0.0, 0.0, 0.6931472, 1.7917595, 3.178054, 4.787492, 6.579251, 8.525161, 10.604603,
        12.801827, 15.104413, 17.502308, 19.987214, 22.552164, 25.191221, 27.899271
    );
    if (k < 16.0) {
        return t[u32(k)];
    }
    let r = 1.0 / k;
    let head = pm_keep(pm_keep(pm_keep((k + 0.5) * pm_ln(k)) - k) + 0.9189385);
    return pm_keep(head + pm_keep(r * pm_keep(1.0 / 12.0 - pm_keep(r * r * (1.0 / 360.0)))));
}

// f32 -> u32 with Rust `as` semantics for the values used here (negative -> 0).
fn rng_f2u(x: f32) -> u32 {
    if (x <= 0.0) {
        return 0u;
    }
    return u32(x);
}

// Poisson(mean): inversion below 30, PTRS (Hoermann 1993) above; blocks (ctr, ctr.w + draw<<16).
fn rng_poisson(key: vec2<u32>, ctr: vec4<u32>, mean: f32) -> u32 {
    if (mean <= 0.0) {
        return 0u;
    }
    if (mean < 30.0) {
        let u = rng_uniform(philox4x32_10(ctr, key).x);
        var p = pm_exp(-mean);
        var f = p;
        var k = 0u;
        loop {
            if (!(u > f)) {
                break;
            }
            k = k + 1u;
            p = pm_keep(p * pm_keep(mean / f32(k)));
            if (p < 1e-30) {
                break;
            }
            f = pm_keep(f + p);
        }
        return k;
    }
    let slam = sqrt(mean);
    let loglam = pm_ln(mean);
    let b = pm_keep(0.931 + pm_keep(2.53 * slam));
    let a = pm_keep(-0.059 + pm_keep(0.02483 * b));
    let inv_alpha = pm_keep(1.1239 + pm_keep(1.1328 / pm_keep(b - 3.4)));
    let vr = pm_keep(0.9277 - pm_keep(3.6224 / pm_keep(b - 2.0)));
    var draw = 0u;
    loop {
        let c = vec4<u32>(ctr.x, ctr.y, ctr.z, ctr.w + (draw << 16u));
        let w = philox4x32_10(c, key);
        draw = draw + 1u;
        for (var h = 0u; h < 2u; h = h + 1u) {
            let u = pm_keep(rng_uniform(w[2u * h]) - 0.5);
            let v = rng_uniform(w[2u * h + 1u]);
            let us = pm_keep(0.5 - abs(u));
            let k = floor(pm_keep(pm_keep(pm_keep(pm_keep(pm_keep(2.0 * a) / us) + b) * u) + mean) + 0.43);
            if (us >= 0.07 && v <= vr) {
                return rng_f2u(k);
            }
            if (k < 0.0 || (us < 0.013 && v > us)) {
                continue;
            }
            let lhs = pm_keep(pm_keep(pm_ln(max(v, 1e-30)) + pm_ln(inv_alpha)) - pm_ln(pm_keep(a / pm_keep(us * us)) + b));
            let rhs = pm_keep(pm_keep(-mean + pm_keep(k * loglam)) - rng_ln_factorial(k));
            if (lhs <= rhs) {
                return rng_f2u(k);
            }
        }
        if (draw >= 0x1000u) {
            return rng_f2u(mean);
        }
    }
    return 0u;
}
