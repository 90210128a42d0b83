//! A small team of helper threads for splitting one CPU kernel call into a few tasks.
//!
//! Why not rayon here: a call from outside rayon's pool hands the whole job to the pool and puts
//! the calling thread to sleep until it is done, and the pool's workers sleep between calls; on
//! the project's 2-core VM that is three context switches (tens of microseconds) per product,
//! more than a small layer's product costs. The team's threads spin on a generation counter for
//! a while after each call (a training step issues the next product within microseconds), the
//! calling thread runs tasks too, and a helper that has spun for `SPIN` without work parks
//! until the next call.
//!
//! Affinity: the n tasks of a call are cut into one contiguous range per thread, and a thread
//! takes from its own range before it steals from the back of another's. The kernels order
//! their tasks by ensemble group (or by rows), so the thread that wrote a group's activations
//! in one call reads them in the next while they are still in its own L2; with a shared
//! counter the groups landed on either core and case (b) of `mecrl bench nn` spent ~20% more
//! wall time (2.47 ms against 2.01 ms per step, blocks alternated in one process).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle helper spins before it parks.
const SPIN: Duration = Duration::from_micros(300);

/// Spin iterations between yields of the processor while waiting: on a machine shared with
/// other work a spinning thread must not keep a preempted one (holding a task) off its core.
const SPINS_PER_YIELD: u32 = 64;

/// Waits a moment: a spin hint, and every [`SPINS_PER_YIELD`] calls a yield.
fn pause(spins: &mut u32) {
    *spins += 1;
    if spins.is_multiple_of(SPINS_PER_YIELD) {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

/// The task function of the current call, its lifetime erased: valid while the caller waits in
/// [`run`] (which returns only after every grabbed task has finished).
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn(usize) + Sync));
// SAFETY: the pointee is Sync and outlives every use (see `run`).
unsafe impl Send for Job {}

/// The tasks of the current call: participant p (0 = the caller, then the helpers) owns the
/// range `next[p]..end[p]`, taking from its front and, once it is empty, from the back of
/// another's.
struct Slot {
    job: Option<Job>,
    next: Vec<usize>,
    end: Vec<usize>,
}

struct Team {
    slot: Mutex<Slot>,
    /// Bumped by each call; helpers spin on it.
    generation: AtomicU64,
    /// Tasks grabbed and not finished.
    running: AtomicUsize,
    /// Helpers parked on `wake`.
    sleepers: AtomicUsize,
    wake: Condvar,
    helpers: usize,
    /// Held by the call the team is serving (kernels may be launched from several threads).
    call: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Team {
    /// Grab participant p's next task of the current job (from its own range, else the last
    /// task of the fullest other range), counting it as running.
    fn grab(&self, p: usize) -> Option<(Job, usize)> {
        let mut s = lock(&self.slot);
        let job = s.job?;
        let i = if s.next[p] < s.end[p] {
            s.next[p] += 1;
            s.next[p] - 1
        } else {
            let q = (0..s.end.len()).max_by_key(|&q| s.end[q] - s.next[q])?;
            if s.next[q] == s.end[q] {
                return None;
            }
            s.end[q] -= 1;
            s.end[q]
        };
        self.running.fetch_add(1, Ordering::AcqRel);
        Some((job, i))
    }

    fn work(&self, p: usize) {
        while let Some((job, i)) = self.grab(p) {
            // SAFETY: the caller of `run` is waiting for `running` to drop to 0.
            unsafe { (*job.0)(i) };
            self.running.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Helper p's loop (p ≥ 1; 0 is the calling thread).
    fn helper(&'static self, p: usize) {
        let mut seen = self.generation.load(Ordering::Acquire);
        loop {
            let start = Instant::now();
            let mut spins = 0u32;
            while self.generation.load(Ordering::Acquire) == seen {
                if spins.is_multiple_of(SPINS_PER_YIELD) && start.elapsed() > SPIN {
                    let mut s = lock(&self.slot);
                    self.sleepers.fetch_add(1, Ordering::AcqRel);
                    while self.generation.load(Ordering::Acquire) == seen {
                        s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
                    }
                    self.sleepers.fetch_sub(1, Ordering::AcqRel);
                    drop(s);
                    break;
                }
                pause(&mut spins);
            }
            seen = self.generation.load(Ordering::Acquire);
            self.work(p);
        }
    }
}

fn team() -> &'static Team {
    static TEAM: OnceLock<&'static Team> = OnceLock::new();
    TEAM.get_or_init(|| {
        let helpers = rayon::current_num_threads().saturating_sub(1);
        let t: &'static Team = Box::leak(Box::new(Team {
            slot: Mutex::new(Slot { job: None, next: vec![0; helpers + 1], end: vec![0; helpers + 1] }),
            generation: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            wake: Condvar::new(),
            helpers,
            call: Mutex::new(()),
        }));
        for i in 0..helpers {
            let spawned = std::thread::Builder::new().name(format!("mecrl-team-{i}")).spawn(move || t.helper(i + 1));
            if spawned.is_err() {
                // no helper: the calling thread runs every task
                break;
            }
        }
        t
    })
}

