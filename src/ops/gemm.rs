//! The CPU's f32 matrix product (not a kernel stem: the engine under the CPU functions of
//! `linear`). out[r, j] = epilogue(Σ_k A(r, k)·B[k, j]) for r < m, j < n, each sum running
//! k = 0, 1, … from 0.0 with one fused multiply-add per term, so every path below (AVX-512,
//! portable, one thread or several) gives the same bits; against the GPU kernels (which never
//! fuse) it agrees within the parity tolerance.
//!
//! Register blocking: a tile of MR rows × NR columns of accumulators stays in registers for the
//! whole sum (A broadcast per row, B loaded per vector). Detected at run time: with AVX-512 the
//! tile is 8 × 32 (16 zmm accumulators), with AVX2 + FMA 6 × 16 (12 of the 16 ymm registers);
//! elsewhere a portable 4 × 16 tile that LLVM vectorizes.
//! Large products are split into tiles' worth of tasks over [`par`](crate::backend::par)'s team; the tasks
//! write disjoint parts of `out`.

use crate::isa::Isa;

/// A(r, k) = data[r·rs + k·ks]: a row-major matrix (ks = 1), its transpose (rs = 1), ….
#[derive(Clone, Copy)]
pub struct Strided<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Step between rows.
    pub rs: usize,
    /// Step along k.
    pub ks: usize,
}

/// What happens to a finished sum.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// out = acc + bias\[j\] (no bias: out = acc).
    Set(Option<&'a [f32]>),
    /// out += acc (gradients accumulate).
    Add,
}

/// One product: out is m × n with row stride ldc; B is kk × n with row stride ldb.
#[derive(Clone, Copy)]
pub struct Gemm<'a> {
    /// Rows of out.
    pub m: usize,
    /// Columns of out.
    pub n: usize,
    /// Terms per sum.
    pub kk: usize,
    /// The left factor.
    pub a: Strided<'a>,
    /// The right factor: B(k, j) = b[k·ldb + j] (row-major), or with `bt` b[j·ldb + k] (B
    /// given as its transpose: the weights of a linear layer's input gradient).
    pub b: &'a [f32],
    /// Row stride of B (of Bᵀ with `bt`).
    pub ldb: usize,
    /// B is stored transposed.
    pub bt: bool,
    /// Row stride of out.
    pub ldc: usize,
    /// What to do with each sum.
    pub epi: Epilogue<'a>,
}

impl Gemm<'_> {
    /// Panics when the slices are too short for the dimensions (callers size them from the
    /// same parameters; the kernels check the buffers with typed errors before).
    fn check(&self, out_len: usize) {
        if self.m == 0 || self.n == 0 {
            return;
        }
        let last_a = if self.kk == 0 { 0 } else { (self.m - 1) * self.a.rs + (self.kk - 1) * self.a.ks + 1 };
        assert!(self.a.data.len() >= last_a, "gemm: A too short");
        let last_b = if self.bt { (self.n - 1) * self.ldb + self.kk } else { (self.kk.max(1) - 1) * self.ldb + self.n };
        assert!(self.kk == 0 || self.b.len() >= last_b, "gemm: B too short");
        assert!(out_len >= (self.m - 1) * self.ldc + self.n, "gemm: out too short");
        if let Epilogue::Set(Some(bias)) = self.epi {
            assert!(bias.len() >= self.n, "gemm: bias too short");
        }
    }
}

/// Multiply-adds below which a product stays on the calling thread (a rayon fork and the
/// wake-up of the other workers cost more than they save); `MECRL_GEMM_PAR_MIN` overrides it.
pub const PAR_MIN: usize = 1 << 17;

fn par_min() -> usize {
    static MIN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MIN.get_or_init(|| std::env::var("MECRL_GEMM_PAR_MIN").ok().and_then(|v| v.parse().ok()).unwrap_or(PAR_MIN))
}

