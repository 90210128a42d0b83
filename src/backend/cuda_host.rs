//! The CUDA host shim backend (`cuda-host`, testing only): the `.cu` kernels under `kernels/`,
//! compiled as host C++ by g++ against `tools/cuda_host/cuda_host.h` and run on the CPU.
//!
//! The `.cu` file of a stem becomes one translation unit: the shim (force-included), the file
//! exactly as NVRTC receives it ([`source::cuda_source`]) and, per kernel of the stem, an
//! `extern "C" int mecrl_host_<entry>(gx, gy, params, bufs)` wrapper that runs the grid block by
//! block (64 threads each) with the typed parameter block and buffer pointers. The wrappers also
//! `static_assert` the size and field offsets of the `.cu` parameter struct against the Rust
//! `#[repr(C)]` layout of the spec. Each stem's library (its unit + the shim runtime) is built on
//! the first launch of one of its kernels, once per set of sources, into
//! `<temp>/mecrl-cuda-host-<hash>/` (compiled in a private directory, then renamed into place, so
//! concurrent test processes are safe) and loaded with `dlopen`; the backend knows no stem in
//! advance ([`CudaHostBackend::prepare`] builds several in parallel).
//!
//! Blocks run one at a time and launches are serialized by a global mutex (`__shared__` is a
//! static). Kernels of a file that mentions `__syncthreads` or `__shared__` run one OS thread
//! per GPU thread of the block (`__syncthreads` is a barrier over them); other kernels run a
//! block's threads in order on the calling thread. See `tools/cuda_host/README.md`.

use std::collections::HashMap;
use std::ffi::c_void;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::device::{check_launch, grid_for, host, Backend, BackendKind, Buffer, BufferInner, WORKGROUP};
use super::host::{lock, HostMem};
use super::source;
use super::spec::{Access, Elem, KernelSpec, Stem};
use crate::error::{Error, Result};

/// The shim header (kernel side).
pub const SHIM_HEADER: &str = include_str!("../../tools/cuda_host/cuda_host.h");
/// The shim runtime (launch side: thread indices, thread pool, `__syncthreads`).
pub const SHIM_RUNTIME: &str = include_str!("../../tools/cuda_host/runtime.cpp");

const BACKEND: &str = "cuda-host";
const LIB_NAME: &str = "libmecrl_cuda_host.so";
/// g++ flags of every translation unit (no fast-math, no FMA contraction: the CPU reference
/// never fuses).
const CXX_FLAGS: &[&str] = &["-std=c++20", "-O2", "-fPIC", "-pthread", "-ffp-contract=off", "-fno-fast-math"];

type HostFn = unsafe extern "C" fn(u32, u32, *const c_void, *const *mut c_void) -> i32;

struct HostLib {
    // Kept alive for the whole process (the statics below are never dropped), so the worker
    // threads of the shim never run unmapped code.
    _lib: libloading::Library,
    fns: HashMap<&'static str, HostFn>,
}

/// The loaded library of each stem (by stem name), built at most once per process.
static LIBRARIES: Mutex<Option<HashMap<&'static str, Arc<HostLib>>>> = Mutex::new(None);
/// The C++ compiler and its `--version` text (part of every cache key), asked once.
static TOOLCHAIN: Mutex<Option<(String, String)>> = Mutex::new(None);
/// One launch at a time (shared memory is static, the grid globals are process-wide).
static LAUNCH: Mutex<()> = Mutex::new(());

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `.cu` kernels compiled as host C++ and run on the CPU.
pub struct CudaHostBackend {
    downloads: AtomicU64,
}

impl CudaHostBackend {
    /// A backend whose stems are built on first use (or by [`prepare`](Self::prepare)).
    ///
    /// Errors: [`Error::NoDevice`] when the C++ compiler (`$MECRL_CXX`, default `g++`) cannot be
    /// run.
    pub fn new() -> Result<Self> {
        toolchain()?;
        Ok(CudaHostBackend { downloads: AtomicU64::new(0) })
    }