/// Threads that run the tasks of one call (the caller and the helpers): rayon's thread count,
/// so `RAYON_NUM_THREADS=1` keeps everything on the calling thread.
pub fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// Runs `f(0) … f(n − 1)`, each exactly once, on the calling thread and the team's helpers;
/// returns when all have finished. Tasks must be independent (they run in any order).
pub fn run(n: usize, f: &(dyn Fn(usize) + Sync)) {
    if n == 0 {
        return;
    }
    let t = team();
    if n == 1 || t.helpers == 0 {
        (0..n).for_each(f);
        return;
    }
    // the team serves one call at a time; a call that finds it busy (another thread's kernel,
    // e.g. configs swept in parallel) runs its tasks itself rather than wait
    let Ok(_call) = t.call.try_lock() else {
        (0..n).for_each(f);
        return;
    };
    {
        let mut s = lock(&t.slot);
        // SAFETY: the lifetime is erased only until this function returns, after every task
        // that read the pointer has finished (the wait on `running` below).
        let job: *const (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f as *const (dyn Fn(usize) + Sync)) };
        s.job = Some(Job(job));
        // contiguous ranges: successive calls over the same ensemble give participant p the
        // same groups, so it reads what it wrote (still in its own L2) rather than the other
        // core's lines
        let parts = s.next.len();
        for p in 0..parts {
            s.next[p] = p * n / parts;
            s.end[p] = (p + 1) * n / parts;
        }
        t.generation.fetch_add(1, Ordering::AcqRel);
        if t.sleepers.load(Ordering::Acquire) > 0 {
            t.wake.notify_all();
        }
    }
    t.work(0);
    // every task is grabbed (the caller's last grab found none left); wait for the running ones
    let mut spins = 0u32;
    while t.running.load(Ordering::Acquire) > 0 {
        pause(&mut spins);
    }
    lock(&t.slot).job = None;
}

/// Elements from which an elementwise pass (activations, `add_scaled`, the optimizer step) is
/// split across the team: its hand-off costs about a microsecond, not a rayon fork's tens.
pub(crate) const TEAM_ELEMS: usize = 1 << 14;

/// Runs `f` once on each part, on the team (each part is taken by exactly one task).
pub(crate) fn team_parts<P: Send>(parts: Vec<P>, f: &(dyn Fn(P) + Sync)) {
    let cells: Vec<std::sync::Mutex<Option<P>>> = parts.into_iter().map(|p| std::sync::Mutex::new(Some(p))).collect();
    run(cells.len(), &|i| {
        let part = cells[i].lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = part {
            f(p);
        }
    });
}

/// The chunk length that splits n elements over the team's threads (more, smaller chunks
/// measured slower on case (a): each hand-off costs).
pub(crate) fn team_chunk(n: usize) -> usize {
    n.div_ceil(threads()).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_once_across_many_calls() {
        for n in [1usize, 2, 3, 7, 64] {
            for _ in 0..200 {
                let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                run(n, &|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "n = {n}");
            }
        }
    }

    #[test]
    fn calls_from_several_threads_do_not_mix() {
        std::thread::scope(|s| {
            for t in 0..4usize {
                s.spawn(move || {
                    for _ in 0..100 {
                        let sum = AtomicUsize::new(0);
                        run(5, &|i| {
                            sum.fetch_add(i + t, Ordering::Relaxed);
                        });
                        assert_eq!(sum.load(Ordering::Relaxed), 10 + 5 * t);
                    }
                });
            }
        });
    }
}