/// Raw output pointer shared by the tasks of one product, each writing its own tiles.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: tasks write disjoint (row range × column range) blocks of the output (see `run`).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// Runs a batch of independent products (one per ensemble group), each with its own output
/// slice, splitting large work across threads.
pub fn run(jobs: &[Gemm<'_>], outs: Vec<&mut [f32]>) {
    assert_eq!(jobs.len(), outs.len(), "gemm: one output per job");
    for (j, o) in jobs.iter().zip(&outs) {
        j.check(o.len());
    }
    let kernel = Kernel::detect();
    // the AVX2 and AVX-512 kernels read a transposed B (while packing their panels); the
    // portable one gets a transposed copy
    let copies: Vec<Option<Vec<f32>>> = jobs
        .iter()
        .map(|j| {
            (j.bt && !kernel.reads_bt() && j.kk > 0).then(|| {
                let mut t = vec![0.0; j.kk * j.n];
                if j.ldb == j.kk {
                    transpose(&j.b[..j.n * j.kk], j.n, j.kk, &mut t);
                } else {
                    for (c, row) in j.b.chunks(j.ldb).take(j.n).enumerate() {
                        for (k, &v) in row[..j.kk].iter().enumerate() {
                            t[k * j.n + c] = v;
                        }
                    }
                }
                t
            })
        })
        .collect();
    let owned: Vec<Gemm<'_>>;
    let jobs = if copies.iter().any(Option::is_some) {
        owned = jobs
            .iter()
            .zip(&copies)
            .map(|(j, c)| match c {
                Some(t) => Gemm { b: t, ldb: j.n, bt: false, ..*j },
                None => *j,
            })
            .collect();
        &owned[..]
    } else {
        jobs
    };
    let work: usize = jobs.iter().map(|j| j.m * j.n * j.kk).sum();
    let ptrs: Vec<OutPtr> = outs.into_iter().map(|o| OutPtr(o.as_mut_ptr())).collect();
    let threads = crate::backend::par::threads();
    if work < par_min() || threads < 2 {
        for (j, p) in jobs.iter().zip(&ptrs) {
            // SAFETY: the whole output of job j, checked above.
            unsafe { kernel.block(j, p.0, 0, j.m, 0, j.n) };
        }
        return;
    }
    // Tasks: each job cut into row or column blocks (whole tiles), `threads` tasks in all
    // where the jobs are fewer than the threads; rows when there are enough of them, else
    // columns (an LSTM step: m = batch, n = 4H).
    let (mr, nr) = kernel.tile();
    let per_job = threads.div_ceil(jobs.len()).max(1);
    let mut tasks = vec![];
    for (ji, j) in jobs.iter().enumerate() {
        if j.m == 0 || j.n == 0 {
            continue;
        }
        let row_tiles = j.m.div_ceil(mr);
        let col_tiles = j.n.div_ceil(nr);
        let (rsplit, csplit) = if col_tiles >= per_job && row_tiles < 4 * per_job {
            // few rows (an LSTM step: m = batch): whole columns, so each thread reads only its
            // part of B (the recurrent weights, 1 MiB at H = 256) and, with the team's
            // affinity, the same part every step
            (1, per_job)
        } else if row_tiles >= per_job {
            (per_job, 1)
        } else if col_tiles >= per_job {
            (1, per_job)
        } else {
            (row_tiles, (per_job / row_tiles).clamp(1, col_tiles))
        };
        let rows_per = row_tiles.div_ceil(rsplit) * mr;
        let cols_per = col_tiles.div_ceil(csplit) * nr;
        for r0 in (0..j.m).step_by(rows_per) {
            for c0 in (0..j.n).step_by(cols_per) {
                tasks.push((ji, r0, (r0 + rows_per).min(j.m), c0, (c0 + cols_per).min(j.n)));
            }
        }
    }
    crate::backend::par::run(tasks.len(), &|ti| {
        let (ji, r0, r1, c0, c1) = tasks[ti];
        // SAFETY: every (job, row block, column block) is one task; blocks do not overlap.
        unsafe { kernel.block(&jobs[ji], ptrs[ji].0, r0, r1, c0, c1) };
    });
}

/// t [c, r] = s [r, c]ᵀ in 8 × 8 blocks, in registers with AVX (a row-by-row copy writes a new
/// cache line per element when r is large: the LSTM's 256 × 1024 recurrent weights took longer
/// to transpose than to multiply).
pub(crate) fn transpose(s: &[f32], r: usize, c: usize, t: &mut [f32]) {
    assert!(s.len() >= r * c && t.len() >= r * c, "transpose: slices too short");
    let (r8, c8) = (r / 8 * 8, c / 8 * 8);
    #[cfg(target_arch = "x86_64")]
    let simd = std::arch::is_x86_feature_detected!("avx");
    #[cfg(not(target_arch = "x86_64"))]
    let simd = false;
    for r0 in (0..r8).step_by(8) {
        for c0 in (0..c8).step_by(8) {
            #[cfg(target_arch = "x86_64")]
            if simd {
                // SAFETY: AVX detected; the 8 × 8 block lies inside s and t (asserted above).
                unsafe { transpose8_avx(s.as_ptr().add(r0 * c + c0), c, t.as_mut_ptr().add(c0 * r + r0), r) };
                continue;
            }
            for rr in r0..r0 + 8 {
                for cc in c0..c0 + 8 {
                    t[cc * r + rr] = s[rr * c + cc];
                }
            }
        }
    }
    let _ = simd;
    // the edges: rows past r8 (all columns) and columns past c8 (rows below r8)
    for rr in 0..r {
        let from = if rr < r8 { c8 } else { 0 };
        for cc in from..c {
            t[cc * r + rr] = s[rr * c + cc];
        }
    }
}

/// One 8 × 8 block: rows of `s` (stride ls) to columns of `t` (stride lt).
///
/// # Safety
/// AVX present; 8 rows of 8 floats readable at s and writable at t with those strides.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(crate) unsafe fn transpose8_avx(s: *const f32, ls: usize, t: *mut f32, lt: usize) {
    use std::arch::x86_64::*;
    unsafe {
        let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(s.add(i * ls)));
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let out = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (i, v) in out.into_iter().enumerate() {
            _mm256_storeu_ps(t.add(i * lt), v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// This thread's packed copy of one column panel of B (the SIMD kernels').
    static PANEL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where a SIMD kernel's tiles read B's columns cb.. (`cols` ≤ nr): B itself, or with a
/// `panel` (kk × nr) a packed copy there, rows nr wide — by `plain` from B, or transposed
/// from Bᵀ with `bt`. Returns the panel's start and row stride.
///
/// # Safety
/// AVX present; column cb of B exists (checked by [`Gemm::check`]); `plain` copies `cols`
/// columns of kk rows to rows of nr.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn b_panel(
    j: &Gemm<'_>,
    cb: usize,
    cols: usize,
    panel: Option<&mut [f32]>,
    nr: usize,
    plain: unsafe fn(*const f32, usize, usize, usize, *mut f32),
) -> (*const f32, usize) {
    // SAFETY: per the contract (rows cb.. of Bᵀ, kk long, with bt).
    unsafe {
        let bcol = j.b.as_ptr().add(if j.bt { cb * j.ldb } else { cb });
        match panel {
            Some(panel) => {
                debug_assert!(panel.len() >= j.kk * nr);
                if j.bt {
                    pack_panel_t(bcol, j.ldb, j.kk, cols, panel.as_mut_ptr(), nr)
                } else {
                    plain(bcol, j.ldb, j.kk, cols, panel.as_mut_ptr())
                }
                (panel.as_ptr(), nr)
            }
            None => (bcol, j.ldb),
        }
    }
}

/// Copies `cols` (≤ nr, nr a multiple of 8) rows of Bᵀ (kk long, row stride ldb) to `dst` as
/// kk rows of nr columns (dst[k·nr + c] = bt[c·ldb + k]; the lanes past `cols` zero), 8 × 8
/// blocks transposed in registers: a kernel's packed panel of a transposed B.
///
/// # Safety
/// AVX present; the source rows and kk · nr destination elements exist.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(crate) unsafe fn pack_panel_t(bt: *const f32, ldb: usize, kk: usize, cols: usize, dst: *mut f32, nr: usize) {
    let (k8, c8) = (kk / 8 * 8, cols / 8 * 8);
    // SAFETY: per the contract (every index below is c < cols, k < kk, or a lane < nr).
    unsafe {
        for c0 in (0..c8).step_by(8) {
            for k0 in (0..k8).step_by(8) {
                transpose8_avx(bt.add(c0 * ldb + k0), ldb, dst.add(k0 * nr + c0), nr);
            }
        }
        for k in 0..kk {
            let d = dst.add(k * nr);
            let from = if k < k8 { c8 } else { 0 };
            for c in from..cols {
                *d.add(c) = *bt.add(c * ldb + k);
            }
            for c in cols..nr {
                *d.add(c) = 0.0;
            }
        }
    }
}

/// Which micro-kernel this machine runs.
#[derive(Clone, Copy)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Kernel {
    /// The kernel of [`Isa::get`] (run-time detection, capped by `MECRL_NO_AVX512` /
    /// `MECRL_NO_AVX2`).
    fn detect() -> Self {
        Kernel::of(Isa::get())
    }

    fn of(isa: Isa) -> Self {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Kernel::Avx512,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Kernel::Avx2,
            _ => Kernel::Portable,
        }
    }

    /// Whether the kernel reads a transposed B itself ([`Gemm::bt`]).
    fn reads_bt(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Kernel::Avx2 | Kernel::Avx512 = self {
            return true;
        }
        false
    }

    /// Every kernel this machine can run (the tests compare them).
    #[cfg(test)]
    fn available() -> Vec<Self> {
        Isa::available().into_iter().map(Kernel::of).collect()
    }

    fn tile(self) -> (usize, usize) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => (avx512::MR, avx512::NR),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => (avx2::MR, avx2::NR),
            Kernel::Portable => (portable::MR, portable::NR),
        }
    }

    /// Rows r0..r1 × columns c0..c1 of job `j` into `out`.
    ///
    /// # Safety
    /// `out` points at the job's output, checked by [`Gemm::check`]; no other thread writes
    /// these rows and columns meanwhile.
    unsafe fn block(self, j: &Gemm<'_>, out: *mut f32, r0: usize, r1: usize, c0: usize, c1: usize) {
        debug_assert!(!j.bt || self.reads_bt(), "a transposed B reaches only the kernel that reads it");
        match self {
            // SAFETY: AVX-512F was detected; bounds as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { avx512::block(j, out, r0, r1, c0, c1) },
            // SAFETY: AVX2 and FMA were detected; bounds as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2::block(j, out, r0, r1, c0, c1) },
            Kernel::Portable => unsafe { portable::block(j, out, r0, r1, c0, c1) },
        }
    }
}

