//! The offline data set of the O2O offline phase (O2O-DRL paper §IV-C1): heuristic task logs as
//! per-node transitions (o_t, a_t, r_t, o_{t+1}, done, mask_t), in a binary format of ours
//! (`docs/coop.md`, "Offline data set"):
//!
//! ```text
//! offset  size  field
//! 0       8     magic  "MECRLOD\0"
//! 8       4     version (u32, = 1)
//! 12      4     n_nodes N
//! 16      4     obs_dim (= 3N + 5)
//! 20      4     n_actions (= N + 1)
//! 24      4     source heuristic (0 random, 1 ratc, 2 rda, 0xffffffff other)
//! 28      4     reserved (0)
//! 32      8     rows R (u64)
//! 40      8     seed (u64)
//! 48      …     obs f32 [R, obs_dim], action u32 [R], reward f32 [R], next_obs f32 [R, obs_dim],
//!               done u32 [R], mask u32 [R, n_actions]
//! end−4   4     CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) of every byte before it
//! ```
//! Everything little-endian. Files are written to a temporary name and renamed into place, so a
//! reader never sees a half-written file under the final name.

use std::path::Path;

use super::{CoopEnv, Heuristic};
use crate::error::{Error, Result};

/// File magic.
pub const MAGIC: [u8; 8] = *b"MECRLOD\0";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Header bytes before the arrays.
pub const HEADER: usize = 48;

pub use crate::checksum::{crc32, crc32_update};

/// Transitions of a heuristic log: one row per (instance, node, slot).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfflineDataset {
    /// N.
    pub n_nodes: u32,
    /// Observation length (3N + 5).
    pub obs_dim: u32,
    /// Actions (N + 1).
    pub n_actions: u32,
    /// The heuristic that acted, if one of ours.
    pub source: Option<Heuristic>,
    /// The seed of the run that produced it.
    pub seed: u64,
    /// o_t [R, obs_dim].
    pub obs: Vec<f32>,
    /// a_t \[R\].
    pub action: Vec<u32>,
    /// Team reward r_t \[R\].
    pub reward: Vec<f32>,
    /// o_{t+1} [R, obs_dim].
    pub next_obs: Vec<f32>,
    /// 1 on the last slot of an episode \[R\].
    pub done: Vec<u32>,
    /// The action mask of o_t [R, n_actions].
    pub mask: Vec<u32>,
}

/// One row of an [`OfflineDataset`]: (o_t, a_t, r_t, o_{t+1}, done, mask_t).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition<'a> {
    /// o_t.
    pub obs: &'a [f32],
    /// a_t.
    pub action: u32,
    /// Team reward r_t.
    pub reward: f32,
    /// o_{t+1}.
    pub next_obs: &'a [f32],
    /// Last slot of its episode.
    pub done: bool,
    /// Action mask of o_t.
    pub mask: &'a [u32],
}

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), line: 0, why: why.into() }
}

