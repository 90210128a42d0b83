//! Kernel sources embedded in the binary: WGSL modules assembled per entry point and CUDA files
//! with their `#include "common/…"` lines expanded (NVRTC then needs no include path).
//!
//! WGSL has no `#include` and one module may not bind two resources at one slot, so a stem file
//! `shaders/<dir>/<stem>.wgsl` holds shared helpers first and then one section per entry point,
//! each starting with a line `//!entry <name>`. The module for an entry is
//! `shaders/common/*.wgsl` + the shared part + that entry's section, with the directives of
//! [`wgsl_module`] expanded.

use super::spec::Stem;

/// The WGSL files every module starts with (path under `shaders/`, text), in this order. Code
/// that only some stems need (the `mec` cost formulas) is a `//!part` of its stem, not here.
pub static WGSL_COMMON: &[(&str, &str)] = &[
    ("common/philox.wgsl", include_str!("../../shaders/common/philox.wgsl")),
    ("common/pmath.wgsl", include_str!("../../shaders/common/pmath.wgsl")),
    ("common/index.wgsl", include_str!("../../shaders/common/index.wgsl")),
];

/// The CUDA headers a `.cu` file may `#include "common/…"` (path under `kernels/`, text).
pub static CUDA_COMMON: &[(&str, &str)] = &[
    ("common/philox.cuh", include_str!("../../kernels/common/philox.cuh")),
    ("common/pmath.cuh", include_str!("../../kernels/common/pmath.cuh")),
    ("common/index.cuh", include_str!("../../kernels/common/index.cuh")),
];

fn lookup(files: &[(&str, &'static str)], path: &str) -> Option<&'static str> {
    files.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// A WGSL stem file cut at its markers: the shared part (up to the first marker), the named
/// parts (`//!part <name>`) and the entry sections (`//!entry <name>`), each up to the next marker.
struct WgslFile {
    shared: Vec<&'static str>,
    parts: Vec<(&'static str, Vec<&'static str>)>,
    entries: Vec<(&'static str, Vec<&'static str>)>,
}

fn wgsl_file(text: &'static str) -> WgslFile {
    let mut f = WgslFile { shared: Vec::new(), parts: Vec::new(), entries: Vec::new() };
    let mut lines = &mut f.shared;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("//!entry ") {
            f.entries.push((name.trim(), Vec::new()));
            lines = &mut f.entries.last_mut().expect("just pushed").1;
        } else if let Some(name) = t.strip_prefix("//!part ") {
            f.parts.push((name.trim(), Vec::new()));
            lines = &mut f.parts.last_mut().expect("just pushed").1;
        } else {
            lines.push(line);
        }
    }
    f
}

/// The part `name` of `stem`'s file, or else of the file of a stem in its `includes`, with the
/// stem it belongs to (its own `//!use` lines are resolved there).
fn wgsl_part<'a>(stem: &'a Stem, name: &str) -> Option<(&'a Stem, Vec<&'static str>)> {
    let part_of = |s: &Stem| wgsl_file(s.wgsl).parts.into_iter().find(|(n, _)| *n == name).map(|(_, p)| p);
    if let Some(p) = part_of(stem) {
        return Some((stem, p));
    }
    stem.includes.iter().find_map(|s| Some((*s, part_of(s)?)))
}

/// How deep `//!use` may nest (a part that uses itself fails instead of recursing forever).
const WGSL_USE_DEPTH: usize = 8;

/// Appends `lines` of `stem`'s file to `out`, expanding the directives: `//!use <part>` and, in
/// the section of `entry`, `//!main <id>`.
fn wgsl_expand(stem: &Stem, lines: &[&str], entry: Option<&str>, depth: usize, out: &mut String) -> Option<()> {
    for line in lines {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("//!use ") {
            let (owner, part) = wgsl_part(stem, name.trim())?;
            if depth == WGSL_USE_DEPTH {
                return None;
            }
            wgsl_expand(owner, &part, None, depth + 1, out)?;
        } else if let Some(id) = t.strip_prefix("//!main ") {
            let entry = entry?;
            let id = id.trim();
            out.push_str(&format!(
                "@compute @workgroup_size(64)\n\
                 fn {entry}(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, \
                 @builtin(local_invocation_id) lid: vec3<u32>) {{\n    \
                 let {id} = global_index(wg, nwg, lid);\n    \
                 pm_init(nwg);\n"
            ));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(())
}

/// The WGSL module for `entry` of `stem`'s file, or `None` if the section is missing or a
/// directive is wrong (a `//!use` of no part, a `//!main` outside an entry's section).
///
/// Two directives, each a line of its own, are expanded:
/// - `//!use <name>` (anywhere) is replaced by the named part (`//!part <name>` up to the next
///   marker; parts are not in a module unless used) of this file or, failing that, of the file of
///   a stem in `includes`; parts may use parts. This lets several entries share code that reads
///   bindings only they declare (WGSL cannot pass storage buffers to functions), and a stem use
///   another's formulas (`search/levy` those of `env/mec`).
/// - `//!main <id>` (in an entry's section) is the head of the entry point: `@compute
///   @workgroup_size(64) fn <entry>(<workgroup_id wg, num_workgroups nwg, local_invocation_id
///   lid>) {`, `let <id> = global_index(wg, nwg, lid);` and `pm_init(nwg);`. The section goes on
///   with the body and closes the brace.
pub fn wgsl_module(stem: &Stem, entry: &str) -> Option<String> {
    let file = wgsl_file(stem.wgsl);
    let (_, section) = file.entries.iter().find(|(n, _)| *n == entry)?;
    let mut out = String::new();
    for (_, c) in WGSL_COMMON {
        out.push_str(c);
        out.push('\n');
    }
    wgsl_expand(stem, &file.shared, None, 0, &mut out)?;
    wgsl_expand(stem, section, Some(entry), 0, &mut out)?;
    Some(out)
}

/// The CUDA file of `stem` with `#include "x"` lines replaced by the embedded file (once each):
/// a header of `kernels/common` or the `.cu` file of a stem `stem` names in `includes`; an
/// include of anything else is an error naming it.
pub fn cuda_source(stem: &Stem) -> Result<String, String> {
    let mut seen = Vec::new();
    let mut out = String::new();
    expand(stem, stem.cu, &mut seen, &mut out).map_err(|inc| {
        format!(
            "kernels/{} includes \"{inc}\", which is neither in kernels/common nor the file of a stem in its `includes`",
            stem.cu_path()
        )
    })?;
    Ok(out)
}

/// The text of `#include "path"` for `stem`: a common header or an included stem's file.
fn included(stem: &Stem, path: &str) -> Option<&'static str> {
    lookup(CUDA_COMMON, path).or_else(|| stem.includes.iter().find(|s| s.cu_path() == path).map(|s| s.cu))
}

fn expand(stem: &Stem, text: &str, seen: &mut Vec<String>, out: &mut String) -> Result<(), String> {
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#include \"") {
            let inc = rest.trim_end_matches('"');
            if !seen.iter().any(|s| s == inc) {
                seen.push(inc.to_string());
                let header = included(stem, inc).ok_or_else(|| inc.to_string())?;
                expand(stem, header, seen, out)?;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(())
}
