//! `mecrl._native`: one mecrl batched environment (any system under `env::contract`) behind a
//! Python class. Python owns the output arrays (numpy, allocated once by `mecrl.vector`) and
//! this module writes the environment's buffers into them after each reset or step: no
//! per-instance Python objects, no allocation per step. Every mecrl error arrives as
//! `mecrl.Error` (a `ValueError`) carrying mecrl's typed message, which names the field.

use std::sync::{Arc, Mutex};

use mecrl::backend::Backend;
use mecrl::env::contract::{ActionSpace, BatchEnv, EnvBuffers, EnvSpec};
use numpy::{PyReadonlyArrayDyn, PyReadwriteArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::create_exception!(
    mecrl,
    Error,
    PyValueError,
    "An error of mecrl: a bad config field, action or file (the message names it)."
);

fn err(e: mecrl::Error) -> PyErr {
    Error::new_err(e.to_string())
}

fn bad(field: &str, value: impl std::fmt::Display, why: &str) -> PyErr {
    err(mecrl::Error::config(field, value.to_string(), why))
}

/// A system's config from JSON (the keyword arguments of `mecrl.make_vec`); unknown keys are
/// refused by serde with the key's name.
fn parse<T: serde::de::DeserializeOwned>(system: &str, json: &serde_json::Value) -> PyResult<T> {
    serde_json::from_value(json.clone()).map_err(|e| bad(system, json, &format!("is not a valid {system} config: {e}")))
}

/// Removes `key` from the config object (an extra argument that is not a field of the system's
/// config struct).
fn take(json: &mut serde_json::Value, key: &str) -> Option<serde_json::Value> {
    json.as_object_mut().and_then(|o| o.remove(key))
}

fn take_u64(system: &str, json: &mut serde_json::Value, key: &str, default: u64) -> PyResult<u64> {
    match take(json, key) {
        None => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| bad(&format!("{system}.{key}"), &v, "must be a non-negative integer")),
    }
}

fn take_bool(system: &str, json: &mut serde_json::Value, key: &str, default: bool) -> PyResult<bool> {
    match take(json, key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| bad(&format!("{system}.{key}"), &v, "must be true or false")),
    }
}

/// The default episode length of `mec` from Python (the Rust constructor takes it explicitly).
const MEC_HORIZON: u64 = 100;

/// Build `system` with `num_envs` instances from its config JSON.
fn build(system: &str, num_envs: usize, be: Arc<dyn Backend>, config: &str) -> PyResult<Box<dyn BatchEnv + Send>> {
    use mecrl::env::{coop, crowd, dag, endedge, mec};
    let mut json: serde_json::Value =
        serde_json::from_str(config).map_err(|e| bad("config", config, &format!("is not JSON: {e}")))?;
    if !json.is_object() {
        return Err(bad("config", config, "must be an object of fields"));
    }
    let env: Box<dyn BatchEnv + Send> = match system {
        "mec" => {
            let horizon = take_u64(system, &mut json, "horizon", MEC_HORIZON)?;
            let horizon = u32::try_from(horizon).map_err(|_| bad("mec.horizon", horizon, "must fit in 32 bits"))?;
            let cfg: mec::MecConfig = parse(system, &json)?;
            Box::new(mec::contract::MecBatchEnv::new(be, &cfg, num_envs, horizon).map_err(err)?)
        }
        "dag" => {
            // num_envs graphs drawn from `gen` with `graph_seed`; the parent/child slots p and
            // the published reward scaling as in MRLCO's config
            let seed = take_u64(system, &mut json, "graph_seed", 0)?;
            let parents = take_u64(system, &mut json, "parents", 12)? as usize;
            let scaled = take_bool(system, &mut json, "scaled_reward", true)?;
            let gen: dag::gen::DagGenConfig =
                parse("dag.gen", &take(&mut json, "gen").unwrap_or(serde_json::json!({})))?;
            let sys: dag::model::DagSystem =
                parse("dag.system", &take(&mut json, "system").unwrap_or(serde_json::json!({})))?;
            if let Some((k, _)) = json.as_object().and_then(|o| o.iter().next()) {
                return Err(bad(
                    &format!("dag.{k}"),
                    &json[k],
                    "is not a dag option (graph_seed, parents, scaled_reward, gen, system)",
                ));
            }
            let dags = (0..num_envs)
                .map(|k| dag::gen::generate(&gen, seed, k as u32))
                .collect::<mecrl::Result<Vec<_>>>()
                .map_err(err)?;
            Box::new(dag::contract::DagBatchEnv::new(be, &dags, &sys, parents, scaled).map_err(err)?)
        }
        "crowd" => {
            let cfg: crowd::CrowdConfig = parse(system, &json)?;
            Box::new(crowd::contract::CrowdBatchEnv::new(be, &cfg, num_envs).map_err(err)?)
        }
        "coop" => {
            let cfg: coop::CoopConfig = parse(system, &json)?;
            Box::new(coop::contract::CoopBatchEnv::new(be, &cfg, num_envs).map_err(err)?)
        }
        "endedge" => {
            let cfg: endedge::EndedgeConfig = parse(system, &json)?;
            Box::new(endedge::contract::EndedgeBatchEnv::new(be, &cfg, num_envs).map_err(err)?)
        }
        other => return Err(bad("system", other, "expected one of mec, dag, crowd, coop, endedge")),
    };
    Ok(env)
}

