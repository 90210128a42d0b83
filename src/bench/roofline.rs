//! `mecrl bench roofline`: the ceilings of this machine that the other benchmarks report their
//! fractions of, measured on the threads mecrl uses: memory bandwidth (a STREAM triad
//! a = b + s·c from main memory, from a last-level-cache-sized and from an L2-sized working
//! set), FMA throughput (independent fused multiply-add chains on the widest vectors of
//! [`Isa::get`]), and the indexed-load rate (Σ t[i·w + idx_i] over a cache-resident table, the
//! irreducible work of the exact objective, scalar and with vector gathers: the faster counts).
//!
//! A kernel's roofline fraction ([`Kernel::line`]) is the larger of its byte rate over the
//! bandwidth of the level its working set lives in and its operation rate over the FMA peak
//! (an FMA counts 2 operations, every other arithmetic or logic operation on a lane 1): the
//! resource it uses most, and how much of that resource it gets.

use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;

pub use super::common::Stat;
use crate::error::Result;
use crate::isa::Isa;

/// Arguments of `mecrl bench roofline`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Timed blocks of every probe (median and range reported).
    #[arg(long, default_value_t = 7)]
    pub blocks: usize,
    /// MiB of the three STREAM arrays together (well above the last-level cache).
    #[arg(long, default_value_t = 384)]
    pub mib: usize,
}

/// The machine a report was measured on: CPU model, instruction set, threads, load average.
pub struct Machine;

impl Machine {
    /// One line: `machine: <model> · isa <isa> · <t> threads · load average <1m 5m 15m>`.
    pub fn describe() -> String {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "n/a".into());
        let avail: Vec<&str> = Isa::available().iter().map(|i| i.name()).collect();
        format!(
            "machine: {model} · isa {} (has {}) · {} threads · load average {load}",
            Isa::get().name(),
            avail.join(", "),
            rayon::current_num_threads()
        )
    }
}

/// The measured ceilings (medians over the blocks, with their ranges).
#[derive(Clone, Debug)]
pub struct Ceilings {
    /// STREAM triad from main memory, GB/s (12 bytes per element: two reads, one write).
    pub dram_gbs: Stat,
    /// The triad on a working set of about the last-level cache (8 MiB in all), GB/s.
    pub llc_gbs: Stat,
    /// The triad on an L2-sized working set (192 KiB per thread), GB/s.
    pub l2_gbs: Stat,
    /// FMA throughput, G operations/s (2 per FMA and lane).
    pub fma_gops: Stat,
    /// Indexed loads (Σ t[i·w + idx_i], w = 11, 45 KB table), G loads/s: the faster of the
    /// scalar and the vector-gather form (the next two), block by block.
    pub indexed_gls: Stat,
    /// The scalar form of the indexed loads, G loads/s.
    pub indexed_scalar_gls: Stat,
    /// The 16-lane gather form (AVX-512 only; 0 elsewhere), G loads/s.
    pub indexed_gather_gls: Stat,
    /// The exact objective's whole work in whatever summation order is fastest (the indexed
    /// load, and √F_i into per-lane bins of every MEC by masked adds, 16 or 8 lanes; 4-way
    /// unrolled scalar where there are no vectors): the yardstick of `objective_exact`, which
    /// keeps the scalar order for the same bits on every backend. G evaluations/s.
    pub objective_gevals: Stat,
}

impl std::fmt::Display for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} ({:.1}–{:.1})", self.med, self.min, self.max)
    }
}

impl Ceilings {
    /// Measure every probe `blocks` times, the probes alternating block by block (so a drift
    /// of the machine's speed reaches all of them); `mib` sizes the STREAM arrays.
    pub fn measure(blocks: usize, mib: usize) -> Ceilings {
        let t = rayon::current_num_threads();
        let mut dram = Triad::new(mib * (1 << 20) / 12);
        let mut llc = Triad::new((8 << 20) / 12);
        let mut l2: Vec<Triad> = (0..t).map(|_| Triad::new((192 << 10) / 12)).collect();
        let idx = Indexed::new();
        let (mut d, mut c, mut s, mut f) = (vec![], vec![], vec![], vec![]);
        let (mut g, mut gs, mut gv, mut ob) = (vec![], vec![], vec![], vec![]);
        for _ in 0..blocks.max(1) {
            d.push(dram.gbs(3));
            c.push(llc.gbs(40));
            s.push(Triad::per_thread_gbs(&mut l2, 2000));
            f.push(fma_gops());
            let (scalar, gather) = idx.gls();
            gs.push(scalar);
            gv.push(gather);
            g.push(scalar.max(gather));
            ob.push(idx.objective_gevals());
        }
        Ceilings {
            dram_gbs: Stat::of(d),
            llc_gbs: Stat::of(c),
            l2_gbs: Stat::of(s),
            fma_gops: Stat::of(f),
            indexed_gls: Stat::of(g),
            indexed_scalar_gls: Stat::of(gs),
            indexed_gather_gls: Stat::of(gv),
            objective_gevals: Stat::of(ob),
        }
    }