impl OfflineDataset {
    /// An empty data set for N nodes.
    pub fn new(n_nodes: u32, source: Option<Heuristic>, seed: u64) -> Self {
        OfflineDataset { n_nodes, obs_dim: 3 * n_nodes + 5, n_actions: n_nodes + 1, source, seed, ..Default::default() }
    }

    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.action.len()
    }

    /// Whether there are no transitions.
    pub fn is_empty(&self) -> bool {
        self.action.is_empty()
    }

    /// Transition `k` (None past the end).
    pub fn get(&self, k: usize) -> Option<Transition<'_>> {
        if k >= self.len() {
            return None;
        }
        let (od, na) = (self.obs_dim as usize, self.n_actions as usize);
        Some(Transition {
            obs: &self.obs[k * od..(k + 1) * od],
            action: self.action[k],
            reward: self.reward[k],
            next_obs: &self.next_obs[k * od..(k + 1) * od],
            done: self.done[k] != 0,
            mask: &self.mask[k * na..(k + 1) * na],
        })
    }

    /// Every transition in file order.
    pub fn iter(&self) -> impl Iterator<Item = Transition<'_>> {
        (0..self.len()).filter_map(|k| self.get(k))
    }

    /// Check the shapes and values (every array R rows long, actions < n_actions and allowed
    /// by their mask, done and mask 0/1, finite floats); errors name `path` and the first
    /// problem.
    pub fn check(&self, path: &Path) -> Result<()> {
        let r = self.action.len();
        let (od, na) = (self.obs_dim as usize, self.n_actions as usize);
        let n = self.n_nodes as u64;
        if n == 0 || self.obs_dim as u64 != 3 * n + 5 || self.n_actions as u64 != n + 1 {
            return Err(bad(
                path,
                format!("shapes n_nodes {}, obs_dim {}, n_actions {} are inconsistent", self.n_nodes, od, na),
            ));
        }
        for (name, len, want) in [
            ("obs", self.obs.len(), r * od),
            ("reward", self.reward.len(), r),
            ("next_obs", self.next_obs.len(), r * od),
            ("done", self.done.len(), r),
            ("mask", self.mask.len(), r * na),
        ] {
            if len != want {
                return Err(bad(path, format!("array `{name}` has {len} values, expected {want} for {r} rows")));
            }
        }
        for k in 0..r {
            let a = self.action[k] as usize;
            if a >= na || self.mask[k * na + a] != 1 {
                return Err(bad(path, format!("row {k}: action {a} is not allowed by its mask")));
            }
            if self.done[k] > 1 {
                return Err(bad(path, format!("row {k}: done = {} (must be 0 or 1)", self.done[k])));
            }
        }
        if let Some(k) = self.mask.iter().position(|&m| m > 1) {
            return Err(bad(path, format!("row {}: mask value {} (must be 0 or 1)", k / na, self.mask[k])));
        }
        for (name, v, w) in [("obs", &self.obs, od), ("reward", &self.reward, 1), ("next_obs", &self.next_obs, od)] {
            if let Some(k) = v.iter().position(|x| !x.is_finite()) {
                return Err(bad(path, format!("row {}: `{name}` value {} is not finite", k / w, v[k])));
            }
        }
        Ok(())
    }

    /// The header of a file of `rows` rows of this data set's shapes.
    fn header(&self, rows: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER);
        out.extend_from_slice(&MAGIC);
        for v in [VERSION, self.n_nodes, self.obs_dim, self.n_actions, self.source.map_or(u32::MAX, |h| h as u32), 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&rows.to_le_bytes());
        out.extend_from_slice(&self.seed.to_le_bytes());
        out
    }

    /// The six arrays' bytes, in file order.
    fn columns(&self) -> [Vec<u8>; 6] {
        let f = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let u = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        [f(&self.obs), u(&self.action), f(&self.reward), f(&self.next_obs), u(&self.done), u(&self.mask)]
    }

    /// The file bytes (header, arrays, CRC-32).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header(self.len() as u64);
        for c in self.columns() {
            out.extend_from_slice(&c);
        }
        let c = crc32(&out);
        out.extend_from_slice(&c.to_le_bytes());
        out
    }

    /// Parse file bytes; `path` names the file in errors (truncated, wrong magic or version,
    /// checksum mismatch, trailing bytes, inconsistent shapes or values).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(bad(path, "not a mecrl offline data set (bad magic)"));
        }
        if bytes.len() < HEADER + 4 {
            return Err(bad(path, format!("truncated: {} bytes, the header alone needs {}", bytes.len(), HEADER + 4)));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        let version = u32_at(8);
        if version != VERSION {
            return Err(bad(
                path,
                format!("unsupported format version {version} (this build reads version {VERSION})"),
            ));
        }
        let (n, od, na, src) = (u32_at(12), u32_at(16), u32_at(20), u32_at(24));
        let rows = u64_at(32);
        let per_row = 4 * (2 * od as u64 + 3 + na as u64);
        let want = rows
            .checked_mul(per_row)
            .and_then(|x| x.checked_add((HEADER + 4) as u64))
            .ok_or_else(|| bad(path, format!("header claims {rows} rows: size overflows")))?;
        if (bytes.len() as u64) < want {
            return Err(bad(path, format!("truncated: {} bytes, {rows} rows need {want}", bytes.len())));
        }
        if bytes.len() as u64 > want {
            return Err(bad(path, format!("{} trailing bytes after {rows} rows", bytes.len() as u64 - want)));
        }
        let body = bytes.len() - 4;
        let (stored, computed) = (u32_at(body), crc32(&bytes[..body]));
        if stored != computed {
            return Err(bad(
                path,
                format!("checksum mismatch: stored {stored:#010x}, computed {computed:#010x} (corrupt)"),
            ));
        }
        let source = match src {
            u32::MAX => None,
            k => Some(
                Heuristic::ALL
                    .into_iter()
                    .find(|h| *h as u32 == k)
                    .ok_or_else(|| bad(path, format!("unknown source heuristic id {k}")))?,
            ),
        };
        let r = rows as usize;
        let mut o = HEADER;
        let mut take = |count: usize| -> Vec<u32> {
            let v =
                bytes[o..o + 4 * count].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect();
            o += 4 * count;
            v
        };
        let fl = |v: Vec<u32>| v.into_iter().map(f32::from_bits).collect::<Vec<f32>>();
        let (odu, nau) = (od as usize, na as usize);
        let ds = OfflineDataset {
            n_nodes: n,
            obs_dim: od,
            n_actions: na,
            source,
            seed: u64_at(40),
            obs: fl(take(r * odu)),
            action: take(r),
            reward: fl(take(r)),
            next_obs: fl(take(r * odu)),
            done: take(r),
            mask: take(r * nau),
        };
        ds.check(path)?;
        Ok(ds)
    }

    /// Write to `path` by the rule of [`crate::output`] (a regular file replaced through a
    /// temporary sibling, a device written through, a directory refused).
    pub fn write(&self, path: &Path) -> Result<()> {
        self.check(path)?;
        crate::output::write_output(path, "--out", &self.to_bytes())
    }

    /// Read and verify a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Append another data set of the same shapes.
    pub fn extend(&mut self, other: &OfflineDataset) -> Result<()> {
        if (other.n_nodes, other.obs_dim, other.n_actions) != (self.n_nodes, self.obs_dim, self.n_actions) {
            return Err(Error::shape("offline data set extend", self.n_nodes, other.n_nodes));
        }
        self.obs.extend_from_slice(&other.obs);
        self.action.extend_from_slice(&other.action);
        self.reward.extend_from_slice(&other.reward);
        self.next_obs.extend_from_slice(&other.next_obs);
        self.done.extend_from_slice(&other.done);
        self.mask.extend_from_slice(&other.mask);
        Ok(())
    }
}