    /// Build (or load the cached builds of) the libraries of `stems`, compiling in parallel.
    /// [`Error::KernelCompile`] with the compiler log when a kernel does not build.
    pub fn prepare(&self, stems: &[&'static Stem]) -> Result<()> {
        let handles: Vec<_> = stems.iter().map(|&s| std::thread::spawn(move || library(s).map(|_| ()))).collect();
        let mut first = Ok(());
        for h in handles {
            let r = h.join().map_err(|_| Error::device(BACKEND, "build thread panicked"))?;
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// The library of `stem`, built and loaded on first use.
fn library(stem: &'static Stem) -> Result<Arc<HostLib>> {
    if let Some(lib) = guard(&LIBRARIES).as_ref().and_then(|m| m.get(stem.name)) {
        return Ok(lib.clone());
    }
    // Built outside the lock (stems build in parallel); a race builds the same files twice into
    // private directories and keeps the first library loaded.
    let lib = Arc::new(build_and_load(stem)?);
    let mut slot = guard(&LIBRARIES);
    Ok(slot.get_or_insert_with(HashMap::new).entry(stem.name).or_insert(lib).clone())
}

/// (compiler, its `--version` output); [`Error::NoDevice`] when it cannot be run.
fn toolchain() -> Result<(String, String)> {
    let mut slot = guard(&TOOLCHAIN);
    if let Some(t) = slot.as_ref() {
        return Ok(t.clone());
    }
    let cxx = compiler();
    let version = Command::new(&cxx).arg("--version").stdin(Stdio::null()).output().map_err(|e| {
        Error::no_device(BACKEND, format!("cannot run the C++ compiler `{cxx}` ({e}); install g++ or set MECRL_CXX"))
    })?;
    let t = (cxx, String::from_utf8_lossy(&version.stdout).into_owned());
    *slot = Some(t.clone());
    Ok(t)
}

fn c_elem(e: Elem) -> &'static str {
    match e {
        Elem::U32 => "unsigned int",
        Elem::F32 => "float",
    }
}

/// The C++ translation unit of a stem's `.cu` file: its source and the wrappers of its kernels.
pub fn translation_unit(stem: &Stem) -> Result<String> {
    let file = stem.cu_path();
    let src = source::cuda_source(stem).map_err(|log| Error::KernelCompile {
        backend: BACKEND.into(),
        kernel: file.clone(),
        log,
    })?;
    let threaded = src.contains("__syncthreads") || src.contains("__shared__");
    let mut out = String::new();
    let _ = writeln!(out, "// Generated by mecrl (src/backend/cuda_host.rs) from kernels/{file}.");
    out.push_str(&src);
    let _ = writeln!(out, "\n// ---- host wrappers ----");
    let mut asserted: Vec<&str> = Vec::new();
    for k in stem.kernels {
        let pn = k.params.name;
        if !asserted.contains(&pn) {
            asserted.push(pn);
            let _ = writeln!(
                out,
                "static_assert(sizeof({pn}) == {}, \"{pn}: size differs from the Rust #[repr(C)] struct\");",
                k.params.size
            );
            for (field, off) in k.params.fields {
                let _ = writeln!(
                    out,
                    "static_assert(__builtin_offsetof({pn}, {field}) == {off}, \"{pn}.{field}: offset differs from Rust\");"
                );
            }
        }
        out.push_str(&wrapper(k, threaded));
    }
    Ok(out)
}

fn wrapper(k: &KernelSpec, threaded: bool) -> String {
    let (e, pn) = (k.entry, k.params.name);
    let args: Vec<String> = k
        .bufs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let c = if b.access == Access::Read { "const " } else { "" };
            format!("({c}{}*)a->b[{i}]", c_elem(b.elem))
        })
        .collect();
    format!(
        "namespace {{\nstruct mecrl_args_{e} {{ {pn} p; void* const* b; }};\n\
         void mecrl_body_{e}(void* c) {{ mecrl_args_{e}* a = (mecrl_args_{e}*)c; {e}(a->p{sep}{args}); }}\n}}\n\
         extern \"C\" int mecrl_host_{e}(unsigned int gx, unsigned int gy, const void* params, void* const* bufs) {{\n\
         \x20   mecrl_args_{e} a;\n\
         \x20   __builtin_memcpy(&a.p, params, sizeof({pn}));\n\
         \x20   a.b = bufs;\n\
         \x20   return mecrl_host_run_grid(gx, gy, {WORKGROUP}u, {t}, mecrl_body_{e}, &a);\n}}\n",
        sep = if args.is_empty() { "" } else { ", " },
        args = args.join(", "),
        t = threaded as u32,
    )
}

/// FNV-1a, 64 bit (a stable cache key).
fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

fn compiler() -> String {
    std::env::var("MECRL_CXX").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "g++".into())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

fn build_and_load(stem: &'static Stem) -> Result<HostLib> {
    let (cxx, version) = toolchain()?;
    let unit = (stem.cu_path(), translation_unit(stem)?);
    // The compiler's identity is part of the cache key.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for part in [cxx.as_str(), version.as_str(), SHIM_HEADER, SHIM_RUNTIME].into_iter().chain(CXX_FLAGS.iter().copied())
    {
        fnv1a(&mut h, part.as_bytes());
        fnv1a(&mut h, &[0]);
    }
    fnv1a(&mut h, unit.0.as_bytes());
    fnv1a(&mut h, unit.1.as_bytes());
    let dir = std::env::temp_dir().join(format!("mecrl-cuda-host-{h:016x}"));
    let lib_path = dir.join(LIB_NAME);
    if !lib_path.exists() {
        compile(&cxx, &dir, &[(&unit.0, unit.1.clone())], &lib_path)?;
    }
    load(stem, &lib_path)
}

/// Runs `cxx args` and returns its combined output, `Ok(Err(log))` when it fails.
fn run(cxx: &str, args: &[String], cwd: &Path) -> Result<std::result::Result<(), String>> {
    let out = Command::new(cxx).args(args).current_dir(cwd).stdin(Stdio::null()).output().map_err(|e| {
        Error::no_device(BACKEND, format!("cannot run the C++ compiler `{cxx}` ({e}); install g++ or set MECRL_CXX"))
    })?;
    if out.status.success() {
        Ok(Ok(()))
    } else {
        let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        Ok(Err(format!("$ {cxx} {}\n{log}", args.join(" "))))
    }
}

fn compile(cxx: &str, dir: &Path, units: &[(&str, String)], lib_path: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let work = dir.join(format!("build-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let result = compile_in(cxx, &work, units, lib_path);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn compile_in(cxx: &str, work: &Path, units: &[(&str, String)], lib_path: &Path) -> Result<()> {
    let shim = work.join("cuda_host.h");
    std::fs::write(&shim, SHIM_HEADER).map_err(io(&shim))?;
    let rt = work.join("runtime.cpp");
    std::fs::write(&rt, SHIM_RUNTIME).map_err(io(&rt))?;
    let flags: Vec<String> = CXX_FLAGS.iter().map(|s| s.to_string()).collect();
    // (kernel name for errors, source, object)
    let mut jobs: Vec<(String, String, String)> =
        vec![("cuda_host runtime".into(), "runtime.cpp".into(), "runtime.o".into())];
    for (k, (file, tu)) in units.iter().enumerate() {
        let name = format!("tu{k}.cpp");
        let path = work.join(&name);
        std::fs::write(&path, tu).map_err(io(&path))?;
        jobs.push((file.to_string(), name, format!("tu{k}.o")));
    }
    // Compile the translation units in parallel, then link.
    let handles: Vec<_> = jobs
        .iter()
        .map(|(kernel, src, obj)| {
            let mut args = flags.clone();
            if src != "runtime.cpp" {
                args.extend(["-include".into(), "cuda_host.h".into()]);
            }
            args.extend(["-c".into(), src.clone(), "-o".into(), obj.clone()]);
            let (cxx, work, kernel) = (cxx.to_string(), work.to_path_buf(), kernel.clone());
            std::thread::spawn(move || (kernel, run(&cxx, &args, &work)))
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        let (kernel, r) = h.join().map_err(|_| Error::device(BACKEND, "compiler thread panicked"))?;
        if let Err(log) = r? {
            failures.push((kernel, log));
        }
    }
    if let Some((kernel, log)) = failures.into_iter().next() {
        return Err(Error::KernelCompile { backend: BACKEND.into(), kernel, log });
    }
    let tmp_name = format!("{LIB_NAME}.tmp");
    let mut args = flags;
    args.extend(["-shared".into(), "-o".into(), tmp_name.clone()]);
    args.extend(jobs.iter().map(|j| j.2.clone()));
    if let Err(log) = run(cxx, &args, work)? {
        return Err(Error::KernelCompile { backend: BACKEND.into(), kernel: "link".into(), log });
    }
    let tmp = work.join(tmp_name);
    std::fs::rename(&tmp, lib_path).map_err(io(lib_path))?;
    Ok(())
}

fn load(stem: &Stem, path: &Path) -> Result<HostLib> {
    // SAFETY: the library is ours (built above from the embedded sources); its initializers only
    // set up plain globals.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| Error::device(BACKEND, format!("cannot load {}: {e}", path.display())))?;
    let mut fns = HashMap::new();
    for k in stem.kernels {
        let sym = format!("mecrl_host_{}\0", k.entry);
        // SAFETY: the generated wrapper has exactly this signature.
        let f: HostFn = unsafe { lib.get::<HostFn>(sym.as_bytes()) }
            .map(|s| *s)
            .map_err(|e| Error::MissingKernel { backend: BACKEND.into(), kernel: format!("{} ({e})", k.entry) })?;
        fns.insert(k.entry, f);
    }
    Ok(HostLib { _lib: lib, fns })
}

impl Backend for CudaHostBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::CudaHost
    }
    fn describe(&self) -> String {
        format!("cuda-host: .cu kernels as host C++ ({}/mecrl-cuda-host-*)", std::env::temp_dir().display())
    }
    fn alloc(&self, words: usize) -> Result<Buffer> {
        Ok(Buffer::new(words, BufferInner::Host(HostMem::new(crate::memory::zeroed_words(words, "cuda-host buffer")?))))
    }
    fn upload(&self, data: &[u32]) -> Result<Buffer> {
        Ok(Buffer::new(data.len(), BufferInner::Host(HostMem::new(data.to_vec()))))
    }
    fn write(&self, buf: &Buffer, data: &[u32]) -> Result<()> {
        if data.len() > buf.words() {
            return Err(Error::shape("cuda-host write", format!("<= {} words", buf.words()), data.len()));
        }
        let h = host(buf, BACKEND)?;
        lock(&h)[..data.len()].copy_from_slice(data);
        Ok(())
    }
    fn download(&self, buf: &Buffer) -> Result<Vec<u32>> {
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let h = host(buf, BACKEND)?;
        let v = lock(&h).clone();
        Ok(v)
    }
    fn launch(&self, spec: &'static KernelSpec, params: &[u8], threads: u32, bufs: &[&Buffer]) -> Result<()> {
        check_launch(BACKEND, spec, params, bufs)?;
        let f = *library(spec.stem)?
            .fns
            .get(spec.entry)
            .ok_or_else(|| Error::MissingKernel { backend: BACKEND.into(), kernel: spec.entry.into() })?;
        let hosts = bufs.iter().map(|b| host(b, BACKEND)).collect::<Result<Vec<_>>>()?;
        let _launch = guard(&LAUNCH);
        let mut guards: Vec<MutexGuard<'_, Vec<u32>>> = hosts.iter().map(lock).collect();
        let ptrs: Vec<*mut c_void> = guards.iter_mut().map(|g| g.as_mut_ptr() as *mut c_void).collect();
        let (gx, gy) = grid_for(threads);
        // SAFETY: the wrapper copies `params` (size checked against the spec, and statically
        // against the .cu struct) and hands the buffer pointers, which stay locked for the call,
        // to the kernel in the spec's order.
        let rc = unsafe { f(gx, gy, params.as_ptr() as *const c_void, ptrs.as_ptr()) };
        if rc != 0 {
            return Err(Error::device(
                BACKEND,
                format!(
                    "kernel `{}` called __syncthreads but its file mentions neither __syncthreads nor __shared__",
                    spec.entry
                ),
            ));
        }
        Ok(())
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }
}