    /// The ceilings of this process, measured once (5 blocks, 192 MiB; about two seconds).
    pub fn get() -> &'static Ceilings {
        static C: OnceLock<Ceilings> = OnceLock::new();
        C.get_or_init(|| Ceilings::measure(5, 192))
    }

    /// The bandwidth of the level a working set of `bytes` (over all threads) lives in.
    fn bandwidth(&self, bytes: f64) -> (f64, &'static str) {
        let t = rayon::current_num_threads() as f64;
        if bytes / t <= 512.0 * 1024.0 {
            (self.l2_gbs.med, "L2")
        } else if bytes <= 16.0 * 1024.0 * 1024.0 {
            (self.llc_gbs.med, "LLC")
        } else {
            (self.dram_gbs.med, "DRAM")
        }
    }
}

/// What one unit of a kernel's work costs, counted from its code.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// Bytes read and written per unit.
    pub bytes: f64,
    /// Arithmetic and logic operations per unit (an FMA counts 2).
    pub ops: f64,
    /// Bytes the kernel touches over and over (all threads): picks the bandwidth level.
    pub working_set: f64,
}

impl Kernel {
    /// The same costs with a working set of `bytes`.
    pub fn with_working_set(self, bytes: f64) -> Kernel {
        Kernel { working_set: bytes, ..self }
    }

    /// `roofline: …` for a measured rate of `units_per_s`.
    pub fn line(&self, units_per_s: f64, c: &Ceilings) -> String {
        let (bw, level) = c.bandwidth(self.working_set);
        let gbs = self.bytes * units_per_s / 1e9;
        let gops = self.ops * units_per_s / 1e9;
        let (fb, fo) = (gbs / bw, gops / c.fma_gops.med);
        let (what, f) = if fb >= fo { (format!("{level} bandwidth"), fb) } else { ("FMA peak".into(), fo) };
        format!(
            "roofline: {gbs:.1} GB/s of {bw:.1} ({level}), {gops:.1} G op/s of {:.1} → {:.0} % of the {what}",
            c.fma_gops.med,
            100.0 * f
        )
    }
}

/// `roofline: …` of an environment step from the bytes its launches bound
/// ([`Backend::bound_bytes`], an upper bound of the traffic: every bound buffer read or written
/// once per launch):
/// `bytes` over `units` units of work that ran at `units_per_s`; the working set is the bytes
/// of one of the `rounds` (slots) measured. The step's operations are not counted: its fraction
/// is of the bandwidth only.
///
/// [`Backend::bound_bytes`]: crate::backend::Backend::bound_bytes
pub fn bound_line(bytes: u64, units: f64, rounds: usize, units_per_s: f64) -> String {
    let c = Ceilings::get();
    if bytes == 0 {
        return "roofline: this backend does not count its launches' bytes".into();
    }
    let per_unit = bytes as f64 / units;
    let (bw, level) = c.bandwidth(bytes as f64 / rounds.max(1) as f64);
    let gbs = per_unit * units_per_s / 1e9;
    format!(
        "roofline: {per_unit:.0} B bound per unit, {gbs:.1} GB/s of {bw:.1} ({level}) = {:.0} % of the {level} bandwidth",
        100.0 * gbs / bw
    )
}

