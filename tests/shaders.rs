//! Every kernel of the catalog has a WGSL module that naga parses and validates, with the entry
//! point, parameter struct and bindings its spec describes. No GPU needed.
//!
//! With the `wgpu` feature and an adapter (lavapipe is enough), the Philox known answers are
//! also checked through the `rng_fill` kernel; without an adapter that test says so and passes.

use mecrl::backend::source::wgsl_module;
use mecrl::backend::{Access, Elem};
use mecrl::catalog::{kernels, STEMS};
use mecrl::rng::RNG_FILL;
use naga::{AddressSpace, ScalarKind, StorageAccess, TypeInner};

fn parse(entry: &str, src: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{entry}: WGSL parse error:\n{}", e.emit_to_string(src)));
    let mut v = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::default());
    if let Err(e) = v.validate(&module) {
        panic!("{entry}: naga validation error:\n{}", e.emit_to_string(src));
    }
    module
}

#[test]
fn every_kernel_has_a_valid_wgsl_module() {
    for k in kernels() {
        let src = wgsl_module(k.stem, k.entry).unwrap_or_else(|| {
            panic!("{}: no `//!entry {}` section in shaders/{}", k.entry, k.entry, k.stem.wgsl_path())
        });
        let module = parse(k.entry, &src);

        // Entry point: compute, workgroup size 64.
        let ep = module
            .entry_points
            .iter()
            .find(|e| e.name == k.entry)
            .unwrap_or_else(|| panic!("{}: entry point missing", k.entry));
        assert_eq!(ep.stage, naga::ShaderStage::Compute, "{}", k.entry);
        assert_eq!(ep.workgroup_size, [64, 1, 1], "{}: workgroup size", k.entry);

        // Parameter struct: the spec's names and byte offsets, bound as a uniform at 0.
        let (_, params) = module
            .global_variables
            .iter()
            .find(|(_, g)| g.binding.as_ref().is_some_and(|b| b.group == 0 && b.binding == 0))
            .unwrap_or_else(|| panic!("{}: no binding 0", k.entry));
        assert_eq!(params.space, AddressSpace::Uniform, "{}: binding 0 must be a uniform", k.entry);
        let ty = &module.types[params.ty];
        assert_eq!(ty.name.as_deref(), Some(k.params.name), "{}: params struct name", k.entry);
        let TypeInner::Struct { members, span } = &ty.inner else { panic!("{}: params is not a struct", k.entry) };
        assert_eq!(*span as usize, k.params.size, "{}: params size", k.entry);
        let got: Vec<(&str, usize)> =
            members.iter().map(|m| (m.name.as_deref().unwrap_or(""), m.offset as usize)).collect();
        let want: Vec<(&str, usize)> = k.params.fields.to_vec();
        assert_eq!(got, want, "{}: params fields", k.entry);
        for m in members {
            let TypeInner::Scalar(s) = module.types[m.ty].inner else {
                panic!("{}: field {:?} is not a scalar", k.entry, m.name)
            };
            assert_eq!(s.width, 4, "{}: field {:?}", k.entry, m.name);
        }

        // Buffers at bindings 1..=n: names, access and element types.
        let mut bound: Vec<(u32, &naga::GlobalVariable)> = module
            .global_variables
            .iter()
            .filter_map(|(_, g)| g.binding.as_ref().map(|b| (b.binding, g)))
            .filter(|(b, _)| *b != 0)
            .collect();
        bound.sort_by_key(|(b, _)| *b);
        assert_eq!(bound.len(), k.bufs.len(), "{}: number of buffer bindings", k.entry);
        for (idx, (spec, (binding, g))) in k.bufs.iter().zip(&bound).enumerate() {
            assert_eq!(*binding as usize, idx + 1, "{}: bindings must be 1..=n", k.entry);
            assert_eq!(g.name.as_deref(), Some(spec.name), "{}: binding {binding} name", k.entry);
            let AddressSpace::Storage { access } = g.space else {
                panic!("{}: `{}` is not a storage buffer", k.entry, spec.name)
            };
            let want_access = match spec.access {
                Access::Read => StorageAccess::LOAD,
                Access::ReadWrite | Access::Scratch => StorageAccess::LOAD | StorageAccess::STORE,
            };
            assert_eq!(access, want_access, "{}: `{}` access", k.entry, spec.name);
            let TypeInner::Array { base, size: naga::ArraySize::Dynamic, .. } = module.types[g.ty].inner else {
                panic!("{}: `{}` must be a runtime-sized array", k.entry, spec.name)
            };
            let TypeInner::Scalar(s) = module.types[base].inner else {
                panic!("{}: `{}` element is not a scalar", k.entry, spec.name)
            };
            let want_kind = match spec.elem {
                Elem::U32 => ScalarKind::Uint,
                Elem::F32 => ScalarKind::Float,
            };
            assert_eq!((s.kind, s.width), (want_kind, 4), "{}: `{}` element type", k.entry, spec.name);
        }
    }
}

#[test]
fn wgsl_sections_are_complete() {
    // Every `//!entry` section of a stem file names a kernel of that stem, and every entry point
    // starts with `//!main <id>` (the assembler writes the one signature and prologue).
    for stem in STEMS {
        for line in stem.wgsl.lines() {
            assert!(
                !line.trim().starts_with("@compute"),
                "shaders/{}: write `//!main <id>` instead of an entry point signature: {line}",
                stem.wgsl_path()
            );
            if let Some(name) = line.trim().strip_prefix("//!entry ") {
                let name = name.trim();
                assert!(
                    stem.kernels.iter().any(|k| k.entry == name),
                    "shaders/{}: section `{name}` is not a kernel of this stem",
                    stem.wgsl_path()
                );
            }
        }
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn philox_known_answers_on_wgpu() {
    use mecrl::backend::Backend;
    use mecrl::rng::RngFillParams;
    let be = match mecrl::backend::wgpu::WgpuBackend::new(false) {
        Ok(b) => b,
        Err(e) => {
            assert!(std::env::var("MECRL_REQUIRE_WGPU").as_deref() != Ok("1"), "wgpu is required here: {e}");
            eprintln!("skipping: {e}");
            return;
        }
    };
    let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        ([0xffff_ffff; 4], [0xffff_ffff; 2], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];
    for (ctr, key, want) in kat {
        let p = RngFillParams {
            key0: key[0],
            key1: key[1],
            c0: ctr[0],
            c1: ctr[1],
            c2: ctr[2],
            c3: ctr[3],
            dist: 0,
            n: 1,
            ..Default::default()
        };
        let out = be.alloc(4).unwrap();
        be.launch(&RNG_FILL, bytemuck::bytes_of(&p), 1, &[&out]).unwrap();
        assert_eq!(be.download(&out).unwrap(), want.to_vec(), "{}", be.describe());
    }
}
