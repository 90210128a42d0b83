"""mecrl from Python: the five task-offloading systems of mecrl as Gymnasium environments.

    import mecrl
    envs = mecrl.make_vec("mec", 1024, seed=0, n_iotd=20)   # a gymnasium.vector.VectorEnv
    env = mecrl.make("coop", n_nodes=6)                     # a gymnasium.Env
    par = mecrl.parallel_env("endedge", devices=10)         # a pettingzoo.ParallelEnv

Every system steps all instances in one call into mecrl (Rust; cpu, wgpu or cuda backend);
observations, rewards and flags come back in numpy arrays that the environment owns and
overwrites on the next step (docs/python.md). Errors are `mecrl.Error` (a ValueError) with
mecrl's message naming the field.
"""

from ._native import Error, __version__, reference_run
from .runs import reproduce, run
from .single import MecrlEnv, make
from .vector import SYSTEMS, MecrlVectorEnv, make_vec



def parallel_env(system: str, backend: str = "cpu", **config):
    """One instance of crowd, coop or endedge as a `pettingzoo.ParallelEnv` (needs pettingzoo)."""
    from .parallel import parallel_env as make_parallel

    return make_parallel(system, backend=backend, **config)


def parallel_vec(system: str, num_envs: int, backend: str = "cpu", **config):
    """`num_envs` instances of crowd, coop or endedge stepped at once, arrays per agent group."""
    from .parallel import parallel_vec as make_parallel_vec

    return make_parallel_vec(system, num_envs, backend=backend, **config)


__all__ = ["Error", "MecrlEnv", "MecrlVectorEnv", "SYSTEMS", "make", "make_vec", "parallel_env", "parallel_vec",
           "reference_run", "reproduce", "run", "__version__"]
