"""PettingZoo parallel environments and the batched multi-agent form."""

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

import mecrl

from test_envs import SMALL

PARALLEL = ("crowd", "coop", "endedge")


@pytest.mark.parametrize("system", PARALLEL)
def test_parallel_api(system):
    env = mecrl.parallel_env(system, **SMALL[system])
    parallel_api_test(env, num_cycles=50)


@pytest.mark.parametrize("system", PARALLEL)
def test_state_for_a_centralized_critic(system):
    env = mecrl.parallel_env(system, **SMALL[system])
    env.reset(seed=3)
    s = env.state()
    assert s.shape == env.state_space.shape and s.dtype == np.float32 and np.isfinite(s).all()


@pytest.mark.parametrize("system", PARALLEL)
def test_batched_form_equals_the_parallel_env(system):
    """Instance 0 of a batch of 3 and a ParallelEnv, same seed and actions: the same run."""
    vec = mecrl.parallel_vec(system, 3, **SMALL[system])
    par = mecrl.parallel_env(system, **SMALL[system])
    obs, info = vec.reset(seed=5)
    pobs, _ = par.reset(seed=5)
    rng = np.random.default_rng(1)
    for _ in range(4):
        if "action_mask" in info:
            a = (rng.random(info["action_mask"].shape) + info["action_mask"]).argmax(-1)
        else:
            a = rng.integers(0, vec.n_actions, size=(3, vec.num_agents))
        obs, rew, te, tr, info = vec.step(a)
        pobs, prew, pte, ptr, _ = par.step({ag: a[0, i] for i, ag in enumerate(par.possible_agents)})
        for i, ag in enumerate(par.possible_agents):
            o = pobs[ag]["observation"] if isinstance(pobs[ag], dict) else pobs[ag]
            np.testing.assert_array_equal(o, obs[0, i])
            assert prew[ag] == rew[0, i]
        if te.any() or tr.any():
            break


def test_parallel_env_refuses_the_single_agent_systems_and_bad_actions():
    with pytest.raises(mecrl.Error, match="system"):
        mecrl.parallel_env("mec")
    vec = mecrl.parallel_vec("coop", 2, **SMALL["coop"])
    vec.reset(seed=0)
    with pytest.raises(mecrl.Error, match="shape"):
        vec.step(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(mecrl.Error, match=r"actions\["):
        vec.step(np.full((2, 4), 99, dtype=np.int64))
