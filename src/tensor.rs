//! Tensors: a device buffer of a backend with a shape and an element type (f32 values, or u32
//! indices such as sampled actions and labels). Cloning shares the buffer.

use std::sync::Arc;

use crate::backend::{download_f32, Backend, Buffer};
use crate::error::{Error, Result};
use crate::ops::optim::FillParams;
use crate::ops::optim::FILL;

/// Element type of a [`Tensor`] (storage is 32-bit words either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// f32 values.
    F32,
    /// u32 indices.
    U32,
}

/// A dense row-major tensor on a backend.
#[derive(Clone)]
pub struct Tensor {
    buf: Arc<Buffer>,
    shape: Vec<usize>,
    dtype: DType,
    be: Arc<dyn Backend>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?} {:?} on {})", self.shape, self.dtype, self.be.kind())
    }
}

fn numel_of(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= u32::MAX as usize / 2)
        .ok_or_else(|| Error::shape("tensor", "fewer than 2^31 elements", format!("{shape:?}")))
}

impl Tensor {
    /// Zeros.
    pub fn zeros(be: &Arc<dyn Backend>, shape: &[usize]) -> Result<Self> {
        let n = numel_of(shape)?;
        Ok(Tensor { buf: Arc::new(be.alloc(n.max(1))?), shape: shape.to_vec(), dtype: DType::F32, be: be.clone() })
    }

    /// An f32 tensor for an op's output that its forward kernel writes entirely: the contents
    /// before that launch are unspecified ([`Backend::alloc_uninit`]).
    pub fn output(be: &Arc<dyn Backend>, shape: &[usize]) -> Result<Self> {
        let n = numel_of(shape)?;
        Ok(Tensor {
            buf: Arc::new(be.alloc_uninit(n.max(1))?),
            shape: shape.to_vec(),
            dtype: DType::F32,
            be: be.clone(),
        })
    }

    /// u32 zeros.
    pub fn zeros_u32(be: &Arc<dyn Backend>, shape: &[usize]) -> Result<Self> {
        Ok(Tensor { dtype: DType::U32, ..Self::zeros(be, shape)? })
    }

    /// A u32 tensor holding `data`.
    pub fn from_u32(be: &Arc<dyn Backend>, shape: &[usize], data: &[u32]) -> Result<Self> {
        let n = numel_of(shape)?;
        if data.len() != n {
            return Err(Error::shape("Tensor::from_u32", format!("{n} values for {shape:?}"), data.len()));
        }
        let buf = if n == 0 { be.alloc(1)? } else { be.upload(data)? };
        Ok(Tensor { buf: Arc::new(buf), shape: shape.to_vec(), dtype: DType::U32, be: be.clone() })
    }

    /// The u32 values (a download).
    pub fn to_u32(&self) -> Result<Vec<u32>> {
        self.expect(DType::U32, "Tensor::to_u32")?;
        let mut v = self.be.download(&self.buf)?;
        v.truncate(self.numel());
        Ok(v)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// A typed error unless the element type is `want`.
    pub fn expect(&self, want: DType, op: &str) -> Result<()> {
        if self.dtype != want {
            return Err(Error::shape(op, format!("{want:?} elements"), format!("{:?}", self.dtype)));
        }
        Ok(())
    }

    /// A tensor holding `data` (row-major; its length must match the shape).
    pub fn from_f32(be: &Arc<dyn Backend>, shape: &[usize], data: &[f32]) -> Result<Self> {
        let n = numel_of(shape)?;
        if data.len() != n {
            return Err(Error::shape("Tensor::from_f32", format!("{n} values for {shape:?}"), data.len()));
        }
        let buf = if n == 0 { be.alloc(1)? } else { be.upload(bytemuck::cast_slice(data))? };
        Ok(Tensor { buf: Arc::new(buf), shape: shape.to_vec(), dtype: DType::F32, be: be.clone() })
    }

    /// The f32 values (a download: a host round trip).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        self.expect(DType::F32, "Tensor::to_vec")?;
        let mut v = download_f32(&*self.be, &self.buf)?;
        v.truncate(self.numel());
        Ok(v)
    }

    /// Overwrite with `data` (an upload).
    pub fn write(&self, data: &[f32]) -> Result<()> {
        self.expect(DType::F32, "Tensor::write")?;
        if data.len() != self.numel() {
            return Err(Error::shape("Tensor::write", self.numel(), data.len()));
        }
        self.be.write(&self.buf, bytemuck::cast_slice(data))
    }

    /// Every element set to `v` on the device.
    pub fn fill(&self, v: f32) -> Result<()> {
        let n = self.numel();
        if n == 0 {
            return Ok(());
        }
        let p = FillParams { n: n as u32, value: v.to_bits(), ..Default::default() };
        self.be.launch(&FILL, bytemuck::bytes_of(&p), n as u32, &[&self.buf])
    }

    /// The same buffer seen with another shape of as many elements.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        if numel_of(shape)? != self.numel() {
            return Err(Error::shape("Tensor::reshape", format!("{:?}", self.shape), format!("{shape:?}")));
        }
        Ok(Tensor { buf: self.buf.clone(), shape: shape.to_vec(), dtype: self.dtype, be: self.be.clone() })
    }

    /// A zeroed tensor of the same shape and type on the same backend.
    pub fn zeros_like(&self) -> Result<Self> {
        Ok(Tensor { dtype: self.dtype, ..Self::zeros(&self.be, &self.shape)? })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The device buffer.
    pub fn buffer(&self) -> &Buffer {
        &self.buf
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.be
    }

    /// Whether two tensors share storage.
    pub fn same_storage(&self, o: &Tensor) -> bool {
        Arc::ptr_eq(&self.buf, &o.buf)
    }
}
