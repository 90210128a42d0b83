//! Checkpoints in the safetensors format: an 8-byte little-endian header length, a JSON header
//! `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {key: string}}`
//! padded with spaces to a multiple of 8 bytes, then the raw little-endian data. Readable by the
//! `safetensors` Python package. Written atomically (a temporary sibling, then a rename: no
//! partial file is ever left under the final name); validated on load (every expected tensor
//! present with its dtype and shape — a mismatch is a typed error naming the tensor).
//!
//! Every checkpoint mecrl writes carries `__metadata__.mecrl.crc32`: the CRC-32 of its contents
//! (names, dtypes, shapes, the data and the other metadata, config included). [`Checkpoint::load`]
//! verifies it: a flipped bit, an edited weight or config is a typed error naming the file, and
//! the run that would have resumed from it stops until the user removes it. A training
//! checkpoint (one with `__metadata__.config`) without a checksum is refused as well; a plain
//! safetensors file from elsewhere is read without one.
//!
//! [`save_training`] / [`load_training`] store a model's parameters, an optimizer's moments
//! (`<name>.opt_m`, `<name>.opt_v`) and step count, and a JSON config under `__metadata__.config`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::autograd::Param;
use crate::error::{Error, Result};
use crate::nn::Optimizer;
use crate::tensor::{DType, Tensor};

/// A tensor read from a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// The 32-bit words (f32 bits or u32 values).
    pub words: Vec<u32>,
}

/// A checkpoint file's contents.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    /// Tensors by name.
    pub tensors: BTreeMap<String, Stored>,
    /// `__metadata__` (string to string, as the format requires).
    pub metadata: BTreeMap<String, String>,
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "F32",
        DType::U32 => "U32",
    }
}

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), line: 0, why: why.into() }
}

/// The metadata key of the checksum.
pub const CHECKSUM_KEY: &str = "mecrl.crc32";

impl Checkpoint {
    /// CRC-32 of the contents: per tensor (by name) its name, dtype, shape and words, then every
    /// metadata entry but the checksum's own.
    pub fn digest(&self) -> u32 {
        use crate::checksum::crc32_update;
        let mut c = 0xFFFF_FFFF;
        for (name, t) in &self.tensors {
            c = crc32_update(c, name.as_bytes());
            c = crc32_update(c, &[0]);
            c = crc32_update(c, dtype_name(t.dtype).as_bytes());
            for &d in &t.shape {
                c = crc32_update(c, &(d as u64).to_le_bytes());
            }
            for w in &t.words {
                c = crc32_update(c, &w.to_le_bytes());
            }
        }
        for (k, v) in self.metadata.iter().filter(|(k, _)| k.as_str() != CHECKSUM_KEY) {
            c = crc32_update(c, k.as_bytes());
            c = crc32_update(c, &[0]);
            c = crc32_update(c, v.as_bytes());
            c = crc32_update(c, &[0]);
        }
        !c
    }

    /// The header (length, JSON with the checksum, padding) of the file.
    fn header(&self) -> Result<Vec<u8>> {
        let mut metadata = self.metadata.clone();
        metadata.insert(CHECKSUM_KEY.into(), format!("{:08x}", self.digest()));
        let mut header = serde_json::Map::new();
        let mut offset = 0usize;
        for (name, t) in &self.tensors {
            if name == "__metadata__" {
                return Err(Error::config("checkpoint tensor name", name, "is reserved"));
            }
            let n: usize = t.shape.iter().product();
            if n != t.words.len() {
                return Err(Error::shape(format!("checkpoint tensor `{name}`"), n, t.words.len()));
            }
            header.insert(
                name.clone(),
                serde_json::json!({"dtype": dtype_name(t.dtype), "shape": t.shape, "data_offsets": [offset, offset + 4 * n]}),
            );
            offset += 4 * n;
        }
        header.insert("__metadata__".into(), serde_json::to_value(&metadata).unwrap_or_default());
        let mut h = serde_json::to_vec(&serde_json::Value::Object(header))
            .map_err(|e| Error::config("checkpoint header", "?", e.to_string()))?;
        while h.len() % 8 != 0 {
            h.push(b' ');
        }
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        Ok(out)
    }

    /// The header, then the data, streamed to `w` (a checkpoint of gigabytes is not copied).
    fn write_to<W: std::io::Write + ?Sized>(&self, header: &[u8], w: &mut W) -> std::io::Result<()> {
        w.write_all(header)?;
        for t in self.tensors.values() {
            for c in t.words.chunks(1 << 14) {
                let bytes: Vec<u8> = c.iter().flat_map(|x| x.to_le_bytes()).collect();
                w.write_all(&bytes)?;
            }
        }
        Ok(())
    }

