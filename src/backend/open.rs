//! Starting a backend: by kind, or `auto` (the best that answers here).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::cpu;
#[cfg(feature = "cuda")]
use super::cuda;
#[cfg(feature = "cuda-host")]
use super::cuda_host;
use super::device::{Backend, BackendKind};
use crate::error::{Error, Result};

/// A backend choice on the command line or in a config: a kind or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// cuda if a device answers, else a hardware wgpu adapter, else cpu.
    Auto,
    /// Exactly this backend.
    Kind(BackendKind),
}

impl FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => BackendChoice::Auto,
            "cpu" => BackendChoice::Kind(BackendKind::Cpu),
            "wgpu" => BackendChoice::Kind(BackendKind::Wgpu),
            "cuda" => BackendChoice::Kind(BackendKind::Cuda),
            "cuda-host" => BackendChoice::Kind(BackendKind::CudaHost),
            other => return Err(Error::config("backend", other, "expected one of auto, cpu, wgpu, cuda, cuda-host")),
        })
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendChoice::Auto => f.write_str("auto"),
            BackendChoice::Kind(k) => k.fmt(f),
        }
    }
}

/// Start a backend of the given kind.
pub fn create(kind: BackendKind) -> Result<Arc<dyn Backend>> {
    match kind {
        BackendKind::Cpu => Ok(Arc::new(cpu::CpuBackend::new())),
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            {
                Ok(Arc::new(super::wgpu::WgpuBackend::new(false)?))
            }
            #[cfg(not(feature = "wgpu"))]
            {
                Err(Error::NotCompiled { backend: "wgpu".into(), feature: "wgpu".into() })
            }
        }
        BackendKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                Ok(Arc::new(cuda::CudaBackend::new(0)?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(Error::NotCompiled { backend: "cuda".into(), feature: "cuda".into() })
            }
        }
        BackendKind::CudaHost => {
            #[cfg(feature = "cuda-host")]
            {
                Ok(Arc::new(cuda_host::CudaHostBackend::new()?))
            }
            #[cfg(not(feature = "cuda-host"))]
            {
                Err(Error::NotCompiled { backend: "cuda-host".into(), feature: "cuda-host".into() })
            }
        }
    }
}

/// Resolve a choice: `auto` tries cuda, then a hardware (non-CPU) wgpu adapter, then cpu.
/// Returns the backend and, for `auto`, the reasons the better ones were skipped.
pub fn select(choice: BackendChoice) -> Result<(Arc<dyn Backend>, Vec<String>)> {
    match choice {
        BackendChoice::Kind(k) => Ok((create(k)?, vec![])),
        BackendChoice::Auto => {
            let mut skipped = vec![];
            match create(BackendKind::Cuda) {
                Ok(b) => return Ok((b, skipped)),
                Err(e) => skipped.push(e.to_string()),
            }
            #[cfg(feature = "wgpu")]
            match super::wgpu::WgpuBackend::new(true) {
                Ok(b) => return Ok((Arc::new(b), skipped)),
                Err(e) => skipped.push(e.to_string()),
            }
            Ok((create(BackendKind::Cpu)?, skipped))
        }
    }
}

/// One line per backend: whether it starts here, and why not.
pub fn probe_all() -> Vec<(BackendKind, std::result::Result<String, String>)> {
    [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::Cuda, BackendKind::CudaHost]
        .into_iter()
        .map(|k| (k, create(k).map(|b| b.describe()).map_err(|e| e.to_string())))
        .collect()
}
