//! What a run of each system allocates, estimated from its config before anything is allocated
//! ([`crate::memory`]). Every term names the config field that sizes it; the terms follow the
//! buffers of the environments (`src/env/<system>/env.rs`), the searches, the networks with
//! their gradients and Adam moments, replay memories and rollouts, and the results kept for the
//! report. They are estimates within a small factor of the measured peak (docs/reliability.md),
//! meant to refuse what cannot fit, not to account for every byte.

use crate::memory::{product, Need};

/// 32-bit words of a parameter set of `params` weights while training: weights, gradients,
/// two Adam moments, one copy (target network or snapshot) and the update's temporaries.
fn training_words(params: u128) -> u128 {
    params.saturating_mul(6)
}

/// Weights of an MLP with layer sizes `sizes` (biases included).
fn mlp_params(sizes: &[u128]) -> u128 {
    sizes.windows(2).fold(0u128, |a, w| a.saturating_add(product(&[w[0].saturating_add(1), w[1]])))
}

/// Weights of an LSTM (4 gates) from `input` to `hidden` units.
fn lstm_params(input: u128, hidden: u128) -> u128 {
    product(&[4, hidden, input.saturating_add(hidden).saturating_add(1)])
}

fn u(x: usize) -> u128 {
    x as u128
}

fn list(v: &[usize]) -> String {
    format!("{v:?}")
}

/// The `mec` environment's buffers: B · N · (6M + 8) words (env.rs).
pub fn mec_env(m: &crate::env::mec::MecConfig, batch: usize, batch_field: &str) -> Need {
    let mut need = Need::new();
    let (n, mm) = (u(m.n_iotd), u(m.n_mec));
    let field = if m.n_iotd >= batch { "mec.n_iotd" } else { batch_field };
    let value = if m.n_iotd >= batch { m.n_iotd } else { batch };
    need.words(field, value, "mec environment state", product(&[u(batch), n, mm.saturating_mul(6).saturating_add(8)]));
    need
}

/// The Lévy search's population, candidates and bins: B · P · (3N + 2M + 2) words (the
/// decisions, and in `paper` mode the f and p populations, with the bins).
fn levy(l: &crate::search::levy::LevyConfig, m: &crate::env::mec::MecConfig, batch: usize, prefix: &str) -> Need {
    let mut need = Need::new();
    let per = u(m.n_iotd).saturating_mul(3).saturating_add(u(m.n_mec) * 2 + 2);
    need.words(
        &format!("{prefix}population"),
        l.population,
        "Lévy search population",
        product(&[u(batch), u(l.population), per]),
    );
    need
}

/// `mec` (`configs/mec.toml`).
pub fn mec(c: &super::config::RunConfig) -> Need {
    let mut need = mec_env(&c.mec, c.batch, "batch");
    if c.methods.iter().any(|m| {
        !matches!(m, super::config::Method::Local | super::config::Method::Random | super::config::Method::Greedy)
    }) {
        need.extend(levy(&c.levy, &c.mec, c.batch, "levy."));
    }
    // Per instance, step and method: a summary (32 B) and its results.csv row (~96 B).
    need.add(
        "steps",
        c.steps,
        "results of every instance and step",
        product(&[u(c.batch), u(c.steps), u(c.methods.len()), 128]),
    );
    need
}

/// DIRS (`configs/dirs.toml`).
pub fn dirs(c: &super::dirs::DirsRunConfig) -> Need {
    let d = &c.dirs;
    let (n, m) = (u(c.mec.n_iotd), u(c.mec.n_mec));
    let mut sizes = vec![n];
    sizes.extend(d.hidden.iter().map(|&h| u(h)));
    sizes.push(n);
    let widest = d.hidden.iter().copied().max().unwrap_or(0);
    let (net_field, net_value) =
        if widest > c.mec.n_iotd { ("dirs.hidden", list(&d.hidden)) } else { ("mec.n_iotd", c.mec.n_iotd.to_string()) };
    let mut need = Need::new();
    need.words(
        net_field,
        &net_value,
        "agent networks (M of them) with gradients and Adam moments",
        product(&[m, training_words(mlp_params(&sizes))]),
    );
    // A minibatch through M agents: activations forward and backward, and its gathered rows.
    let width: u128 = sizes.iter().fold(0u128, |a, &s| a.saturating_add(s));
    need.words(
        "dirs.minibatch",
        d.minibatch,
        "minibatch activations and gradients",
        // Per unit: its input, pre-activation, activation and their gradients.
        product(&[u(d.minibatch), m, width.saturating_mul(6).saturating_add(n)]),
    );
    let row = product(&[m, n]).saturating_add(n + 2);
    need.words("dirs.replay_capacity", d.replay_capacity, "replay memory", product(&[u(d.replay_capacity), row]));
    need.words(
        "dirs.demonstrations",
        d.demonstrations,
        "demonstrations",
        product(&[u(d.demonstrations), u(d.train_envs), row, 2]),
    );
    need.words(
        "dirs.demonstrations",
        d.demonstrations,
        "host copies of the demonstrations' cost tables and √F (Table II's set accuracy)",
        product(&[u(d.demonstrations), u(d.train_envs), n, m.saturating_add(2), 2]),
    );
    need.extend(mec_env(&c.mec, d.train_envs, "dirs.train_envs"));
    need.extend(levy(&d.levy, &c.mec, d.train_envs, "dirs.levy."));
    need.extend(mec_env(&c.mec, c.inference_batch, "inference_batch"));
    need.add("t_drl", d.t_drl, "online metrics", product(&[u(d.t_drl) / u(c.log_every.max(1)), 128]));
    need
}