/// The environment, its output buffers and the last host actions: what a step touches.
struct Inner {
    env: Box<dyn BatchEnv + Send>,
    out: EnvBuffers,
    /// The action words of the last host step (reused).
    words: Vec<u32>,
    /// Flag and mask words on their way to numpy bools (reused).
    scratch: Vec<u32>,
}

impl Inner {
    fn new(system: &str, num_envs: usize, backend: &str, config: &str) -> PyResult<(Self, EnvSpec)> {
        if num_envs == 0 {
            return Err(bad("num_envs", num_envs, "must be at least 1"));
        }
        // quietly (the CLI's pick_backend prints the choice); spec()["backend"] describes it
        let choice: mecrl::BackendChoice = backend.parse().map_err(err)?;
        let (be, _skipped) = mecrl::backend::select(choice).map_err(err)?;
        let env = build(system, num_envs, be.clone(), config)?;
        let spec = env.spec().clone();
        let out = EnvBuffers::new(&*be, &spec).map_err(err)?;
        Ok((Inner { env, out, words: vec![], scratch: vec![] }, spec))
    }

    fn step_words(&mut self, check_mask: bool) -> mecrl::Result<()> {
        if check_mask {
            return self.env.step_host(&self.words, &self.out);
        }
        let buf = self.env.backend().upload(&self.words)?;
        self.env.step(&buf, &self.out)
    }
}

/// One batched environment of a system. A reset or step releases the GIL (the environment
/// is locked meanwhile: one object is stepped by one thread at a time).
#[pyclass(module = "mecrl._native")]
struct Env {
    inner: Mutex<Inner>,
    spec: EnvSpec,
    backend: String,
}

