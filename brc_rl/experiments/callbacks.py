"""Callbacks of a run folder: logs, progress, checkpoints, evaluation and env curricula on
env-step schedules that survive ``--resume``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from brc_rl.experiments.schema import ConfigError, config_key

_CHECKPOINT_RE = re.compile(r"model_(\d+)_steps\.zip")


def list_checkpoints(folder: str | Path) -> list[tuple[int, Path]]:
    """``(steps, path)`` of the ``model_{steps}_steps.zip`` files in ``folder``, oldest first."""
    return sorted((int(match[1]), path) for path in Path(folder).glob("model_*_steps.zip")
                  if (match := _CHECKPOINT_RE.fullmatch(path.name)))


def vecnormalize_of(model_path: Path) -> Path:
    """The VecNormalize statistics saved with a model file (they may not exist):
    ``final_model.zip`` -> ``final_vecnormalize.pkl``, ``model_{N}_steps.zip`` -> ``vecnormalize_{N}_steps.pkl``."""
    return model_path.with_name(model_path.stem.replace("model", "vecnormalize") + ".pkl")


def save_model(model: BaseAlgorithm, path: Path) -> None:
    """Save ``model`` to ``path`` and its VecNormalize statistics, if any, to :func:`vecnormalize_of` it."""
    model.save(path)
    if (vecnormalize := model.get_vec_normalize_env()) is not None:
        vecnormalize.save(str(vecnormalize_of(path)))


def _next_multiple(steps: int, freq: int) -> int:
    return (steps // freq + 1) * freq


class UpdateLogs(BaseCallback):
    """Write what an update logged (``train/*``, ``memory/*``) at the step of its rollout.

    SB3 writes them with the next rollout's logs, or with whatever writes first (an
    evaluation in the middle of that rollout), and loses the last update's and the one
    before an interrupted rollout. This callback writes them as soon as the update is
    done: at the start of the next rollout (before a checkpoint is saved) and at the end
    of training, at the step count the update trained on.
    """

    def _on_step(self) -> bool:
        return True

    def _dump(self) -> None:
        if self.logger.name_to_value:
            self.logger.dump(self.model.num_timesteps)

    _on_rollout_start = _on_training_end = _dump


class ProgressBar(BaseCallback):
    """A progress bar of env steps that counts from the run's step count to where it will end.

    Training runs whole rollouts of ``n_steps * n_envs`` steps until ``total_timesteps``
    is reached, so the bar ends at the first whole rollout at or past it, and starts at
    the step count of a resumed model.

    Args:
        total_timesteps: the run's ``total_timesteps``.
    """

    def __init__(self, total_timesteps: int) -> None:
        super().__init__()
        self.total_timesteps = total_timesteps
        self.bar: Any = None

    def _on_training_start(self) -> None:
        start = self.model.num_timesteps
        rollout = getattr(self.model, "n_steps", 1) * self.model.n_envs
        end = start + math.ceil(max(self.total_timesteps - start, 0) / rollout) * rollout
        self.bar = tqdm(initial=start, total=end, unit="step", unit_scale=True, dynamic_ncols=True)

    def _on_step(self) -> bool:
        self.bar.update(self.model.n_envs)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class CheckpointEvery(BaseCallback):
    """Save the model (and VecNormalize statistics) every ``freq`` env steps and at the end.

    A checkpoint is written at the start of the first rollout after ``num_timesteps``
    crosses a multiple of ``freq``, i.e. after that rollout's update, so a resumed
    run repeats no update. Only the ``keep`` most recent checkpoints are kept.

    Args:
        folder: where ``model_{N}_steps.zip`` and ``vecnormalize_{N}_steps.pkl`` go.
        freq: env steps between checkpoints; 0 saves only at the end.
        keep: number of checkpoints kept.
    """

    def __init__(self, folder: Path, freq: int, keep: int) -> None:
        super().__init__()
        self.folder, self.freq, self.keep = Path(folder), freq, keep
        self._next = 0

    def _init_callback(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.freq:
            self._next = _next_multiple(self.model.num_timesteps, self.freq)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.freq and self.model.num_timesteps >= self._next:
            self.save()
            self._next = _next_multiple(self.model.num_timesteps, self.freq)

    def _on_training_end(self) -> None:
        self.save()

    def save(self) -> Path:
        """Write a checkpoint at the current step count, drop old ones; return the model path."""
        path = self.folder / f"model_{self.model.num_timesteps}_steps.zip"
        save_model(self.model, path)
        for _, old_path in list_checkpoints(self.folder)[: -self.keep]:
            old_path.unlink()
            vecnormalize_of(old_path).unlink(missing_ok=True)
        return path


def check_schedulable(env: VecEnv, names: Iterable[str]) -> None:
    """Check that each env keeps every name of ``env.schedules`` as a float attribute.

    Raises:
        ConfigError: naming the key, for an attribute the env lacks or one that is not a float.
    """
    for name in names:
        where = config_key(f"env.schedules.{name}")
        if not all(env.env_method("has_wrapper_attr", name)):
            raise ConfigError(f"{where}: the environment has no attribute {name!r} to schedule")
        current = env.env_method("get_wrapper_attr", name)[0]
        if not isinstance(current, float):
            raise ConfigError(f"{where}: the environment's attribute {name!r} is {current!r}; a schedule sets a "
                              f"float and takes only float attributes")


class EnvSchedule(BaseCallback):
    """Set attributes of the training envs from schedules of training progress (a curriculum).

    At the start of training and of each rollout, every ``name`` is set to
    ``schedule(progress_remaining)`` in each env, through the wrappers
    (``set_wrapper_attr``), and logged as ``env/<name>``. ``progress_remaining`` is SB3's
    ``1 - num_timesteps / total_timesteps`` (``total_timesteps`` of the whole run, also after
    ``--resume``), so a resumed run goes on along the same line. Environments read the
    attribute at their next reset. Only float attributes are scheduled.
    """

    def __init__(self, schedules: dict[str, Callable[[float], float]]) -> None:
        super().__init__()
        self.schedules = schedules

    def _on_training_start(self) -> None:
        check_schedulable(self.training_env, self.schedules)
        self._on_rollout_start()

    def _on_rollout_start(self) -> None:
        progress = 1.0 - self.model.num_timesteps / self.model._total_timesteps  # as SB3 after a rollout
        for name, schedule in self.schedules.items():
            value = float(schedule(progress))
            self.training_env.env_method("set_wrapper_attr", name, value)
            self.logger.record(f"env/{name}", value)

    def _on_step(self) -> bool:
        return True


class EntCoefSchedule(BaseCallback):
    """Anneal the entropy coefficient of an algorithm that takes a float only (sb3-contrib's RecurrentPPO).

    After each rollout, before the update, sets ``model.ent_coef = schedule(progress_remaining)``
    with ``progress_remaining = 1 - num_timesteps / total_timesteps`` (the value SB3 computes for
    that update, and what :class:`brc_rl.agents.RecurrentPPO` uses for a schedule of its own), and
    logs it as ``train/ent_coef``. A resumed run goes on along the same line.
    """

    def __init__(self, schedule: Callable[[float], float]) -> None:
        super().__init__()
        self.schedule = schedule

    def _on_rollout_end(self) -> None:
        progress = 1.0 - self.model.num_timesteps / self.model._total_timesteps
        self.model.ent_coef = float(self.schedule(progress))
        self.logger.record("train/ent_coef", self.model.ent_coef)

    def _on_step(self) -> bool:
        return True


class EvalEvery(EvalCallback):
    """SB3's EvalCallback, scheduled on env steps and continued across ``--resume``.

    Evaluates when ``num_timesteps`` crosses a multiple of ``freq`` (SB3 counts
    callback calls, which restart at 0 on resume); on start it reloads the earlier
    evaluations of ``log_path/evaluations.npz`` up to the current step count, so the
    file and ``best_model.zip`` go on where the interrupted run left them.
    Logs ``eval/mean_reward``, ``eval/mean_ep_length`` and, when the env reports
    ``info["is_success"]``, ``eval/success_rate``.
    """

    def __init__(self, eval_env: VecEnv, freq: int, **kwargs: Any) -> None:
        super().__init__(eval_env, eval_freq=1, **kwargs)
        self.freq = freq
        self._next = freq

    def _init_callback(self) -> None:
        super()._init_callback()
        self._next = _next_multiple(self.model.num_timesteps, self.freq)
        npz = Path(f"{self.log_path}.npz") if self.log_path else None
        if npz is None or not npz.is_file():
            return
        with np.load(npz) as old:
            keep = old["timesteps"] <= self.model.num_timesteps
            self.evaluations_timesteps = old["timesteps"][keep].tolist()
            self.evaluations_results = old["results"][keep].tolist()
            self.evaluations_length = old["ep_lengths"][keep].tolist()
            if "successes" in old.files:
                self.evaluations_successes = old["successes"][keep].tolist()
        if self.evaluations_results:
            self.best_mean_reward = max(float(np.mean(r)) for r in self.evaluations_results)

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next = _next_multiple(self.num_timesteps, self.freq)
        return super()._on_step()