/// The task graphs of `dag` grids (`configs/dag.toml`).
pub fn dag(grid: &[super::dag::DagGrid]) -> Need {
    let mut need = Need::new();
    for (k, g) in grid.iter().enumerate() {
        let nmax = u(g.n.iter().copied().max().unwrap_or(0));
        let sets =
            product(&[u(g.n.len()), u(g.fat.len().max(1)), u(g.density.len().max(1)), u(g.rate_mbps.len().max(1))]);
        // A graph: per task its costs, parents and children (≤ n each, as lists) and its plan.
        let per_graph = product(&[nmax, nmax.saturating_mul(2).saturating_add(16)]);
        need.words(&format!("grid[{k}].graphs"), g.graphs, "task graphs", product(&[sets, u(g.graphs), per_graph, 2]));
    }
    need
}

/// MRLCO (`configs/mrlco.toml`).
pub fn mrlco(c: &super::mrlco::MrlcoRunConfig) -> Need {
    let r = &c.mrlco;
    let mut need = dag(&c.grid);
    let nmax = u(c.grid.iter().flat_map(|g| g.n.iter().copied()).max().unwrap_or(0));
    let (h, emb) = (u(r.hidden), 5 + 2 * u(r.parents) + 2);
    let params =
        product(&[u(r.layers), 2, lstm_params(emb.max(h), h)]).saturating_add(product(&[u(r.attention), h, 3]));
    need.words(
        "mrlco.hidden",
        r.hidden,
        "Seq2Seq with gradients, Adam moments and meta copies",
        params.saturating_mul(8),
    );
    // A rollout of graphs_per_task · trajectories sequences of n_max steps, kept for backward.
    let seqs = product(&[u(r.graphs_per_task), u(r.trajectories)]);
    let per_step =
        product(&[h, u(r.layers), 12]).saturating_add(u(r.attention)).saturating_add(nmax).saturating_add(emb);
    need.words("mrlco.trajectories", r.trajectories, "rollout and its activations", product(&[seqs, nmax, per_step]));
    need
}

fn crowd_users(c: &crate::env::crowd::CrowdConfig) -> u128 {
    match &c.cluster_sizes {
        Some(s) => s.iter().fold(0u128, |a, &x| a.saturating_add(u(x))),
        None => product(&[u(c.n_servers), u(c.clusters_per_cell), u(c.cluster_size_max)]),
    }
}

/// The `crowd` environment (`configs/crowd.toml`): per instance N · (obs width + 10) words, and its units and links.
pub fn crowd_env(c: &crate::env::crowd::CrowdConfig, batch: usize, batch_field: &str) -> Need {
    let n = crowd_users(c);
    let obs = 3 + 3 * (u(c.md_candidates) + u(c.n_servers) + 2);
    let mut need = Need::new();
    let users_field = if c.cluster_sizes.is_some() { "crowd.cluster_sizes" } else { "crowd.cluster_size_max" };
    let per = product(&[n, obs + 12]).saturating_add(u(c.n_servers * c.n_servers));
    if n >= u(batch) {
        need.words(users_field, c.cluster_size_max, "crowd environment state", product(&[u(batch), per]));
    } else {
        need.words(batch_field, batch, "crowd environment state", product(&[u(batch), per]));
    }
    need
}

/// MAPPO and its baselines (`configs/mappo.toml`).
pub fn mappo(c: &super::mappo::MappoRunConfig) -> Need {
    let p = &c.mappo;
    let mut need = crowd_env(&c.crowd, c.batch, "batch");
    let agents = product(&[u(c.batch), crowd_users(&c.crowd)]);
    let obs = 3 + 3 * (u(c.crowd.md_candidates) + u(c.crowd.n_servers) + 2);
    let h = u(p.hidden.max(p.lstm_sizes[1]));
    let critics = u(p.critics.max(5));
    // Rollout: obs, GRU/LSTM states and activations kept for truncated BPTT, values per critic.
    let per_step = obs.saturating_add(h.saturating_mul(10)).saturating_add(critics).saturating_add(8);
    need.words(
        "mappo.rollout_slots",
        p.rollout_slots,
        "rollout and recurrent activations",
        product(&[agents, u(p.rollout_slots), per_step]),
    );
    need.words(
        "mappo.madqn.replay_rounds",
        p.madqn.replay_rounds,
        "MADQN sequence replay",
        product(&[u(p.madqn.replay_rounds), agents, u(p.rollout_slots), obs + 4]),
    );
    need.words(
        "mappo.hidden",
        p.hidden,
        "networks with gradients and Adam moments",
        product(&[critics + 1, training_words(product(&[h, h.saturating_add(obs), 4]))]),
    );
    need
}

