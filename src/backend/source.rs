//! Kernel sources embedded in the binary: WGSL modules assembled per entry point and CUDA files
//! with their `#include "common/…"` lines expanded (NVRTC then needs no include path).
//!
//! WGSL has no `#include` and one module may not bind two resources at one slot, so a stem file
//! `shaders/<dir>/<stem>.wgsl` holds shared helpers first and then one section per entry point,
//! each starting with a line `//!entry <name>`. The module for an entry is
//! `shaders/common/*.wgsl` + the shared part + that entry's section.

use super::spec::Stem;

/// The WGSL files every module starts with (path under `shaders/`, text), in this order.
pub static WGSL_COMMON: &[(&str, &str)] = &[
    ("common/philox.wgsl", include_str!("../../shaders/common/philox.wgsl")),
    ("common/pmath.wgsl", include_str!("../../shaders/common/pmath.wgsl")),
    ("common/index.wgsl", include_str!("../../shaders/common/index.wgsl")),
    ("common/mec_cost.wgsl", include_str!("../../shaders/common/mec_cost.wgsl")),
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

/// The WGSL module for `entry` of `stem`'s file, or `None` if the section is missing.
///
/// Besides the shared part and the `//!entry` sections, a stem file may hold named parts
/// (`//!part <name>` up to the next marker) that are not shared by default; a section includes
/// one with a line `//!use <name>`. This lets several entries share code that reads
/// bindings only they declare (WGSL cannot pass storage buffers to functions).
pub fn wgsl_module(stem: &Stem, entry: &str) -> Option<String> {
    enum At<'a> {
        Shared,
        Part,
        Entry(&'a str),
    }
    let text = stem.wgsl;
    let mut shared = String::new();
    let mut parts: Vec<(&str, String)> = Vec::new();
    let mut section: Option<String> = None;
    let mut at = At::Shared;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("//!entry ") {
            at = At::Entry(name.trim());
            if name.trim() == entry {
                section = Some(String::new());
            }
            continue;
        }
        if let Some(name) = t.strip_prefix("//!part ") {
            parts.push((name.trim(), String::new()));
            at = At::Part;
            continue;
        }
        match at {
            At::Shared => {
                shared.push_str(line);
                shared.push('\n');
            }
            At::Part => {
                let p = &mut parts.last_mut().expect("part started").1;
                p.push_str(line);
                p.push('\n');
            }
            At::Entry(e) if e == entry => {
                let s = section.as_mut().expect("section started");
                if let Some(name) = t.strip_prefix("//!use ") {
                    s.push_str(&parts.iter().find(|(n, _)| *n == name.trim())?.1);
                } else {
                    s.push_str(line);
                    s.push('\n');
                }
            }
            At::Entry(_) => {}
        }
    }
    let mut out = String::new();
    for (_, c) in WGSL_COMMON {
        out.push_str(c);
        out.push('\n');
    }
    out.push_str(&shared);
    out.push_str(&section?);
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