impl Env {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn copy_f32(be: &dyn Backend, buf: &mecrl::Buffer, words: usize, dst: &mut [f32], what: &str) -> PyResult<()> {
    if dst.len() != words {
        return Err(bad(what, dst.len(), &format!("array has the wrong size: expected {words} elements")));
    }
    if words == 0 {
        return Ok(());
    }
    // straight into the numpy array's memory (f32 and u32 words have the same bits)
    be.download_into(buf, bytemuck::cast_slice_mut(dst)).map_err(err)
}

fn copy_bool(
    be: &dyn Backend,
    buf: &mecrl::Buffer,
    words: usize,
    dst: &mut [bool],
    scratch: &mut Vec<u32>,
    what: &str,
) -> PyResult<()> {
    if dst.len() != words {
        return Err(bad(what, dst.len(), &format!("array has the wrong size: expected {words} elements")));
    }
    if words == 0 {
        return Ok(());
    }
    scratch.resize(words, 0);
    be.download_into(buf, scratch).map_err(err)?;
    for (d, &w) in dst.iter_mut().zip(scratch.iter()) {
        *d = w != 0;
    }
    Ok(())
}

fn slice_mut<'a, T: numpy::Element>(a: &'a mut PyReadwriteArrayDyn<'_, T>, what: &str) -> PyResult<&'a mut [T]> {
    a.as_slice_mut().map_err(|_| bad(what, "non-contiguous", "array must be C-contiguous"))
}

#[pymethods]
impl Env {
    #[new]
    #[pyo3(signature = (system, num_envs, backend = "cpu", config = "{}"))]
    fn new(system: &str, num_envs: usize, backend: &str, config: &str) -> PyResult<Self> {
        let (inner, spec) = Inner::new(system, num_envs, backend, config)?;
        let backend = inner.env.backend().describe();
        Ok(Env { inner: Mutex::new(inner), spec, backend })
    }

    /// The environment's spec as a dict (shapes, action space, mask, reward, horizon, info).
    fn spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.spec;
        let d = PyDict::new(py);
        d.set_item("system", s.system)?;
        d.set_item("num_envs", s.batch)?;
        d.set_item("agents", s.agents)?;
        d.set_item("obs_shape", s.obs_shape.clone())?;
        d.set_item("state_shape", s.state_shape.clone())?;
        let a = PyDict::new(py);
        match s.action {
            ActionSpace::Discrete { n } => {
                a.set_item("kind", "discrete")?;
                a.set_item("n", n)?;
                a.set_item("components", 1)?;
            }
            ActionSpace::MultiDiscrete { n, components } => {
                a.set_item("kind", "multi_discrete")?;
                a.set_item("n", n)?;
                a.set_item("components", components)?;
            }
            ActionSpace::Continuous { dim, low, high } => {
                a.set_item("kind", "continuous")?;
                a.set_item("dim", dim)?;
                a.set_item("low", low)?;
                a.set_item("high", high)?;
                a.set_item("components", dim)?;
            }
        }
        d.set_item("action", a)?;
        d.set_item("masked", s.masked)?;
        d.set_item("reward_per_agent", s.reward_per_agent)?;
        d.set_item("reward", s.reward)?;
        d.set_item("horizon", s.horizon)?;
        d.set_item("stochastic", s.stochastic)?;
        d.set_item("info", s.info.clone())?;
        d.set_item("invalid_action", s.invalid_action)?;
        d.set_item("backend", &self.backend)?;
        Ok(d)
    }

    /// Reset every instance with `seed`.
    fn reset(&self, py: Python<'_>, seed: u64) -> PyResult<()> {
        py.detach(|| {
            let g = &mut *self.lock();
            g.env.reset(seed, &g.out)
        })
        .map_err(err)
    }

    /// Step with discrete actions (int64, one per agent component, flat in batch-major
    /// order): each in the action space, else `mecrl.Error` naming its index; with
    /// `check_mask` a masked action is refused too (without, the system's kernel handles it
    /// as `spec()["invalid_action"]` says). A refused step changes nothing.
    #[pyo3(signature = (actions, check_mask = true))]
    fn step_discrete(&self, py: Python<'_>, actions: PyReadonlyArrayDyn<'_, i64>, check_mask: bool) -> PyResult<()> {
        let Some(n) = self.spec.action.choices() else {
            return Err(bad("actions", "integers", "this system's actions are continuous (use step_continuous)"));
        };
        let (a, mut words) = self.actions(&actions)?;
        for (i, &x) in a.iter().enumerate() {
            if !(0..n as i64).contains(&x) {
                return Err(bad(&format!("actions[{i}]"), x, &format!("must be in 0..{n}")));
            }
            words.push(x as u32);
        }
        self.step(py, words, check_mask)
    }

