//! Backends: one trait, three implementations (cpu, wgpu, cuda) plus the CUDA host shim used by
//! the parity tests. A kernel is launched by its [`KernelSpec`] with a `#[repr(C)]` parameter
//! block and a list of 32-bit-word buffers. This is the ground floor: it knows no kernel (each
//! stem declares its own specs, see [`spec`]) and imports nothing of the crate but `error`.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "cuda-host")]
pub mod cuda_host;
pub mod device;
mod host;
pub mod open;
pub mod par;
pub mod source;
pub mod spec;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use device::{download_f32, grid_for, upload_f32, Backend, BackendKind, Buffer, MAX_GROUPS_X, WORKGROUP};
pub use host::POOL_WORDS;
pub use open::{create, probe_all, select, BackendChoice};
pub use spec::{params, Access, BufSpec, CpuFn, Elem, KernelParams, KernelSpec, ParamLayout, SizeFn, Stem};