/// Run `episodes` episodes (numbered from `first_episode`) of heuristic `h` on `env` and log every
/// node's transition of every slot (the "no task" slots too, §IV-B2). Rows are ordered by
/// episode, slot, instance, node. Returns the log and each episode's per-instance statistics.
pub fn collect(
    env: &mut CoopEnv,
    h: Heuristic,
    first_episode: u32,
    episodes: u32,
    seed: u64,
) -> Result<(OfflineDataset, Vec<Vec<super::Stats>>)> {
    let mut all = OfflineDataset::new(env.config().n_nodes as u32, Some(h), seed);
    let stats = collect_into(env, h, first_episode, episodes, seed, &mut |slot| all.extend(slot))?;
    Ok((all, stats))
}

/// [`collect`], handing each slot's rows to `sink` instead of keeping them (a log larger than
/// memory streams to disk through a [`DatasetWriter`]).
pub fn collect_into(
    env: &mut CoopEnv,
    h: Heuristic,
    first_episode: u32,
    episodes: u32,
    seed: u64,
    sink: &mut dyn FnMut(&OfflineDataset) -> Result<()>,
) -> Result<Vec<Vec<super::Stats>>> {
    let n = env.config().n_nodes;
    let (b, od, na) = (env.batch(), 3 * n + 5, n + 1);
    let mut stats = vec![];
    let be = env.backend().clone();
    for e in 0..episodes {
        env.reset(first_episode + e)?;
        env.observe()?;
        let mut obs = crate::backend::download_f32(&*be, &env.obs)?;
        let mut mask = be.download(&env.mask)?;
        while !env.done() {
            env.policy(h)?;
            let act = be.download(&env.act)?;
            env.step_device()?;
            env.observe()?;
            let next = crate::backend::download_f32(&*be, &env.obs)?;
            let next_mask = be.download(&env.mask)?;
            let reward = env.last_reward()?;
            let done = env.done() as u32;
            debug_assert_eq!(obs.len(), b * n * od);
            debug_assert_eq!(mask.len(), b * n * na);
            let slot = OfflineDataset {
                obs,
                action: act,
                reward: (0..b * n).map(|k| reward[k / n]).collect(),
                next_obs: next,
                done: vec![done; b * n],
                mask,
                ..OfflineDataset::new(n as u32, Some(h), seed)
            };
            sink(&slot)?;
            obs = slot.next_obs;
            mask = next_mask;
        }
        stats.push(env.stats()?);
    }
    Ok(stats)
}

