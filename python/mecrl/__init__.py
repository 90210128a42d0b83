"""mecrl from Python: the five task-offloading systems of mecrl as Gymnasium environments.

    import mecrl
    envs = mecrl.make_vec("mec", 1024, seed=0, n_iotd=20)   # a gymnasium.vector.VectorEnv
    env = mecrl.make("coop", n_nodes=6)                     # a gymnasium.Env

Every system steps all instances in one call into mecrl (Rust; cpu, wgpu or cuda backend);
observations, rewards and flags come back in numpy arrays that the environment owns and
overwrites on the next step (docs/python.md). Errors are `mecrl.Error` (a ValueError) with
mecrl's message naming the field.
"""

from ._native import Error, __version__, reference_run
from .single import MecrlEnv, make
from .vector import SYSTEMS, MecrlVectorEnv, make_vec

__all__ = ["Error", "MecrlEnv", "MecrlVectorEnv", "SYSTEMS", "make", "make_vec", "reference_run", "__version__"]
