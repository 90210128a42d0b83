//! Gather and scatter-add by index along the last dimension: y\[r\] = x[r, idx\[r\]] and its
//! transpose x[r, idx\[r\]] += y\[r\] (each other's backward: picking the log-probability or the
//! Q-value of the taken action). An index ≥ C gives NaN (gather) or is skipped (scatter): the
//! host API refuses such input earlier; device-made indices are flagged, never out of bounds.

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of `gather` / `scatter_add`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct IndexParams {
    /// Rows R.
    pub rows: u32,
    /// Columns C.
    pub cols: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

/// y\[r\] = x[r, idx\[r\]].
pub fn gather(p: &IndexParams, x: &[f32], idx: &[u32], y: &mut [f32]) {
    let c = p.cols as usize;
    for (r, y) in y.iter_mut().enumerate().take(p.rows as usize) {
        let j = idx[r] as usize;
        *y = if j < c { x[r * c + j] } else { f32::NAN };
    }
}

/// x[r, idx\[r\]] += y\[r\].
pub fn scatter_add(p: &IndexParams, y: &[f32], idx: &[u32], x: &mut [f32]) {
    let c = p.cols as usize;
    for (r, &v) in y.iter().enumerate().take(p.rows as usize) {
        let j = idx[r] as usize;
        if j < c {
            x[r * c + j] += v;
        }
    }
}

/// `gather`: bufs x, idx, y.
pub fn cpu_gather(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: IndexParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("gather", bufs, &[("x", r * c), ("idx", r), ("y", r)])?;
    let [x, idx, y] = bufs else { unreachable!("the spec has 3 buffers") };
    gather(&p, f32s(x), idx, f32s_mut(y));
    Ok(())
}

/// `scatter_add`: bufs y, idx, x.
pub fn cpu_scatter_add(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: IndexParams = decode(params);
    let (r, c) = (p.rows as usize, p.cols as usize);
    need_all("scatter_add", bufs, &[("y", r), ("idx", r), ("x", r * c)])?;
    let [y, idx, x] = bufs else { unreachable!("the spec has 3 buffers") };
    scatter_add(&p, f32s(y), idx, f32s_mut(x));
    Ok(())
}

/// Sizes of `gather`.
pub fn sizes_gather(bytes: &[u8]) -> Vec<u64> {
    let p: IndexParams = decode(bytes);
    vec![p.rows as u64 * p.cols as u64, p.rows as u64, p.rows as u64]
}

/// Sizes of `scatter_add`.
pub fn sizes_scatter(bytes: &[u8]) -> Vec<u64> {
    let p: IndexParams = decode(bytes);
    vec![p.rows as u64, p.rows as u64, p.rows as u64 * p.cols as u64]
}

crate::kernel_params!(IndexParams { rows, cols, _pad0, _pad1 });

crate::kernels! {
    stem "ops" / "index";
    /// nn: y\[r\] = x\[r, idx\[r\]\].
    GATHER = gather(IndexParams; x: R F32, idx: R U32, y: W F32)
        cpu cpu_gather, sizes sizes_gather;
    /// nn: x\[r, idx\[r\]\] += y\[r\].
    SCATTER_ADD = scatter_add(IndexParams; y: R F32, idx: R U32, x: W F32)
        cpu cpu_scatter_add, sizes sizes_scatter;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let p = IndexParams { rows: 2, cols: 3, ..Default::default() };
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut y = [0.0; 2];
        gather(&p, &x, &[2, 0], &mut y);
        assert_eq!(y, [3.0, 4.0]);
        gather(&p, &x, &[3, 1], &mut y);
        assert!(y[0].is_nan() && y[1] == 5.0);
        let mut dx = [0.0; 6];
        scatter_add(&p, &[1.5, -1.0], &[2, 0], &mut dx);
        scatter_add(&p, &[1.0, 9.0], &[2, 7], &mut dx);
        assert_eq!(dx, [0.0, 0.0, 2.5, -1.0, 0.0, 0.0]);
    }
}