    /// Step with continuous actions (float32, flat): finite and within the bounds, else
    /// `mecrl.Error` naming the index.
    fn step_continuous(&self, py: Python<'_>, actions: PyReadonlyArrayDyn<'_, f32>) -> PyResult<()> {
        let ActionSpace::Continuous { low, high, .. } = self.spec.action else {
            return Err(bad("actions", "floats", "this system's actions are discrete (use step_discrete)"));
        };
        let (a, mut words) = self.actions(&actions)?;
        for (i, &x) in a.iter().enumerate() {
            if !(x.is_finite() && (low..=high).contains(&x)) {
                return Err(bad(&format!("actions[{i}]"), x, &format!("must be finite and in [{low}, {high}]")));
            }
            words.push(x.to_bits());
        }
        self.step(py, words, true)
    }

    /// Write the outputs of the last reset or step into the caller's arrays (C-contiguous,
    /// exactly the spec's sizes): obs, reward, terminated, truncated (bool), and the optional
    /// mask (bool), info and state.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (obs, reward, terminated, truncated, mask = None, info = None, state = None))]
    fn read(
        &self,
        mut obs: PyReadwriteArrayDyn<'_, f32>,
        mut reward: PyReadwriteArrayDyn<'_, f32>,
        mut terminated: PyReadwriteArrayDyn<'_, bool>,
        mut truncated: PyReadwriteArrayDyn<'_, bool>,
        mask: Option<PyReadwriteArrayDyn<'_, bool>>,
        info: Option<PyReadwriteArrayDyn<'_, f32>>,
        state: Option<PyReadwriteArrayDyn<'_, f32>>,
    ) -> PyResult<()> {
        let mut g = self.lock();
        let g = &mut *g;
        let (s, o, be, sc) = (&self.spec, &g.out, &**g.env.backend(), &mut g.scratch);
        let obs_words = s.batch * s.agents * s.obs_words();
        copy_f32(be, &o.obs, obs_words, slice_mut(&mut obs, "obs")?, "obs")?;
        copy_f32(be, &o.reward, s.reward_words(), slice_mut(&mut reward, "reward")?, "reward")?;
        copy_bool(be, &o.terminated, s.batch, slice_mut(&mut terminated, "terminated")?, sc, "terminated")?;
        copy_bool(be, &o.truncated, s.batch, slice_mut(&mut truncated, "truncated")?, sc, "truncated")?;
        if let Some(mut m) = mask {
            copy_bool(be, &o.mask, s.mask_words(), slice_mut(&mut m, "mask")?, sc, "mask")?;
        }
        if let Some(mut i) = info {
            copy_f32(be, &o.info, s.batch * s.info.len(), slice_mut(&mut i, "info")?, "info")?;
        }
        if let Some(mut st) = state {
            copy_f32(be, &o.state, s.state_words(), slice_mut(&mut st, "state")?, "state")?;
        }
        Ok(())
    }
}

impl Env {
    /// The flat actions (C-contiguous, exactly the spec's words, else `mecrl.Error`) and the
    /// reused, emptied word vector to convert them into.
    fn actions<'a, T: numpy::Element>(&self, actions: &'a PyReadonlyArrayDyn<'_, T>) -> PyResult<(&'a [T], Vec<u32>)> {
        let a = actions.as_slice().map_err(|_| bad("actions", "non-contiguous", "array must be C-contiguous"))?;
        let want = self.spec.action_words();
        if a.len() != want {
            return Err(bad("actions", a.len(), &format!("has the wrong number of elements: expected {want}")));
        }
        let mut words = std::mem::take(&mut self.lock().words);
        words.clear();
        Ok((a, words))
    }

    /// Step with host action words, the GIL released.
    fn step(&self, py: Python<'_>, words: Vec<u32>, check_mask: bool) -> PyResult<()> {
        py.detach(|| {
            let mut g = self.lock();
            g.words = words;
            g.step_words(check_mask)
        })
        .map_err(err)
    }
}

