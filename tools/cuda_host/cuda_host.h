// cuda_host.h — the CUDA host shim: lets the .cu files under kernels/ compile as host C++ (g++,
// -std=c++20, force-included with -include) and run on the CPU, one block at a time.
//
// Deliberately tiny: it declares exactly the CUDA features listed in README.md and includes no
// system header, so a kernel that uses anything else (logf, expf, __expf, warp intrinsics,
// printf, ...) fails to build here just as it would be caught in review. Keep README.md in sync.
#ifndef MECRL_CUDA_HOST_H
#define MECRL_CUDA_HOST_H

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "cuda_host.h needs C++20 (g++ -std=c++20)"
#endif

// ---- qualifiers ------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
// __restrict__ is a g++ keyword already.
// Blocks run one at a time, so a function-local static is shared by the threads of a block.
#define __shared__ static

// ---- thread indexing -------------------------------------------------------------------------
struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
};
// Set by the runtime (runtime.cpp) for the running thread / block.
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

// A barrier over the OS threads that run the block's GPU threads.
void __syncthreads();

// ---- integer and bit intrinsics --------------------------------------------------------------
__forceinline__ unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * (unsigned long long)b) >> 32);
}
__forceinline__ float __uint_as_float(unsigned int x) { return __builtin_bit_cast(float, x); }
__forceinline__ unsigned int __float_as_uint(float x) { return __builtin_bit_cast(unsigned int, x); }
__forceinline__ float __int_as_float(int x) { return __builtin_bit_cast(float, x); }
__forceinline__ int __float_as_int(float x) { return __builtin_bit_cast(int, x); }

// ---- float math (IEEE, the same results as CUDA with --fmad=false and no fast-math) -----------
__forceinline__ float floorf(float x) { return __builtin_floorf(x); }
__forceinline__ float sqrtf(float x) { return __builtin_sqrtf(x); }
__forceinline__ float fabsf(float x) { return __builtin_fabsf(x); }
__forceinline__ float fmaxf(float a, float b) { return __builtin_fmaxf(a, b); }
__forceinline__ float fminf(float a, float b) { return __builtin_fminf(a, b); }

// ---- atomics (sequentially consistent; return the old value) ---------------------------------
__forceinline__ unsigned int atomicAdd(unsigned int* p, unsigned int v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
__forceinline__ int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
__forceinline__ float atomicAdd(float* p, float v) {
    unsigned int* u = (unsigned int*)p;
    unsigned int old = __atomic_load_n(u, __ATOMIC_SEQ_CST);
    for (;;) {
        unsigned int next = __float_as_uint(__uint_as_float(old) + v);
        if (__atomic_compare_exchange_n(u, &old, next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return __uint_as_float(old);
    }
}
__forceinline__ unsigned int atomicMin(unsigned int* p, unsigned int v) {
    unsigned int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
__forceinline__ int atomicMin(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
__forceinline__ unsigned int atomicCAS(unsigned int* p, unsigned int cmp, unsigned int v) {
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}
__forceinline__ int atomicCAS(int* p, int cmp, int v) {
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}

// ---- launching (runtime.cpp) -----------------------------------------------------------------
// Runs a (gx, gy) grid of blocks of `block` threads, blocks one after another. `body(ctx)` runs
// one GPU thread (threadIdx/blockIdx already set). With `threaded` != 0 every GPU thread of a
// block runs on its own OS thread (needed for __syncthreads / __shared__); otherwise the block's
// threads run in order on the calling thread. Returns 0, or 1 if a kernel launched without
// `threaded` called __syncthreads.
extern "C" int mecrl_host_run_grid(unsigned int gx, unsigned int gy, unsigned int block, int threaded,
                                   void (*body)(void*), void* ctx);

#endif
