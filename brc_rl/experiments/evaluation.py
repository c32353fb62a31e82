"""Evaluation of a run folder's model: episodes played with the recurrent state carried.

:func:`play` is the one play loop of the project: stable-baselines3's ``evaluate_policy``
with a per-step callback that keeps each episode's last ``info``. :func:`evaluate`
(``brc-rl eval``, ``brc-rl bandit-regret``) and the T-maze horizon evaluation
(``brc-rl horizon``) both go through it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.type_aliases import PolicyPredictor
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, is_vecenv_wrapped

from brc_rl.experiments.config import TrainConfig, algorithms, check_env_kwargs, config_from_dict, read_yaml
from brc_rl.experiments.run import (
    BEST_MODEL,
    CONFIG_FILE,
    EVAL_SEED_OFFSET,
    FINAL_MODEL,
    RunError,
    checkpoints,
    make_env,
    vecnormalize_of,
)


@dataclasses.dataclass
class Episodes:
    """Episodes played by :func:`play`, in the order they ended, and their means."""

    returns: list[float]
    """Undiscounted return of each episode (as ``Monitor`` counts it)."""
    lengths: list[int]
    """Length of each episode."""
    infos: list[dict[str, Any]]
    """The env's ``info`` at the last step of each episode."""

    def _at_end(self, key: str, cast: type) -> list[Any] | None:
        return [cast(info[key]) for info in self.infos] if all(key in info for info in self.infos) else None

    @property
    def successes(self) -> list[bool] | None:
        """``info["is_success"]`` at the end of each episode (T-maze, MiniGrid); None if not reported."""
        return self._at_end("is_success", bool)

    @property
    def regrets(self) -> list[float] | None:
        """``info["regret"]`` at the end of each episode (MetaBandit); None if not reported."""
        return self._at_end("regret", float)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std_return(self) -> float:
        return float(np.std(self.returns))

    @property
    def mean_length(self) -> float:
        return float(np.mean(self.lengths))

    @property
    def success_rate(self) -> float | None:
        return None if (successes := self.successes) is None else float(np.mean(successes))

    @property
    def mean_regret(self) -> float | None:
        return None if (regrets := self.regrets) is None else float(np.mean(regrets))


def play(agent: PolicyPredictor, env: VecEnv, episodes: int, deterministic: bool = True) -> Episodes:
    """Play ``episodes`` episodes through stable-baselines3's ``evaluate_policy``.

    ``evaluate_policy`` feeds the state returned by ``agent.predict`` back with
    ``episode_start`` True at each episode's first step, so a recurrent memory is reset
    exactly there. It spreads the episodes over the N envs of ``env`` as evenly as
    possible: env i plays the first ``(episodes + i) // N`` episodes it meets (with
    N = episodes, exactly one each); an env that is done keeps being stepped, unrecorded.
    Returns and lengths are those of the ``Monitor`` wrapper (``info["episode"]``), so
    wrappers that change rewards do not change them; an env without ``Monitor`` is
    wrapped in ``VecMonitor``.

    Args:
        agent: any object with the SB3 recurrent ``predict`` API (``brc_rl.agents``,
            sb3-contrib's ``RecurrentPPO``, a scripted player).
        env: the vectorised env.
        episodes: number of episodes (>= 1).
        deterministic: greedy actions (else sampled).

    Raises:
        ValueError: if episodes < 1.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if not (is_vecenv_wrapped(env, VecMonitor) or env.env_is_wrapped(Monitor)[0]):
        env = VecMonitor(env)
    infos: list[dict[str, Any]] = []

    def keep_last_info(locals_: dict[str, Any], _globals: dict[str, Any]) -> None:
        # Called for each env still playing after each step; Monitor marks an episode's end
        # with info["episode"], exactly where evaluate_policy appends a return.
        if "episode" in locals_["info"]:
            infos.append(locals_["info"])

    returns, lengths = evaluate_policy(agent, env, episodes, deterministic, callback=keep_last_info,
                                       return_episode_rewards=True)
    return Episodes([float(r) for r in returns], [int(n) for n in lengths], infos)


@dataclasses.dataclass(kw_only=True)
class EvalResult(Episodes):
    """Episodes played by :func:`evaluate`, with the model that played them."""

    model_path: Path
    """The model that played."""
    steps: int
    """Its training step count."""
    deterministic: bool
    """Whether actions were greedy."""
    seed: int
    """Seed of the evaluation env (env i of N seeded ``seed + i``)."""

    def to_dict(self) -> dict[str, Any]:
        """The episodes and their summary, JSON-ready (``brc-rl eval --json``)."""
        return {
            "model": str(self.model_path), "steps": self.steps, "deterministic": self.deterministic,
            "seed": self.seed, "mean_return": self.mean_return, "std_return": self.std_return,
            "success_rate": self.success_rate, "mean_regret": self.mean_regret, "returns": self.returns,
            "lengths": self.lengths, "regrets": self.regrets,
        }

    def summary(self) -> str:
        """Lines for the terminal: model, episodes, mean return +- std, success rate."""
        mode = "deterministic" if self.deterministic else "stochastic"
        if (successes := self.successes) is None:
            success = "success rate: n/a (the env reports no info['is_success'])"
        else:
            success = f"success rate: {self.success_rate:.3f} ({sum(successes)}/{len(successes)})"
        return "\n".join([
            f"model: {self.model_path} ({self.steps} steps)",
            f"episodes: {len(self.returns)} ({mode}, seed {self.seed}), mean length {self.mean_length:.1f}",
            f"mean return: {self.mean_return:.3f} +- {self.std_return:.3f}",
            success,
            *([] if self.regrets is None else [f"mean regret: {self.mean_regret:.3f}"]),
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

    Raises:
        RunError: if there is no such model, or its file cannot be read (truncated,
            not a model of the run's algorithm), naming the other models of the run.
    """
    model_path = find_model(run_dir, model)
    try:
        return algorithms()[config.algo].load(model_path, device=device), model_path
    except (AssertionError, ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:
        others = []
        for which in ("latest", "best"):
            with contextlib.suppress(RunError):
                if which != model:
                    others.append(f"--model {which} ({find_model(run_dir, which).name})")
        hint = f"; the run also has {', '.join(others)}" if others else "; the run has no other model"
        raise RunError(f"cannot load {model_path} ({type(error).__name__}: {error}){hint}") from None


def evaluate(
    run_dir: str | Path,
    episodes: int = 100,
    deterministic: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
    model: str = "final",
    device: str = "auto",
    n_envs: int = 1,
) -> EvalResult:
    """Play ``episodes`` episodes with a run's model through :func:`play`.

    Args:
        run_dir: a run folder.
        episodes: number of episodes (>= 1).
        deterministic: greedy actions (else sampled).
        env_kwargs: overrides of the config's ``env.kwargs`` and ``env.eval_kwargs`` (e.g. a longer corridor).
        seed: seed of the evaluation env (default the config's seed + 1000).
        model: ``final``, ``latest`` or ``best`` (see :func:`find_model`).
        device: torch device of the loaded model.
        n_envs: envs played side by side, env i seeded ``seed + i``; the episodes are
            spread over them as :func:`play` says.

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
    env = make_env(config.env, n_envs, seed, kwargs=env_kwargs, vecnormalize=stats, training=False)
    played = play(agent, env, episodes, deterministic)
    env.close()
    return EvalResult(**vars(played), model_path=model_path, steps=int(agent.num_timesteps),
                      deterministic=deterministic, seed=seed)
