//! The CPU backend: buffers are host vectors, a launch calls the kernel's CPU reference, which
//! parallelizes over the batch with rayon.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};

use super::device::{check_launch, host, Backend, BackendKind, Buffer, BufferInner};
use super::host::{lock, HostMem, HostPool};
use super::spec::KernelSpec;
use crate::error::{Error, Result};

/// rayon on the host.
#[derive(Default)]
pub struct CpuBackend {
    downloads: AtomicU64,
    bound: AtomicU64,
    pool: Arc<HostPool>,
}

impl CpuBackend {
    /// A CPU backend on rayon's global pool.
    pub fn new() -> Self {
        Self::default()
    }
    /// Words held for reuse by dropped buffers (at most [`POOL_WORDS`](super::host::POOL_WORDS)).
    pub fn pooled_words(&self) -> usize {
        self.pool.held()
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }
    fn describe(&self) -> String {
        format!("cpu: rayon, {} threads", rayon::current_num_threads())
    }
    fn alloc(&self, words: usize) -> Result<Buffer> {
        let v = match self.pool.take(words) {
            Some(mut v) => {
                if words >= super::par::TEAM_ELEMS {
                    let c = super::par::team_chunk(words);
                    super::par::team_parts(v.chunks_mut(c).collect(), &|part: &mut [u32]| part.fill(0));
                } else {
                    v.fill(0);
                }
                v
            }
            None => crate::memory::zeroed_words(words, "cpu buffer")?,
        };
        Ok(Buffer::new(words, BufferInner::Host(HostMem::pooled(v, &self.pool))))
    }
    fn alloc_uninit(&self, words: usize) -> Result<Buffer> {
        let v = match self.pool.take(words) {
            Some(v) => v,
            None => crate::memory::zeroed_words(words, "cpu buffer")?,
        };
        Ok(Buffer::new(words, BufferInner::Host(HostMem::pooled(v, &self.pool))))
    }
    fn upload(&self, data: &[u32]) -> Result<Buffer> {
        let v = match self.pool.take(data.len()) {
            Some(mut v) => {
                v.copy_from_slice(data);
                v
            }
            None => {
                let mut v = crate::memory::zeroed_words(data.len(), "cpu buffer")?;
                v.copy_from_slice(data);
                v
            }
        };
        Ok(Buffer::new(data.len(), BufferInner::Host(HostMem::pooled(v, &self.pool))))
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
    fn download_into(&self, buf: &Buffer, dst: &mut [u32]) -> Result<()> {
        if dst.len() > buf.words() {
            return Err(Error::shape("cpu download_into", format!("<= {} words", buf.words()), dst.len()));
        }
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let h = host(buf, "cpu")?;
        dst.copy_from_slice(&lock(&h)[..dst.len()]);
        Ok(())
    }
    fn launch(&self, spec: &'static KernelSpec, params: &[u8], _threads: u32, bufs: &[&Buffer]) -> Result<()> {
        check_launch("cpu", spec, params, bufs)?;
        let hosts = bufs.iter().map(|b| host(b, "cpu")).collect::<Result<Vec<_>>>()?;
        let mut guards: Vec<MutexGuard<'_, Vec<u32>>> = hosts.iter().map(lock).collect();
        let mut slices: Vec<&mut [u32]> = guards.iter_mut().map(|g| g.as_mut_slice()).collect();
        self.bound.fetch_add(slices.iter().map(|s| 4 * s.len() as u64).sum(), Ordering::Relaxed);
        (spec.cpu)(params, &mut slices)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }
    fn bound_bytes(&self) -> u64 {
        self.bound.load(Ordering::Relaxed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_buffers_are_reused_and_alloc_still_zeroes() {
        let be = CpuBackend::new();
        let a = be.upload(&[7; 1000]).expect("upload");
        drop(a);
        assert_eq!(be.pooled_words(), 1000);
        // the recycled vector comes back zeroed from alloc
        let b = be.alloc(1000).expect("alloc");
        assert_eq!(be.pooled_words(), 0);
        assert!(be.download(&b).expect("download").iter().all(|&w| w == 0));
        drop(b);
        // and with the new contents from upload; another length is a fresh vector
        let c = be.upload(&[3; 1000]).expect("upload");
        assert_eq!(be.download(&c).expect("download"), vec![3; 1000]);
        let d = be.alloc(10).expect("alloc");
        assert_eq!(be.download(&d).expect("download"), vec![0; 10]);
        let mut part = [7u32; 4];
        be.download_into(&d, &mut part).expect("download_into");
        assert_eq!(part, [0; 4]);
        assert!(be.download_into(&d, &mut [0u32; 11]).is_err(), "longer than the buffer");
    }
}
