//! Glue between ops, so sequence data never goes through the host. `glue_copy` is a strided
//! block copy. Element (i0, i1, i2, j) of a [D0, D1, D2, n] index
//!   space goes from `src[soff + i0·s0 + i1·s1 + i2·s2 + j]` to
//!   `dst[toff + i0·t0 + i1·t1 + i2·t2 + j]`, written (`accumulate` = 0) or added (1). It takes a
//!   time step out of a sequence, writes a step into a sequence, and cuts the last T rows of a
//!   history into a time-major sequence; its backward is the same copy with the two sides
//!   swapped, accumulating. The destinations of one launch must be distinct (every use in
//!   [`crate::autograd`] is a one-to-one map), so the threads never race.

use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of `glue_copy`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CopyParams {
    /// D0, the outer count.
    pub d0: u32,
    /// D1, the middle count.
    pub d1: u32,
    /// D2, the inner count.
    pub d2: u32,
    /// n, contiguous elements per block.
    pub n: u32,
    /// Source stride of i0.
    pub s0: u32,
    /// Source stride of i1.
    pub s1: u32,
    /// Source stride of i2.
    pub s2: u32,
    /// Source offset.
    pub soff: u32,
    /// Destination stride of i0.
    pub t0: u32,
    /// Destination stride of i1.
    pub t1: u32,
    /// Destination stride of i2.
    pub t2: u32,
    /// Destination offset.
    pub toff: u32,
    /// 1: dst += src; 0: dst = src.
    pub accumulate: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

impl CopyParams {
    /// Elements copied: D0·D1·D2·n.
    pub fn count(&self) -> u64 {
        self.d0 as u64 * self.d1 as u64 * self.d2 as u64 * self.n as u64
    }

    /// The map of a [K, len] block (each group's `len` elements dense) into slot `t` of a
    /// stack [K, steps, len] (the step stacks of sequences and of `SharedLinear`).
    pub fn into_step(k: usize, len: usize, steps: usize, t: usize) -> Self {
        CopyParams {
            d0: k as u32,
            d1: 1,
            d2: 1,
            n: len as u32,
            s0: len as u32,
            t0: (steps * len) as u32,
            toff: (t * len) as u32,
            ..Default::default()
        }
    }

    /// Whether the map writes every element of a destination of `numel` elements (one dense
    /// run of d0 rows of n from offset 0).
    pub fn fills(&self, numel: usize) -> bool {
        self.d1 == 1 && self.d2 == 1 && self.toff == 0 && self.t0 == self.n && self.count() == numel as u64
    }

    /// The same map read backwards: dst → src, accumulating (the backward of a copy).
    pub fn transposed(&self) -> Self {
        CopyParams {
            s0: self.t0,
            s1: self.t1,
            s2: self.t2,
            soff: self.toff,
            t0: self.s0,
            t1: self.s1,
            t2: self.s2,
            toff: self.soff,
            accumulate: 1,
            ..*self
        }
    }

    /// (source words, destination words) read or written: one past the largest index.
    pub fn extents(&self) -> (u64, u64) {
        if self.count() == 0 {
            return (0, 0);
        }
        let last = |off: u32, st: [u32; 3]| {
            off as u64
                + (self.d0 as u64 - 1) * st[0] as u64
                + (self.d1 as u64 - 1) * st[1] as u64
                + (self.d2 as u64 - 1) * st[2] as u64
                + self.n as u64
        };
        (last(self.soff, [self.s0, self.s1, self.s2]), last(self.toff, [self.t0, self.t1, self.t2]))
    }

    /// (source index, destination index) of linear element `e` (row-major over (i0, i1, i2, j)).
    #[inline]
    pub fn index(&self, e: u64) -> (u64, u64) {
        let j = e % self.n as u64;
        let r = e / self.n as u64;
        let i2 = r % self.d2 as u64;
        let r = r / self.d2 as u64;
        let i1 = r % self.d1 as u64;
        let i0 = r / self.d1 as u64;
        let s = self.soff as u64 + i0 * self.s0 as u64 + i1 * self.s1 as u64 + i2 * self.s2 as u64 + j;
        let t = self.toff as u64 + i0 * self.t0 as u64 + i1 * self.t1 as u64 + i2 * self.t2 as u64 + j;
        (s, t)
    }
}

/// The copy (generic over the element; the destinations are distinct).
pub fn copy<T: Copy + std::ops::Add<Output = T>>(p: &CopyParams, src: &[T], dst: &mut [T]) {
    let n = p.n as usize;
    if p.count() == 0 {
        return;
    }
    for i0 in 0..p.d0 as usize {
        for i1 in 0..p.d1 as usize {
            for i2 in 0..p.d2 as usize {
                let s = p.soff as usize + i0 * p.s0 as usize + i1 * p.s1 as usize + i2 * p.s2 as usize;
                let t = p.toff as usize + i0 * p.t0 as usize + i1 * p.t1 as usize + i2 * p.t2 as usize;
                let (sr, tr) = (&src[s..s + n], &mut dst[t..t + n]);
                if p.accumulate != 0 {
                    tr.iter_mut().zip(sr).for_each(|(d, &v)| *d = *d + v);
                } else {
                    tr.copy_from_slice(sr);
                }
            }
        }
    }
}

/// `glue_copy`: bufs src, dst.
pub fn cpu_copy(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CopyParams = decode(params);
    let (s, t) = p.extents();
    need("glue_copy", "src", bufs[0].len(), s as usize)?;
    need("glue_copy", "dst", bufs[1].len(), t as usize)?;
    let [src, dst] = bufs else { unreachable!("the spec has 2 buffers") };
    copy(&p, f32s(src), f32s_mut(dst));
    Ok(())
}

/// Sizes of `glue_copy`.
pub fn sizes_copy(bytes: &[u8]) -> Vec<u64> {
    let (s, t) = decode::<CopyParams>(bytes).extents();
    vec![s, t]
}

crate::kernel_params!(CopyParams {
    d0,
    d1,
    d2,
    n,
    s0,
    s1,
    s2,
    soff,
    t0,
    t1,
    t2,
    toff,
    accumulate,
    _pad0,
    _pad1,
    _pad2
});

crate::kernels! {
    stem "ops" / "glue";
    /// nn glue: strided block copy (write or accumulate).
    GLUE_COPY = glue_copy(CopyParams; src: R F32, dst: W F32)
        cpu cpu_copy, sizes sizes_copy;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_a_window_time_major_by_hand() {
        // history [B = 2, L = 3, F = 2] → its last T = 2 rows as [T, B, F]
        let h: Vec<f64> = (0..12).map(|v| v as f64).collect();
        let p = CopyParams { d0: 1, d1: 2, d2: 2, n: 2, s1: 2, s2: 6, soff: 2, t1: 4, t2: 2, ..Default::default() };
        let mut out = [0.0f64; 8];
        copy(&p, &h, &mut out);
        assert_eq!(out, [2.0, 3.0, 8.0, 9.0, 4.0, 5.0, 10.0, 11.0]);
        assert_eq!(p.extents(), (12, 8));
        // the backward adds every element back where it came from
        let mut dh = [1.0f64; 12];
        copy(&p.transposed(), &out, &mut dh);
        assert_eq!(dh, [1.0, 1.0, 3.0, 4.0, 5.0, 6.0, 1.0, 1.0, 9.0, 10.0, 11.0, 12.0]);
        for e in 0..8 {
            let (s, t) = p.index(e);
            assert_eq!(out[t as usize], h[s as usize]);
        }
    }

    #[test]
    fn stacks_steps_by_hand() {
        // K = 2 groups of 3 elements into step 1 of a [2, 2, 3] stack
        let x: Vec<f64> = (1..=6).map(|v| v as f64).collect();
        let mut out = [0.0f64; 12];
        copy(&CopyParams::into_step(2, 3, 2, 1), &x, &mut out);
        assert_eq!(out, [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 4.0, 5.0, 6.0]);
        // a stack of one step is filled by its copy; of two, by neither alone
        assert!(CopyParams::into_step(2, 3, 1, 0).fills(6));
        assert!(!CopyParams::into_step(2, 3, 2, 0).fills(12));
    }
}