/// Run the probes and print the ceilings (refused, naming `--mib`, when the STREAM arrays would
/// not fit the memory available).
pub fn run(a: &Args) -> Result<()> {
    if a.mib == 0 {
        return Err(crate::error::Error::config("--mib", a.mib, "must be >= 1"));
    }
    crate::memory::Need::new().add("--mib", a.mib, "the STREAM arrays", (a.mib as u128) << 20).check()?;
    let c = Ceilings::measure(a.blocks, a.mib);
    println!("mecrl bench roofline  ({} blocks, alternating; median (min–max))", a.blocks.max(1));
    println!("{:<58} {}", "STREAM triad, main memory (GB/s)", c.dram_gbs);
    println!("{:<58} {}", "triad, last-level-cache working set, 8 MiB (GB/s)", c.llc_gbs);
    println!("{:<58} {}", "triad, L2 working set, 192 KiB per thread (GB/s)", c.l2_gbs);
    println!("{:<58} {}", format!("FMA throughput, {} (G op/s)", Isa::get().name()), c.fma_gops);
    println!("{:<58} {}", "indexed loads Σ t[i·w + idx_i], 45 KB table (G loads/s)", c.indexed_gls);
    println!("{:<58} {}", "  of which scalar, 4 rows × 4 partial sums (G loads/s)", c.indexed_scalar_gls);
    println!("{:<58} {}", "  of which 16-lane gathers (G loads/s)", c.indexed_gather_gls);
    println!("{:<58} {}", "exact objective's work in any order, M = 10 (G evals/s)", c.objective_gevals);
    Ok(())
}

/// The STREAM arrays, split over the threads.
struct Triad {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl Triad {
    fn new(len: usize) -> Triad {
        let len = len.max(1024);
        let (mut a, mut b, mut c) = (vec![0.0f32; len], vec![0.0f32; len], vec![0.0f32; len]);
        // First touch on the threads that stream them.
        a.par_chunks_mut(4096).zip(b.par_chunks_mut(4096)).zip(c.par_chunks_mut(4096)).for_each(|((a, b), c)| {
            a.fill(0.0);
            b.fill(1.0);
            c.fill(2.0);
        });
        Triad { a, b, c }
    }

    /// a = b + s·c, `passes` times over the arrays split among the threads; GB/s.
    fn gbs(&mut self, passes: usize) -> f64 {
        let chunk = self.a.len().div_ceil(rayon::current_num_threads());
        let t = Instant::now();
        for _ in 0..passes {
            self.a.par_chunks_mut(chunk).zip(self.b.par_chunks(chunk)).zip(self.c.par_chunks(chunk)).for_each(
                |((a, b), c)| {
                    for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
                        *a = b + 0.5 * c;
                    }
                },
            );
        }
        let s = t.elapsed().as_secs_f64();
        std::hint::black_box(&self.a);
        12.0 * self.a.len() as f64 * passes as f64 / s / 1e9
    }

    /// One private triad per thread, `passes` times each; GB/s over all of them.
    fn per_thread_gbs(triads: &mut [Triad], passes: usize) -> f64 {
        let t = Instant::now();
        let bytes: f64 = triads
            .par_iter_mut()
            .map(|tr| {
                let Triad { a, b, c } = tr;
                for _ in 0..passes {
                    for ((a, &b), &c) in a.iter_mut().zip(b.iter()).zip(c.iter()) {
                        *a = b + 0.5 * c;
                    }
                    std::hint::black_box(&mut *a);
                }
                12.0 * a.len() as f64 * passes as f64
            })
            .sum();
        bytes / t.elapsed().as_secs_f64() / 1e9
    }
}

/// FMA chains on every thread; G operations/s (2 per FMA and lane).
fn fma_gops() -> f64 {
    const ITERS: usize = 4_000_000;
    let t = rayon::current_num_threads();
    let start = Instant::now();
    let lanes_fmas: f64 = (0..t).into_par_iter().map(|_| fma_chains(ITERS)).sum();
    2.0 * lanes_fmas / start.elapsed().as_secs_f64() / 1e9
}

/// 12 independent chains of `iters` FMAs on the widest vectors; returns lanes × FMAs.
fn fma_chains(iters: usize) -> f64 {
    match Isa::get() {
        // SAFETY: the instruction set was detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { fma_x86::avx512(iters) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { fma_x86::avx2(iters) },
        _ => {
            // Portable: 12 chains of 8 lanes of mul_add (an FMA where the target has one).
            let mut acc = [[1.0f32; 8]; 12];
            for _ in 0..iters {
                for a in acc.iter_mut() {
                    for x in a.iter_mut() {
                        *x = x.mul_add(0.999_999, 1e-7);
                    }
                }
            }
            std::hint::black_box(acc);
            (iters * 12 * 8) as f64
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod fma_x86 {
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512F present.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(iters: usize) -> f64 {
        let (m, c) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); 12];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, m, c);
            }
        }
        std::hint::black_box(acc);
        (iters * 12 * 16) as f64
    }

    /// # Safety
    /// AVX2 and FMA present.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(iters: usize) -> f64 {
        let (m, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); 12];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, m, c);
            }
        }
        std::hint::black_box(acc);
        (iters * 12 * 8) as f64
    }
}

