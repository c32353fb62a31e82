"""Sparse-memory Gymnasium tasks, registered with Gymnasium on import.

| id | class | memory it tests |
|---|---|---|
| ``brc_rl/MetaBandit-v0`` | ``MetaBanditEnv`` | learning which arm pays, within an episode |
| ``brc_rl/TMaze-v0`` | ``TMazeEnv`` | one bit held for L steps |
| ``brc_rl/MiniGridMemory-v0`` | ``MiniGridMemoryEnv`` | a cue object held through a hallway |
| ``brc_rl/MovingTarget-v0`` | ``MovingTargetEnv`` | a hidden offset inferred from rewards (NMD benchmark 1) |
| ``brc_rl/WindyReference-v0`` | ``WindyReferenceEnv`` | a hidden wind inferred from moves (NMD benchmark 2) |
| ``brc_rl/MultipleReferences-v0`` | ``MultipleReferencesEnv`` | which reference pays, from rewards (NMD benchmark 3) |

``brc_rl.envs.wrappers.PrevActionReward`` adds the previous action and reward to the
observations, for meta-RL agents and ``NmdRecurrentPolicy``.

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
from brc_rl.envs.moving_target import MAX_EPISODE_STEPS, MovingTargetEnv
from brc_rl.envs.references import MULTIPLE_MAX_STEPS, WINDY_MAX_STEPS, MultipleReferencesEnv, WindyReferenceEnv
from brc_rl.envs.tmaze import TMazeEnv
from brc_rl.envs.wrappers import PrevActionReward

__all__ = [
    "ENV_IDS", "MetaBanditEnv", "MiniGridMemoryEnv", "MovingTargetEnv", "MultipleReferencesEnv",
    "PrevActionReward", "TMazeEnv", "WindyReferenceEnv",
]

#: Registered id -> entry point. The first three envs end themselves (their step limits
#: depend on their kwargs); the NMD benchmarks never end, so ``register`` truncates them
#: after the authors' episode lengths (:data:`MAX_STEPS`).
ENV_IDS: dict[str, str] = {
    "brc_rl/MetaBandit-v0": "brc_rl.envs.bandit:MetaBanditEnv",
    "brc_rl/TMaze-v0": "brc_rl.envs.tmaze:TMazeEnv",
    "brc_rl/MiniGridMemory-v0": "brc_rl.envs.minigrid_memory:MiniGridMemoryEnv",
    "brc_rl/MovingTarget-v0": "brc_rl.envs.moving_target:MovingTargetEnv",
    "brc_rl/WindyReference-v0": "brc_rl.envs.references:WindyReferenceEnv",
    "brc_rl/MultipleReferences-v0": "brc_rl.envs.references:MultipleReferencesEnv",
}

#: ``max_episode_steps`` given to ``register`` (``gym.make(id, max_episode_steps=n)`` overrides it).
MAX_STEPS: dict[str, int] = {
    "brc_rl/MovingTarget-v0": MAX_EPISODE_STEPS,
    "brc_rl/WindyReference-v0": WINDY_MAX_STEPS,
    "brc_rl/MultipleReferences-v0": MULTIPLE_MAX_STEPS,
}

for _env_id, _entry_point in ENV_IDS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, max_episode_steps=MAX_STEPS.get(_env_id))


def __getattr__(name: str) -> Any:
    """Import ``MiniGridMemoryEnv`` (and with it minigrid) on first use."""
    if name == "MiniGridMemoryEnv":
        from brc_rl.envs.minigrid_memory import MiniGridMemoryEnv

        return MiniGridMemoryEnv
    raise AttributeError(f"module 'brc_rl.envs' has no attribute {name!r}")
