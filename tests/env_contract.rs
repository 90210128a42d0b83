//! The environment contract ([`BatchEnv`]), one suite for every system and the `toy` fixture,
//! on every backend that starts here (cpu; wgpu on lavapipe and the CUDA host shim where
//! `MECRL_REQUIRE_*` says so): buffers and shapes follow the spec; a run is deterministic and
//! the same on every backend (u32 equal, f32 within the parity tolerance); the seed matters
//! exactly where the spec says so; host actions outside the space or the mask are refused with
//! a typed error and change nothing; a device step downloads nothing; episodes end as the spec
//! says (truncation at the horizon, then "reset first"; termination sticks with reward 0).

use std::sync::Arc;

use mecrl::backend::{self, download_f32, Backend, BackendKind};
use mecrl::env::contract::{ActionSpace, BatchEnv, EnvBuffers, EnvSpec};
use mecrl::Error;

type Make = fn(Arc<dyn Backend>) -> Box<dyn BatchEnv>;

fn backends() -> Vec<Arc<dyn Backend>> {
    let mut out = vec![backend::create(BackendKind::Cpu).unwrap()];
    for (kind, var) in [(BackendKind::Wgpu, "MECRL_REQUIRE_WGPU"), (BackendKind::CudaHost, "MECRL_REQUIRE_CUDA_HOST")] {
        match backend::create(kind) {
            Ok(b) => out.push(b),
            Err(e) => {
                assert!(std::env::var(var).as_deref() != Ok("1"), "{kind} is required here but did not start: {e}");
                eprintln!("env contract: skipping {kind}: {e}");
            }
        }
    }
    out
}

/// A small deterministic generator for test actions (not the library's RNG: these are inputs).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u32) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as u32
    }
}

/// Valid actions for the current step: uniform over the allowed choices of each agent.
fn valid_actions(spec: &EnvSpec, mask: Option<&[u32]>, rng: &mut Lcg) -> Vec<u32> {
    let n = spec.action.choices().expect("discrete");
    let c = spec.action.components();
    (0..spec.action_words())
        .map(|i| {
            let agent = i / c;
            let allowed: Vec<u32> = match mask {
                Some(m) => (0..n).filter(|&k| m[agent * n as usize + k as usize] == 1).collect(),
                None => (0..n).collect(),
            };
            assert!(!allowed.is_empty(), "{}: agent {agent} has no allowed action", spec.system);
            allowed[rng.below(allowed.len() as u32) as usize]
        })
        .collect()
}

fn mask_of(env: &dyn BatchEnv, out: &EnvBuffers) -> Option<Vec<u32>> {
    env.spec().masked.then(|| env.backend().download(&out.mask).unwrap())
}

/// Every output buffer's words after a step (obs, reward, terminated, truncated, mask, info, state).
fn snapshot(env: &dyn BatchEnv, out: &EnvBuffers) -> Vec<Vec<u32>> {
    let be = env.backend();
    [&out.obs, &out.reward, &out.terminated, &out.truncated, &out.mask, &out.info, &out.state]
        .iter()
        .map(|b| be.download(b).unwrap())
        .collect()
}

/// Reset with `seed`, then `steps` steps with valid actions drawn from `draws` (within each
/// step's mask); the snapshot after the reset and after every step.
fn trajectory(make: Make, be: Arc<dyn Backend>, seed: u64, draws: u64, steps: usize) -> Vec<Vec<Vec<u32>>> {
    let mut env = make(be.clone());
    let out = EnvBuffers::new(&*be, env.spec()).unwrap();
    env.reset(seed, &out).unwrap();
    let mut rng = Lcg(draws);
    let mut snaps = vec![snapshot(&*env, &out)];
    for _ in 0..steps {
        let a = valid_actions(env.spec(), mask_of(&*env, &out).as_deref(), &mut rng);
        env.step_host(&a, &out).unwrap();
        snaps.push(snapshot(&*env, &out));
    }
    snaps
}

/// Steps before the horizon (all of them when it is shorter than 6).
fn steps_of(spec: &EnvSpec) -> usize {
    spec.horizon.map_or(6, |h| (h as usize).min(6))
}

const NAMES: [&str; 7] = ["obs", "reward", "terminated", "truncated", "mask", "info", "state"];
/// Buffers holding f32 values.
const FLOATS: [bool; 7] = [true, true, false, false, false, true, true];

