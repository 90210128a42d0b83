// Glue between ops (src/ops/glue.rs): a strided block copy (write or accumulate).

//!entry glue_copy
struct CopyParams {
    d0: u32,
    d1: u32,
    d2: u32,
    n: u32,
    s0: u32,
    s1: u32,
    s2: u32,
    soff: u32,
    t0: u32,
    t1: u32,
    t2: u32,
    toff: u32,
    accumulate: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: CopyParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// t = ((i0 D1 + i1) D2 + i2) n + j: dst[toff + i0 t0 + i1 t1 + i2 t2 + j] (+)= src[soff + ...].
//!main t
    let p = params;
    if (p.n == 0u || t >= p.d0 * p.d1 * p.d2 * p.n) {
        return;
    }
    let j = t % p.n;
    var r = t / p.n;
    let i2 = r % p.d2;
    r = r / p.d2;
    let i1 = r % p.d1;
    let i0 = r / p.d1;
    let s = p.soff + i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + j;
    let o = p.toff + i0 * p.t0 + i1 * p.t1 + i2 * p.t2 + j;
    if (p.accumulate != 0u) {
        dst[o] = pm_keep(dst[o] + src[s]);
    } else {
        dst[o] = src[s];
    }
}
