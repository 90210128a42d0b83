//! Backends: one trait, three implementations (cpu, wgpu, cuda) plus the CUDA host shim used by
//! the parity tests. A kernel is launched by its [`KernelSpec`] with a `#[repr(C)]` parameter
//! block and a list of 32-bit-word buffers. This is the ground floor: it knows no kernel (each
//! stem declares its own specs, see [`spec`]) and imports nothing of the crate but `error`.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "cuda-host")]
pub mod cuda_host;
pub mod source;
pub mod spec;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

pub use spec::{params, Access, BufSpec, Elem, KernelParams, KernelSpec, ParamLayout, Stem};

use crate::error::{Error, Result};

/// Threads per workgroup (WGSL `@workgroup_size`, CUDA `blockDim.x`) for every kernel.
pub const WORKGROUP: u32 = 64;
/// Largest workgroup count per grid dimension (WebGPU limit); bigger launches use a 2-D grid.
pub const MAX_GROUPS_X: u32 = 65_535;

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// rayon on the host.
    Cpu,
    /// WGSL through wgpu.
    Wgpu,
    /// CUDA through cudarc + NVRTC.
    Cuda,
    /// The `.cu` kernels compiled as host C++ (testing only).
    CudaHost,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
            BackendKind::CudaHost => "cuda-host",
        })
    }
}

/// A backend choice on the command line or in a config: a kind or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// cuda if a device answers, else a hardware wgpu adapter, else cpu.
    Auto,
    /// Exactly this backend.
    Kind(BackendKind),
}

impl FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => BackendChoice::Auto,
            "cpu" => BackendChoice::Kind(BackendKind::Cpu),
            "wgpu" => BackendChoice::Kind(BackendKind::Wgpu),
            "cuda" => BackendChoice::Kind(BackendKind::Cuda),
            "cuda-host" => BackendChoice::Kind(BackendKind::CudaHost),
            other => return Err(Error::config("backend", other, "expected one of auto, cpu, wgpu, cuda, cuda-host")),
        })
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendChoice::Auto => f.write_str("auto"),
            BackendChoice::Kind(k) => k.fmt(f),
        }
    }
}

/// Host-side storage (cpu and cuda-host backends).
pub(crate) type HostWords = Arc<HostMem>;

/// The words of a host buffer; a pooled one gives its vector back to its pool when dropped, so
/// a training loop that allocates the same shapes every step reuses memory instead of paying
/// the kernel's page faults (and, for large vectors, mmap/munmap) each time.
pub(crate) struct HostMem {
    pub(crate) words: Mutex<Vec<u32>>,
    pool: Option<Arc<cpu::HostPool>>,
}

impl HostMem {
    /// Unpooled storage.
    #[cfg_attr(not(feature = "cuda-host"), allow(dead_code))]
    pub(crate) fn new(words: Vec<u32>) -> HostWords {
        Arc::new(HostMem { words: Mutex::new(words), pool: None })
    }
    /// Storage that returns to `pool` when dropped.
    pub(crate) fn pooled(words: Vec<u32>, pool: &Arc<cpu::HostPool>) -> HostWords {
        Arc::new(HostMem { words: Mutex::new(words), pool: Some(pool.clone()) })
    }
}

impl Drop for HostMem {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.put(std::mem::take(self.words.get_mut().unwrap_or_else(|e| e.into_inner())));
        }
    }
}

/// A device buffer of 32-bit words (f32 values are stored as their bits).
pub struct Buffer {
    words: usize,
    pub(crate) inner: BufferInner,
}

pub(crate) enum BufferInner {
    Host(HostWords),
    #[cfg(feature = "wgpu")]
    Wgpu(::wgpu::Buffer),
    #[cfg(feature = "cuda")]
    Cuda(cudarc::driver::CudaSlice<u32>),
}

impl Buffer {
    pub(crate) fn new(words: usize, inner: BufferInner) -> Self {
        Buffer { words, inner }
    }
    /// Length in 32-bit words.
    pub fn words(&self) -> usize {
        self.words
    }
    /// Identity of the underlying storage (to refuse aliasing in a launch).
    pub(crate) fn id(&self) -> usize {
        match &self.inner {
            BufferInner::Host(h) => Arc::as_ptr(h) as usize,
            #[cfg(feature = "wgpu")]
            BufferInner::Wgpu(b) => b as *const _ as usize,
            #[cfg(feature = "cuda")]
            BufferInner::Cuda(b) => b as *const _ as usize,
        }
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buffer({} words)", self.words)
    }
}

