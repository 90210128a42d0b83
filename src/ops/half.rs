//! 16-bit storage: f16 (IEEE binary16) or bf16 values packed two per 32-bit word (element i in
//! word i/2, the low half for even i), converted from and to f32 on the device; computation
//! stays f32. For large buffers such as replay memories and observation batches
//! ([`HalfTensor`]).
//!
//! f32 → 16 bits rounds to nearest, ties to even, with integer operations only (the same bits
//! on every backend): overflow gives ±∞, tiny values f16 subnormals or ±0, NaN a quiet NaN
//! (f16 sign|0x7E00; bf16 the truncated bits with the quiet bit set). 16 bits → f32 is exact.

use std::sync::Arc;

use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::backend::{Backend, Buffer};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// Which 16-bit format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum HalfFormat {
    /// IEEE binary16.
    F16 = 0,
    /// bfloat16 (the top half of an f32).
    Bf16 = 1,
}

/// Parameters of `half_pack` / `half_unpack`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct HalfParams {
    /// Elements (not words).
    pub n: u32,
    /// [`HalfFormat`] as u32.
    pub format: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

/// f32 → f16 bits, round to nearest even.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let a = b & 0x7fff_ffff;
    if a > 0x7f80_0000 {
        return sign | 0x7e00;
    }
    let e = (a >> 23) as i32 - 127 + 15;
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = (a & 0x7f_ffff) | 0x80_0000;
        let shift = (14 - e) as u32;
        let mut r = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let half = 1 << (shift - 1);
        if rem > half || (rem == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let m = a & 0x7f_ffff;
    let mut r = ((e as u32) << 10) | (m >> 13);
    let rem = m & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        r += 1;
    }
    sign | r as u16
}

/// f16 bits → f32 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let e = (h >> 10) & 0x1f;
    let m = h & 0x3ff;
    if e == 0 {
        // zero or subnormal: m · 2^−24, exact in f32
        return f32::from_bits(sign | (m as f32 * 5.960_464_5e-8).to_bits());
    }
    if e == 31 {
        return f32::from_bits(sign | 0x7f80_0000 | (m << 13));
    }
    f32::from_bits(sign | ((e + 112) << 23) | (m << 13))
}