/// The finished sum `acc` of (r, c) combined with the old value per the epilogue.
#[inline(always)]
fn finish(epi: Epilogue<'_>, old: f32, acc: f32, c: usize) -> f32 {
    match epi {
        Epilogue::Set(None) => acc,
        Epilogue::Set(Some(bias)) => acc + bias[c],
        Epilogue::Add => old + acc,
    }
}

mod portable {
    use super::{finish, Gemm};

    pub const MR: usize = 4;
    pub const NR: usize = 16;

    /// MR × NR accumulators over k (a separate function: LLVM vectorizes it over the columns
    /// and keeps the tile in registers).
    #[inline(always)]
    fn micro(ap: &[[f32; MR]], bt: &[[f32; NR]]) -> [[f32; NR]; MR] {
        let mut acc = [[0.0f32; NR]; MR];
        for (av, bv) in ap.iter().zip(bt) {
            for r in 0..MR {
                for c in 0..NR {
                    acc[r][c] = av[r].mul_add(bv[c], acc[r][c]);
                }
            }
        }
        acc
    }

    /// # Safety
    /// See [`super::Kernel::block`].
    pub unsafe fn block(j: &Gemm<'_>, out: *mut f32, r0: usize, r1: usize, c0: usize, c1: usize) {
        let a = j.a;
        // A packed once per block: MR rows per k, rows past r1 repeat the last one (computed,
        // not written)
        let blocks = (r1 - r0).div_ceil(MR);
        let mut ap = vec![[0.0f32; MR]; blocks * j.kk];
        for (bi, panel) in ap.chunks_mut(j.kk.max(1)).enumerate().take(blocks) {
            let rb = r0 + bi * MR;
            for (k, row) in panel.iter_mut().enumerate() {
                for (r, v) in row.iter_mut().enumerate() {
                    *v = a.data[(rb + r).min(r1 - 1) * a.rs + k * a.ks];
                }
            }
        }
        let mut bt = vec![[0.0f32; NR]; j.kk];
        for cb in (c0..c1).step_by(NR) {
            let cols = (c1 - cb).min(NR);
            for (k, t) in bt.iter_mut().enumerate() {
                t[..cols].copy_from_slice(&j.b[k * j.ldb + cb..k * j.ldb + cb + cols]);
            }
            for bi in 0..blocks {
                let rb = r0 + bi * MR;
                let rows = (r1 - rb).min(MR);
                let acc = micro(&ap[bi * j.kk..(bi + 1) * j.kk], &bt);
                for (r, row) in acc.iter().enumerate().take(rows) {
                    for (c, &v) in row.iter().enumerate().take(cols) {
                        // SAFETY: (rb + r, cb + c) is inside this task's block of the output.
                        let o = unsafe { &mut *out.add((rb + r) * j.ldc + cb + c) };
                        *o = finish(j.epi, *o, v, cb + c);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Epilogue, Gemm, PANEL};

    pub const MR: usize = 8;
    pub const NR: usize = 32;

    /// # Safety
    /// AVX-512F present; see [`super::Kernel::block`].
    #[target_feature(enable = "avx512f")]
    pub unsafe fn block(j: &Gemm<'_>, out: *mut f32, r0: usize, r1: usize, c0: usize, c1: usize) {
        // As in the AVX2 kernel: with several row tiles per column panel, or B given
        // transposed, the panel (kk × 32) is first copied to a contiguous buffer (strided
        // rows share cache sets; a transposed B is transposed here, 8 × 8 blocks at a time).
        // The copy changes no sum.
        let pack = j.bt || (r1 - r0 > MR && j.kk > 1 && j.ldb > NR);
        let mut panel = PANEL.with(|cell| cell.take());
        if pack && panel.len() < j.kk * NR {
            panel.resize(j.kk * NR, 0.0);
        }
        let mut cb = c0;
        while cb < c1 {
            let cols = (c1 - cb).min(NR);
            // SAFETY: the panel holds kk × NR (resized above).
            let (bp, ldb) = unsafe { super::b_panel(j, cb, cols, pack.then_some(&mut panel[..]), NR, pack_panel) };
            let mut rb = r0;
            while rb < r1 {
                let rows = (r1 - rb).min(MR);
                // SAFETY: forwarded; bp/ldb address the kk × cols panel.
                unsafe {
                    if cols > 16 {
                        tile_rows::<2>(j, bp, ldb, out, rb, rows, cb, cols);
                    } else {
                        tile_rows::<1>(j, bp, ldb, out, rb, rows, cb, cols);
                    }
                }
                rb += MR;
            }
            cb += NR;
        }
        PANEL.with(|cell| cell.replace(panel));
    }

    /// Copies `cols` (≤ NR) columns of kk rows of B (row stride ldb) to `dst` (row stride NR,
    /// the lanes past `cols` zero).
    ///
    /// # Safety
    /// The source rows and kk · NR destination elements exist.
    #[target_feature(enable = "avx512f")]
    unsafe fn pack_panel(b: *const f32, ldb: usize, kk: usize, cols: usize, dst: *mut f32) {
        let (m0, m1) = (mask(cols, 0), mask(cols, 1));
        for k in 0..kk {
            // SAFETY: per the contract (masked lanes only are read).
            unsafe {
                let (s, d) = (b.add(k * ldb), dst.add(k * NR));
                _mm512_storeu_ps(d, _mm512_maskz_loadu_ps(m0, s));
                _mm512_storeu_ps(d.add(16), _mm512_maskz_loadu_ps(m1, s.add(16)));
            }
        }
    }

    /// [`tile`] with the row count as a constant, so the accumulators of every tile shape stay
    /// in registers.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_rows<const V: usize>(
        j: &Gemm<'_>,
        bp: *const f32,
        ldb: usize,
        out: *mut f32,
        rb: usize,
        rows: usize,
        cb: usize,
        cols: usize,
    ) {
        // SAFETY: forwarded.
        unsafe {
            match rows {
                8 => tile::<V, 8>(j, bp, ldb, out, rb, cb, cols),
                7 => tile::<V, 7>(j, bp, ldb, out, rb, cb, cols),
                6 => tile::<V, 6>(j, bp, ldb, out, rb, cb, cols),
                5 => tile::<V, 5>(j, bp, ldb, out, rb, cb, cols),
                4 => tile::<V, 4>(j, bp, ldb, out, rb, cb, cols),
                3 => tile::<V, 3>(j, bp, ldb, out, rb, cb, cols),
                2 => tile::<V, 2>(j, bp, ldb, out, rb, cb, cols),
                _ => tile::<V, 1>(j, bp, ldb, out, rb, cb, cols),
            }
        }
    }

    /// Lane mask of the v-th vector of a `cols`-wide tile.
    #[inline(always)]
    fn mask(cols: usize, v: usize) -> __mmask16 {
        let lanes = cols.saturating_sub(16 * v).min(16);
        ((1u32 << lanes) - 1) as __mmask16
    }

    /// One R × 16·V tile (`cols` ≤ 16·V valid columns); B's panel is `b0` with row stride
    /// `ldb` (B itself or the packed copy).
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const V: usize, const R: usize>(
        j: &Gemm<'_>,
        b0: *const f32,
        ldb: usize,
        out: *mut f32,
        rb: usize,
        cb: usize,
        cols: usize,
    ) {
        let masks: [__mmask16; V] = std::array::from_fn(|v| mask(cols, v));
        let a = j.a;
        let arow: [*const f32; R] = std::array::from_fn(|r| {
            // SAFETY: row rb + r of A exists (checked by Gemm::check).
            unsafe { a.data.as_ptr().add((rb + r) * a.rs) }
        });
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let mut bp = b0;
        for k in 0..j.kk {
            let bv: [__m512; V] = std::array::from_fn(|v| {
                // SAFETY: the masked lanes are the valid columns of row k of B.
                unsafe { _mm512_maskz_loadu_ps(masks[v], bp.add(16 * v)) }
            });
            let ko = k * a.ks;
            for r in 0..R {
                // SAFETY: A(row r, k) is inside A (checked).
                let av = _mm512_set1_ps(unsafe { *arow[r].add(ko) });
                for v in 0..V {
                    acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
                }
            }
            bp = bp.wrapping_add(ldb);
        }
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: row rb + r, columns cb.. (masked) lie in this task's block of the output.
            let op = unsafe { out.add((rb + r) * j.ldc + cb) };
            for v in 0..V {
                let m = masks[v];
                let p = unsafe { op.add(16 * v) };
                let res = match j.epi {
                    Epilogue::Set(None) => row[v],
                    Epilogue::Set(Some(bias)) => {
                        _mm512_add_ps(row[v], unsafe { _mm512_maskz_loadu_ps(m, bias.as_ptr().add(cb + 16 * v)) })
                    }
                    Epilogue::Add => _mm512_add_ps(unsafe { _mm512_maskz_loadu_ps(m, p) }, row[v]),
                };
                unsafe { _mm512_mask_storeu_ps(p, m, res) };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Epilogue, Gemm, PANEL};

    pub const MR: usize = 6;
    pub const NR: usize = 16;

    /// # Safety
    /// AVX2 and FMA present; see [`super::Kernel::block`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn block(j: &Gemm<'_>, out: *mut f32, r0: usize, r1: usize, c0: usize, c1: usize) {
        // With several row tiles per column panel, the panel (kk × 16) is first copied to a
        // contiguous buffer: B's rows are often 4 KiB apart (weights 256 × 1024), and a panel
        // of such rows maps to one L1 set and a few L2 sets, so every row tile reloaded it from
        // L3. The copy changes no sum.
        let pack = j.bt || (r1 - r0 > MR && j.kk > 1 && j.ldb > NR);
        // The buffer leaves the thread-local for the call: a closure would not inherit this
        // function's target features.
        let mut panel = PANEL.with(|cell| cell.take());
        if pack && panel.len() < j.kk * NR {
            panel.resize(j.kk * NR, 0.0);
        }
        let mut cb = c0;
        while cb < c1 {
            let cols = (c1 - cb).min(NR);
            // SAFETY: the panel holds kk × NR (resized above).
            let (bp, ldb) = unsafe { super::b_panel(j, cb, cols, pack.then_some(&mut panel[..]), NR, pack_panel) };
            let mut rb = r0;
            while rb < r1 {
                let rows = (r1 - rb).min(MR);
                // SAFETY: forwarded; bp/ldb address the kk × cols panel.
                // (a packed panel's rows are NR wide: a partial tile loads them whole)
                unsafe {
                    match (cols, pack) {
                        (16, _) => tile_rows::<2, true, true>(j, bp, ldb, out, rb, rows, cb, cols),
                        (8, _) => tile_rows::<1, true, true>(j, bp, ldb, out, rb, rows, cb, cols),
                        (9.., true) => tile_rows::<2, false, true>(j, bp, ldb, out, rb, rows, cb, cols),
                        (9.., false) => tile_rows::<2, false, false>(j, bp, ldb, out, rb, rows, cb, cols),
                        (_, true) => tile_rows::<1, false, true>(j, bp, ldb, out, rb, rows, cb, cols),
                        (_, false) => tile_rows::<1, false, false>(j, bp, ldb, out, rb, rows, cb, cols),
                    }
                }
                rb += MR;
            }
            cb += NR;
        }
        PANEL.with(|cell| cell.replace(panel));
    }

    /// Copies `cols` (≤ NR) columns of kk rows of B (row stride ldb) to `dst` (row stride NR).
    ///
    /// # Safety
    /// The source rows and kk · NR destination elements exist.
    #[target_feature(enable = "avx2")]
    unsafe fn pack_panel(b: *const f32, ldb: usize, kk: usize, cols: usize, dst: *mut f32) {
        let (m0, m1) = (mask(cols, 0), mask(cols, 1));
        for k in 0..kk {
            // SAFETY: per the contract.
            unsafe {
                let (s, d) = (b.add(k * ldb), dst.add(k * NR));
                if cols == NR {
                    _mm256_storeu_ps(d, _mm256_loadu_ps(s));
                    _mm256_storeu_ps(d.add(8), _mm256_loadu_ps(s.add(8)));
                } else {
                    _mm256_storeu_ps(d, _mm256_maskload_ps(s, m0));
                    _mm256_storeu_ps(d.add(8), _mm256_maskload_ps(s.add(8), m1));
                }
            }
        }
    }

    /// [`tile`] with the row count as a constant (accumulators in registers for every shape).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_rows<const V: usize, const FULL: bool, const WIDE: bool>(
        j: &Gemm<'_>,
        bp: *const f32,
        ldb: usize,
        out: *mut f32,
        rb: usize,
        rows: usize,
        cb: usize,
        cols: usize,
    ) {
        // SAFETY: forwarded.
        unsafe {
            match rows {
                6 => tile::<V, 6, FULL, WIDE>(j, bp, ldb, out, rb, cb, cols),
                5 => tile::<V, 5, FULL, WIDE>(j, bp, ldb, out, rb, cb, cols),
                4 => tile::<V, 4, FULL, WIDE>(j, bp, ldb, out, rb, cb, cols),
                3 => tile::<V, 3, FULL, WIDE>(j, bp, ldb, out, rb, cb, cols),
                2 => tile::<V, 2, FULL, WIDE>(j, bp, ldb, out, rb, cb, cols),
                _ => tile::<V, 1, FULL, WIDE>(j, bp, ldb, out, rb, cb, cols),
            }
        }
    }

    /// Lane mask (all bits set in a valid lane) of the v-th vector of a `cols`-wide tile.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn mask(cols: usize, v: usize) -> __m256i {
        let lanes = cols.saturating_sub(8 * v).min(8) as i32;
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }

    /// Loads the valid lanes (all 8 when `FULL`).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn load<const FULL: bool>(p: *const f32, m: __m256i) -> __m256 {
        // SAFETY: the caller's lanes (masked) are inside the slice.
        unsafe {
            if FULL {
                _mm256_loadu_ps(p)
            } else {
                _mm256_maskload_ps(p, m)
            }
        }
    }