/// The parity tolerance: |a − b| ≤ 1e-5·max(|a|, |b|) + 1e-6·`scale` (the buffer's largest
/// magnitude, for values near zero that are differences of large ones).
fn close(a: u32, b: u32, scale: f32) -> bool {
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    a == b || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-5 * x.abs().max(y.abs()) + 1e-6 * scale
}

fn spec_and_buffers(make: Make) {
    for be in backends() {
        let mut env = make(be.clone());
        let spec = env.spec().clone();
        let out = EnvBuffers::new(&*be, &spec).unwrap();
        assert_eq!(out.obs.words(), spec.batch * spec.agents * spec.obs_words(), "{}", spec.system);
        assert_eq!(out.reward.words(), spec.reward_words());
        assert!(!spec.masked || spec.action.choices().is_some(), "{}: masks need discrete actions", spec.system);
        assert!(!matches!(spec.action, ActionSpace::Continuous { .. }), "the suite draws discrete actions");
        env.reset(3, &out).unwrap();
        // Too short an action buffer, too small an output buffer: typed errors, nothing launched.
        let short = be.alloc(spec.action_words() - 1).unwrap();
        assert!(matches!(env.step(&short, &out), Err(Error::Shape { .. })), "{}", spec.system);
        let small = EnvBuffers { obs: be.alloc(1).unwrap(), ..EnvBuffers::new(&*be, &spec).unwrap() };
        let acts = be.alloc(spec.action_words()).unwrap();
        match env.step(&acts, &small) {
            Err(Error::Shape { op, .. }) => assert!(op.contains("obs"), "{op}"),
            other => panic!("{}: {other:?}", spec.system),
        }
        assert!(matches!(env.reset(3, &small), Err(Error::Shape { .. })));
    }
}

fn deterministic_and_equal_on_every_backend(make: Make) {
    let cpu = backend::create(BackendKind::Cpu).unwrap();
    let steps = steps_of(make(cpu.clone()).spec());
    let want = trajectory(make, cpu.clone(), 11, 11, steps);
    assert_eq!(want, trajectory(make, cpu, 11, 11, steps), "two runs with one seed differ");
    for be in backends().into_iter().skip(1) {
        let got = trajectory(make, be.clone(), 11, 11, steps);
        for (t, (w, g)) in want.iter().zip(&got).enumerate() {
            for (k, (wb, gb)) in w.iter().zip(g).enumerate() {
                let scale = wb.iter().map(|&x| f32::from_bits(x).abs()).filter(|x| x.is_finite()).fold(0.0, f32::max);
                let same = wb.len() == gb.len()
                    && wb.iter().zip(gb).all(|(&x, &y)| if FLOATS[k] { close(x, y, scale) } else { x == y });
                assert!(same, "{}: step {t}, `{}` differs from the cpu", be.kind(), NAMES[k]);
            }
        }
    }
}

fn seed_sensitivity(make: Make) {
    for be in backends() {
        let spec = make(be.clone()).spec().clone();
        let steps = steps_of(&spec);
        let (a, b) = (trajectory(make, be.clone(), 1, 99, steps), trajectory(make, be.clone(), 2, 99, steps));
        let obs = |t: &Vec<Vec<Vec<u32>>>| t.iter().map(|s| s[0].clone()).collect::<Vec<_>>();
        if spec.stochastic {
            assert_ne!(obs(&a), obs(&b), "{}: seeds 1 and 2 give the same observations", spec.system);
        } else {
            assert_eq!(a, b, "{}: the spec says the seed does not matter", spec.system);
        }
    }
}

fn masks_honoured(make: Make) {
    for be in backends() {
        let mut env = make(be.clone());
        let spec = env.spec().clone();
        if !spec.masked {
            assert!(mask_of(&*env, &EnvBuffers::new(&*be, &spec).unwrap()).is_none());
            continue;
        }
        let out = EnvBuffers::new(&*be, &spec).unwrap();
        env.reset(5, &out).unwrap();
        let n = spec.action.choices().unwrap() as usize;
        let mut rng = Lcg(5);
        let mut refused = 0;
        for _ in 0..steps_of(&spec) {
            let mask = mask_of(&*env, &out).unwrap();
            let good = valid_actions(&spec, Some(&mask), &mut rng);
            if let Some(i) = mask.iter().position(|&m| m == 0) {
                let mut bad = good.clone();
                bad[i / n] = (i % n) as u32;
                match env.step_host(&bad, &out) {
                    Err(Error::Input { field, index, why, .. }) => {
                        assert_eq!((field, index), (format!("{}.actions", spec.system), i / n));
                        assert!(why.contains("mask"), "{why}");
                    }
                    other => panic!("{}: a masked action was accepted: {other:?}", spec.system),
                }
                refused += 1;
            }
            env.step_host(&good, &out).unwrap();
        }
        assert!(refused > 0, "{}: no step had a masked choice to try", spec.system);
    }
}

