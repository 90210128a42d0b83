//! What a kernel is, as the backends see it: a [`KernelSpec`] (entry point, parameter layout,
//! buffers, CPU reference, size function) that belongs to a [`Stem`] (one `.rs`, one `.wgsl`,
//! one `.cu`). The backends launch a `&'static KernelSpec` and know no kernel by name; each stem
//! declares its specs beside its CPU reference with [`kernels!`](crate::kernels), and
//! `crate::catalog` lists the stems for the tests and tools.

use std::fmt;

use crate::error::Result;

/// How a kernel uses a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Read,
    /// Read and written.
    ReadWrite,
    /// Device scratch: written by the kernel, contents unspecified afterwards (not compared).
    Scratch,
}

/// Element type of a buffer (storage is always 32-bit words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// `u32` / `unsigned int`.
    U32,
    /// `f32` / `float`.
    F32,
}

/// The short names [`kernels!`](crate::kernels) reads in buffer lists: `R`, `W`, `S`, `F32`, `U32`.
pub mod short {
    use crate::backend::spec::{Access, Elem};
    /// [`Access::Read`].
    pub const R: Access = Access::Read;
    /// [`Access::ReadWrite`].
    pub const W: Access = Access::ReadWrite;
    /// [`Access::Scratch`].
    pub const S: Access = Access::Scratch;
    /// [`Elem::F32`].
    pub const F32: Elem = Elem::F32;
    /// [`Elem::U32`].
    pub const U32: Elem = Elem::U32;
}

/// One buffer binding.
#[derive(Clone, Copy, Debug)]
pub struct BufSpec {
    /// Name (the same in the `.wgsl` and the `.cu`).
    pub name: &'static str,
    /// Access.
    pub access: Access,
    /// Element type.
    pub elem: Elem,
}

/// Layout of the `#[repr(C)]` parameter block (checked against `.wgsl` and `.cu`).
#[derive(Clone, Copy, Debug)]
pub struct ParamLayout {
    /// The struct name in WGSL and CUDA.
    pub name: &'static str,
    /// Size in bytes (a multiple of 16).
    pub size: usize,
    /// (field, byte offset) in declaration order.
    pub fields: &'static [(&'static str, usize)],
}

/// A `#[repr(C)]` parameter block: plain data with its layout (declared with
/// [`kernel_params!`](crate::kernel_params)).
pub trait KernelParams: bytemuck::Pod {
    /// Name, size and field offsets.
    const LAYOUT: ParamLayout;
}

/// CPU implementation: parameter bytes and the buffers in binding order.
pub type CpuFn = fn(&[u8], &mut [&mut [u32]]) -> Result<()>;

/// Minimum length in words of every buffer, from the parameter block (checked before every
/// launch on every backend, so no kernel reads or writes out of bounds).
pub type SizeFn = fn(&[u8]) -> Vec<u64>;

/// A kernel family: one stem name, one WGSL file, one CUDA file, its kernels.
pub struct Stem {
    /// Stem (file name without extension).
    pub name: &'static str,
    /// Directory under `shaders/` and `kernels/` (`ops`, `env`, …).
    pub area: &'static str,
    /// The text of `shaders/<area>/<name>.wgsl`.
    pub wgsl: &'static str,
    /// The text of `kernels/<area>/<name>.cu`.
    pub cu: &'static str,
    /// Its kernels, in declaration order.
    pub kernels: &'static [&'static KernelSpec],
    /// Stems whose `.cu` file this one `#include`s (`#include "<area>/<name>.cu"`) and whose
    /// WGSL parts its `//!use` lines may name.
    pub includes: &'static [&'static Stem],
}

impl Stem {
    /// `<area>/<name>.wgsl` (under `shaders/`).
    pub fn wgsl_path(&self) -> String {
        format!("{}/{}.wgsl", self.area, self.name)
    }
    /// `<area>/<name>.cu` (under `kernels/`).
    pub fn cu_path(&self) -> String {
        format!("{}/{}.cu", self.area, self.name)
    }
}

impl fmt::Debug for Stem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stem({}/{})", self.area, self.name)
    }
}

