//! The wgpu backend: WGSL compute shaders (`shaders/`) through wgpu on Vulkan (and, where wgpu
//! is built with them, Metal/DX12). Lavapipe (Mesa's software Vulkan) runs it without a GPU.
//!
//! - One compute pipeline per [`KernelSpec`], built on first use from
//!   [`source::wgsl_module`] with a bind group layout derived from
//!   the spec (binding 0: the parameter block as a uniform, bindings 1..: the buffers in
//!   the spec's order), and cached. Shader and pipeline creation run inside a validation error
//!   scope, so a WGSL error comes back as [`Error::KernelCompile`].
//! - Buffers are `STORAGE | COPY_SRC | COPY_DST`, zero-initialized, at least 4 bytes.
//! - A launch dispatches [`grid_for`]`(threads)` workgroups of
//!   [`WORKGROUP`](super::WORKGROUP); every entry point bounds-checks its own thread count.
//! - Downloads copy into a staging buffer, map it and wait; each one is counted.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use super::device::{check_launch, grid_for, Backend, BackendKind, Buffer, BufferInner};
use super::source;
use super::spec::{Access, KernelSpec};
use crate::error::{Error, Result};

const NAME: &str = "wgpu";

/// A compiled kernel: its pipeline and the bind group layout it was built with.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// WGSL through wgpu.
pub struct WgpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    kernels: Mutex<HashMap<&'static str, Arc<Kernel>>>,
    /// The first validation/internal error that no error scope captured (reported by `sync`).
    uncaptured: Arc<Mutex<Option<String>>>,
    downloads: AtomicU64,
}

/// Rank of a device type: lower is preferred.
fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// An error with its chain of sources, one per line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push('\n');
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Mesa's implicit Vulkan layer `VK_LAYER_MESA_device_select` (installed with lavapipe) asks
/// Wayland for the default GPU and, without a usable `XDG_RUNTIME_DIR`, libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set" twice per instance — harmless (there is no
/// display to pick a GPU for) but it reads as a failure. Without a runtime directory, and unless
/// the user chose a device through the layer (`MESA_VK_DEVICE_SELECT`) or set the switch
/// themselves, turn the layer off through its documented switch `NODEVICE_SELECT=1`. Done once,
/// before the first instance.
fn quiet_device_select_layer() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let runtime_dir_ok = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
        let chosen = ["MESA_VK_DEVICE_SELECT", "NODEVICE_SELECT"].iter().any(|k| std::env::var_os(k).is_some());
        if !runtime_dir_ok && !chosen {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    });
}

impl WgpuBackend {
    /// Start on the best adapter (discrete > integrated > virtual > other > CPU). With
    /// `require_hardware`, a CPU adapter (llvmpipe/lavapipe, WARP) is refused with
    /// [`Error::NoDevice`] naming it; `--backend auto` uses that to fall back to the cpu backend.
    pub fn new(require_hardware: bool) -> Result<Self> {
        if wgpu::Instance::enabled_backend_features().is_empty() {
            return Err(Error::no_device(NAME, "this build of wgpu has no backend for this platform"));
        }
        quiet_device_select_layer();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        if adapters.is_empty() {
            return Err(Error::no_device(
                NAME,
                "no Vulkan adapter found (install a GPU driver, or mesa-vulkan-drivers for lavapipe)",
            ));
        }
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = adapters.swap_remove(0);
        let info = adapter.get_info();
        if require_hardware && info.device_type == wgpu::DeviceType::Cpu {
            return Err(Error::no_device(
                NAME,
                format!("only a CPU (software) adapter is available: {} ({:?})", info.name, info.backend),
            ));
        }
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("mecrl"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::no_device(NAME, format!("{}: request_device failed: {e}", info.name)))?;
        let uncaptured: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let slot = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
            if g.is_none() {
                *g = Some(error_chain(&e));
            }
        }));
        Ok(WgpuBackend {
            device,
            queue,
            info,
            limits,
            kernels: Mutex::new(HashMap::new()),
            uncaptured,
            downloads: AtomicU64::new(0),
        })
    }

    /// The adapter's information.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The limits the device was created with (the adapter's).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Compile (or fetch from the cache) the pipeline of `spec`.
    fn kernel(&self, spec: &'static KernelSpec) -> Result<Arc<Kernel>> {
        let mut cache = self.kernels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(spec.entry) {
            return Ok(k.clone());
        }
        let code = source::wgsl_module(spec.stem, spec.entry).ok_or_else(|| Error::KernelCompile {
            backend: NAME.into(),
            kernel: spec.entry.into(),
            log: format!("no `//!entry {}` section in shaders/{}", spec.entry, spec.stem.wgsl_path()),
        })?;
        let k = Arc::new(self.build(spec, code)?);
        cache.insert(spec.entry, k.clone());
        Ok(k)
    }

    /// Compile `code` as the complete WGSL module of kernel `spec` (for example an edited
    /// shader) without caching it: a WGSL parse or validation error comes back as
    /// [`Error::KernelCompile`] naming the kernel, with the compiler's message as the log.
    pub fn compile_check(&self, spec: &KernelSpec, code: &str) -> Result<()> {
        self.build(spec, code.to_string()).map(|_| ())
    }

    /// Shader module, bind group layout and pipeline of `spec` from WGSL `code`, inside a
    /// validation error scope.
    fn build(&self, spec: &KernelSpec, code: String) -> Result<Kernel> {
        let compile_err = |log: String| Error::KernelCompile { backend: NAME.into(), kernel: spec.entry.into(), log };
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: NonZeroU64::new(spec.params.size as u64),
            },
            count: None,
        }];
        for (k, b) in spec.bufs.iter().enumerate() {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: k as u32 + 1,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: b.access == Access::Read },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(spec.entry),
            source: wgpu::ShaderSource::Wgsl(code.into()),
        });
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(spec.entry), entries: &entries });
        let pipeline_layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(spec.entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(spec.entry),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(spec.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(compile_err(error_chain(&e)));
        }
        Ok(Kernel { pipeline, layout })
    }

    fn raw<'a>(&self, buf: &'a Buffer) -> Result<&'a wgpu::Buffer> {
        match &buf.inner {
            BufferInner::Wgpu(b) => Ok(b),
            #[allow(unreachable_patterns)]
            _ => Err(Error::device(NAME, "buffer belongs to another backend")),
        }
    }

    fn new_buffer(&self, words: usize) -> Result<wgpu::Buffer> {
        let bytes = (words.max(1) as u64)
            .checked_mul(4)
            .ok_or_else(|| Error::shape("wgpu alloc", "a size that fits u64", words))?;
        let max = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
        if bytes > max {
            return Err(Error::shape(
                "wgpu alloc (max_storage_buffer_binding_size of the adapter)",
                format!("<= {} words ({max} bytes)", max / 4),
                format!("{words} words"),
            ));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = v.or(o) {
            return Err(Error::device(NAME, format!("allocating {bytes} bytes: {}", error_chain(&e))));
        }
        Ok(buf)
    }

    fn take_uncaptured(&self) -> Result<()> {
        let mut g = self.uncaptured.lock().unwrap_or_else(|p| p.into_inner());
        match g.take() {
            Some(e) => Err(Error::device(NAME, e)),
            None => Ok(()),
        }
    }

    fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::device(NAME, format!("waiting for the device: {e}")))?;
        Ok(())
    }
}