/// f32 → bf16 bits, round to nearest even.
pub fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if (b & 0x7fff_ffff) > 0x7f80_0000 {
        return ((b >> 16) | 0x0040) as u16;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// bf16 bits → f32 (exact).
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

fn to_bits(format: u32, x: f32) -> u16 {
    if format == 0 {
        f32_to_f16(x)
    } else {
        f32_to_bf16(x)
    }
}

fn from_bits(format: u32, h: u16) -> f32 {
    if format == 0 {
        f16_to_f32(h)
    } else {
        bf16_to_f32(h)
    }
}

/// `half_pack`: bufs x \[n\] f32, h [⌈n/2⌉] u32.
pub fn cpu_pack(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: HalfParams = decode(params);
    let n = p.n as usize;
    need("half_pack", "x", bufs[0].len(), n)?;
    need("half_pack", "h", bufs[1].len(), n.div_ceil(2))?;
    let [x, h] = bufs else { unreachable!("the spec has 2 buffers") };
    let x = f32s(x);
    for (w, out) in h[..n.div_ceil(2)].iter_mut().enumerate() {
        let lo = to_bits(p.format, x[2 * w]) as u32;
        let hi = if 2 * w + 1 < n { to_bits(p.format, x[2 * w + 1]) as u32 } else { 0 };
        *out = lo | (hi << 16);
    }
    Ok(())
}

/// `half_unpack`: bufs h, x.
pub fn cpu_unpack(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: HalfParams = decode(params);
    let n = p.n as usize;
    need("half_unpack", "h", bufs[0].len(), n.div_ceil(2))?;
    need("half_unpack", "x", bufs[1].len(), n)?;
    let [h, x] = bufs else { unreachable!("the spec has 2 buffers") };
    for (i, x) in f32s_mut(x)[..n].iter_mut().enumerate() {
        *x = from_bits(p.format, (h[i / 2] >> (16 * (i % 2))) as u16);
    }
    Ok(())
}

/// Sizes of `half_pack`.
pub fn sizes_pack(bytes: &[u8]) -> Vec<u64> {
    let p: HalfParams = decode(bytes);
    vec![p.n as u64, (p.n as u64).div_ceil(2)]
}

/// Sizes of `half_unpack`.
pub fn sizes_unpack(bytes: &[u8]) -> Vec<u64> {
    let p: HalfParams = decode(bytes);
    vec![(p.n as u64).div_ceil(2), p.n as u64]
}

/// A tensor stored in 16 bits (half the memory of f32), converted on the device.
#[derive(Clone)]
pub struct HalfTensor {
    buf: Arc<Buffer>,
    shape: Vec<usize>,
    format: HalfFormat,
    be: Arc<dyn Backend>,
}

impl HalfTensor {
    /// Zeros.
    pub fn zeros(be: &Arc<dyn Backend>, shape: &[usize], format: HalfFormat) -> Result<Self> {
        let n: usize = shape.iter().product();
        Ok(HalfTensor { buf: Arc::new(be.alloc(n.div_ceil(2).max(1))?), shape: shape.to_vec(), format, be: be.clone() })
    }

    /// Store an f32 tensor (rounded to nearest even) on its device.
    pub fn from_tensor(t: &Tensor, format: HalfFormat) -> Result<Self> {
        t.expect(DType::F32, "HalfTensor::from_tensor")?;
        let h = Self::zeros(t.backend(), t.shape(), format)?;
        h.store(t)?;
        Ok(h)
    }

    /// Overwrite with the values of `t` (same number of elements).
    pub fn store(&self, t: &Tensor) -> Result<()> {
        let n = self.numel();
        if t.numel() != n {
            return Err(Error::shape("HalfTensor::store", n, t.numel()));
        }
        if n == 0 {
            return Ok(());
        }
        let p = HalfParams { n: n as u32, format: self.format as u32, ..Default::default() };
        self.be.launch(&HALF_PACK, bytemuck::bytes_of(&p), n.div_ceil(2) as u32, &[t.buffer(), &self.buf])
    }

    /// The values as an f32 tensor on the device.
    pub fn to_tensor(&self) -> Result<Tensor> {
        let t = Tensor::zeros(&self.be, &self.shape)?;
        let n = self.numel();
        if n > 0 {
            let p = HalfParams { n: n as u32, format: self.format as u32, ..Default::default() };
            self.be.launch(&HALF_UNPACK, bytemuck::bytes_of(&p), n as u32, &[&self.buf, t.buffer()])?;
        }
        Ok(t)
    }

    /// Elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Bytes of device storage.
    pub fn bytes(&self) -> usize {
        4 * self.buf.words()
    }
}

crate::kernel_params!(HalfParams { n, format, _pad0, _pad1 });

crate::kernels! {
    stem "ops" / "half";
    /// f32 → packed f16/bf16 storage.
    HALF_PACK = half_pack(HalfParams; x: R F32, h: W U32)
        cpu cpu_pack, sizes sizes_pack;
    /// packed f16/bf16 → f32.
    HALF_UNPACK = half_unpack(HalfParams; h: R U32, x: W F32)
        cpu cpu_unpack, sizes sizes_unpack;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_by_hand() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00, "rounds to infinity");
        assert_eq!(f32_to_f16(5.960_464_5e-8), 0x0001, "smallest subnormal");
        assert_eq!(f32_to_f16(2.9e-8), 0x0000, "below half of it");
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: to even (1)
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80, "tie to even");
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82, "tie to even");
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan() && bf16_to_f32(f32_to_bf16(f32::NAN)).is_nan());
    }
}