/// A kernel: the same entry point on every backend.
pub struct KernelSpec {
    /// The stem it belongs to (its sources).
    pub stem: &'static Stem,
    /// Entry point name on every backend (unique in the crate).
    pub entry: &'static str,
    /// Parameter block.
    pub params: ParamLayout,
    /// Buffers in binding order (WGSL bindings 1.., CUDA arguments after the params).
    pub bufs: &'static [BufSpec],
    /// The CPU reference.
    pub cpu: CpuFn,
    /// Required buffer sizes.
    pub sizes: SizeFn,
}

impl fmt::Debug for KernelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KernelSpec({})", self.entry)
    }
}

// Identity is the entry name (unique in the crate: the catalog test checks it), so specs can
// key maps and sets.
impl PartialEq for KernelSpec {
    fn eq(&self, other: &Self) -> bool {
        self.entry == other.entry
    }
}

impl Eq for KernelSpec {}

impl PartialOrd for KernelSpec {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KernelSpec {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.entry.cmp(other.entry)
    }
}

impl std::hash::Hash for KernelSpec {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.entry.hash(h)
    }
}

/// Decode a parameter block (size already checked by the backend).
pub fn params<T: bytemuck::Pod>(bytes: &[u8]) -> T {
    bytemuck::pod_read_unaligned(bytes)
}

/// Declares the layout of `#[repr(C)]` parameter structs ([`KernelParams`]): the struct name
/// and its fields in declaration order (every field a 4-byte scalar; a test checks the offsets
/// against the `.wgsl` and `.cu` declarations).
///
/// ```ignore
/// kernel_params!(ActParams { n, kind, fresh, _pad1 });
/// ```
#[macro_export]
macro_rules! kernel_params {
    ($($t:ident { $($f:ident),* $(,)? })*) => {$(
        impl $crate::backend::KernelParams for $t {
            const LAYOUT: $crate::backend::ParamLayout = $crate::backend::ParamLayout {
                name: stringify!($t),
                size: ::std::mem::size_of::<$t>(),
                fields: &[$((stringify!($f), ::std::mem::offset_of!($t, $f))),*],
            };
        }
    )*};
}

/// Declares a stem's kernels: `pub static STEM` (sources embedded from
/// `shaders/<area>/<stem>.wgsl` and `kernels/<area>/<stem>.cu`) and one `pub static` spec per
/// kernel. Buffers are `name: access elem` with access `R` (read), `W` (read-write), `S`
/// (scratch) and elem `F32` or `U32`, in binding order.
///
/// A stem whose `.cu` file includes another stem's, or whose `.wgsl` file uses its parts, names
/// it: `stem "<area>" / "<name>" includes [<path of the other stem's STEM>];` (the `search/levy`
/// stem includes `env/mec`).
///
/// ```ignore
/// kernels! {
///     stem "ops" / "act";
///     /// nn: elementwise activation forward.
///     ACT_FWD = act_fwd(ActParams; x: R F32, y: W F32) cpu cpu_fwd, sizes sizes_fwd;
/// }
/// ```
#[macro_export]
macro_rules! kernels {
    (
        stem $area:literal / $name:literal $(includes [$($inc:path),* $(,)?])?;
        $(
            $(#[$doc:meta])*
            $id:ident = $entry:ident($p:ty; $($buf:ident: $acc:ident $elem:ident),* $(,)?)
                cpu $cpu:path, sizes $sizes:path;
        )*
    ) => {
        #[doc = concat!("The `", $name, "` stem: `shaders/", $area, "/", $name, ".wgsl`, `kernels/", $area, "/", $name, ".cu` and its kernels.")]
        pub static STEM: $crate::backend::Stem = $crate::backend::Stem {
            name: $name,
            area: $area,
            wgsl: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $area, "/", $name, ".wgsl")),
            cu: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/kernels/", $area, "/", $name, ".cu")),
            kernels: &[$(&$id),*],
            includes: &[$($(&$inc),*)?],
        };
        $(
            $(#[$doc])*
            pub static $id: $crate::backend::KernelSpec = $crate::backend::KernelSpec {
                stem: &STEM,
                entry: stringify!($entry),
                params: <$p as $crate::backend::KernelParams>::LAYOUT,
                bufs: &[$($crate::backend::BufSpec {
                    name: stringify!($buf),
                    access: $crate::backend::spec::short::$acc,
                    elem: $crate::backend::spec::short::$elem,
                }),*],
                cpu: $cpu,
                sizes: $sizes,
            };
        )*
    };
}
