"""Horizon generalisation on the T-maze: train at one corridor length, evaluate at others.

A memory that holds the cue by bistability should still hold it at L = 100 or
1,000 when trained at L = 20; a fading memory loses it and drops to chance (a
success rate of 1/2).

Example:
    >>> from brc_rl.envs.horizon import ScriptedTMazeAgent, evaluate_horizons, format_horizon_table
    >>> results = evaluate_horizons(ScriptedTMazeAgent(), [20, 100], n_episodes=10)
    >>> results[100].success_rate
    1.0
    >>> print(format_horizon_table(results))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from brc_rl.envs._checks import check_int
from brc_rl.envs.tmaze import DOWN, DOWN_CUE, JUNCTION, RIGHT, UP, UP_CUE, TMazeEnv


class RecurrentPredictor(Protocol):
    """The stable-baselines3 recurrent ``predict`` API (sb3-contrib ``RecurrentPPO``,
    ``brc_rl.agents``): a batch of N observations in, N actions and the new state out."""

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]: ...


@dataclass(frozen=True)
class HorizonResult:
    """Evaluation of one corridor length.

    Attributes:
        corridor_length: L.
        horizon: the step limit, 3 (L + 1).
        n_episodes: episodes played.
        success_rate: share of episodes ending in the goal arm.
        mean_return: mean undiscounted return (+4 success, -0.1 per bump or wrong arm).
        mean_length: mean number of steps per episode.
    """

    corridor_length: int
    horizon: int
    n_episodes: int
    success_rate: float
    mean_return: float
    mean_length: float


@dataclass
class ScriptedTMazeAgent:
    """A hand-written T-maze player with the recurrent ``predict`` API.

    It walks right and, at the junction, turns to the side it remembers; with
    ``remember_cue=False`` it always turns up (success rate 1/2). Its state is an
    (N,) array: +1 cue up, -1 cue down, 0 not seen.

    Args:
        remember_cue: keep the cue in the state (a perfect memory) or not (none).
    """

    remember_cue: bool = True

    def predict(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        obs = np.atleast_2d(observation)
        memory = np.zeros(len(obs)) if state is None else np.asarray(state, dtype=np.float64).copy()
        if episode_start is not None:
            memory[np.asarray(episode_start, dtype=bool)] = 0.0
        if self.remember_cue:
            memory[obs[:, UP_CUE] == 1] = 1.0
            memory[obs[:, DOWN_CUE] == 1] = -1.0
        turn = np.where(memory < 0, DOWN, UP)
        actions = np.where(obs[:, JUNCTION] == 1, turn, RIGHT)
        return actions, memory


def evaluate_length(
    model: RecurrentPredictor,
    corridor_length: int,
    n_episodes: int = 100,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> HorizonResult:
    """Play ``n_episodes`` T-maze episodes of corridor length L in one batch.

    Episode i is ``TMazeEnv(corridor_length, **env_kwargs)`` reset with seed
    ``seed + i``, so every length sees the same goal sides. All episodes go through
    ``model.predict`` together (N = n_episodes), with ``episode_start`` True at the
    first step only; a finished episode keeps receiving its last observation and
    its actions are ignored.

    Returns:
        The ``HorizonResult`` of that length.
    """
    n_episodes = check_int("n_episodes", n_episodes, 1)
    kwargs = dict(env_kwargs or {})
    if "corridor_length" in kwargs:
        raise ValueError("env_kwargs must not set corridor_length; pass the lengths instead")
    envs = [TMazeEnv(corridor_length=corridor_length, **kwargs) for _ in range(n_episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, dtype=np.int64)
    success, active = np.zeros(n_episodes, dtype=bool), np.ones(n_episodes, dtype=bool)
    state, episode_start = None, np.ones(n_episodes, dtype=bool)
    while active.any():
        actions, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        actions = np.asarray(actions).reshape(n_episodes)
        episode_start = np.zeros(n_episodes, dtype=bool)
        for i in np.flatnonzero(active):
            obs[i], reward, terminated, truncated, info = envs[i].step(int(actions[i]))
            returns[i] += reward
            lengths[i] += 1
            success[i] = info["is_success"]
            active[i] = not (terminated or truncated)
    return HorizonResult(
        corridor_length=envs[0].corridor_length,
        horizon=envs[0].horizon,
        n_episodes=n_episodes,
        success_rate=float(success.mean()),
        mean_return=float(returns.mean()),
        mean_length=float(lengths.mean()),
    )


def evaluate_horizons(
    model: RecurrentPredictor,
    lengths: Iterable[int],
    n_episodes: int = 100,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> dict[int, HorizonResult]:
    """Evaluate a T-maze agent at several corridor lengths.

    Args:
        model: any object with the SB3 recurrent ``predict`` API, e.g. an agent
            trained on ``brc_rl/TMaze-v0`` at one length.
        lengths: corridor lengths L to evaluate, each >= 1.
        n_episodes: episodes per length.
        seed: episode i of every length is reset with seed ``seed + i``.
        env_kwargs: other ``TMazeEnv`` arguments (e.g. ``action_noise``), not
            ``corridor_length``.
        deterministic: passed to ``predict``.

    Returns:
        ``{L: HorizonResult}`` in the order of ``lengths``.

    Raises:
        ValueError: for an empty ``lengths``, a length < 1, n_episodes < 1 or
            ``corridor_length`` in ``env_kwargs``.
    """
    lengths = [check_int("corridor_length", length, 1) for length in lengths]
    if not lengths:
        raise ValueError("lengths must name at least one corridor length, got none")
    return {
        length: evaluate_length(model, length, n_episodes, seed, env_kwargs, deterministic)
        for length in lengths
    }


def format_horizon_table(results: Mapping[int, HorizonResult]) -> str:
    """A Markdown table of ``evaluate_horizons``' results, one row per length."""
    lines = [
        "| L | step limit | episodes | success rate | mean return | mean length |",
        "|---|---|---|---|---|---|",
    ]
    for r in results.values():
        lines.append(
            f"| {r.corridor_length} | {r.horizon} | {r.n_episodes} | {r.success_rate:.3f} "
            f"| {r.mean_return:.3f} | {r.mean_length:.1f} |"
        )
    return "\n".join(lines)