    /// The file's bytes, with the checksum of the contents.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = self.header()?;
        let mut out = Vec::new();
        self.write_to(&header, &mut out).map_err(|e| Error::io("checkpoint", e))?;
        Ok(out)
    }

    /// Write to `path` atomically, by the rule of [`crate::output`] (a temporary sibling,
    /// synced, then renamed; a folder refused).
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = self.header()?;
        crate::output::write_output_with(path, "checkpoint", &mut |w| self.write_to(&header, w))
    }

    /// Read and check the structure of `path` (header, dtypes, offsets, checksum).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parse and check file bytes (`path` names the file in errors).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < 8 {
            return Err(bad(path, format!("{} bytes: too short for a safetensors header", bytes.len())));
        }
        let hlen = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
        if hlen > (bytes.len() - 8) as u64 {
            return Err(bad(path, format!("header length {hlen} exceeds the file ({} bytes)", bytes.len())));
        }
        let (hbytes, data) = bytes[8..].split_at(hlen as usize);
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(hbytes).map_err(|e| bad(path, format!("header: {e}")))?;
        let mut out = Checkpoint::default();
        let mut spans = vec![];
        for (name, v) in header {
            if name == "__metadata__" {
                let m: BTreeMap<String, String> =
                    serde_json::from_value(v).map_err(|e| bad(path, format!("__metadata__: {e}")))?;
                out.metadata = m;
                continue;
            }
            let dtype = match v.get("dtype").and_then(|d| d.as_str()) {
                Some("F32") => DType::F32,
                Some("U32") => DType::U32,
                other => return Err(bad(path, format!("tensor `{name}`: dtype {other:?} (mecrl reads F32 and U32)"))),
            };
            let shape: Vec<usize> = v
                .get("shape")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .ok_or_else(|| bad(path, format!("tensor `{name}`: missing or bad shape")))?;
            let offs: [usize; 2] = v
                .get("data_offsets")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .ok_or_else(|| bad(path, format!("tensor `{name}`: missing or bad data_offsets")))?;
            let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if offs[0] > offs[1] || offs[1] > data.len() || n.and_then(|n| n.checked_mul(4)) != Some(offs[1] - offs[0])
            {
                return Err(bad(
                    path,
                    format!(
                        "tensor `{name}`: data_offsets {offs:?} do not fit shape {shape:?} in {} data bytes",
                        data.len()
                    ),
                ));
            }
            spans.push((offs[0], offs[1], name.clone()));
            let words =
                data[offs[0]..offs[1]].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            out.tensors.insert(name, Stored { dtype, shape, words });
        }
        spans.sort();
        for w in spans.windows(2) {
            if w[1].0 < w[0].1 {
                return Err(bad(path, format!("tensors `{}` and `{}` overlap", w[0].2, w[1].2)));
            }
        }
        out.verify(path)?;
        Ok(out)
    }

    /// Check the stored checksum against the contents (required of a training checkpoint).
    fn verify(&self, path: &Path) -> Result<()> {
        let restart = "remove it (or the run's work directory) to start the run over";
        match self.metadata.get(CHECKSUM_KEY) {
            Some(s) => {
                let computed = self.digest();
                if u32::from_str_radix(s, 16).ok() != Some(computed) || s.len() != 8 {
                    return Err(bad(
                        path,
                        format!(
                            "checksum mismatch: stored {s}, computed {computed:08x}: the file is corrupt; {restart}"
                        ),
                    ));
                }
                Ok(())
            }
            None if self.metadata.contains_key("config") => {
                Err(bad(path, format!("a training checkpoint without `__metadata__.{CHECKSUM_KEY}`: {restart}")))
            }
            None => Ok(()),
        }
    }

    /// Add a device tensor (a download).
    pub fn insert(&mut self, name: &str, t: &Tensor) -> Result<()> {
        let words = t.backend().download(t.buffer())?;
        self.tensors.insert(
            name.to_string(),
            Stored { dtype: t.dtype(), shape: t.shape().to_vec(), words: words[..t.numel()].to_vec() },
        );
        Ok(())
    }

    /// Copy the stored tensor `name` into `t` (an upload), refusing a missing tensor or a dtype
    /// or shape mismatch with an error naming the tensor.
    pub fn restore(&self, path: &Path, name: &str, t: &Tensor) -> Result<()> {
        let s = self.tensors.get(name).ok_or_else(|| bad(path, format!("tensor `{name}` is missing")))?;
        if s.dtype != t.dtype() {
            return Err(bad(path, format!("tensor `{name}`: dtype {:?}, expected {:?}", s.dtype, t.dtype())));
        }
        if s.shape != t.shape() {
            return Err(bad(path, format!("tensor `{name}`: shape {:?}, expected {:?}", s.shape, t.shape())));
        }
        // Weights and moments that are not finite would train on silently as NaN.
        if let Some(k) = s.words.iter().position(|&w| s.dtype == DType::F32 && !f32::from_bits(w).is_finite()) {
            return Err(bad(path, format!("tensor `{name}`[{k}] = {}: not finite", f32::from_bits(s.words[k]))));
        }
        if !s.words.is_empty() {
            t.backend().write(t.buffer(), &s.words)?;
        }
        Ok(())
    }
}

