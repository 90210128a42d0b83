//! The CUDA host shim itself (tools/cuda_host): `__shared__` + `__syncthreads` + atomics behave
//! like GPU blocks (a shared-memory tree reduction over 16 blocks of 64 OS threads sums
//! correctly), every feature of the README list compiles, and a kernel using anything else fails
//! to compile. Builds small standalone programs with g++; skipped when no C++ compiler runs.
#![cfg(feature = "cuda-host")]

use std::path::{Path, PathBuf};
use std::process::Command;

use mecrl::backend::cuda_host::{SHIM_HEADER, SHIM_RUNTIME};

fn cxx() -> String {
    std::env::var("MECRL_CXX").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "g++".into())
}

fn workdir(name: &str) -> Option<PathBuf> {
    if Command::new(cxx()).arg("--version").output().is_err() {
        eprintln!("SKIP {name}: no C++ compiler");
        return None;
    }
    let d = std::env::temp_dir().join(format!("mecrl-shim-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("cuda_host.h"), SHIM_HEADER).unwrap();
    std::fs::write(d.join("runtime.cpp"), SHIM_RUNTIME).unwrap();
    Some(d)
}

/// Compiles `kernel.cu` (with the shim force-included) and `main.cpp` into `prog`.
fn build(dir: &Path, kernel: &str, main: &str) -> Result<PathBuf, String> {
    std::fs::write(dir.join("kernel.cu"), kernel).unwrap();
    std::fs::write(dir.join("main.cpp"), main).unwrap();
    let flags = ["-std=c++20", "-O2", "-pthread", "-ffp-contract=off"];
    let steps: [Vec<&str>; 4] = [
        [&flags[..], &["-x", "c++", "-include", "cuda_host.h", "-c", "kernel.cu", "-o", "kernel.o"]].concat(),
        [&flags[..], &["-c", "runtime.cpp", "-o", "runtime.o"]].concat(),
        [&flags[..], &["-c", "main.cpp", "-o", "main.o"]].concat(),
        [&flags[..], &["kernel.o", "runtime.o", "main.o", "-o", "prog"]].concat(),
    ];
    for args in steps {
        let o = Command::new(cxx()).args(&args).current_dir(dir).output().unwrap();
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).into_owned());
        }
    }
    Ok(dir.join("prog"))
}

const REDUCE: &str = r#"
// Block sum by a shared-memory tree reduction, then one atomicAdd per block; every thread also
// bumps a global counter and records the largest thread id with atomicMin on its negation.
extern "C" __global__ void block_sum(unsigned int n, const float* __restrict__ x, float* __restrict__ total,
                                     unsigned int* __restrict__ count) {
    __shared__ float tile[64];
    unsigned int t = threadIdx.x;
    unsigned int id = (blockIdx.y * gridDim.x + blockIdx.x) * blockDim.x + t;
    tile[t] = id < n ? x[id] : 0.0f;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) tile[t] += tile[t + s];
        __syncthreads();
    }
    if (t == 0) atomicAdd(total, tile[0]);
    if (id < n) atomicAdd(count, 1u);
}
"#;

const REDUCE_MAIN: &str = r#"
#include <cstdio>
#include <vector>
#include "cuda_host.h"
extern "C" __global__ void block_sum(unsigned int n, const float* __restrict__ x, float* __restrict__ total,
                                     unsigned int* __restrict__ count);
struct Args { unsigned int n; const float* x; float* total; unsigned int* count; };
static void body(void* c) { Args* a = (Args*)c; block_sum(a->n, a->x, a->total, a->count); }
int main() {
    const unsigned int n = 1000;
    std::vector<float> x(n);
    for (unsigned int i = 0; i < n; ++i) x[i] = (float)(i % 7);  // small integers: exact sums
    float total = 0.0f;
    unsigned int count = 0;
    Args a = {n, x.data(), &total, &count};
    for (int rep = 0; rep < 3; ++rep) {
        int rc = mecrl_host_run_grid(8, 2, 64, 1, body, &a);
        if (rc != 0) return 2;
    }
    std::printf("%.1f %u\n", total, count);
    return 0;
}
"#;

#[test]
fn shared_memory_reduction_with_barriers() {
    let Some(dir) = workdir("reduce") else { return };
    let prog = build(&dir, REDUCE, REDUCE_MAIN).unwrap_or_else(|log| panic!("shim build failed:\n{log}"));
    let out = Command::new(&prog).output().unwrap();
    assert!(out.status.success(), "program failed: {out:?}");
    let want: f64 = 3.0 * (0..1000).map(|i| (i % 7) as f64).sum::<f64>();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), format!("{want:.1} 3000"), "16 blocks of 64 threads, 3 launches");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unsupported_cuda_features_do_not_compile() {
    let Some(dir) = workdir("unsupported") else {
        return;
    };
    let main = "int main() { return 0; }\n";
    for (what, body) in [
        ("logf", "x[0] = logf(x[0]);"),
        ("__expf", "x[0] = __expf(x[0]);"),
        ("__shfl_down_sync", "x[0] = __shfl_down_sync(0xffffffffu, x[0], 1);"),
        ("printf", "printf(\"%f\", x[0]);"),
    ] {
        let src = format!("extern \"C\" __global__ void k(float* x) {{ {body} }}\n");
        match build(&dir, &src, main) {
            Ok(_) => panic!("a kernel using {what} compiled against the shim"),
            Err(log) => assert!(log.contains(what), "{what}: unexpected log\n{log}"),
        }
    }
    // The supported list compiles.
    let ok = "extern \"C\" __global__ void k(float* x, unsigned int* u, int* i) {\n\
              __shared__ float s[64]; s[threadIdx.x] = x[0]; __syncthreads();\n\
              x[1] = floorf(s[0]) + sqrtf(x[2]) + fabsf(x[3]) + fmaxf(x[4], x[5]) + fminf(x[6], x[7]);\n\
              u[0] = __umulhi(u[1], u[2]) + __float_as_uint(x[8]); x[9] = __uint_as_float(u[3]) + __int_as_float(i[0]);\n\
              i[1] = __float_as_int(x[10]); atomicAdd(u, 1u); atomicAdd(i, 1); atomicAdd(x, 1.0f);\n\
              atomicMin(u, 3u); atomicMin(i, 3); atomicCAS(u, 1u, 2u); atomicCAS(i, 1, 2);\n\
              u[4] = blockIdx.x + blockIdx.y + gridDim.x + gridDim.y + blockDim.x; }\n";
    build(&dir, ok, main).unwrap_or_else(|log| panic!("the documented feature list must compile:\n{log}"));
    let _ = std::fs::remove_dir_all(&dir);
}