/// The `coop` environment (`configs/coop.toml`) of `n` nodes (the largest of a sweep): per instance N² · (W + 8) + 16 N W words (cpu.rs).
pub fn coop_env(c: &crate::env::coop::CoopConfig, n: usize, batch: usize, batch_field: &str, n_field: &str) -> Need {
    let (n, w) = (u(n), u(c.deadline_slots() as usize) + 1);
    let per = product(&[n, n, w + 8]).saturating_add(product(&[n, w, 16]));
    let mut need = Need::new();
    if n >= u(batch) {
        need.words(n_field, n, "coop environment state", product(&[u(batch), per]));
    } else {
        need.words(batch_field, batch, "coop environment state", product(&[u(batch), per]));
    }
    need
}

/// What `mecrl coop log` holds in memory: the environment and one slot's rows (three copies:
/// downloaded, assembled, serialized). The log itself streams to disk.
pub fn coop_log(cfg: &crate::env::coop::CoopConfig, batch: usize) -> Need {
    let mut need = coop_env(cfg, cfg.n_nodes, batch, "--batch", "--nodes");
    let (n, od, na) = (u(cfg.n_nodes), u(cfg.obs_dim()), u(cfg.n_actions()));
    need.words("--nodes", cfg.n_nodes, "one slot's rows", product(&[u(batch), n, 2 * od + na + 3, 3]));
    need
}

/// O2O-DRL (`configs/o2o.toml`).
pub fn o2o(c: &super::o2o::O2oRunConfig) -> Need {
    let o = &c.o2o;
    let n = c.nodes.iter().copied().fold(c.coop.n_nodes, usize::max);
    let mut need = coop_env(&c.coop, n, o.instances.max(c.log_instances), "o2o.instances", "coop.n_nodes");
    let (obs, acts) = (3 * u(n) + 5, u(n) + 1);
    let row = obs.saturating_mul(2).saturating_add(acts).saturating_add(3);
    let logged = product(&[u(c.log_instances), u(c.log_episodes as usize), u(c.coop.episode_slots() as usize), u(n)]);
    let (field, value, rows) = if logged <= u(o.offline.capacity) {
        ("log_episodes", c.log_episodes as usize, logged)
    } else {
        ("o2o.offline.capacity", o.offline.capacity, u(o.offline.capacity))
    };
    need.words(field, value, "offline data set and replay", product(&[rows, row, 2]));
    let params = mlp_params(&[obs, u(o.hidden[0]), u(o.hidden[1]), acts]);
    need.words(
        "o2o.hidden",
        list(&o.hidden),
        "Q, target Q, actor and critic with Adam moments",
        product(&[6, training_words(params)]),
    );
    need.words(
        "o2o.offline.batch",
        o.offline.batch,
        "minibatch activations",
        product(&[u(o.offline.batch), 8, row.saturating_add(u(o.hidden[0] + o.hidden[1]))]),
    );
    let agents = product(&[u(o.instances), u(n)]);
    need.words(
        "o2o.instances",
        o.instances,
        "online rollout",
        product(&[agents, u(c.coop.episode_slots() as usize), obs + acts + 8]),
    );
    need
}

/// The `endedge` environment: per instance D · (5W + 6E + 40) + C · E words (env.rs: rings of
/// W, predictions, counters, observation and mask; the contract's buffers and the runner's
/// downloads of them).
pub fn endedge_env(
    e: &crate::env::endedge::EndedgeConfig,
    devices: usize,
    batch: usize,
    batch_field: &str,
    d_field: &str,
) -> Need {
    let w = u(e.deadline_slots as usize) + 1;
    let per = product(&[u(devices), (w * 5).saturating_add(u(e.servers) * 6 + 40)])
        .saturating_add(product(&[u(e.load_history), u(e.servers)]));
    let mut need = Need::new();
    if devices >= batch {
        need.words(d_field, devices, "endedge environment state", product(&[u(batch), per]));
    } else {
        need.words(batch_field, batch, "endedge environment state", product(&[u(batch), per]));
    }
    need
}