/// The indexed-load probe and the objective's yardstick: 64 rows of N = 1024 indices into one
/// 1024 × 11 table (M = 10).
pub struct Indexed {
    table: Vec<f32>,
    sqrt_f: Vec<f32>,
    idx: Vec<u32>,
}

const IDX_N: usize = 1024;
const IDX_W: usize = 11;
const IDX_ROWS: usize = 64;

impl Default for Indexed {
    fn default() -> Self {
        Indexed::new()
    }
}

impl Indexed {
    /// The probe's data.
    pub fn new() -> Indexed {
        let table = (0..IDX_N * IDX_W).map(|k| 1.0 + (k % 7) as f32).collect();
        let idx = (0..IDX_ROWS * IDX_N)
            .map(|k| crate::rng::uniform_index(crate::rng::philox4x32_10([k as u32, 0, 0, 3], [5, 6])[0], IDX_W as u32))
            .collect();
        let sqrt_f = (0..IDX_N).map(|k| 1e4 + k as f32).collect();
        Indexed { table, sqrt_f, idx }
    }

    /// G loads/s of the scalar form (four rows at a time, four partial sums per row, as the
    /// objective) and of 16-lane gathers (0 where the processor has no AVX-512).
    pub fn gls(&self) -> (f64, f64) {
        const REPS: usize = 200;
        let t = rayon::current_num_threads();
        let per = REPS * IDX_ROWS * IDX_N;
        let time = |f: &(dyn Fn(&[u32]) -> f32 + Sync)| {
            let start = Instant::now();
            let s: f32 = (0..t)
                .into_par_iter()
                .map(|_| (0..REPS).map(|_| self.idx.chunks(4 * IDX_N).map(f).sum::<f32>()).sum::<f32>())
                .sum();
            std::hint::black_box(s);
            (t * per) as f64 / start.elapsed().as_secs_f64() / 1e9
        };
        let scalar = time(&|rows| scalar_rows(&self.table, rows));
        #[cfg(target_arch = "x86_64")]
        if Isa::get() == Isa::Avx512 {
            // SAFETY: AVX-512 detected.
            let gather = time(&|rows| unsafe { gather_rows(&self.table, rows) });
            return (scalar, gather);
        }
        (scalar, 0.0)
    }
}

impl Indexed {
    /// G evaluations/s of the objective's work in the fastest order (see
    /// [`Ceilings::objective_gevals`]).
    pub fn objective_gevals(&self) -> f64 {
        const REPS: usize = 100;
        let t = rayon::current_num_threads();
        let start = Instant::now();
        let s: f32 = (0..t)
            .into_par_iter()
            .map(|_| {
                (0..REPS)
                    .map(|_| {
                        self.idx
                            .chunks(IDX_N)
                            .map(|row| match Isa::get() {
                                // SAFETY: the instruction set was detected.
                                #[cfg(target_arch = "x86_64")]
                                Isa::Avx512 => unsafe { free_order_avx512(&self.table, &self.sqrt_f, row) },
                                // SAFETY: as above.
                                #[cfg(target_arch = "x86_64")]
                                Isa::Avx2 => unsafe { free_order_avx2(&self.table, &self.sqrt_f, row) },
                                _ => free_order_scalar(&self.table, &self.sqrt_f, row),
                            })
                            .sum::<f32>()
                    })
                    .sum::<f32>()
            })
            .sum();
        std::hint::black_box(s);
        (t * REPS * IDX_ROWS * IDX_N) as f64 / start.elapsed().as_secs_f64() / 1e9
    }
}

/// One row's objective, 4 partial cost sums, bins in memory.
fn free_order_scalar(table: &[f32], sqrt_f: &[f32], row: &[u32]) -> f32 {
    let mut s = [0.0f32; 4];
    let mut bins = [0.0f32; IDX_W];
    for (i, &j) in row.iter().enumerate() {
        s[i % 4] += table[i * IDX_W + j as usize];
        bins[j as usize] += sqrt_f[i];
    }
    s.iter().sum::<f32>() + 1e-11 * bins[1..].iter().map(|b| b * b).sum::<f32>()
}