/// What every backend does. Every kernel of every stem must be launchable.
pub trait Backend: Send + Sync {
    /// The kind.
    fn kind(&self) -> BackendKind;
    /// A human description (adapter name, device name, thread count).
    fn describe(&self) -> String;
    /// A zeroed buffer of `words` 32-bit words.
    fn alloc(&self, words: usize) -> Result<Buffer>;
    /// A buffer for a kernel that writes every word before anything reads it: its contents
    /// are unspecified (the CPU hands back a recycled buffer without zeroing it; the default
    /// zeroes).
    fn alloc_uninit(&self, words: usize) -> Result<Buffer> {
        self.alloc(words)
    }
    /// A buffer holding `data`.
    fn upload(&self, data: &[u32]) -> Result<Buffer>;
    /// Overwrite the start of `buf` with `data`.
    fn write(&self, buf: &Buffer, data: &[u32]) -> Result<()>;
    /// The contents of `buf`.
    fn download(&self, buf: &Buffer) -> Result<Vec<u32>>;
    /// Launch `kernel` over `threads` logical threads with parameter block `params` and `bufs`
    /// bound in the order of the kernel's [`KernelSpec::bufs`].
    fn launch(&self, kernel: &'static KernelSpec, params: &[u8], threads: u32, bufs: &[&Buffer]) -> Result<()>;
    /// Wait for all launched work.
    fn sync(&self) -> Result<()>;
    /// Number of host round trips (downloads) so far; tests assert on it.
    fn downloads(&self) -> u64;
    /// The most loop iterations one invocation may run, where the driver cuts longer loops
    /// short without an error (Mesa's lavapipe: 65,535); `None` where there is no such limit.
    fn max_loop_iterations(&self) -> Option<u64> {
        None
    }
}

/// Checks a launch against its spec: buffer count, aliasing, parameter size.
pub(crate) fn check_launch(backend: &str, spec: &KernelSpec, params: &[u8], bufs: &[&Buffer]) -> Result<()> {
    if params.len() != spec.params.size {
        return Err(Error::shape(
            format!("{backend}:{} params", spec.entry),
            format!("{} bytes", spec.params.size),
            format!("{} bytes", params.len()),
        ));
    }
    if bufs.len() != spec.bufs.len() {
        return Err(Error::shape(format!("{backend}:{} buffers", spec.entry), spec.bufs.len(), bufs.len()));
    }
    let sizes = (spec.sizes)(params);
    for (i, a) in bufs.iter().enumerate() {
        let need = sizes[i].max(1);
        if (a.words() as u64) < need {
            return Err(Error::shape(
                format!("{backend}:{} buffer `{}`", spec.entry, spec.bufs[i].name),
                format!(">= {need} words"),
                a.words(),
            ));
        }
        for b in &bufs[i + 1..] {
            if a.id() == b.id() {
                return Err(Error::Input {
                    field: format!("{}.bufs", spec.entry),
                    index: i,
                    value: "aliased buffer".into(),
                    why: "the same buffer is bound twice".into(),
                });
            }
        }
    }
    Ok(())
}

/// The grid for `threads` logical threads: (groups_x, groups_y) of [`WORKGROUP`] threads.
pub fn grid_for(threads: u32) -> (u32, u32) {
    let groups = threads.div_ceil(WORKGROUP).max(1);
    if groups <= MAX_GROUPS_X {
        (groups, 1)
    } else {
        (MAX_GROUPS_X, groups.div_ceil(MAX_GROUPS_X))
    }
}

/// Start a backend of the given kind.
pub fn create(kind: BackendKind) -> Result<Arc<dyn Backend>> {
    match kind {
        BackendKind::Cpu => Ok(Arc::new(cpu::CpuBackend::new())),
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            {
                Ok(Arc::new(self::wgpu::WgpuBackend::new(false)?))
            }
            #[cfg(not(feature = "wgpu"))]
            {
                Err(Error::NotCompiled { backend: "wgpu".into(), feature: "wgpu".into() })
            }
        }
        BackendKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                Ok(Arc::new(self::cuda::CudaBackend::new(0)?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(Error::NotCompiled { backend: "cuda".into(), feature: "cuda".into() })
            }
        }
        BackendKind::CudaHost => {
            #[cfg(feature = "cuda-host")]
            {
                Ok(Arc::new(cuda_host::CudaHostBackend::new()?))
            }
            #[cfg(not(feature = "cuda-host"))]
            {
                Err(Error::NotCompiled { backend: "cuda-host".into(), feature: "cuda-host".into() })
            }
        }
    }
}

/// Resolve a choice: `auto` tries cuda, then a hardware (non-CPU) wgpu adapter, then cpu.
/// Returns the backend and, for `auto`, the reasons the better ones were skipped.
pub fn select(choice: BackendChoice) -> Result<(Arc<dyn Backend>, Vec<String>)> {
    match choice {
        BackendChoice::Kind(k) => Ok((create(k)?, vec![])),
        BackendChoice::Auto => {
            let mut skipped = vec![];
            match create(BackendKind::Cuda) {
                Ok(b) => return Ok((b, skipped)),
                Err(e) => skipped.push(e.to_string()),
            }
            #[cfg(feature = "wgpu")]
            match self::wgpu::WgpuBackend::new(true) {
                Ok(b) => return Ok((Arc::new(b), skipped)),
                Err(e) => skipped.push(e.to_string()),
            }
            Ok((create(BackendKind::Cpu)?, skipped))
        }
    }
}

/// One line per backend: whether it starts here, and why not.
pub fn probe_all() -> Vec<(BackendKind, std::result::Result<String, String>)> {
    [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::Cuda, BackendKind::CudaHost]
        .into_iter()
        .map(|k| (k, create(k).map(|b| b.describe()).map_err(|e| e.to_string())))
        .collect()
}

/// Upload a slice of f32.
pub fn upload_f32(b: &dyn Backend, data: &[f32]) -> Result<Buffer> {
    b.upload(bytemuck::cast_slice(data))
}

/// Download a buffer as f32.
pub fn download_f32(b: &dyn Backend, buf: &Buffer) -> Result<Vec<f32>> {
    Ok(b.download(buf)?.into_iter().map(f32::from_bits).collect())
}
