//! The CUDA backend: the `.cu` kernels under `kernels/` compiled at run time by NVRTC (one module
//! per file, cached) and launched by cudarc on one stream. libcuda and libnvrtc are loaded
//! dynamically; a machine without them gets [`Error::NoDevice`], never a panic.
//!
//! Kernels are compiled with `--fmad=false` (no multiply-add contraction: the CPU reference
//! never fuses) and without fast-math, for the `compute_XY` of the device.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DeviceRepr, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{CompileError, CompileOptions, Ptx};

use super::device::{check_launch, grid_for, Backend, BackendKind, Buffer, BufferInner, WORKGROUP};
use super::source;
use super::spec::{KernelSpec, Stem};
use crate::error::{Error, Result};

const BACKEND: &str = "cuda";

/// Largest parameter block a kernel may take (bytes).
const MAX_PARAMS: usize = 256;

/// A parameter block passed by value. The driver reads as many bytes as the kernel's parameter
/// needs (the size comes from the module), so a fixed, 16-byte aligned buffer works for every
/// `#[repr(C)]` params struct of a kernel.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct ParamBlock([u8; MAX_PARAMS]);

// SAFETY: plain bytes, 16-byte aligned, no pointers.
unsafe impl DeviceRepr for ParamBlock {}

fn nvrtc_missing() -> Error {
    Error::no_device(
        BACKEND,
        "libnvrtc not found: pip install nvidia-cuda-nvrtc and add its nvidia/cu13/lib to LD_LIBRARY_PATH",
    )
}

/// Whether libnvrtc can be loaded.
pub fn nvrtc_available() -> bool {
    // SAFETY: only tries to dlopen the library.
    catch_unwind(|| unsafe { cudarc::nvrtc::sys::is_culib_present() }).unwrap_or(false)
}

/// Whether libcuda (the NVIDIA driver) can be loaded.
pub fn driver_available() -> bool {
    // SAFETY: only tries to dlopen the library.
    catch_unwind(|| unsafe { cudarc::driver::sys::is_culib_present() }).unwrap_or(false)
}

/// NVRTC's version (major, minor), if NVRTC loads.
pub fn nvrtc_version() -> Option<(i32, i32)> {
    if !nvrtc_available() {
        return None;
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: NVRTC is present; plain out-pointers.
    let ok = catch_unwind(AssertUnwindSafe(|| unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) }))
        .map(|r| r == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS)
        .unwrap_or(false);
    ok.then_some((major, minor))
}

fn compile_log(e: CompileError) -> String {
    match e {
        CompileError::CompileError { log, options, .. } => {
            format!("nvrtc {}\n{}", options.join(" "), log.to_string_lossy())
        }
        other => format!("{other:?}"),
    }
}

fn compile(stem: &Stem, arch: &str) -> Result<Ptx> {
    if !nvrtc_available() {
        return Err(nvrtc_missing());
    }
    let file = stem.cu_path();
    let src = source::cuda_source(stem).map_err(|log| Error::KernelCompile {
        backend: BACKEND.into(),
        kernel: file.clone(),
        log,
    })?;
    let opts = CompileOptions {
        fmad: Some(false),
        name: Some(file.replace('/', "_")),
        options: vec![format!("--gpu-architecture={arch}")],
        ..Default::default()
    };
    let r = catch_unwind(AssertUnwindSafe(|| cudarc::nvrtc::compile_ptx_with_opts(src, opts)))
        .map_err(|_| Error::device(BACKEND, format!("NVRTC panicked compiling {file}")))?;
    r.map_err(|e| Error::KernelCompile { backend: BACKEND.into(), kernel: file, log: compile_log(e) })
}

/// Compile the CUDA file of `stem` to PTX for `arch` (e.g. `compute_90`) with the backend's
/// options. Needs only NVRTC (no driver, no GPU).
pub fn compile_ptx(stem: &Stem, arch: &str) -> Result<String> {
    let ptx = compile(stem, arch)?;
    catch_unwind(AssertUnwindSafe(|| ptx.to_src())).map_err(|_| Error::device(BACKEND, "NVRTC returned no PTX text"))
}

fn drv(what: &str) -> impl FnOnce(cudarc::driver::DriverError) -> Error + '_ {
    move |e| Error::device(BACKEND, format!("{what}: {e}"))
}