fn bad_actions_refused(make: Make) {
    for be in backends() {
        let steps = steps_of(make(be.clone()).spec());
        let want = trajectory(make, be.clone(), 7, 7, steps);
        // The same run, with refused steps in between: nothing changes.
        let mut env = make(be.clone());
        let spec = env.spec().clone();
        let out = EnvBuffers::new(&*be, &spec).unwrap();
        env.reset(7, &out).unwrap();
        let mut rng = Lcg(7);
        for t in 0..steps {
            let good = valid_actions(&spec, mask_of(&*env, &out).as_deref(), &mut rng);
            let n = spec.action.choices().unwrap();
            let mut bad = good.clone();
            let i = t % bad.len();
            bad[i] = n + t as u32;
            match env.step_host(&bad, &out) {
                Err(Error::Input { field, index, .. }) => {
                    assert_eq!((field, index), (format!("{}.actions", spec.system), i))
                }
                other => panic!("{}: an out-of-range action was accepted: {other:?}", spec.system),
            }
            assert!(matches!(env.step_host(&good[1..], &out), Err(Error::Shape { .. })));
            env.step_host(&good, &out).unwrap();
            assert_eq!(snapshot(&*env, &out), want[t + 1], "{}: step {t} changed after a refused step", spec.system);
        }
    }
}

fn no_host_round_trip_per_step(make: Make) {
    for be in backends() {
        let mut env = make(be.clone());
        let spec = env.spec().clone();
        let out = EnvBuffers::new(&*be, &spec).unwrap();
        env.reset(9, &out).unwrap();
        // Action 0 is a valid choice of every system's space (its effect under a mask is the
        // system's documented one); the buffer is made before counting.
        let actions = be.alloc(spec.action_words()).unwrap();
        let before = be.downloads();
        for _ in 0..steps_of(&spec) {
            env.step(&actions, &out).unwrap();
        }
        be.sync().unwrap();
        assert_eq!(be.downloads(), before, "{}: a device step downloaded", spec.system);
    }
}

fn episodes_end(make: Make) {
    for be in backends() {
        let mut env = make(be.clone());
        let spec = env.spec().clone();
        let out = EnvBuffers::new(&*be, &spec).unwrap();
        env.reset(13, &out).unwrap();
        let mut rng = Lcg(13);
        let limit = spec.horizon.unwrap_or(64);
        let mut ended = vec![false; spec.batch];
        for t in 1..=limit {
            let a = valid_actions(&spec, mask_of(&*env, &out).as_deref(), &mut rng);
            env.step_host(&a, &out).unwrap();
            let term = be.download(&out.terminated).unwrap();
            let trunc = be.download(&out.truncated).unwrap();
            let reward = download_f32(&*be, &out.reward).unwrap();
            let per = spec.reward_words() / spec.batch;
            for b in 0..spec.batch {
                if ended[b] {
                    assert_eq!(term[b], 1, "{}: instance {b} came back after terminating", spec.system);
                    assert!(
                        reward[b * per..(b + 1) * per].iter().all(|&r| r == 0.0),
                        "{}: reward after the end",
                        spec.system
                    );
                }
                ended[b] |= term[b] == 1;
                let at_horizon = spec.horizon == Some(t);
                assert_eq!(trunc[b], at_horizon as u32, "{}: truncated at step {t}", spec.system);
            }
            if spec.horizon.is_none() && ended.iter().all(|&e| e) {
                break;
            }
        }
        match spec.horizon {
            Some(_) => {
                let a = valid_actions(&spec, mask_of(&*env, &out).as_deref(), &mut rng);
                assert!(
                    matches!(env.step_host(&a, &out), Err(Error::Config { .. })),
                    "{}: a step past the horizon",
                    spec.system
                );
                env.reset(13, &out).unwrap();
                assert!(be.download(&out.truncated).unwrap().iter().all(|&x| x == 0));
            }
            None => {
                assert!(ended.iter().all(|&e| e), "{}: without a horizon every episode must terminate", spec.system)
            }
        }
    }
}

