//! The `#[repr(C)]` parameter blocks and buffer lists of every kernel spec against the CUDA
//! declarations: struct field names and offsets, kernel argument names, element types and
//! const-ness (read-only buffers are `const T*`). The WGSL side is checked in tests/shaders.rs.

use mecrl::backend::source::cuda_source;
use mecrl::backend::{Access, Elem};

fn c_size(ty: &str) -> Option<usize> {
    match ty {
        "u32" | "f32" | "unsigned" | "float" | "int" | "unsigned int" => Some(4),
        _ => None,
    }
}

/// (field, offset) of `struct name { ... };` in `src` (4-byte scalars only).
fn struct_fields(src: &str, name: &str) -> Vec<(String, usize)> {
    let start = src.find(&format!("struct {name} {{")).unwrap_or_else(|| panic!("struct {name} not found"));
    let body = &src[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("};").unwrap()];
    let mut off = 0;
    let mut out = vec![];
    for decl in body.split(';').map(|d| d.split("//").next().unwrap_or("").trim()).filter(|d| !d.is_empty()) {
        let decl = decl.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join(" ");
        let decl = decl.trim();
        let (ty, field) = decl.rsplit_once(char::is_whitespace).unwrap_or_else(|| panic!("bad field `{decl}`"));
        let size = c_size(ty.trim()).unwrap_or_else(|| panic!("{name}.{field}: unsupported type `{ty}`"));
        out.push((field.trim().to_string(), off));
        off += size;
    }
    out
}

/// The argument list of `extern "C" __global__ void entry(...)`.
fn kernel_args(src: &str, entry: &str) -> Vec<String> {
    let pat = format!("__global__ void {entry}(");
    let start = src.find(&pat).unwrap_or_else(|| panic!("kernel {entry} not found")) + pat.len();
    let end = start + src[start..].find(')').unwrap();
    src[start..end].split(',').map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

#[test]
fn cuda_params_and_arguments_match_the_specs() {
    for k in mecrl::catalog::kernels() {
        let src = cuda_source(k.stem).unwrap_or_else(|e| panic!("{}: {e}", k.entry));
        let fields = struct_fields(&src, k.params.name);
        let want: Vec<(String, usize)> = k.params.fields.iter().map(|(f, o)| (f.to_string(), *o)).collect();
        assert_eq!(fields, want, "{}: struct {} differs from the Rust layout", k.entry, k.params.name);
        assert_eq!(fields.len() * 4, k.params.size, "{}: size", k.entry);

        let args = kernel_args(&src, k.entry);
        assert_eq!(args.len(), 1 + k.bufs.len(), "{}: argument count: {args:?}", k.entry);
        assert!(args[0].starts_with(&format!("const {} ", k.params.name)), "{}: first argument `{}`", k.entry, args[0]);
        for (a, b) in args[1..].iter().zip(k.bufs) {
            let name = a.rsplit(' ').next().unwrap();
            assert_eq!(name, b.name, "{}: argument name", k.entry);
            let ty = match b.elem {
                Elem::F32 => "float*",
                Elem::U32 => "u32*",
            };
            assert!(a.contains(ty), "{}: `{a}` should be {ty}", k.entry);
            assert_eq!(
                a.starts_with("const "),
                b.access == Access::Read,
                "{}: `{a}` const-ness vs {:?}",
                k.entry,
                b.access
            );
        }
    }
}
