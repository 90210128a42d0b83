//! Kernel sources embedded in the binary: WGSL modules assembled per entry point and CUDA files
//! with their `#include "common/…"` lines expanded (NVRTC then needs no include path).
//!
//! WGSL has no `#include` and one module may not bind two resources at one slot, so a stem file
//! `shaders/<dir>/<stem>.wgsl` holds shared helpers first and then one section per entry point,
//! each starting with a line `//!entry <name>`. The module for an entry is
//! `shaders/common/*.wgsl` + the shared part + that entry's section.

/// (path under `shaders/`, text)
pub static WGSL_FILES: &[(&str, &str)] = &[
    ("common/philox.wgsl", include_str!("../../shaders/common/philox.wgsl")),
    ("common/pmath.wgsl", include_str!("../../shaders/common/pmath.wgsl")),
    ("common/index.wgsl", include_str!("../../shaders/common/index.wgsl")),
    ("common/mec_cost.wgsl", include_str!("../../shaders/common/mec_cost.wgsl")),
    ("rng/rng.wgsl", include_str!("../../shaders/rng/rng.wgsl")),
    ("env/mec.wgsl", include_str!("../../shaders/env/mec.wgsl")),
    ("env/dag.wgsl", include_str!("../../shaders/env/dag.wgsl")),
    ("env/crowd.wgsl", include_str!("../../shaders/env/crowd.wgsl")),
    ("env/coop.wgsl", include_str!("../../shaders/env/coop.wgsl")),
    ("env/endedge.wgsl", include_str!("../../shaders/env/endedge.wgsl")),
    ("search/levy.wgsl", include_str!("../../shaders/search/levy.wgsl")),
    ("ops/linear.wgsl", include_str!("../../shaders/ops/linear.wgsl")),
    ("ops/act.wgsl", include_str!("../../shaders/ops/act.wgsl")),
    ("ops/loss.wgsl", include_str!("../../shaders/ops/loss.wgsl")),
    ("ops/optim.wgsl", include_str!("../../shaders/ops/optim.wgsl")),
    ("ops/rnn.wgsl", include_str!("../../shaders/ops/rnn.wgsl")),
    ("ops/attention.wgsl", include_str!("../../shaders/ops/attention.wgsl")),
    ("ops/layer_norm.wgsl", include_str!("../../shaders/ops/layer_norm.wgsl")),
    ("ops/glue.wgsl", include_str!("../../shaders/ops/glue.wgsl")),
    ("ops/half.wgsl", include_str!("../../shaders/ops/half.wgsl")),
    ("ops/elementwise.wgsl", include_str!("../../shaders/ops/elementwise.wgsl")),
    ("ops/dueling.wgsl", include_str!("../../shaders/ops/dueling.wgsl")),
    ("ops/categorical.wgsl", include_str!("../../shaders/ops/categorical.wgsl")),
    ("ops/index.wgsl", include_str!("../../shaders/ops/index.wgsl")),
    ("ops/softmax.wgsl", include_str!("../../shaders/ops/softmax.wgsl")),
    ("algo/replay.wgsl", include_str!("../../shaders/algo/replay.wgsl")),
    ("algo/dirs.wgsl", include_str!("../../shaders/algo/dirs.wgsl")),
];

/// (path under `kernels/`, text)
pub static CUDA_FILES: &[(&str, &str)] = &[
    ("common/philox.cuh", include_str!("../../kernels/common/philox.cuh")),
    ("common/pmath.cuh", include_str!("../../kernels/common/pmath.cuh")),
    ("common/index.cuh", include_str!("../../kernels/common/index.cuh")),
    ("rng/rng.cu", include_str!("../../kernels/rng/rng.cu")),
    ("env/mec.cu", include_str!("../../kernels/env/mec.cu")),
    ("env/dag.cu", include_str!("../../kernels/env/dag.cu")),
    ("env/crowd.cu", include_str!("../../kernels/env/crowd.cu")),
    ("env/coop.cu", include_str!("../../kernels/env/coop.cu")),
    ("env/endedge.cu", include_str!("../../kernels/env/endedge.cu")),
    ("search/levy.cu", include_str!("../../kernels/search/levy.cu")),
    ("ops/linear.cu", include_str!("../../kernels/ops/linear.cu")),
    ("ops/act.cu", include_str!("../../kernels/ops/act.cu")),
    ("ops/loss.cu", include_str!("../../kernels/ops/loss.cu")),
    ("ops/optim.cu", include_str!("../../kernels/ops/optim.cu")),
    ("ops/rnn.cu", include_str!("../../kernels/ops/rnn.cu")),
    ("ops/attention.cu", include_str!("../../kernels/ops/attention.cu")),
    ("ops/layer_norm.cu", include_str!("../../kernels/ops/layer_norm.cu")),
    ("ops/glue.cu", include_str!("../../kernels/ops/glue.cu")),
    ("ops/half.cu", include_str!("../../kernels/ops/half.cu")),
    ("ops/elementwise.cu", include_str!("../../kernels/ops/elementwise.cu")),
    ("ops/dueling.cu", include_str!("../../kernels/ops/dueling.cu")),
    ("ops/categorical.cu", include_str!("../../kernels/ops/categorical.cu")),
    ("ops/index.cu", include_str!("../../kernels/ops/index.cu")),
    ("ops/softmax.cu", include_str!("../../kernels/ops/softmax.cu")),
    ("algo/replay.cu", include_str!("../../kernels/algo/replay.cu")),
    ("algo/dirs.cu", include_str!("../../kernels/algo/dirs.cu")),
];

const WGSL_COMMON: [&str; 4] = ["common/philox.wgsl", "common/pmath.wgsl", "common/index.wgsl", "common/mec_cost.wgsl"];

fn lookup(files: &[(&str, &'static str)], path: &str) -> Option<&'static str> {
    files.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// The WGSL module for `entry` of stem file `file`, or `None` if the section is missing.
///
/// Besides the shared part and the `//!entry` sections, a stem file may hold named parts
/// (`//!part <name>` up to the next marker) that are not shared by default; a section includes
/// one with a line `//!use <name>`. This lets several entries share code that reads
/// bindings only they declare (WGSL cannot pass storage buffers to functions).
pub fn wgsl_module(file: &str, entry: &str) -> Option<String> {
    enum At<'a> {
        Shared,
        Part,
        Entry(&'a str),
    }
    let text = lookup(WGSL_FILES, file)?;
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
    for c in WGSL_COMMON {
        out.push_str(lookup(WGSL_FILES, c).unwrap_or(""));
        out.push('\n');
    }
    out.push_str(&shared);
    out.push_str(&section?);
    Some(out)
}

/// The CUDA file `file` with `#include "x"` lines replaced by the embedded `x` (once each).
pub fn cuda_source(file: &str) -> Option<String> {
    let mut seen = Vec::new();
    expand(file, &mut seen)
}

fn expand(file: &str, seen: &mut Vec<String>) -> Option<String> {
    let text = lookup(CUDA_FILES, file)?;
    seen.push(file.to_string());
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#include \"") {
            let inc = rest.trim_end_matches('"');
            if !seen.iter().any(|s| s == inc) {
                out.push_str(&expand(inc, seen)?);
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}
