"""The Python package against Gymnasium's checker, itself and the Rust run (tools/test.sh)."""

import json
import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import mecrl

# small instances of each system (the Rust config fields; dag: graphs of 6 tasks)
SMALL = {
    "mec": {"n_iotd": 6, "n_mec": 2, "horizon": 5},
    "dag": {"gen": {"n": 6}, "parents": 3},
    "crowd": {"n_servers": 1, "clusters_per_cell": 1, "cluster_sizes": [4], "md_candidates": 2,
              "rate_levels": [0.5, 1.0], "horizon_slots": 5},
    "coop": {"n_nodes": 4, "horizon": 3},
    "endedge": {"devices": 9, "servers": 3, "slots": 7, "tail_slots": 2, "deadline_slots": 4},
}
MASKED = {"coop", "endedge"}


def allowed_actions(env, info, rng):
    """Random actions, within the mask where the system has one."""
    if "action_mask" not in info:
        space = env.action_space  # Gymnasium batches (Multi)Discrete into MultiDiscrete or an int Box
        if hasattr(space, "nvec"):
            return rng.integers(0, space.nvec)
        return rng.integers(space.low, space.high.astype(np.int64) + 1)
    m = info["action_mask"]  # [num_envs, agents, n]
    scores = rng.random(m.shape) + m  # an allowed choice always wins
    return scores.argmax(-1).reshape(env.action_space.shape)


def rollout(env, seed, steps, action_seed=0):
    rng = np.random.default_rng(action_seed)
    obs, info = env.reset(seed=seed)
    out = [obs.copy()]
    for _ in range(steps):
        obs, r, te, tr, info = env.step(allowed_actions(env, info, rng))
        out += [obs.copy(), np.array(r), te.copy(), tr.copy()]
    return out


@pytest.mark.parametrize("system", mecrl.SYSTEMS)
def test_check_env(system):
    # Gymnasium's checker steps random actions, masked ones included: hand those to the kernels
    masked_action = "kernel" if system in MASKED else "raise"
    env = mecrl.make(system, masked_action=masked_action, **SMALL[system])
    check_env(env, skip_render_check=True)