/// A data set written as it is collected: each array goes to its own scratch file, and
/// [`DatasetWriter::finish`] joins them behind the header with the CRC, so memory holds one
/// slot's rows, never the log. The scratch files are removed however the writer ends.
pub struct DatasetWriter {
    shape: OfflineDataset,
    cols: Vec<(std::path::PathBuf, std::io::BufWriter<std::fs::File>)>,
    rows: u64,
}

impl DatasetWriter {
    /// A writer of a data set of `n_nodes` nodes with scratch files in `scratch`.
    pub fn new(scratch: &Path, n_nodes: u32, source: Option<Heuristic>, seed: u64) -> Result<Self> {
        let shape = OfflineDataset::new(n_nodes, source, seed);
        let mut w = DatasetWriter { shape, cols: vec![], rows: 0 };
        for k in 0..6 {
            let p = scratch.join(format!(".mecrl-dataset-{}-{k}.col", std::process::id()));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&p)
                .map_err(|e| Error::io(&p, e))?;
            // Unix: unlinked at once, the open file lives on until closed, so a killed writer
            // leaves nothing behind; elsewhere `Drop` removes it.
            #[cfg(unix)]
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            w.cols.push((p, std::io::BufWriter::with_capacity(1 << 20, f)));
        }
        Ok(w)
    }

    /// Append rows (checked as [`OfflineDataset::check`] does; `path` names the output in errors).
    pub fn append(&mut self, part: &OfflineDataset, path: &Path) -> Result<()> {
        use std::io::Write;
        if (part.n_nodes, part.obs_dim, part.n_actions)
            != (self.shape.n_nodes, self.shape.obs_dim, self.shape.n_actions)
        {
            return Err(Error::shape("offline data set append", self.shape.n_nodes, part.n_nodes));
        }
        part.check(path)?;
        for ((p, w), bytes) in self.cols.iter_mut().zip(part.columns()) {
            w.write_all(&bytes).map_err(|e| Error::io(&*p, e))?;
        }
        self.rows += part.len() as u64;
        Ok(())
    }

    /// Rows appended so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Write the file to `out` (by the rule of [`crate::output`]) and remove the scratch files.
    pub fn finish(mut self, out: &Path) -> Result<u64> {
        use std::io::{Read, Seek, Write};
        for (p, w) in &mut self.cols {
            w.flush().map_err(|e| Error::io(&*p, e))?;
        }
        let header = self.shape.header(self.rows);
        let cols = &mut self.cols;
        crate::output::write_output_with(out, "--out", &mut |w| {
            let mut crc = crc32_update(0xFFFF_FFFF, &header);
            w.write_all(&header)?;
            let mut buf = vec![0u8; 1 << 20];
            for (_, col) in cols.iter_mut() {
                let f = col.get_mut();
                f.seek(std::io::SeekFrom::Start(0))?;
                loop {
                    let k = f.read(&mut buf)?;
                    if k == 0 {
                        break;
                    }
                    crc = crc32_update(crc, &buf[..k]);
                    w.write_all(&buf[..k])?;
                }
            }
            w.write_all(&(!crc).to_le_bytes())
        })?;
        Ok(self.rows)
    }
}

impl Drop for DatasetWriter {
    fn drop(&mut self) {
        #[cfg(not(unix))]
        for (p, _) in &self.cols {
            let _ = std::fs::remove_file(p);
        }
    }
}
