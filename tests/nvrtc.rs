//! Every stem's `.cu` file compiles through NVRTC (`compute_90`, the backend's options),
//! and `ptxas -arch=sm_90 -v` finds no register spills in any function. The CUDA backend without
//! a driver answers `NoDevice`, never a panic.
//!
//! NVRTC comes from the `nvidia-cuda-nvrtc` wheel (its `nvidia/cu13/lib` on `LD_LIBRARY_PATH`),
//! ptxas from `nvidia-cuda-nvcc` (`$MECRL_PTXAS`, else `ptxas` on `PATH`). Without them the
//! tests print a skip notice, unless `MECRL_REQUIRE_NVRTC=1`, which turns that into a failure.
#![cfg(feature = "cuda")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use mecrl::backend::cuda::{self, CudaBackend};
use mecrl::backend::Stem;
use mecrl::catalog::STEMS;
use mecrl::Error;

fn required() -> bool {
    std::env::var("MECRL_REQUIRE_NVRTC").is_ok_and(|v| v == "1")
}

/// `true` if NVRTC is usable; otherwise skip (or fail when required).
fn nvrtc_or_skip(test: &str) -> bool {
    if cuda::nvrtc_available() {
        return true;
    }
    let why = "libnvrtc not loadable (pip install nvidia-cuda-nvrtc; LD_LIBRARY_PATH=$SITE/nvidia/cu13/lib)";
    assert!(!required(), "MECRL_REQUIRE_NVRTC=1 but {why}");
    eprintln!("SKIP {test}: {why}");
    false
}

fn ptxas() -> Option<PathBuf> {
    let p = std::env::var_os("MECRL_PTXAS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("ptxas"));
    Command::new(&p).arg("--version").output().ok().filter(|o| o.status.success()).map(|_| p)
}

#[test]
fn every_cu_file_compiles_with_nvrtc() {
    if !nvrtc_or_skip("every_cu_file_compiles_with_nvrtc") {
        return;
    }
    println!("NVRTC {:?}", cuda::nvrtc_version());
    for stem in STEMS {
        let file = stem.cu_path();
        let ptx = cuda::compile_ptx(stem, "compute_90").unwrap_or_else(|e| panic!("{e}"));
        for k in stem.kernels {
            assert!(ptx.contains(&format!(".entry {}(", k.entry)), "{file}: no .entry {} in the PTX", k.entry);
        }
        // --fmad=false: no fused multiply-add may appear.
        assert!(!ptx.contains("fma.rn.f32"), "{file}: PTX contains fma.rn.f32 although compiled with --fmad=false");
    }
}

#[test]
fn compile_errors_carry_the_nvrtc_log() {
    if !nvrtc_or_skip("compile_errors_carry_the_nvrtc_log") {
        return;
    }
    static BROKEN: Stem = Stem {
        name: "broken",
        area: "test",
        wgsl: "",
        cu: "extern \"C\" __global__ void broken() { no_such_name = 1; }\n",
        kernels: &[],
        includes: &[],
    };
    match cuda::compile_ptx(&BROKEN, "compute_90") {
        Err(Error::KernelCompile { backend, kernel, log }) => {
            assert_eq!((backend.as_str(), kernel.as_str()), ("cuda", "test/broken.cu"));
            assert!(log.contains("no_such_name"), "the NVRTC log names the error: {log}");
        }
        other => panic!("expected KernelCompile, got {other:?}"),
    }
}

/// ptxas -v: per function (registers, stack frame bytes, spill stores, spill loads).
fn ptxas_report(ptxas: &PathBuf, file: &str, ptx: &str) -> BTreeMap<String, (u32, u32, u32, u32)> {
    let dir = std::env::temp_dir().join(format!("mecrl-nvrtc-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stem = file.replace('/', "_");
    let src = dir.join(format!("{stem}.ptx"));
    let out = dir.join(format!("{stem}.cubin"));
    std::fs::write(&src, ptx).unwrap();
    let o = Command::new(ptxas).args(["-arch=sm_90", "-v"]).arg(&src).arg("-o").arg(&out).output().expect("run ptxas");
    let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "ptxas failed on {file}:\n{log}");
    let mut funcs = BTreeMap::new();
    let mut current: Option<String> = None;
    let num = |s: &str, key: &str| -> Option<u32> {
        let i = s.find(key)?;
        s[..i].trim_end().rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    for line in log.lines() {
        if let Some(rest) =
            line.split("Compiling entry function '").nth(1).or_else(|| line.split("Function properties for ").nth(1))
        {
            let name = rest.trim_end_matches(['\'', ' ', ':']).trim_end_matches("' for 'sm_90'").to_string();
            let name = name.split('\'').next().unwrap_or(&name).to_string();
            funcs.entry(name.clone()).or_insert((0, 0, 0, 0));
            current = Some(name);
        }
        if let Some(f) = &current {
            let e = funcs.get_mut(f).unwrap();
            if line.contains("spill stores") {
                e.1 = num(line, "bytes stack frame").unwrap_or(u32::MAX);
                e.2 = num(line, "bytes spill stores").unwrap_or(u32::MAX);
                e.3 = num(line, "bytes spill loads").unwrap_or(u32::MAX);
            }
            if let Some(r) = num(line, "registers") {
                e.0 = r;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!funcs.is_empty(), "no functions in the ptxas report of {file}:\n{log}");
    funcs
}

#[test]
fn ptxas_reports_no_spills() {
    if !nvrtc_or_skip("ptxas_reports_no_spills") {
        return;
    }
    let Some(ptxas) = ptxas() else {
        assert!(!required(), "MECRL_REQUIRE_NVRTC=1 but ptxas not found (set MECRL_PTXAS)");
        eprintln!("SKIP ptxas_reports_no_spills: ptxas not found (pip install nvidia-cuda-nvcc; MECRL_PTXAS)");
        return;
    };
    for stem in STEMS {
        let file = stem.cu_path();
        let ptx = cuda::compile_ptx(stem, "compute_90").unwrap_or_else(|e| panic!("{e}"));
        let report = ptxas_report(&ptxas, &file, &ptx);
        for k in stem.kernels {
            assert!(report.contains_key(k.entry), "{file}: ptxas did not report {}: {report:?}", k.entry);
        }
        for (f, (regs, stack, st, ld)) in &report {
            println!("{file:<16} {f:<22} {regs:>3} registers, {stack} bytes stack, {st} bytes spill stores, {ld} bytes spill loads");
            assert_eq!((*st, *ld), (0, 0), "{file}: {f} spills registers");
        }
    }
}

#[test]
fn cuda_backend_without_a_driver_is_no_device() {
    let r = std::panic::catch_unwind(|| CudaBackend::new(0)).expect("CudaBackend::new must not panic");
    match r {
        Ok(b) => println!("CUDA device present: {}", mecrl::Backend::describe(&b)),
        Err(Error::NoDevice { backend, why }) => {
            assert_eq!(backend, "cuda");
            if !cuda::driver_available() {
                assert!(why.contains("libcuda"), "{why}");
            }
            println!("cuda: NoDevice ({why})");
        }
        Err(e) => panic!("expected NoDevice, got {e}"),
    }
    let e = mecrl::backend::create(mecrl::BackendKind::Cuda).err();
    if !cuda::driver_available() {
        assert!(matches!(e, Some(Error::NoDevice { .. })), "{e:?}");
    }
}
