//! Shared by the criterion benches: every backend that starts here.

use std::sync::Arc;

use mecrl::backend::{self, Backend, BackendKind};

/// cpu always; wgpu and cuda when they start (benchmark ids are prefixed by the backend).
pub fn backends() -> Vec<Arc<dyn Backend>> {
    [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::Cuda]
        .into_iter()
        .filter_map(|k| match backend::create(k) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("bench: skipping {k}: {e}");
                None
            }
        })
        .collect()
}
