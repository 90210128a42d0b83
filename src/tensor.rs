//! Tensors: an f32 device buffer of a backend with a shape. Cloning shares the buffer.

use std::sync::Arc;

use crate::backend::{download_f32, Backend, Buffer, KernelId};
use crate::error::{Error, Result};
use crate::ops::optim::FillParams;

/// A dense row-major f32 tensor on a backend.
#[derive(Clone)]
pub struct Tensor {
    buf: Arc<Buffer>,
    shape: Vec<usize>,
    be: Arc<dyn Backend>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?} on {})", self.shape, self.be.kind())
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
        Ok(Tensor { buf: Arc::new(be.alloc(n.max(1))?), shape: shape.to_vec(), be: be.clone() })
    }

    /// A tensor holding `data` (row-major; its length must match the shape).
    pub fn from_f32(be: &Arc<dyn Backend>, shape: &[usize], data: &[f32]) -> Result<Self> {
        let n = numel_of(shape)?;
        if data.len() != n {
            return Err(Error::shape("Tensor::from_f32", format!("{n} values for {shape:?}"), data.len()));
        }
        let buf = if n == 0 { be.alloc(1)? } else { be.upload(bytemuck::cast_slice(data))? };
        Ok(Tensor { buf: Arc::new(buf), shape: shape.to_vec(), be: be.clone() })
    }

    /// The values (a download: a host round trip).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        let mut v = download_f32(&*self.be, &self.buf)?;
        v.truncate(self.numel());
        Ok(v)
    }

    /// Overwrite with `data` (an upload).
    pub fn write(&self, data: &[f32]) -> Result<()> {
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
        self.be.launch(KernelId::Fill, bytemuck::bytes_of(&p), n as u32, &[&self.buf])
    }

    /// The same buffer seen with another shape of as many elements.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        if numel_of(shape)? != self.numel() {
            return Err(Error::shape("Tensor::reshape", format!("{:?}", self.shape), format!("{shape:?}")));
        }
        Ok(Tensor { buf: self.buf.clone(), shape: shape.to_vec(), be: self.be.clone() })
    }

    /// A zeroed tensor of the same shape on the same backend.
    pub fn zeros_like(&self) -> Result<Self> {
        Self::zeros(&self.be, &self.shape)
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
