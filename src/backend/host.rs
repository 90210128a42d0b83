//! Host memory of the cpu and cuda-host backends: word vectors behind a mutex, recycled through
//! a pool by length.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Host-side storage (cpu and cuda-host backends).
pub(crate) type HostWords = Arc<HostMem>;

/// The words of a host buffer; a pooled one gives its vector back to its pool when dropped, so
/// a training loop that allocates the same shapes every step reuses memory instead of paying
/// the kernel's page faults (and, for large vectors, mmap/munmap) each time.
pub(crate) struct HostMem {
    pub(crate) words: Mutex<Vec<u32>>,
    pool: Option<Arc<HostPool>>,
}

impl HostMem {
    /// Unpooled storage.
    #[cfg_attr(not(feature = "cuda-host"), allow(dead_code))]
    pub(crate) fn new(words: Vec<u32>) -> HostWords {
        crate::memory::note_host(4 * words.len() as i64);
        Arc::new(HostMem { words: Mutex::new(words), pool: None })
    }
    /// Storage that returns to `pool` when dropped.
    pub(crate) fn pooled(words: Vec<u32>, pool: &Arc<HostPool>) -> HostWords {
        crate::memory::note_host(4 * words.len() as i64);
        Arc::new(HostMem { words: Mutex::new(words), pool: Some(pool.clone()) })
    }
}

impl Drop for HostMem {
    fn drop(&mut self) {
        crate::memory::note_host(-4 * self.words.get_mut().map_or(0, |w| w.len()) as i64);
        if let Some(pool) = &self.pool {
            pool.put(std::mem::take(self.words.get_mut().unwrap_or_else(|e| e.into_inner())));
        }
    }
}

/// The most words the pool keeps (256 MiB): past it a dropped buffer's memory is freed.
pub const POOL_WORDS: usize = 1 << 26;

/// Vectors of dropped buffers, by length, for the next buffer of the same length (the shapes of
/// a training step repeat every step).
#[derive(Default)]
pub(crate) struct HostPool {
    free: Mutex<Free>,
}

#[derive(Default)]
struct Free {
    by_len: HashMap<usize, Vec<Vec<u32>>>,
    held: usize,
}

impl HostPool {
    fn free(&self) -> MutexGuard<'_, Free> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn take(&self, words: usize) -> Option<Vec<u32>> {
        let mut g = self.free();
        let v = g.by_len.get_mut(&words)?.pop()?;
        g.held -= words;
        Some(v)
    }
    pub(crate) fn put(&self, v: Vec<u32>) {
        let words = v.len();
        if words == 0 {
            return;
        }
        let mut g = self.free();
        if g.held + words <= POOL_WORDS {
            g.held += words;
            g.by_len.entry(words).or_default().push(v);
        }
    }
    pub(crate) fn held(&self) -> usize {
        self.free().held
    }
}

pub(crate) fn lock(h: &HostWords) -> MutexGuard<'_, Vec<u32>> {
    h.words.lock().unwrap_or_else(|e| e.into_inner())
}