/// One row's objective, 8 lanes: a gather for the costs, a masked add per MEC for the bins.
///
/// # Safety
/// AVX2 present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn free_order_avx2(table: &[f32], sqrt_f: &[f32], row: &[u32]) -> f32 {
    use std::arch::x86_64::*;
    let lanes = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let stride = _mm256_mullo_epi32(lanes, _mm256_set1_epi32(IDX_W as i32));
    let mut acc = _mm256_setzero_ps();
    let mut bins = [_mm256_setzero_ps(); IDX_W - 1];
    for i in (0..IDX_N).step_by(8) {
        let idx = _mm256_loadu_si256(row.as_ptr().add(i) as *const _);
        let off = _mm256_add_epi32(_mm256_add_epi32(stride, _mm256_set1_epi32((i * IDX_W) as i32)), idx);
        acc = _mm256_add_ps(acc, _mm256_i32gather_ps::<4>(table.as_ptr(), off));
        let f = _mm256_loadu_ps(sqrt_f.as_ptr().add(i));
        for (j, b) in bins.iter_mut().enumerate() {
            let hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(idx, _mm256_set1_epi32(j as i32 + 1)));
            *b = _mm256_add_ps(*b, _mm256_and_ps(hit, f));
        }
    }
    let sum = |v: __m256| {
        let mut o = [0.0f32; 8];
        _mm256_storeu_ps(o.as_mut_ptr(), v);
        o.iter().sum::<f32>()
    };
    let cpu: f32 = bins.iter().map(|&b| sum(b) * sum(b)).sum();
    sum(acc) + 1e-11 * cpu
}

/// One row's objective, 16 lanes: a gather for the costs, a masked add per MEC for the bins.
///
/// # Safety
/// AVX-512F present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn free_order_avx512(table: &[f32], sqrt_f: &[f32], row: &[u32]) -> f32 {
    use std::arch::x86_64::*;
    let lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    let stride = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(IDX_W as i32));
    let mut acc = _mm512_setzero_ps();
    let mut bins = [_mm512_setzero_ps(); IDX_W - 1];
    for i in (0..IDX_N).step_by(16) {
        let idx = _mm512_loadu_si512(row.as_ptr().add(i) as *const _);
        let off = _mm512_add_epi32(_mm512_add_epi32(stride, _mm512_set1_epi32((i * IDX_W) as i32)), idx);
        acc = _mm512_add_ps(acc, _mm512_i32gather_ps::<4>(off, table.as_ptr()));
        let f = _mm512_loadu_ps(sqrt_f.as_ptr().add(i));
        for (j, b) in bins.iter_mut().enumerate() {
            let k = _mm512_cmpeq_epi32_mask(idx, _mm512_set1_epi32(j as i32 + 1));
            *b = _mm512_mask_add_ps(*b, k, *b, f);
        }
    }
    let mut cpu = 0.0f32;
    for b in bins {
        let s = _mm512_reduce_add_ps(b);
        cpu += s * s;
    }
    _mm512_reduce_add_ps(acc) + 1e-11 * cpu
}

/// Σ over four rows of t[i·w + idx_i], four partial sums per row.
fn scalar_rows(table: &[f32], rows: &[u32]) -> f32 {
    let mut s = [[0.0f32; 4]; 4];
    let rows: Vec<&[u32]> = rows.chunks(IDX_N).collect();
    for i in (0..IDX_N).step_by(4) {
        for q in 0..4 {
            let t = &table[(i + q) * IDX_W..(i + q + 1) * IDX_W];
            for r in 0..rows.len() {
                s[r][q] += t[rows[r][i + q] as usize];
            }
        }
    }
    s.iter().flatten().sum()
}

/// Σ over the rows of t[i·w + idx_i] with 16-lane gathers.
///
/// # Safety
/// AVX-512F present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_rows(table: &[f32], rows: &[u32]) -> f32 {
    use std::arch::x86_64::*;
    let lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    let stride = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(IDX_W as i32));
    let mut acc = [_mm512_setzero_ps(); 4];
    for (r, row) in rows.chunks(IDX_N).enumerate() {
        for i in (0..IDX_N).step_by(16) {
            let idx = _mm512_loadu_si512(row.as_ptr().add(i) as *const _);
            let off = _mm512_add_epi32(_mm512_add_epi32(stride, _mm512_set1_epi32((i * IDX_W) as i32)), idx);
            acc[r % 4] = _mm512_add_ps(acc[r % 4], _mm512_i32gather_ps::<4>(off, table.as_ptr()));
        }
    }
    let mut out = [0.0f32; 16];
    _mm512_storeu_ps(out.as_mut_ptr(), _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
    out.iter().sum()
}