/// `endedge` (`configs/endedge.toml`).
pub fn endedge(c: &super::endedge::EndedgeRunConfig) -> Need {
    let d = c.sweep.devices.iter().copied().fold(c.endedge.devices, usize::max);
    let field = if d > c.endedge.devices { "sweep.devices" } else { "endedge.devices" };
    endedge_env(&c.endedge, d, c.batch, "batch", field)
}

/// CRB-DRQN and its baselines (`configs/crbdrqn.toml`).
pub fn crbdrqn(c: &super::crbdrqn::CrbDrqnRunConfig) -> Need {
    let r = &c.crbdrqn;
    let d = c.devices.iter().copied().fold(c.base_devices, usize::max);
    let mut need = endedge_env(&c.endedge, d, r.instances, "crbdrqn.instances", "devices");
    let e = u(c.endedge.servers);
    let obs = 3 + e + product(&[u(c.endedge.load_history), e]);
    let slots = u(c.endedge.slots);
    need.words(
        "crbdrqn.pool_capacity",
        r.pool_capacity,
        "trajectory pool",
        product(&[u(r.pool_capacity), u(r.trajectory_steps) + 1, obs + 4]),
    );
    let agents = product(&[u(r.instances), u(d)]);
    // An episode of every agent, kept for the on-policy baselines and the QMIX replay.
    need.words("devices", list(&c.devices), "episode rollout of every terminal", product(&[agents, slots, obs + 8]));
    need.words(
        "crbdrqn.qmix.replay_episodes",
        r.qmix.replay_episodes,
        "QMIX episode replay",
        product(&[u(r.qmix.replay_episodes), agents, slots, obs + 4]),
    );
    let h = u(r.hidden[0].max(r.hidden[1]).max(r.lstm_hidden));
    need.words(
        "crbdrqn.hidden",
        list(&r.hidden),
        "networks with gradients and moments",
        product(&[8, training_words(product(&[h, h.saturating_add(obs), 4]))]),
    );
    need
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::AnyConfig;
    use crate::memory::Budget;

    fn estimate(cfg: &AnyConfig) -> Need {
        cfg.memory()
    }

    fn refused(toml: &str) -> String {
        let cfg = AnyConfig::from_toml(toml, std::path::Path::new("t.toml")).unwrap();
        let budget = Budget { bytes: 24 << 30, source: "a 24 GiB machine".into() };
        estimate(&cfg).check_against(&budget).unwrap_err().to_string()
    }

    #[test]
    fn the_issue_cases_are_refused_by_their_field() {
        let e = refused("system = \"dirs\"\n[dirs]\nhidden = [100000000, 100000000]\n");
        assert!(e.contains("`dirs.hidden` = [100000000, 100000000]"), "{e}");
        let e = refused("system = \"dirs\"\n[dirs]\nminibatch = 4000000000\n");
        assert!(e.contains("`dirs.minibatch` = 4000000000"), "{e}");
        let e = refused("system = \"dirs\"\n[mec]\nn_iotd = 10000000\n");
        assert!(e.contains("`mec.n_iotd` = 10000000"), "{e}");
        let e = refused("steps = 100000000000\n");
        assert!(e.contains("`steps` = 100000000000"), "{e}");
        let e = refused("[levy]\npopulation = 65536\ngenerations = 65535\n[mec]\nn_iotd = 1000\n");
        assert!(e.contains("`levy.population` = 65536"), "{e}");
        let e = refused("system = \"endedge\"\n[endedge]\ndevices = 16000000\n[sweep]\ndevices = [16000000]\n");
        assert!(e.contains("`endedge.devices` = 16000000"), "{e}");
    }

    #[test]
    fn the_shipped_configs_fit_a_small_machine() {
        let budget = Budget { bytes: 2 << 30, source: "2 GiB".into() };
        for f in ["mec", "dirs", "dag", "mrlco", "crowd", "mappo", "coop", "o2o", "endedge", "crbdrqn"] {
            let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{f}.toml"));
            let cfg = AnyConfig::load(&p).unwrap();
            let need = estimate(&cfg);
            need.check_against(&budget).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(need.parts.iter().all(|p| p.bytes > 0), "{f}: {need:?}");
        }
    }

    #[test]
    fn a_term_is_hand_computed() {
        // mec: B = 64, N = 30, M = 2: 64 · 30 · (6 · 2 + 8) words.
        let cfg = AnyConfig::from_toml("methods = [\"local\"]\n", std::path::Path::new("t.toml")).unwrap();
        let need = estimate(&cfg);
        assert_eq!(need.parts[0].bytes, 4 * 64 * 30 * 20);
        // results: 64 instances · 1 step · 1 method · 128 B.
        assert_eq!(need.parts[1].bytes, 64 * 128);
        assert_eq!(mlp_params(&[30, 80, 60, 30]), 31 * 80 + 81 * 60 + 61 * 30);
    }
}