/// The steps of `actions` [steps, `w` action words], as the host step takes them; a ragged or
/// non-contiguous array is a `ValueError` naming `actions`.
fn action_rows(actions: &PyReadonlyArrayDyn<'_, i64>, w: usize) -> PyResult<Vec<Vec<u32>>> {
    let a = actions.as_slice().map_err(|_| bad("actions", "non-contiguous", "array must be C-contiguous"))?;
    if w == 0 || a.len() % w != 0 {
        return Err(bad("actions", a.len(), &format!("must be a whole number of steps of {w} words")));
    }
    Ok(a.chunks(w).map(|r| r.iter().map(|&x| x as u32).collect()).collect())
}

/// The same system stepped by a plain Rust loop (no Python between the steps): reset with
/// `seed`, then the steps of `actions` [steps, action words] through the contract's host
/// step. Returns (observations after the last step, the rewards of every step [steps,
/// reward words]) as flat lists — the reference of the alignment test.
#[pyfunction]
#[pyo3(signature = (system, num_envs, seed, actions, backend = "cpu", config = "{}"))]
fn reference_run(
    system: &str,
    num_envs: usize,
    seed: u64,
    actions: PyReadonlyArrayDyn<'_, i64>,
    backend: &str,
    config: &str,
) -> PyResult<(Vec<f32>, Vec<f32>)> {
    let (mut e, spec) = Inner::new(system, num_envs, backend, config)?;
    let rows = action_rows(&actions, spec.action_words())?;
    e.env.reset(seed, &e.out).map_err(err)?;
    let be = e.env.backend().clone();
    let mut rewards = vec![];
    for words in &rows {
        e.env.step_host(words, &e.out).map_err(err)?;
        let r = be.download(&e.out.reward).map_err(err)?;
        rewards.extend(r[..spec.reward_words()].iter().map(|&x| f32::from_bits(x)));
    }
    let obs = be.download(&e.out.obs).map_err(err)?;
    let words = spec.batch * spec.agents * spec.obs_words();
    Ok((obs[..words].iter().map(|&x| f32::from_bits(x)).collect(), rewards))
}

/// The Rust-native step loop of `python -m mecrl.bench`: reset with `seed`, then step every
/// row of `actions` [steps, action words] through the contract's host step (`check_mask`) and
/// read the outputs back to the host after each step, as a Python step does. Returns the
/// seconds the steps took (the reset excluded).
#[pyfunction]
#[pyo3(signature = (system, num_envs, seed, actions, backend = "cpu", config = "{}", check_mask = true))]
fn step_loop(
    system: &str,
    num_envs: usize,
    seed: u64,
    actions: PyReadonlyArrayDyn<'_, i64>,
    backend: &str,
    config: &str,
    check_mask: bool,
) -> PyResult<f64> {
    let (mut e, spec) = Inner::new(system, num_envs, backend, config)?;
    let rows = action_rows(&actions, spec.action_words())?;
    e.env.reset(seed, &e.out).map_err(err)?;
    let be = e.env.backend().clone();
    // host arrays allocated once, as a Rust user's loop would keep them (obs, reward, flags,
    // mask, info; empty where the system has none)
    let s = &spec;
    let mut host: Vec<Vec<u32>> = vec![
        vec![0; s.batch * s.agents * s.obs_words()],
        vec![0; s.reward_words()],
        vec![0; s.batch],
        vec![0; s.batch],
        vec![0; if s.masked { s.mask_words() } else { 0 }],
        vec![0; s.batch * s.info.len()],
    ];
    let t0 = std::time::Instant::now();
    for words in rows {
        e.words = words;
        e.step_words(check_mask).map_err(err)?;
        let o = &e.out;
        for (b, h) in [&o.obs, &o.reward, &o.terminated, &o.truncated, &o.mask, &o.info].into_iter().zip(&mut host) {
            if !h.is_empty() {
                be.download_into(b, h).map_err(err)?;
            }
        }
        std::hint::black_box(&host);
    }
    be.sync().map_err(err)?;
    Ok(t0.elapsed().as_secs_f64())
}

