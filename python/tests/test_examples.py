"""The examples (examples/python) and `python -m mecrl.bench`, each for a few iterations."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

import mecrl
import mecrl.bench

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("system", mecrl.SYSTEMS)
def test_random_agent(system):
    finished, returns = load("random_agent").main(["--system", system, "--num-envs", "8", "--steps", "30"])
    assert all(math.isfinite(x) for x in finished) and all(math.isfinite(x) for x in returns)


def test_ppo_mec_runs():
    history = load("ppo_mec").main(["--num-envs", "32", "--iterations", "2", "--steps", "4"])
    assert len(history) == 2 and all(0 < r < 1 for r in history)


def test_bench_runs(capsys):
    mecrl.bench.main(["--num-envs", "8", "--steps", "2", "--blocks", "1", "--ref-envs", "2", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [r["system"] for r in rows] == list(mecrl.SYSTEMS)
    assert all(r["python_ms"] > 0 and r["rust_ms"] > 0 for r in rows)
    refs = {r["system"]: r["reference_env_steps_per_s"] for r in rows}
    assert refs["mec"] > 0 and refs["coop"] > 0 and refs["endedge"] > 0 and refs["crowd"] is None


@pytest.mark.parametrize("name", ["CoopRef", "EndedgeRef", "MecRef"])
def test_references_pass_the_env_checker(name):
    from gymnasium.utils.env_checker import check_env

    import mecrl.reference

    check_env(getattr(mecrl.reference, name)(), skip_render_check=True)


def test_mec_reference_all_local_by_hand():
    """At the defaults a local task costs T = F/f0 = 1e9/1e9 = 1 s and E = κ f0² F = 1e-27 ·
    1e18 · 1e9 = 1 J (eq. 8-10), so Φ = 0.5 · 1 + 0.5 · 1 = 1 and all-local gives ΣΦ = N = 30."""
    import numpy as np

    from mecrl.reference import MecRef

    env = MecRef()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(30, dtype=np.int64))
    assert abs(info["objective"] - 30.0) < 1e-9 and abs(reward - 1 / 30) < 1e-12
