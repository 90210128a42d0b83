// Portable f32 math of src/math.rs (Cephes polynomials), the same operation order on every
// backend. No builtin log/exp/sin/cos for these.

const PM_LOG2_E: f32 = 1.44269504088896340736;
const PM_FRAC_PI_2: f32 = 1.57079632679489661923;
const PM_FRAC_1_SQRT_2: f32 = 0.707106781186547524401;

// ln(x) for finite x > 0 (normal range). Cephes logf.
fn pm_ln(x: f32) -> f32 {
    let bits = bitcast<u32>(pm_keep(x));
    var e = i32((bits >> 23u) & 0xffu) - 126;
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f000000u);
    if (m < PM_FRAC_1_SQRT_2) {
        e = e - 1;
        m = pm_keep(m + m) - 1.0;
    } else {
        m = m - 1.0;
    }
    m = pm_keep(m);
    let ef = f32(e);
    let z = pm_keep(m * m);
    var y = pm_mad(7.0376836e-2, m, -1.151461e-1);
    y = pm_mad(y, m, 1.1676999e-1);
    y = pm_mad(y, m, -1.2420141e-1);
    y = pm_mad(y, m, 1.4249323e-1);
    y = pm_mad(y, m, -1.6668058e-1);
    y = pm_mad(y, m, 2.0000714e-1);
    y = pm_mad(y, m, -2.4999994e-1);
    y = pm_mad(y, m, 3.3333331e-1);
    y = pm_keep(pm_keep(y * m) * z);
    y = pm_keep(y + pm_keep(-2.1219444e-4 * ef));
    y = pm_keep(y + pm_keep(-0.5 * z));
    return pm_keep(pm_keep(m + y) + pm_keep(0.6933594 * ef));
}

// exp(x), x clamped to [-87, 88]. Cephes expf.
fn pm_exp(x_in: f32) -> f32 {
    let x = min(max(pm_keep(x_in), -87.0), 88.0);
    let fx = floor(pm_mad(x, PM_LOG2_E, 0.5));
    let r = pm_keep(pm_keep(x - pm_keep(fx * 0.6933594)) - pm_keep(fx * -2.1219444e-4));
    let z = pm_keep(r * r);
    var y = pm_mad(1.9875691e-4, r, 1.3981999e-3);
    y = pm_mad(y, r, 8.333452e-3);
    y = pm_mad(y, r, 4.1665796e-2);
    y = pm_mad(y, r, 1.6666665e-1);
    y = pm_mad(y, r, 5.0000001e-1);
    y = pm_keep(pm_mad(y, z, r) + 1.0);
    return pm_keep(y * bitcast<f32>(u32(i32(fx) + 127) << 23u));
}

// (sin 2 pi u, cos 2 pi u) for a 24-bit uniform u in [0, 1).
fn pm_sincos_2pi(u: f32) -> vec2<f32> {
    let t = 4.0 * pm_keep(u);
    let q = floor(t + 0.5);
    let r = pm_keep(pm_keep(t - q) * PM_FRAC_PI_2);
    let z = pm_keep(r * r);
    var ps = pm_mad(-1.9515296e-4, z, 8.332161e-3);
    ps = pm_mad(ps, z, -1.6666655e-1);
    let s = pm_keep(pm_keep(pm_keep(ps * z) * r) + r);
    var pc = pm_mad(2.4433157e-5, z, -1.3887316e-3);
    pc = pm_mad(pc, z, 4.1666646e-2);
    let c = pm_keep(pm_keep(pm_keep(pm_keep(pc * z) * z) - pm_keep(0.5 * z)) + 1.0);
    switch (i32(q) & 3) {
        case 0: {
            return vec2<f32>(s, c);
        }
        case 1: {
            return vec2<f32>(c, -s);
        }
        case 2: {
            return vec2<f32>(-s, -c);
        }
        default: {
            return vec2<f32>(-c, s);
        }
    }
}

// ln(1 + x) for x > -1 (Goldberg).
fn pm_ln1p(x: f32) -> f32 {
    let u = pm_keep(1.0 + pm_keep(x));
    if (u == 1.0) {
        return x;
    }
    return pm_keep(pm_keep(pm_ln(u) * x) / pm_keep(u - 1.0));
}

// log2(x) for x > 0.
fn pm_log2(x: f32) -> f32 {
    return pm_keep(pm_ln(x) * PM_LOG2_E);
}

// x^y = exp(y ln x) for x > 0.
fn pm_powf(x: f32, y: f32) -> f32 {
    return pm_exp(pm_keep(y * pm_ln(x)));
}

// An opaque zero: set from a runtime value at the start of every entry point (`pm_init`), it
// lets `pm_keep` fence an f32 value so that the driver's compiler cannot reassociate or fuse
// arithmetic across it. Naga emits no SPIR-V NoContraction, so drivers treat float ops as
// inexact: lavapipe rewrote `(a - 0.5 z) + 1.0` and simplified `(1 + x) - 1` to `x` (which
// destroyed ln1p), and GPU compilers fuse a * b + c into an FMA. Every kernel calls `pm_init`
// first; the fences cost one integer xor each.
var<private> pm_zero: u32;

// Every dispatch is (gx, gy, 1), so nwg.z - 1 = 0, unknown to the compiler.
fn pm_init(nwg: vec3<u32>) {
    pm_zero = nwg.z - 1u;
}

// x, fenced.
fn pm_keep(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ pm_zero);
}

// a * b + c with two roundings (never fused into an FMA), as the CPU computes it.
fn pm_mad(a: f32, b: f32, c: f32) -> f32 {
    return pm_keep(pm_keep(a * b) + c);
}

// A quiet NaN (through a variable: a constant NaN is not a valid WGSL const-expression).
fn pm_nan() -> f32 {
    var bits = 0x7fc00000u;
    return bitcast<f32>(bits);
}

// +infinity (through a variable, see pm_nan).
fn pm_inf() -> f32 {
    var bits = 0x7f800000u;
    return bitcast<f32>(bits);
}

// s[i mod 4] += v: term i of a sum kept in four partial sums (combined by pm_sum4).
fn pm_add4(s: ptr<function, array<f32, 4>>, i: u32, v: f32) {
    (*s)[i & 3u] = pm_keep((*s)[i & 3u] + v);
}

// (s0 + s1) + (s2 + s3): four partial sums by i mod 4, combined as on every backend.
fn pm_sum4(s: array<f32, 4>) -> f32 {
    return pm_keep(pm_keep(s[0] + s[1]) + pm_keep(s[2] + s[3]));
}