impl Backend for WgpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Wgpu
    }

    fn describe(&self) -> String {
        format!("wgpu: {} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }

    fn alloc(&self, words: usize) -> Result<Buffer> {
        // wgpu zero-initializes new buffers.
        Ok(Buffer::new(words, BufferInner::Wgpu(self.new_buffer(words)?)))
    }

    fn upload(&self, data: &[u32]) -> Result<Buffer> {
        let buf = self.new_buffer(data.len())?;
        if !data.is_empty() {
            self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
        }
        Ok(Buffer::new(data.len(), BufferInner::Wgpu(buf)))
    }

    fn write(&self, buf: &Buffer, data: &[u32]) -> Result<()> {
        if data.len() > buf.words() {
            return Err(Error::shape("wgpu write", format!("<= {} words", buf.words()), data.len()));
        }
        let raw = self.raw(buf)?;
        if !data.is_empty() {
            self.queue.write_buffer(raw, 0, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    fn download(&self, buf: &Buffer) -> Result<Vec<u32>> {
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let raw = self.raw(buf)?;
        if buf.words() == 0 {
            return Ok(Vec::new());
        }
        let bytes = buf.words() as u64 * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mecrl download"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("mecrl download") });
        enc.copy_buffer_to_buffer(raw, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .map_err(|_| Error::device(NAME, "buffer mapping was dropped"))?
            .map_err(|e| Error::device(NAME, format!("mapping a download buffer: {e}")))?;
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| Error::device(NAME, format!("reading a download buffer: {e}")))?;
            view.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<u32>>()
        };
        staging.unmap();
        self.take_uncaptured()?;
        Ok(out)
    }

    fn launch(&self, spec: &'static KernelSpec, params: &[u8], threads: u32, bufs: &[&Buffer]) -> Result<()> {
        check_launch(NAME, spec, params, bufs)?;
        let raws = bufs.iter().map(|b| self.raw(b)).collect::<Result<Vec<_>>>()?;
        let k = self.kernel(spec)?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let uniform = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mecrl params"),
            size: params.len().max(16) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&uniform, 0, params);
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        for (i, r) in raws.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: r.as_entire_binding() });
        }
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(spec.entry),
            layout: &k.layout,
            entries: &entries,
        });
        let (gx, gy) = grid_for(threads);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(spec.entry) });
        {
            let mut pass = enc
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(spec.entry), timestamp_writes: None });
            pass.set_pipeline(&k.pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        self.queue.submit([enc.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::device(NAME, format!("launching `{}`: {}", spec.entry, error_chain(&e))));
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.wait()?;
        self.take_uncaptured()
    }

    fn max_loop_iterations(&self) -> Option<u64> {
        // lavapipe (llvmpipe) stops every loop of an invocation after 65,535 iterations in total.
        (self.info.device_type == wgpu::DeviceType::Cpu || self.info.name.contains("llvmpipe")).then_some(65_535)
    }
    fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }
}