/// Save parameters, the optimizer's state (when given) and `config` (any serializable value).
pub fn save_training(
    path: &Path,
    params: &[Param],
    opt: Option<&Optimizer>,
    config: &impl serde::Serialize,
) -> Result<()> {
    save_training_with(path, params, &opt.map(|o| ("opt", o)).into_iter().collect::<Vec<_>>(), config)
}

/// The tensor and metadata names of optimizer `tag`'s state: `opt` (the training optimizer)
/// keeps the names of the first checkpoints (`{param}.opt_m`, `optimizer_steps`).
fn opt_names(tag: &str, param: &str) -> (String, String, String) {
    let steps = if tag == "opt" { "optimizer_steps".into() } else { format!("{tag}_steps") };
    (format!("{param}.{tag}_m"), format!("{param}.{tag}_v"), steps)
}

/// Save parameters, the states of several optimizers of the same parameters, each under its
/// tag (e.g. MRLCO's outer Adam and its shared inner Adam), and `config`.
pub fn save_training_with(
    path: &Path,
    params: &[Param],
    opts: &[(&str, &Optimizer)],
    config: &impl serde::Serialize,
) -> Result<()> {
    save_groups(path, &[(params, opts)], config)
}

/// A group of parameters and its tagged optimizers.
pub type Group<'a> = (&'a [Param], &'a [(&'a str, &'a Optimizer)]);

/// [`save_training_with`] for several groups of parameters, each with its own optimizers
/// (e.g. an actor and its critics); the tags must differ between groups.
pub fn save_groups(path: &Path, groups: &[Group], config: &impl serde::Serialize) -> Result<()> {
    let mut c = Checkpoint::default();
    insert_groups(&mut c, groups, config)?;
    c.save(path)
}

/// What [`save_groups`] writes, added to `c` (which may hold other tensors: a replay's).
pub fn insert_groups(c: &mut Checkpoint, groups: &[Group], config: &impl serde::Serialize) -> Result<()> {
    for &(params, opts) in groups {
        insert_group(c, params, opts)?;
    }
    let cfg = serde_json::to_string(config).map_err(|e| Error::config("checkpoint.config", "?", e.to_string()))?;
    c.metadata.insert("config".into(), cfg);
    c.metadata.insert("mecrl_version".into(), crate::VERSION.into());
    c.metadata.insert("git_commit".into(), crate::GIT_COMMIT.into());
    Ok(())
}

fn insert_group(c: &mut Checkpoint, params: &[Param], opts: &[(&str, &Optimizer)]) -> Result<()> {
    for p in params {
        c.insert(&p.name, &p.value)?;
    }
    for &(tag, o) in opts {
        for (k, p) in params.iter().enumerate() {
            let (m, v) = o
                .state(k)
                .ok_or_else(|| Error::config("checkpoint.optimizer", k, "has no state for this parameter"))?;
            let (mk, vk, _) = opt_names(tag, &p.name);
            c.insert(&mk, m)?;
            c.insert(&vk, v)?;
        }
        c.metadata.insert(opt_names(tag, "").2, o.steps().to_string());
    }
    Ok(())
}

/// Restore what [`save_training`] wrote into `params` (and `opt`); returns the config JSON.
pub fn load_training(path: &Path, params: &[Param], opt: Option<&mut Optimizer>) -> Result<String> {
    load_training_with(path, params, &mut opt.map(|o| ("opt", o)).into_iter().collect::<Vec<_>>())
}

/// Restore what [`save_training_with`] wrote into `params` and the tagged optimizers; returns
/// the config JSON.
pub fn load_training_with(path: &Path, params: &[Param], opts: &mut [(&str, &mut Optimizer)]) -> Result<String> {
    let c = Checkpoint::load(path)?;
    restore_group(&c, path, params, opts)?;
    Ok(c.metadata.get("config").cloned().unwrap_or_default())
}

/// Restore one group of what [`save_groups`] wrote from the loaded checkpoint `c` of `path`.
pub fn restore_group(c: &Checkpoint, path: &Path, params: &[Param], opts: &mut [(&str, &mut Optimizer)]) -> Result<()> {
    for p in params {
        c.restore(path, &p.name, &p.value)?;
    }
    for (tag, o) in opts.iter_mut() {
        for (k, p) in params.iter().enumerate() {
            let (m, v) = o
                .state(k)
                .ok_or_else(|| Error::config("checkpoint.optimizer", k, "has no state for this parameter"))?;
            let (mk, vk, _) = opt_names(tag, &p.name);
            c.restore(path, &mk, m)?;
            c.restore(path, &vk, v)?;
        }
        let sk = opt_names(tag, "").2;
        let steps = c.metadata.get(&sk).and_then(|s| s.parse().ok());
        o.set_steps(steps.ok_or_else(|| bad(path, format!("__metadata__.{sk} missing or not a number")))?);
    }
    Ok(())
}