/// cudarc on one device and stream.
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    arch: String,
    name: String,
    driver_version: i32,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
    downloads: AtomicU64,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CudaBackend {
    /// Open device `ordinal`. [`Error::NoDevice`] when libcuda or libnvrtc cannot be loaded or the
    /// device does not answer.
    pub fn new(ordinal: usize) -> Result<Self> {
        if !driver_available() {
            return Err(Error::no_device(BACKEND, "libcuda.so not found (no NVIDIA driver)"));
        }
        let ctx = match catch_unwind(|| CudaContext::new(ordinal)) {
            Ok(Ok(ctx)) => ctx,
            Ok(Err(e)) => return Err(Error::no_device(BACKEND, format!("no CUDA device {ordinal}: {e}"))),
            Err(_) => return Err(Error::no_device(BACKEND, "the CUDA driver failed to initialize")),
        };
        if !nvrtc_available() {
            return Err(nvrtc_missing());
        }
        let (major, minor) =
            ctx.compute_capability().map_err(|e| Error::no_device(BACKEND, format!("compute capability: {e}")))?;
        let name = ctx.name().unwrap_or_else(|_| "CUDA device".into());
        let mut driver_version = 0;
        // SAFETY: the driver is loaded and initialized (context created); plain out-pointer.
        let _ =
            catch_unwind(AssertUnwindSafe(|| unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut driver_version) }));
        // One stream for everything: launches and copies are ordered by it, so cudarc's
        // per-buffer event tracking (for multi-stream use) is pure overhead.
        // SAFETY: no buffer of this context exists yet and every use goes through `stream`.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        Ok(CudaBackend {
            ctx,
            stream,
            arch: format!("compute_{major}{minor}"),
            name,
            driver_version,
            modules: Mutex::new(HashMap::new()),
            functions: Mutex::new(HashMap::new()),
            downloads: AtomicU64::new(0),
        })
    }

    /// The NVRTC target, `compute_XY` of the device.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    fn function(&self, spec: &'static KernelSpec) -> Result<CudaFunction> {
        if let Some(f) = guard(&self.functions).get(spec.entry) {
            return Ok(f.clone());
        }
        let module = {
            let mut modules = guard(&self.modules);
            match modules.get(spec.stem.name) {
                Some(m) => m.clone(),
                None => {
                    let ptx = compile(spec.stem, &self.arch)?;
                    let m = self.ctx.load_module(ptx).map_err(|e| {
                        let hint = match nvrtc_version() {
                            Some((ma, mi)) => format!(
                                " (PTX from NVRTC {ma}.{mi}; the driver supports CUDA {}.{}: use an NVRTC no newer than the driver)",
                                self.driver_version / 1000,
                                (self.driver_version % 1000) / 10
                            ),
                            None => String::new(),
                        };
                        Error::device(BACKEND, format!("loading the module of {}: {e}{hint}", spec.stem.cu_path()))
                    })?;
                    modules.insert(spec.stem.name, m.clone());
                    m
                }
            }
        };
        let f = module
            .load_function(spec.entry)
            .map_err(|e| Error::MissingKernel { backend: BACKEND.into(), kernel: format!("{} ({e})", spec.entry) })?;
        guard(&self.functions).insert(spec.entry, f.clone());
        Ok(f)
    }

    fn slice<'a>(&self, buf: &'a Buffer) -> Result<&'a CudaSlice<u32>> {
        match &buf.inner {
            BufferInner::Cuda(s) => Ok(s),
            #[allow(unreachable_patterns)]
            _ => Err(Error::device(BACKEND, "buffer belongs to another backend")),
        }
    }
}

impl Backend for CudaBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cuda
    }
    fn describe(&self) -> String {
        let nvrtc = nvrtc_version().map(|(a, b)| format!("{a}.{b}")).unwrap_or_else(|| "?".into());
        format!(
            "cuda: {} ({}), driver CUDA {}.{}, NVRTC {nvrtc}",
            self.name,
            self.arch,
            self.driver_version / 1000,
            (self.driver_version % 1000) / 10
        )
    }
    fn alloc(&self, words: usize) -> Result<Buffer> {
        // Zero-length device allocations are refused by some drivers: keep at least one word.
        let s = self.stream.alloc_zeros::<u32>(words.max(1)).map_err(drv("alloc"))?;
        Ok(Buffer::new(words, BufferInner::Cuda(s)))
    }
    fn upload(&self, data: &[u32]) -> Result<Buffer> {
        let b = self.alloc(data.len())?;
        self.write(&b, data)?;
        Ok(b)
    }
    fn write(&self, buf: &Buffer, data: &[u32]) -> Result<()> {
        if data.len() > buf.words() {
            return Err(Error::shape("cuda write", format!("<= {} words", buf.words()), data.len()));
        }
        if data.is_empty() {
            return Ok(());
        }
        let s = self.slice(buf)?;
        {
            let (ptr, _record) = s.device_ptr(&self.stream);
            // SAFETY: `ptr` addresses at least `buf.words() >= data.len()` words; the copy is
            // complete when the stream synchronizes below, before `data` may be dropped.
            unsafe { cudarc::driver::result::memcpy_htod_async(ptr, data, self.stream.cu_stream()) }
                .map_err(drv("upload"))?;
        }
        self.stream.synchronize().map_err(drv("upload"))
    }
    fn download(&self, buf: &Buffer) -> Result<Vec<u32>> {
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let s = self.slice(buf)?;
        let mut v = self.stream.clone_dtoh(s).map_err(drv("download"))?;
        self.stream.synchronize().map_err(drv("download"))?;
        v.truncate(buf.words());
        Ok(v)
    }
    fn launch(&self, spec: &'static KernelSpec, params: &[u8], threads: u32, bufs: &[&Buffer]) -> Result<()> {
        check_launch(BACKEND, spec, params, bufs)?;
        if params.len() > MAX_PARAMS {
            return Err(Error::shape(
                format!("cuda:{} params", spec.entry),
                format!("<= {MAX_PARAMS} bytes"),
                params.len(),
            ));
        }
        let f = self.function(spec)?;
        let slices = bufs.iter().map(|b| self.slice(b)).collect::<Result<Vec<_>>>()?;
        let mut block = ParamBlock([0; MAX_PARAMS]);
        block.0[..params.len()].copy_from_slice(params);
        let (gx, gy) = grid_for(threads);
        let cfg = LaunchConfig { grid_dim: (gx, gy, 1), block_dim: (WORKGROUP, 1, 1), shared_mem_bytes: 0 };
        let mut args = self.stream.launch_builder(&f);
        args.arg(&block);
        for s in &slices {
            args.arg(*s);
        }
        // SAFETY: the argument list follows the spec (params by value, then one device
        // pointer per buffer in binding order), which is the kernel's signature.
        unsafe { args.launch(cfg) }.map_err(|e| Error::device(BACKEND, format!("launch {}: {e}", spec.entry)))?;
        Ok(())
    }
    fn sync(&self) -> Result<()> {
        self.stream.synchronize().map_err(drv("synchronize"))
    }
    fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }
}
