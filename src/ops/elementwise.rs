//! Elementwise linear combination: y = (a·x1) + (b·x2) (sums of losses, residual connections),
//! and its backward dx += a·dy (`scale_acc`); the mean of a tensor, y = (Σ x in order)/n, and its
//! backward dx += dy·(1/n) (`mean_fwd`, `mean_bwd`; params `n`, `a` unused).

use super::{team_chunk, team_parts, TEAM_ELEMS};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of `axpby` / `scale_acc`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AxpbyParams {
    /// Elements.
    pub n: u32,
    /// a.
    pub a: f32,
    /// b (`axpby` only).
    pub b: f32,
    /// Padding.
    pub _pad0: u32,
}

/// `axpby`: bufs x1, x2, y.
pub fn cpu_axpby(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: AxpbyParams = decode(params);
    let n = p.n as usize;
    for (k, name) in ["x1", "x2", "y"].into_iter().enumerate() {
        need("axpby", name, bufs[k].len(), n)?;
    }
    let [x1, x2, y] = bufs else { unreachable!("the spec has 3 buffers") };
    let (x1, x2) = (f32s(x1), f32s(x2));
    let y = &mut f32s_mut(y)[..n];
    let pass = |y: &mut [f32], x1: &[f32], x2: &[f32]| {
        y.iter_mut().zip(x1).zip(x2).for_each(|((y, &a), &b)| *y = p.a * a + p.b * b)
    };
    let (x1, x2) = (&x1[..n], &x2[..n]);
    if n >= TEAM_ELEMS {
        let c = team_chunk(n);
        let parts: Vec<_> = y.chunks_mut(c).zip(x1.chunks(c)).zip(x2.chunks(c)).collect();
        team_parts(parts, &|((y, a), b): ((&mut [f32], &[f32]), &[f32])| pass(y, a, b));
    } else {
        pass(y, x1, x2);
    }
    Ok(())
}

/// `scale_acc`: bufs dy, dx.
pub fn cpu_scale_acc(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: AxpbyParams = decode(params);
    let n = p.n as usize;
    need("scale_acc", "dy", bufs[0].len(), n)?;
    need("scale_acc", "dx", bufs[1].len(), n)?;
    let [dy, dx] = bufs else { unreachable!("the spec has 2 buffers") };
    let dy = f32s(dy);
    let dx = &mut f32s_mut(dx)[..n];
    let pass = |dx: &mut [f32], dy: &[f32]| dx.iter_mut().zip(dy).for_each(|(x, &d)| *x += p.a * d);
    let dy = &dy[..n];
    if n >= TEAM_ELEMS {
        let c = team_chunk(n);
        team_parts(dx.chunks_mut(c).zip(dy.chunks(c)).collect(), &|(dx, dy): (&mut [f32], &[f32])| pass(dx, dy));
    } else {
        pass(dx, dy);
    }
    Ok(())
}

/// `mean_fwd`: bufs x, y \[1\].
pub fn cpu_mean_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: AxpbyParams = decode(params);
    let n = p.n as usize;
    need("mean_fwd", "x", bufs[0].len(), n)?;
    need("mean_fwd", "y", bufs[1].len(), 1)?;
    let [x, y] = bufs else { unreachable!("the spec has 2 buffers") };
    let mut s = 0.0f32;
    for &v in &f32s(x)[..n] {
        s += v;
    }
    f32s_mut(y)[0] = s / n as f32;
    Ok(())
}

/// `mean_bwd`: bufs dy \[1\], dx.
pub fn cpu_mean_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: AxpbyParams = decode(params);
    let n = p.n as usize;
    need("mean_bwd", "dy", bufs[0].len(), 1)?;
    need("mean_bwd", "dx", bufs[1].len(), n)?;
    let [dy, dx] = bufs else { unreachable!("the spec has 2 buffers") };
    let g = f32s(dy)[0] * (1.0 / n as f32);
    f32s_mut(dx)[..n].iter_mut().for_each(|x| *x += g);
    Ok(())
}

/// Sizes of `mean_fwd`.
pub fn sizes_mean_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: AxpbyParams = decode(bytes);
    vec![p.n as u64, 1]
}

/// Sizes of `mean_bwd`.
pub fn sizes_mean_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: AxpbyParams = decode(bytes);
    vec![1, p.n as u64]
}

/// Sizes of `axpby`.
pub fn sizes_axpby(bytes: &[u8]) -> Vec<u64> {
    let p: AxpbyParams = decode(bytes);
    vec![p.n as u64; 3]
}

/// Sizes of `scale_acc`.
pub fn sizes_scale_acc(bytes: &[u8]) -> Vec<u64> {
    let p: AxpbyParams = decode(bytes);
    vec![p.n as u64; 2]
}

crate::kernel_params!(AxpbyParams { n, a, b, _pad0 });

crate::kernels! {
    stem "ops" / "elementwise";
    /// nn: y = a·x1 + b·x2.
    AXPBY = axpby(AxpbyParams; x1: R F32, x2: R F32, y: W F32)
        cpu cpu_axpby, sizes sizes_axpby;
    /// nn: dx += a·dy.
    SCALE_ACC = scale_acc(AxpbyParams; dy: R F32, dx: W F32)
        cpu cpu_scale_acc, sizes sizes_scale_acc;
    /// nn: mean of a tensor.
    MEAN_FWD = mean_fwd(AxpbyParams; x: R F32, y: W F32)
        cpu cpu_mean_fwd, sizes sizes_mean_fwd;
    /// nn: mean backward.
    MEAN_BWD = mean_bwd(AxpbyParams; dy: R F32, dx: W F32)
        cpu cpu_mean_bwd, sizes sizes_mean_bwd;
}