/// `mecrl run`: the config (TOML text; `path` names its file, for errors and the manifest)
/// with the CLI's overrides, into its run directory. Returns (directory, table, summary JSON).
#[pyfunction]
#[pyo3(signature = (text, path = "<python>", backend = None, seed = None, out = None))]
fn run(
    text: &str,
    path: &str,
    backend: Option<String>,
    seed: Option<u64>,
    out: Option<String>,
) -> PyResult<(String, String, String)> {
    use mecrl::experiment::AnyConfig;
    let file = std::path::Path::new(path);
    let mut cfg = AnyConfig::from_toml(text, file).map_err(err)?;
    cfg.override_with(backend, seed, out.map(Into::into), None).map_err(err)?;
    let choice: mecrl::BackendChoice = cfg.backend().parse().map_err(err)?;
    let (be, _) = mecrl::backend::select(choice).map_err(err)?;
    let command = vec!["python".to_string(), "mecrl.run".to_string(), path.to_string()];
    let recorded = (path != "<python>").then_some(file);
    let done = mecrl::experiment::finish::run_to_dir(&cfg, recorded, command, be, &mut |_| {}).map_err(err)?;
    Ok((done.dir.display().to_string(), done.table, done.summary.to_string()))
}

/// `mecrl reproduce <system>`: a paper's tables and figures into `out` (resumable). Returns
/// the summary in markdown.
#[pyfunction]
#[pyo3(signature = (system, out, quick = false, seed = 1, backend = "cpu", profile = "mecrl"))]
fn reproduce(system: &str, out: &str, quick: bool, seed: u64, backend: &str, profile: &str) -> PyResult<String> {
    let choice: mecrl::BackendChoice = backend.parse().map_err(err)?;
    let (be, _) = mecrl::backend::select(choice).map_err(err)?;
    let dir = std::path::Path::new(out);
    if system != "dirs" && profile != "mecrl" {
        return Err(err(mecrl::Error::config("profile", profile, "only `reproduce(\"dirs\")` has profiles")));
    }
    match system {
        "dirs" => {
            let profile = mecrl::env::mec::MecProfile::parse(profile).map_err(err)?;
            mecrl::experiment::dirs_reproduce::reproduce(quick, seed, profile, dir, be, &mut |_| {}).map_err(err)
        }
        "mrlco" => {
            let cfg = mecrl::experiment::mrlco::paper_config(quick, seed).map_err(err)?;
            mecrl::experiment::AnyConfig::Mrlco(cfg.clone()).check_memory().map_err(err)?;
            mecrl::experiment::mrlco::reproduce(&cfg, dir, be, &mut |_| {}).map_err(err)
        }
        "mappo" => {
            let cfg = mecrl::experiment::mappo::paper_config(quick, seed).map_err(err)?;
            mecrl::experiment::AnyConfig::Mappo(cfg.clone()).check_memory().map_err(err)?;
            mecrl::experiment::mappo::reproduce(&cfg, dir, be, &mut |_| {}).map_err(err)
        }
        "o2o" => {
            let cfg = mecrl::experiment::o2o::paper_config(quick, seed).map_err(err)?;
            mecrl::experiment::AnyConfig::O2o(cfg.clone()).check_memory().map_err(err)?;
            mecrl::experiment::o2o::reproduce(&cfg, dir, be, &mut |_| {}).map_err(err)
        }
        "crbdrqn" => {
            let cfg = mecrl::experiment::crbdrqn::paper_config(quick, seed).map_err(err)?;
            mecrl::experiment::AnyConfig::Crbdrqn(cfg.clone()).check_memory().map_err(err)?;
            mecrl::experiment::crbdrqn::reproduce(&cfg, dir, be, &mut |_| {}).map_err(err)
        }
        other => Err(bad("reproduce.system", other, "expected dirs, mrlco, mappo, o2o or crbdrqn")),
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Env>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add_function(wrap_pyfunction!(reference_run, m)?)?;
    m.add_function(wrap_pyfunction!(step_loop, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(reproduce, m)?)?;
    m.add("__version__", mecrl::VERSION)?;
    Ok(())
}
