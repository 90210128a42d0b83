// 16-bit storage (src/ops/half.rs): f16 / bf16 packed two per word, integer conversions only.

struct HalfParams {
    n: u32,
    format: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: HalfParams;

fn f32_to_f16(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let a = b & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7e00u;
    }
    let e = i32(a >> 23u) - 112;
    if (e >= 31) {
        return sign | 0x7c00u;
    }
    if (e <= 0) {
        if (e < -10) {
            return sign;
        }
        let m = (a & 0x7fffffu) | 0x800000u;
        let shift = u32(14 - e);
        var r = m >> shift;
        let rem = m & ((1u << shift) - 1u);
        let half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u) == 1u)) {
            r = r + 1u;
        }
        return sign | r;
    }
    let m = a & 0x7fffffu;
    var r = (u32(e) << 10u) | (m >> 13u);
    let rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u) == 1u)) {
        r = r + 1u;
    }
    return sign | r;
}

fn f32_to_bf16(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return ((b >> 16u) | 0x40u) & 0xffffu;
    }
    return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}

fn f16_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        return bitcast<f32>(sign | bitcast<u32>(pm_keep(f32(m) * 5.9604645e-8)));
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

//!entry half_pack
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<u32>;

// One thread per word.
//!main w
    let n = params.n;
    if (2u * w >= n) {
        return;
    }
    var lo = 0u;
    var hi = 0u;
    if (params.format == 0u) {
        lo = f32_to_f16(x[2u * w]);
        if (2u * w + 1u < n) {
            hi = f32_to_f16(x[2u * w + 1u]);
        }
    } else {
        lo = f32_to_bf16(x[2u * w]);
        if (2u * w + 1u < n) {
            hi = f32_to_bf16(x[2u * w + 1u]);
        }
    }
    h[w] = lo | (hi << 16u);
}

//!entry half_unpack
@group(0) @binding(1) var<storage, read> h: array<u32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

//!main i
    if (i >= params.n) {
        return;
    }
    let v = (h[i / 2u] >> (16u * (i % 2u))) & 0xffffu;
    if (params.format == 0u) {
        x[i] = f16_to_f32(v);
    } else {
        x[i] = bitcast<f32>(v << 16u);
    }
}
