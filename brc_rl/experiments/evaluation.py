"""Evaluation of a run folder's model: episodes played with the recurrent state carried."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from brc_rl.experiments.config import TrainConfig, algorithms, check_env_kwargs, config_from_dict, read_yaml
from brc_rl.experiments.run import (
    BEST_MODEL, CONFIG_FILE, EVAL_SEED_OFFSET, FINAL_MODEL, RunError, checkpoints, make_env, vecnormalize_of,
)


@dataclasses.dataclass
class EvalResult:
    """Episodes played by :func:`evaluate`."""

    model_path: Path
    """The model that played."""
    steps: int
    """Its training step count."""
    returns: list[float]
    """Undiscounted return of each episode."""
    lengths: list[int]
    """Length of each episode."""
    successes: list[bool] | None
    """``info["is_success"]`` at the end of each episode; None if the env does not report it."""
    deterministic: bool
    """Whether actions were greedy."""
    seed: int
    """Seed of the evaluation env."""

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std_return(self) -> float:
        return float(np.std(self.returns))

    @property
    def success_rate(self) -> float | None:
        return None if self.successes is None else float(np.mean(self.successes))

    def to_dict(self) -> dict[str, Any]:
        """The episodes and their summary, JSON-ready (``brc-rl eval --json``)."""
        return {
            "model": str(self.model_path), "steps": self.steps, "deterministic": self.deterministic,
            "seed": self.seed, "mean_return": self.mean_return, "std_return": self.std_return,
            "success_rate": self.success_rate, "returns": self.returns, "lengths": self.lengths,
        }

    def summary(self) -> str:
        """Lines for the terminal: model, episodes, mean return +- std, success rate."""
        mode = "deterministic" if self.deterministic else "stochastic"
        if self.successes is None:
            success = "success rate: n/a (the env reports no info['is_success'])"
        else:
            success = f"success rate: {self.success_rate:.3f} ({sum(self.successes)}/{len(self.successes)})"
        return "\n".join([
            f"model: {self.model_path} ({self.steps} steps)",
            f"episodes: {len(self.returns)} ({mode}, seed {self.seed}), mean length {np.mean(self.lengths):.1f}",
            f"mean return: {self.mean_return:.3f} +- {self.std_return:.3f}",
            success,
        ])


def find_model(run_dir: str | Path, which: str = "final") -> Path:
    """The model file of a run: ``final`` (falling back to the latest checkpoint), ``latest`` or ``best``.

    Raises:
        RunError: if there is no such model, or ``which`` is not one of the three.
    """
    path = Path(run_dir)
    if which not in ("final", "latest", "best"):
        raise RunError(f"unknown model {which!r}; valid: final, latest, best")
    if which == "final" and (path / FINAL_MODEL).is_file():
        return path / FINAL_MODEL
    if which == "best":
        if (path / BEST_MODEL).is_file():
            return path / BEST_MODEL
        raise RunError(f"{str(path)!r} has no {BEST_MODEL} (was eval_freq 0?)")
    found = checkpoints(path)
    if not found:
        raise RunError(f"{str(path)!r} has no {FINAL_MODEL} and no checkpoint")
    return found[-1][1]


def load_run_config(run_dir: str | Path) -> TrainConfig:
    """The validated config saved in a run folder.

    Raises:
        RunError: if the folder has no config file.
    """
    path = Path(run_dir)
    if not (path / CONFIG_FILE).is_file():
        raise RunError(f"{str(path)!r} is not a run folder: it has no {CONFIG_FILE}")
    return config_from_dict(read_yaml(path / CONFIG_FILE))


def load_agent(
    run_dir: str | Path, config: TrainConfig, model: str = "final", device: str = "auto"
) -> tuple[BaseAlgorithm, Path]:
    """Load a run's model (``final``, ``latest`` or ``best``, see :func:`find_model`).

    Returns:
        The agent (of the config's algorithm) and the path it was loaded from.
    """
    model_path = find_model(run_dir, model)
    return algorithms()[config.algo].load(model_path, device=device), model_path


def evaluate(
    run_dir: str | Path,
    episodes: int = 10,
    deterministic: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
    model: str = "final",
    device: str = "auto",
) -> EvalResult:
    """Play ``episodes`` episodes with a run's model, carrying its recurrent state.

    The state returned by ``predict`` is fed back with ``episode_start`` set at each
    episode's first step, so the memory is reset exactly there.

    Args:
        run_dir: a run folder.
        episodes: number of episodes (>= 1).
        deterministic: greedy actions (else sampled).
        env_kwargs: overrides of the config's ``env.kwargs`` (e.g. a longer corridor).
        seed: seed of the evaluation env (default the config's seed + 1000).
        model: ``final``, ``latest`` or ``best`` (see :func:`find_model`).
        device: torch device of the loaded model.

    Returns:
        The returns, lengths and successes of the episodes.

    Raises:
        RunError: if the folder has no config or no model; ValueError if episodes < 1.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    config = load_run_config(run_dir)
    check_env_kwargs(config.env.id, env_kwargs or {}, key="--env-kwargs")
    agent, model_path = load_agent(run_dir, config, model, device)
    seed = config.seed + EVAL_SEED_OFFSET if seed is None else seed
    stats = vecnormalize_of(model_path if model != "best" else find_model(run_dir, "final"))
    env = make_env(config.env, 1, seed, kwargs=env_kwargs, vecnormalize=stats if stats.is_file() else None,
                   training=False)
    returns, lengths, successes = _play(agent, env, episodes, deterministic)
    env.close()
    return EvalResult(model_path, int(agent.num_timesteps), returns, lengths, successes, deterministic, seed)


def _play(
    agent: BaseAlgorithm, env: VecEnv, episodes: int, deterministic: bool
) -> tuple[list[float], list[int], list[bool] | None]:
    """Run one env for ``episodes`` episodes, feeding the recurrent state back to ``predict``."""
    returns: list[float] = []
    lengths: list[int] = []
    successes: list[bool] | None = []
    obs = env.reset()
    state = None
    episode_start = np.ones(env.num_envs, dtype=bool)
    total, length = 0.0, 0
    while len(returns) < episodes:
        action, state = agent.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, reward, done, info = env.step(action)
        total += float(reward[0])
        length += 1
        episode_start = done
        if done[0]:
            returns.append(total)
            lengths.append(length)
            if successes is not None and "is_success" in info[0]:
                successes.append(bool(info[0]["is_success"]))
            else:
                successes = None
            total, length = 0.0, 0
    return returns, lengths, successes