    /// One R × 8·V tile (`cols` ≤ 8·V valid columns, all of them when `FULL`); B's panel is
    /// `b0` with row stride `ldb` (B itself, or the packed copy, whose rows can be loaded whole:
    /// `WIDE`; the lanes past `cols` are computed and never stored).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const V: usize, const R: usize, const FULL: bool, const WIDE: bool>(
        j: &Gemm<'_>,
        b0: *const f32,
        ldb: usize,
        out: *mut f32,
        rb: usize,
        cb: usize,
        cols: usize,
    ) {
        let masks: [__m256i; V] = std::array::from_fn(|v| mask(cols, v));
        let a = j.a;
        let arow: [*const f32; R] = std::array::from_fn(|r| {
            // SAFETY: row rb + r of A exists (checked by Gemm::check).
            unsafe { a.data.as_ptr().add((rb + r) * a.rs) }
        });
        let mut acc = [[_mm256_setzero_ps(); V]; R];
        let mut bp = b0;
        for k in 0..j.kk {
            // SAFETY: the (masked) lanes are the valid columns of row k of B.
            let bv: [__m256; V] = std::array::from_fn(|v| unsafe {
                if WIDE {
                    _mm256_loadu_ps(bp.add(8 * v))
                } else {
                    load::<FULL>(bp.add(8 * v), masks[v])
                }
            });
            let ko = k * a.ks;
            for r in 0..R {
                // SAFETY: A(row r, k) is inside A (checked).
                let av = _mm256_broadcast_ss(unsafe { &*arow[r].add(ko) });
                for v in 0..V {
                    acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
                }
            }
            bp = bp.wrapping_add(ldb);
        }
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: row rb + r, columns cb.. (masked) lie in this task's block of the output.
            let op = unsafe { out.add((rb + r) * j.ldc + cb) };
            for v in 0..V {
                let m = masks[v];
                let p = unsafe { op.add(8 * v) };
                let res = match j.epi {
                    Epilogue::Set(None) => row[v],
                    Epilogue::Set(Some(bias)) => {
                        _mm256_add_ps(row[v], unsafe { load::<FULL>(bias.as_ptr().add(cb + 8 * v), m) })
                    }
                    Epilogue::Add => _mm256_add_ps(unsafe { load::<FULL>(p, m) }, row[v]),
                };
                unsafe {
                    if FULL {
                        _mm256_storeu_ps(p, res)
                    } else {
                        _mm256_maskstore_ps(p, m, res)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(g: &Gemm<'_>, out: &mut [f32]) {
        for r in 0..g.m {
            for c in 0..g.n {
                let mut acc = 0.0f32;
                for k in 0..g.kk {
                    acc = g.a.data[r * g.a.rs + k * g.a.ks].mul_add(g.b[k * g.ldb + c], acc);
                }
                let o = &mut out[r * g.ldc + c];
                *o = finish(g.epi, *o, acc, c);
            }
        }
    }

    fn values(n: usize, t: u32) -> Vec<f32> {
        (0..n)
            .map(|j| {
                let w = crate::rng::philox4x32_10([j as u32, t, 0, 0x6e], [5, 6]);
                crate::rng::normal2(w[0], w[1]).0
            })
            .collect()
    }

    /// Every kernel and every split gives the bits of the plain fused sum (row and column
    /// tails, transposed A, both epilogues, one job and several).
    #[test]
    fn every_path_is_bit_identical_to_the_fused_sum() {
        for &(m, n, kk) in &[(1, 1, 1), (7, 13, 5), (9, 33, 17), (64, 80, 30), (300, 100, 60), (20, 1024, 256)] {
            let (a, b, bias) = (values(m * kk, 1), values(kk * n, 2), values(n, 3));
            let at = values(m * kk, 1);
            for (ai, a) in
                [Strided { data: &a, rs: kk, ks: 1 }, Strided { data: &at, rs: 1, ks: m }].into_iter().enumerate()
            {
                for epi in [Epilogue::Set(None), Epilogue::Set(Some(&bias)), Epilogue::Add] {
                    let g = Gemm { m, n, kk, a, b: &b, ldb: n, bt: false, ldc: n, epi };
                    let mut want = values(m * n, 4);
                    reference(&g, &mut want);
                    // B given transposed (row stride kk + 3: padding between its rows)
                    let ldt = kk + 3;
                    let mut bt = vec![f32::NAN; n * ldt];
                    for k in 0..kk {
                        for c in 0..n {
                            bt[c * ldt + k] = b[k * n + c];
                        }
                    }
                    let gt = Gemm { b: &bt[..(n - 1) * ldt + kk], ldb: ldt, bt: true, ..g };
                    for kernel in Kernel::available() {
                        let mut got = values(m * n, 4);
                        unsafe { kernel.block(&g, got.as_mut_ptr(), 0, m, 0, n) };
                        assert_eq!(got, want, "{m}x{n}x{kk} A{ai}");
                        if kernel.reads_bt() {
                            let mut got = values(m * n, 4);
                            unsafe { kernel.block(&gt, got.as_mut_ptr(), 0, m, 0, n) };
                            assert_eq!(got, want, "{m}x{n}x{kk} A{ai} Bt");
                        }
                    }
                    // two jobs through `run` (threaded when large)
                    let (mut o1, mut o2) = (values(m * n, 4), values(m * n, 4));
                    run(&[g, g], vec![&mut o1, &mut o2]);
                    assert_eq!(o1, want, "run {m}x{n}x{kk} A{ai}");
                    assert_eq!(o2, want, "run {m}x{n}x{kk} A{ai}");
                    let (mut o1, mut o2) = (values(m * n, 4), values(m * n, 4));
                    run(&[gt, g], vec![&mut o1, &mut o2]);
                    assert_eq!(o1, want, "run {m}x{n}x{kk} A{ai} Bt");
                    assert_eq!(o2, want, "run {m}x{n}x{kk} A{ai}");
                }
            }
        }
    }

    #[test]
    fn transpose_matches_the_definition_at_every_edge() {
        for &(r, c) in &[(1, 1), (8, 8), (9, 17), (16, 3), (30, 80), (256, 1024)] {
            let s: Vec<f32> = (0..r * c).map(|v| v as f32).collect();
            let mut t = vec![-1.0f32; r * c];
            transpose(&s, r, c, &mut t);
            for rr in 0..r {
                for cc in 0..c {
                    assert_eq!(t[cc * r + rr], s[rr * c + cc], "{r}x{c} at ({rr}, {cc})");
                }
            }
        }
    }
}