@pytest.mark.parametrize("system", mecrl.SYSTEMS)
def test_vector_env_spaces_and_autoreset(system):
    env = mecrl.make_vec(system, 3, seed=5, **SMALL[system])
    assert isinstance(env, gymnasium.vector.VectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = env.reset(seed=1)
    assert obs.shape == (3, *env.single_observation_space.shape) and obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(40):
        obs, r, te, tr, info = env.step(allowed_actions(env, info, rng))
        assert r.shape[0] == 3 and te.dtype == bool and tr.dtype == bool
        assert np.isfinite(obs).all()
        if (te | tr).any():
            ends += 1
            assert (te | tr).all(), "every instance of a batch ends together"
            obs2, r2, te2, tr2, _ = env.step(allowed_actions(env, info, rng))
            # the next step resets (Gymnasium's next-step mode): reward 0, flags clear
            assert (np.asarray(r2) == 0).all() and not te2.any() and not tr2.any()
    assert ends >= 1


@pytest.mark.parametrize("system", mecrl.SYSTEMS)
def test_same_seed_same_trajectories(system):
    a = rollout(mecrl.make_vec(system, 4, **SMALL[system]), seed=11, steps=8)
    b = rollout(mecrl.make_vec(system, 4, **SMALL[system]), seed=11, steps=8)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    env = mecrl.make_vec(system, 4, **SMALL[system])
    if env.spec_dict["stochastic"]:
        c = rollout(env, seed=12, steps=8)
        assert any(not np.array_equal(x, y) for x, y in zip(a, c)), "another seed gives another run"


@pytest.mark.parametrize("system", mecrl.SYSTEMS)
def test_python_steps_equal_the_rust_loop(system):
    """A fixed action sequence through the VectorEnv equals the same steps of a Rust loop."""
    import json

    cfg = dict(SMALL[system])
    env = mecrl.make_vec(system, 3, **cfg)
    rng = np.random.default_rng(3)
    obs, info = env.reset(seed=7)
    horizon = env.spec_dict["horizon"] or 6
    steps = min(4, horizon - 1) if system != "dag" else 5
    actions, rewards = [], []
    for _ in range(steps):
        a = np.asarray(allowed_actions(env, info, rng), dtype=np.int64)
        actions.append(a.reshape(-1))
        obs, r, te, tr, info = env.step(a)
        rewards.append(np.array(info.get("agent_rewards", r), dtype=np.float32).reshape(-1))
    ref_obs, ref_rewards = mecrl.reference_run(system, 3, 7, np.stack(actions), config=json.dumps(cfg))
    np.testing.assert_array_equal(obs.reshape(-1), np.asarray(ref_obs, dtype=np.float32))
    np.testing.assert_array_equal(np.concatenate(rewards), np.asarray(ref_rewards, dtype=np.float32))


def test_bad_inputs_raise_errors_naming_the_field():
    env = mecrl.make_vec("mec", 2, **SMALL["mec"])
    env.reset(seed=0)
    good = env.action_space.sample()
    with pytest.raises(mecrl.Error, match="shape"):
        env.step(good[:, :-1])
    with pytest.raises(mecrl.Error, match="dtype"):
        env.step(good.astype(np.float32))
    bad = good.copy()
    bad[1, 2] = 3  # n_mec + 1 = 3 choices
    with pytest.raises(mecrl.Error, match=r"actions\[8\]"):
        env.step(bad)
    bad[1, 2] = -1
    with pytest.raises(ValueError, match=r"actions\[8\]"):
        env.step(bad)
    with pytest.raises(mecrl.Error, match="n_iot"):
        mecrl.make_vec("mec", 2, n_iot=3)
    with pytest.raises(mecrl.Error, match="horizon"):
        mecrl.make_vec("mec", 2, horizon=0)
    with pytest.raises(mecrl.Error, match="num_envs"):
        mecrl.make_vec("mec", 0)
    with pytest.raises(mecrl.Error, match="system"):
        mecrl.make_vec("nope", 2)
    with pytest.raises(mecrl.Error, match="backend|kind"):
        mecrl.make_vec("mec", 2, backend="tpu")
    with pytest.raises(mecrl.Error, match="dag.nodes"):
        mecrl.make_vec("dag", 2, nodes=3)
    # a refused step changes nothing: the next good step equals a fresh run's first step
    obs, *_ = env.step(good)
    fresh = mecrl.make_vec("mec", 2, **SMALL["mec"])
    fresh.reset(seed=0)
    obs2, *_ = fresh.step(good)
    np.testing.assert_array_equal(obs, obs2)


def test_masked_actions_are_refused_or_handed_to_the_kernel():
    env = mecrl.make_vec("coop", 2, **SMALL["coop"])
    obs, info = env.reset(seed=0)
    m = info["action_mask"]  # [num_envs, agents, n]
    assert (~m).any(), "coop masks some choice at the start"
    # a masked choice for every agent that has one, an allowed one for the others
    a = np.where((~m).any(-1), (~m).argmax(-1), m.argmax(-1))
    with pytest.raises(mecrl.Error, match="mask"):
        env.step(a)
    # refused: nothing changed, an allowed step still works
    env.step(m.argmax(-1))
    kernel = mecrl.make_vec("coop", 2, masked_action="kernel", **SMALL["coop"])
    kernel.reset(seed=0)
    obs, r, *_ = kernel.step(a)  # the kernels drop those tasks (spec["invalid_action"])
    assert np.isfinite(r).all()


def test_single_env_needs_reset_after_the_end():
    env = mecrl.make("coop", **SMALL["coop"])
    obs, info = env.reset(seed=2)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        m = info["action_mask"]
        a = (rng.random(m.shape) + m).argmax(-1)
        obs, r, te, tr, info = env.step(a)
        done = te or tr
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step(a)


SMALL_RUN = """
name = "py"
backend = "cpu"
batch = 4
steps = 2
[mec]
n_iotd = 12
n_mec = 3
[levy]
population = 4
generations = 5
"""


def test_run_writes_the_cli_run_directory(tmp_path):
    res = mecrl.run(SMALL_RUN, out=tmp_path)
    d = res["dir"]
    assert d.parent == tmp_path and (d / "manifest.json").is_file()
    cols = res["results"]["results"]
    assert len(cols["objective"]) == 6 * 4 * 2  # methods x instances x steps, as the CLI's
    assert np.isfinite(cols["objective"]).all()
    assert "method" in cols and res["summary"]
    # a file path works too, and a bad field is an error naming it
    p = tmp_path / "c.toml"
    p.write_text(SMALL_RUN.replace('name = "py"', 'name = "file"'))
    assert mecrl.run(p, out=tmp_path)["dir"].name.startswith("file")
    with pytest.raises(mecrl.Error, match="mec.n_iotd"):
        mecrl.run(SMALL_RUN.replace("n_iotd = 12", "n_iotd = 0"), out=tmp_path)
    with pytest.raises(mecrl.Error, match="reproduce.system"):
        mecrl.reproduce("crowd", out=tmp_path / "r")
    # profiles: named in a run's [mec] table, refused by name where they do not apply
    cal = mecrl.run(SMALL_RUN.replace("[mec]", '[mec]\nprofile = "calibrated"').replace('name = "py"', 'name = "cal"'),
                    out=tmp_path)
    mec = json.loads((cal["dir"] / "manifest.json").read_text())["config"]["mec"]
    assert (mec["profile"], mec["beta0"]) == ("calibrated", 1e-4)  # the preset's channel gain
    with pytest.raises(mecrl.Error, match="mec.profile"):
        mecrl.reproduce("dirs", out=tmp_path / "d", profile="paper")
    with pytest.raises(mecrl.Error, match="profile"):
        mecrl.reproduce("mrlco", out=tmp_path / "m", profile="calibrated")


def test_steps_from_threads_equal_the_sequential_run():
    """A step releases the GIL: two environments stepped from two threads at once give what
    each gives alone."""
    import threading

    def run(out, k):
        out[k] = rollout(mecrl.make_vec("endedge", 16, **SMALL["endedge"]), seed=k, steps=5)

    alone = {}
    for k in (1, 2):
        run(alone, k)
    both = {}
    threads = [threading.Thread(target=run, args=(both, k)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in (1, 2):
        for x, y in zip(alone[k], both[k]):
            np.testing.assert_array_equal(x, y)


SMALL_O2O = """
system = "o2o"
name = "o2o-py"
backend = "cpu"
heuristics = ["ratc"]
sources = []
log_instances = 2
log_episodes = 2
test_episodes = 1
[o2o]
instances = 2
eval_episodes = 1
hidden = [16, 16]
[o2o.offline]
steps = 6
batch = 32
eval_every = 3
[o2o.online]
updates = 2
[coop]
n_nodes = 4
horizon = 6
fixed_network = true
"""


def test_o2o_trains_from_python(tmp_path):
    """O2O-DRL's run (offline SAC + CQL from a RATC log, online PPO, online-only, RATC) from
    Python writes the CLI's run directory: tables, curves, figures, policies."""
    res = mecrl.run(SMALL_O2O, out=tmp_path)
    tests = res["results"]["tests"]
    assert sorted(set(tests["method"])) == ["o2o", "offline_only", "online_only", "ratc"]
    assert np.isfinite(np.asarray(tests["success"], dtype=float)).all()
    d = res["dir"]
    assert (d / "figures" / "fig3_learning_curve.svg").is_file()
    assert (d / "policies" / "base.o2o.safetensors").is_file()
    with pytest.raises(mecrl.Error, match="o2o.offline.batch"):
        mecrl.run(SMALL_O2O.replace("batch = 32", "batch = 0"), out=tmp_path)
