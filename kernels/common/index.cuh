// Scalar types and thread indexing shared by every kernel (mirrors src/backend/mod.rs).
// NVRTC gets no system headers: only the typedefs below and CUDA built-ins are used.
#ifndef MECRL_COMMON_INDEX_CUH
#define MECRL_COMMON_INDEX_CUH

typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef float f32;

// Threads per block (WORKGROUP in src/backend/mod.rs); launches use blockDim = (64, 1, 1) and a
// (gx, gy) grid from grid_for(threads).
#define MECRL_WORKGROUP 64u

// Global thread id of a 2-D grid of 1-D blocks.
__device__ __forceinline__ u32 global_id() {
    return (blockIdx.y * gridDim.x + blockIdx.x) * blockDim.x + threadIdx.x;
}

// Rust `f32::clamp(x, lo, hi)`: NaN stays NaN.
__device__ __forceinline__ float rclamp(float x, float lo, float hi) {
    if (x < lo) x = lo;
    if (x > hi) x = hi;
    return x;
}

// +infinity without math headers.
__device__ __forceinline__ float f32_inf() { return __uint_as_float(0x7f800000u); }

// NaN without math headers.
__device__ __forceinline__ float f32_nan() { return __uint_as_float(0x7fc00000u); }

// Rust `x as i32` for |x| < 2^31 (NaN -> 0).
__device__ __forceinline__ i32 f32_to_i32(float x) { return x == x ? (i32)x : 0; }

// Rust `x as u32` (saturating; NaN and negatives -> 0).
__device__ __forceinline__ u32 f32_to_u32(float x) {
    if (!(x > 0.0f)) return 0u;
    if (x >= 4294967296.0f) return 0xffffffffu;
    return (u32)x;
}

#endif
