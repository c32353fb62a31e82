"""Sparse-memory Gymnasium tasks, registered with Gymnasium on import.

| id | class | memory it tests |
|---|---|---|
| ``brc_rl/MetaBandit-v0`` | ``MetaBanditEnv`` | learning which arm pays, within an episode |
| ``brc_rl/TMaze-v0`` | ``TMazeEnv`` | one bit held for L steps |
| ``brc_rl/MiniGridMemory-v0`` | ``MiniGridMemoryEnv`` | a cue object held through a hallway |

Reference agents: ``brc_rl.envs.bandit_baselines`` (random, greedy, Thompson, UCB1,
Bayes-optimal bandit players) and ``brc_rl.envs.tmaze.ScriptedTMazeAgent``.

Example:
    >>> import gymnasium as gym
    >>> import brc_rl.envs
    >>> env = gym.make("brc_rl/TMaze-v0", corridor_length=20)
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

from brc_rl.envs.bandit import MetaBanditEnv
from brc_rl.envs.tmaze import TMazeEnv

__all__ = ["ENV_IDS", "MetaBanditEnv", "MiniGridMemoryEnv", "TMazeEnv"]

#: Registered id -> entry point. Step limits are the environments' own (see their
#: docstrings): they depend on the kwargs, so none is given to ``register``.
ENV_IDS: dict[str, str] = {
    "brc_rl/MetaBandit-v0": "brc_rl.envs.bandit:MetaBanditEnv",
    "brc_rl/TMaze-v0": "brc_rl.envs.tmaze:TMazeEnv",
    "brc_rl/MiniGridMemory-v0": "brc_rl.envs.minigrid_memory:MiniGridMemoryEnv",
}

for _env_id, _entry_point in ENV_IDS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point)


def __getattr__(name: str) -> Any:
    """Import ``MiniGridMemoryEnv`` (and with it minigrid) on first use."""
    if name == "MiniGridMemoryEnv":
        from brc_rl.envs.minigrid_memory import MiniGridMemoryEnv

        return MiniGridMemoryEnv
    raise AttributeError(f"module 'brc_rl.envs' has no attribute {name!r}")
