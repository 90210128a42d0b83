//! The CPU backend: buffers are host vectors, a launch calls the kernel's CPU reference, which
//! parallelizes over the batch with rayon.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{check_launch, registry, Backend, BackendKind, Buffer, BufferInner, HostWords, KernelId};
use crate::error::{Error, Result};

/// rayon on the host.
#[derive(Default)]
pub struct CpuBackend {
    downloads: AtomicU64,
}

impl CpuBackend {
    /// A CPU backend on rayon's global pool.
    pub fn new() -> Self {
        Self::default()
    }
}

pub(crate) fn host(buf: &Buffer, backend: &str) -> Result<HostWords> {
    match &buf.inner {
        BufferInner::Host(h) => Ok(h.clone()),
        #[allow(unreachable_patterns)]
        _ => Err(Error::device(backend, "buffer belongs to another backend")),
    }
}

pub(crate) fn lock(h: &HostWords) -> MutexGuard<'_, Vec<u32>> {
    h.lock().unwrap_or_else(|e| e.into_inner())
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }
    fn describe(&self) -> String {
        format!("cpu: rayon, {} threads", rayon::current_num_threads())
    }
    fn alloc(&self, words: usize) -> Result<Buffer> {
        Ok(Buffer::new(words, BufferInner::Host(Arc::new(Mutex::new(vec![0u32; words])))))
    }
    fn upload(&self, data: &[u32]) -> Result<Buffer> {
        Ok(Buffer::new(data.len(), BufferInner::Host(Arc::new(Mutex::new(data.to_vec())))))
    }
    fn write(&self, buf: &Buffer, data: &[u32]) -> Result<()> {
        if data.len() > buf.words() {
            return Err(Error::shape("cpu write", format!("<= {} words", buf.words()), data.len()));
        }
        let h = host(buf, "cpu")?;
        lock(&h)[..data.len()].copy_from_slice(data);
        Ok(())
    }
    fn download(&self, buf: &Buffer) -> Result<Vec<u32>> {
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let h = host(buf, "cpu")?;
        let v = lock(&h).clone();
        Ok(v)
    }
    fn launch(&self, kernel: KernelId, params: &[u8], _threads: u32, bufs: &[&Buffer]) -> Result<()> {
        let spec = registry::spec(kernel);
        check_launch("cpu", spec, params, bufs)?;
        let hosts = bufs.iter().map(|b| host(b, "cpu")).collect::<Result<Vec<_>>>()?;
        let mut guards: Vec<MutexGuard<'_, Vec<u32>>> = hosts.iter().map(lock).collect();
        let mut slices: Vec<&mut [u32]> = guards.iter_mut().map(|g| g.as_mut_slice()).collect();
        (spec.cpu)(params, &mut slices)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }
}

/// The f32 view of a word buffer (CPU kernels).
pub(crate) fn f32s(w: &[u32]) -> &[f32] {
    bytemuck::cast_slice(w)
}

/// The mutable f32 view of a word buffer (CPU kernels).
pub(crate) fn f32s_mut(w: &mut [u32]) -> &mut [f32] {
    bytemuck::cast_slice_mut(w)
}

/// [`need`] for the first buffers of a launch, in order: `want` lists (name, minimum words).
pub(crate) fn need_all(op: &str, bufs: &[&mut [u32]], want: &[(&str, usize)]) -> Result<()> {
    for (k, &(name, w)) in want.iter().enumerate() {
        need(op, name, bufs[k].len(), w)?;
    }
    Ok(())
}

/// A CPU kernel called directly (not through a backend) checks its buffer lengths with this.
pub(crate) fn need(op: &str, buf: &str, have: usize, want: usize) -> Result<()> {
    if have < want {
        return Err(Error::shape(format!("{op} buffer `{buf}`"), format!(">= {want} words"), have));
    }
    Ok(())
}
