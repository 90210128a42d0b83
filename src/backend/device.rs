//! What every backend is: the [`Backend`] trait, device [`Buffer`]s, the launch check and grid.

use std::fmt;
use std::sync::Arc;

use super::host::HostWords;
use super::spec::KernelSpec;
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
    /// The first `dst.len()` words of `buf` into `dst` (a caller's host array: no allocation
    /// on the CPU backend, which copies straight out of the buffer). One download.
    fn download_into(&self, buf: &Buffer, dst: &mut [u32]) -> Result<()> {
        if dst.len() > buf.words() {
            return Err(crate::error::Error::shape("download_into", format!("<= {} words", buf.words()), dst.len()));
        }
        let v = self.download(buf)?;
        dst.copy_from_slice(&v[..dst.len()]);
        Ok(())
    }
    /// Launch `kernel` over `threads` logical threads with parameter block `params` and `bufs`
    /// bound in the order of the kernel's [`KernelSpec::bufs`].
    fn launch(&self, kernel: &'static KernelSpec, params: &[u8], threads: u32, bufs: &[&Buffer]) -> Result<()>;
    /// Wait for all launched work.
    fn sync(&self) -> Result<()>;
    /// Number of host round trips (downloads) so far; tests assert on it.
    fn downloads(&self) -> u64;
    /// Bytes of the buffers bound by every launch so far (each launch counts every buffer it
    /// binds once: an upper bound of its memory traffic, which the benchmarks' rooflines use);
    /// 0 where the backend does not count.
    fn bound_bytes(&self) -> u64 {
        0
    }
    /// The most loop iterations one invocation may run, where the driver cuts longer loops
    /// short without an error (Mesa's lavapipe: 65,535); `None` where there is no such limit.
    fn max_loop_iterations(&self) -> Option<u64> {
        None
    }
}

/// The host words of `buf` (cpu and cuda-host backends).
pub(crate) fn host(buf: &Buffer, backend: &str) -> Result<HostWords> {
    match &buf.inner {
        BufferInner::Host(h) => Ok(h.clone()),
        #[allow(unreachable_patterns)]
        _ => Err(Error::device(backend, "buffer belongs to another backend")),
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

/// Upload a slice of f32.
pub fn upload_f32(b: &dyn Backend, data: &[f32]) -> Result<Buffer> {
    b.upload(bytemuck::cast_slice(data))
}

/// Download a buffer as f32.
pub fn download_f32(b: &dyn Backend, buf: &Buffer) -> Result<Vec<f32>> {
    Ok(b.download(buf)?.into_iter().map(f32::from_bits).collect())
}
