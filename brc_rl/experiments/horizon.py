"""Horizon generalisation on the T-maze: train at one corridor length, evaluate at others.

A memory that holds the cue by bistability should still hold it at L = 100 or
1,000 when trained at L = 20; a fading memory loses it and drops to chance (a
success rate of 1/2). :func:`evaluate_horizons` plays any agent with the SB3
recurrent ``predict`` API through :func:`brc_rl.experiments.evaluation.play`;
:func:`horizon` loads a run folder's model first
(``brc-rl horizon RUN_DIR --lengths 20 100 1000``).

Example:
    >>> from brc_rl.envs.tmaze import ScriptedTMazeAgent
    >>> from brc_rl.experiments.horizon import evaluate_horizons, format_horizon_table
    >>> results = evaluate_horizons(ScriptedTMazeAgent(), [20, 100], n_episodes=10)
    >>> results[100].success_rate
    1.0
    >>> print(format_horizon_table(results))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.type_aliases import PolicyPredictor
from stable_baselines3.common.vec_env import DummyVecEnv

from brc_rl.envs._checks import check_int
from brc_rl.envs.tmaze import TMazeEnv
from brc_rl.experiments.evaluation import load_agent, load_run_config, play
from brc_rl.experiments.run import RunError


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


def evaluate_length(
    model: PolicyPredictor,
    corridor_length: int,
    n_episodes: int = 100,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> HorizonResult:
    """Play ``n_episodes`` T-maze episodes of corridor length L side by side.

    Episode i is played by env i of a ``DummyVecEnv`` of n_episodes
    ``Monitor(TMazeEnv(corridor_length, **env_kwargs))``, reset with seed ``seed + i``,
    so every length sees the same goal sides; :func:`~brc_rl.experiments.evaluation.play`
    gives each env exactly one episode, with ``model.predict`` called on all N = n_episodes
    observations at once.
    """
    n_episodes = check_int("n_episodes", n_episodes, 1)
    kwargs = dict(env_kwargs or {})
    if "corridor_length" in kwargs:
        raise ValueError("env_kwargs must not set corridor_length; pass the lengths instead")
    envs = DummyVecEnv([lambda: Monitor(TMazeEnv(corridor_length=corridor_length, **kwargs))] * n_episodes)
    envs.seed(seed)
    played = play(model, envs, n_episodes, deterministic)
    maze = envs.envs[0].unwrapped
    envs.close()
    return HorizonResult(maze.corridor_length, maze.horizon, n_episodes, played.success_rate, played.mean_return,
                         played.mean_length)


def evaluate_horizons(
    model: PolicyPredictor,
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
    return {length: evaluate_length(model, length, n_episodes, seed, env_kwargs, deterministic) for length in lengths}


def format_horizon_table(results: Mapping[int, HorizonResult]) -> str:
    """A Markdown table of ``evaluate_horizons``' results, one row per length."""
    return "\n".join([
        "| L | step limit | episodes | success rate | mean return | mean length |",
        "|---|---|---|---|---|---|",
        *(f"| {r.corridor_length} | {r.horizon} | {r.n_episodes} | {r.success_rate:.3f} "
          f"| {r.mean_return:.3f} | {r.mean_length:.1f} |" for r in results.values()),
    ])


TMAZE_ID = "brc_rl/TMaze-v0"


def horizon(
    run_dir: str | Path,
    lengths: Sequence[int],
    episodes: int = 100,
    seed: int = 0,
    model: str = "final",
    device: str = "auto",
) -> tuple[dict[int, Any], Path, int]:
    """Evaluate a T-maze run's model at several corridor lengths.

    The run's other env kwargs (``action_noise``) are kept; ``corridor_length``
    is replaced by each length in turn; episode i of every length is reset with seed
    ``seed + i``. ``model`` is ``final``, ``latest`` or ``best``.

    Returns:
        ``({L: HorizonResult}, model path, training steps of the model)``.

    Raises:
        RunError: if the folder is not a run, or its env is not the plain T-maze
            (another id, wrappers, or VecNormalize observations).
        ValueError: on a length < 1 or episodes < 1.
    """
    config = load_run_config(run_dir)
    if config.env.id != TMAZE_ID:
        raise RunError(f"brc-rl horizon needs a run on {TMAZE_ID}, got env.id {config.env.id!r} in {str(run_dir)!r}")
    if config.env.wrappers or config.env.normalize_obs:
        raise RunError(
            f"brc-rl horizon plays the raw T-maze; the run uses env.wrappers={config.env.wrappers} "
            f"and env.normalize_obs={config.env.normalize_obs} (expected [] and false)"
        )
    env_kwargs = {k: v for k, v in config.env.kwargs.items() if k != "corridor_length"}
    agent, model_path = load_agent(run_dir, config, model, device)
    results = evaluate_horizons(agent, lengths, n_episodes=episodes, seed=seed, env_kwargs=env_kwargs)
    return results, model_path, int(agent.num_timesteps)