macro_rules! suite {
    ($($name:ident => $make:expr;)*) => {$(
        mod $name {
            use super::*;
            const MAKE: Make = $make;
            #[test]
            fn spec_and_buffers() {
                super::spec_and_buffers(MAKE)
            }
            #[test]
            fn deterministic_and_equal_on_every_backend() {
                super::deterministic_and_equal_on_every_backend(MAKE)
            }
            #[test]
            fn seed_sensitivity() {
                super::seed_sensitivity(MAKE)
            }
            #[test]
            fn masks_honoured() {
                super::masks_honoured(MAKE)
            }
            #[test]
            fn bad_actions_refused() {
                super::bad_actions_refused(MAKE)
            }
            #[test]
            fn no_host_round_trip_per_step() {
                super::no_host_round_trip_per_step(MAKE)
            }
            #[test]
            fn episodes_end() {
                super::episodes_end(MAKE)
            }
        }
    )*};
}

mod make {
    use super::*;
    use mecrl::env::coop::contract::CoopBatchEnv;
    use mecrl::env::coop::CoopConfig;
    use mecrl::env::crowd::contract::CrowdBatchEnv;
    use mecrl::env::crowd::CrowdConfig;
    use mecrl::env::dag::contract::DagBatchEnv;
    use mecrl::env::dag::gen::{generate, DagGenConfig};
    use mecrl::env::dag::model::DagSystem;
    use mecrl::env::endedge::contract::EndedgeBatchEnv;
    use mecrl::env::endedge::EndedgeConfig;
    use mecrl::env::mec::contract::MecBatchEnv;
    use mecrl::env::mec::MecConfig;
    use mecrl::env::toy::ToyEnv;

    pub fn mec(be: Arc<dyn Backend>) -> Box<dyn BatchEnv> {
        Box::new(MecBatchEnv::new(be, &MecConfig { n_iotd: 13, n_mec: 3, ..Default::default() }, 5, 4).unwrap())
    }
    pub fn dag(be: Arc<dyn Backend>) -> Box<dyn BatchEnv> {
        let dags: Vec<_> = [5usize, 9, 1, 7]
            .iter()
            .enumerate()
            .map(|(k, &n)| generate(&DagGenConfig { n, ..Default::default() }, 3, k as u32).unwrap())
            .collect();
        Box::new(DagBatchEnv::new(be, &dags, &DagSystem::default(), 2, false).unwrap())
    }
    pub fn crowd(be: Arc<dyn Backend>) -> Box<dyn BatchEnv> {
        let cfg = CrowdConfig {
            n_servers: 1,
            clusters_per_cell: 1,
            cluster_sizes: Some(vec![4]),
            md_candidates: 2,
            rate_levels: vec![0.5, 1.0],
            horizon_slots: 5,
            ..CrowdConfig::default()
        };
        Box::new(CrowdBatchEnv::new(be, &cfg, 3).unwrap())
    }
    pub fn coop(be: Arc<dyn Backend>) -> Box<dyn BatchEnv> {
        Box::new(CoopBatchEnv::new(be, &CoopConfig { n_nodes: 4, horizon: 3, ..Default::default() }, 3).unwrap())
    }
    pub fn endedge(be: Arc<dyn Backend>) -> Box<dyn BatchEnv> {
        let cfg = EndedgeConfig {
            devices: 9,
            servers: 3,
            slots: 7,
            tail_slots: 2,
            deadline_slots: 4,
            ..EndedgeConfig::default()
        };
        Box::new(EndedgeBatchEnv::new(be, &cfg, 2).unwrap())
    }
    pub fn toy(be: Arc<dyn Backend>) -> Box<dyn BatchEnv> {
        Box::new(ToyEnv::new(be, 9, 4, 5).unwrap())
    }
}

suite! {
    mec => make::mec;
    dag => make::dag;
    crowd => make::crowd;
    coop => make::coop;
    endedge => make::endedge;
    toy => make::toy;
}
