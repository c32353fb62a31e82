"""Run folders: train from a config, checkpoint, resume, evaluate.

A run folder holds::

    config.yaml                 the resolved config (every key, defaults filled in)
    command.txt                 the argv of every invocation (train, then each resume)
    tensorboard/{algo}_1/       tensorboard events (one run, continued by --resume)
    checkpoints/model_{N}_steps.zip         the last keep_checkpoints checkpoints,
    checkpoints/vecnormalize_{N}_steps.pkl  N env steps (with VecNormalize statistics if any)
    eval/evaluations.npz        periodic evaluations (SB3 EvalCallback format)
    best_model.zip              the model with the best periodic evaluation
    final_model.zip             the model at the end of training
    final_vecnormalize.pkl      its VecNormalize statistics, if any

Example:
    >>> run_dir = train("configs/quickstart.yaml")
    >>> print(evaluate(run_dir, episodes=100).summary())
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from brc_rl.agents.config import (
    ACTIVATIONS, FEATURES_EXTRACTORS, RESUME_OVERRIDABLE, VEC_ENVS, WRAPPERS, ConfigError, EnvConfig,
    PolicyConfig, TrainConfig, algorithms, check_env_kwargs, config_from_dict, dump_config, load_config, read_yaml, resolve,
)

CONFIG_FILE = "config.yaml"
COMMAND_FILE = "command.txt"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_DIR = "checkpoints"
EVAL_DIR = "eval"
BEST_MODEL = "best_model.zip"
FINAL_MODEL = "final_model.zip"
FINAL_VECNORMALIZE = "final_vecnormalize.pkl"
#: Offset of the evaluation envs' seed from the training seed.
EVAL_SEED_OFFSET = 1000
_CHECKPOINT_RE = re.compile(r"model_(\d+)_steps\.zip")


class RunError(ValueError):
    """A run folder that cannot be created, resumed or evaluated."""


# --------------------------------------------------------------------------- building
def apply_wrappers(env: Any, specs: Sequence[str | Mapping[str, Mapping[str, Any]]]) -> Any:
    """Wrap ``env`` in the named wrappers of ``WRAPPERS``, in order."""
    for i, spec in enumerate(specs):
        name, kwargs = (spec, {}) if isinstance(spec, str) else next(iter(spec.items()))
        env = resolve(WRAPPERS, name, f"env.wrappers[{i}]")(env, **kwargs)
    return env


def _make_one(env_id: str, **kwargs: Any) -> Any:
    import gymnasium as gym

    return gym.make(env_id, **kwargs)


def make_env(
    env: EnvConfig,
    n_envs: int,
    seed: int,
    kwargs: Mapping[str, Any] | None = None,
    vecnormalize: str | Path | None = None,
    training: bool = True,
) -> VecEnv:
    """Build the vectorised env of a config: ``Monitor``, the wrappers, then ``VecNormalize`` if asked.

    Args:
        env: the ``env`` section.
        n_envs: number of copies.
        seed: seed of copy 0 (copy i gets seed + i).
        kwargs: overrides of ``env.kwargs``.
        vecnormalize: saved VecNormalize statistics to load, if any.
        training: False for evaluation: statistics frozen, rewards not normalised.
    """
    import brc_rl.envs  # noqa: F401  (registers brc_rl/*)
    import minigrid  # noqa: F401  (registers MiniGrid-*)
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(
        partial(_make_one, env.id),  # a callable: SB3 would add render_mode="rgb_array" to an id
        n_envs=n_envs,
        seed=seed,
        env_kwargs={**env.kwargs, **(kwargs or {})},
        wrapper_class=partial(apply_wrappers, specs=env.wrappers) if env.wrappers else None,
        vec_env_cls=resolve(VEC_ENVS, env.vec_env, "env.vec_env"),
    )
    if not (env.normalize_obs or env.normalize_reward):
        return vec
    if vecnormalize is not None:
        vec = VecNormalize.load(str(vecnormalize), vec)
    else:
        vec = VecNormalize(vec, norm_obs=env.normalize_obs, norm_reward=env.normalize_reward)
    vec.training = training
    vec.norm_reward = env.normalize_reward and training
    return vec


def policy_kwargs(policy: PolicyConfig) -> dict[str, Any]:
    """The ``policy_kwargs`` of the algorithm, with names resolved through the registries."""
    kwargs: dict[str, Any] = dict(
        cell=policy.cell,
        hidden_size=policy.hidden_size,
        num_layers=policy.num_layers,
        shared_memory=policy.shared_memory,
        net_arch=copy.deepcopy(policy.net_arch),
        activation_fn=resolve(ACTIVATIONS, policy.activation_fn, "policy.activation_fn"),
        normalize_images=policy.normalize_images,
        ortho_init=policy.ortho_init,
    )
    if policy.features_extractor is not None:
        kwargs["features_extractor_class"] = resolve(
            FEATURES_EXTRACTORS, policy.features_extractor, "policy.features_extractor"
        )
        kwargs["features_extractor_kwargs"] = dict(policy.features_extractor_kwargs)
    return kwargs


def build_model(config: TrainConfig, env: VecEnv, run_dir: Path) -> BaseAlgorithm:
    """The algorithm of ``config`` on ``env``, logging to ``run_dir/tensorboard``."""
    return algorithms()[config.algo](
        config.policy.name,
        env,
        policy_kwargs=policy_kwargs(config.policy),
        tensorboard_log=str(run_dir / TENSORBOARD_DIR),
        seed=config.seed,
        device=config.device,
        **config.hyperparams,
    )


# --------------------------------------------------------------------------- callbacks
def _next_multiple(steps: int, freq: int) -> int:
    return (steps // freq + 1) * freq


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
        steps = self.model.num_timesteps
        path = self.folder / f"model_{steps}_steps.zip"
        self.model.save(path)
        vecnormalize = self.model.get_vec_normalize_env()
        if vecnormalize is not None:
            vecnormalize.save(str(self.folder / f"vecnormalize_{steps}_steps.pkl"))
        for old_steps, old_path in checkpoints(self.folder.parent)[: -self.keep]:
            old_path.unlink()
            (self.folder / f"vecnormalize_{old_steps}_steps.pkl").unlink(missing_ok=True)
        return path


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
            keep = [i for i, t in enumerate(old["timesteps"]) if t <= self.model.num_timesteps]
            self.evaluations_timesteps = [int(old["timesteps"][i]) for i in keep]
            self.evaluations_results = [list(old["results"][i]) for i in keep]
            self.evaluations_length = [list(old["ep_lengths"][i]) for i in keep]
            if "successes" in old.files:
                self.evaluations_successes = [list(old["successes"][i]) for i in keep]
        if self.evaluations_results:
            self.best_mean_reward = max(float(np.mean(r)) for r in self.evaluations_results)

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next = _next_multiple(self.num_timesteps, self.freq)
        return super()._on_step()


# --------------------------------------------------------------------------- run folders
def checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(steps, path)`` of the run's checkpoints, oldest first."""
    found = []
    for path in (Path(run_dir) / CHECKPOINT_DIR).glob("model_*_steps.zip"):
        match = _CHECKPOINT_RE.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def _vecnormalize_of(model_path: Path) -> Path:
    if model_path.name == FINAL_MODEL:
        return model_path.with_name(FINAL_VECNORMALIZE)
    return model_path.with_name(model_path.name.replace("model_", "vecnormalize_").replace(".zip", ".pkl"))


def _new_run_dir(config: TrainConfig, run_dir: str | Path | None) -> Path:
    if run_dir is None and config.run_dir is not None:
        run_dir = config.run_dir
    if run_dir is not None:
        path = Path(run_dir)
        if path.exists() and any(path.iterdir()):
            raise RunError(
                f"run dir {str(path)!r} already exists and is not empty; continue it with "
                f"'brc-rl train --resume {path}' or choose another --run-dir"
            )
        return path
    env = config.env.id.rpartition(":")[2].replace("/", "-")
    stem = f"{env}_{config.algo}_{config.policy.cell}_s{config.seed}_{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = Path(config.log_dir) / stem, 1
    while path.exists():
        n += 1
        path = Path(config.log_dir) / f"{stem}_{n}"
    return path


def _record_command(run_dir: Path, argv: Sequence[str] | None) -> None:
    with open(run_dir / COMMAND_FILE, "a") as file:
        file.write(shlex.join(list(argv) if argv is not None else sys.argv) + "\n")


def _learn(
    model: BaseAlgorithm, config: TrainConfig, run_dir: Path, resumed: bool, callbacks: Sequence[BaseCallback]
) -> None:
    """Run ``model.learn`` up to ``config.total_timesteps`` with checkpoints and evaluation, then save."""
    checkpoint = CheckpointEvery(run_dir / CHECKPOINT_DIR, config.checkpoint_freq, config.keep_checkpoints)
    all_callbacks: list[BaseCallback] = [checkpoint]
    eval_env = None
    if config.eval_freq:
        eval_env = make_env(config.env, 1, config.seed + EVAL_SEED_OFFSET, training=False)
        all_callbacks.append(EvalEvery(
            eval_env, config.eval_freq, n_eval_episodes=config.eval_episodes,
            deterministic=config.eval_deterministic, best_model_save_path=str(run_dir),
            log_path=str(run_dir / EVAL_DIR), verbose=1,
        ))
    try:
        model.learn(
            config.total_timesteps - model.num_timesteps,
            callback=CallbackList(all_callbacks + list(callbacks)),
            tb_log_name=config.algo,
            reset_num_timesteps=not resumed,
            progress_bar=config.progress_bar,
        )
    except KeyboardInterrupt:
        path = checkpoint.save()
        print(f"\ninterrupted: saved {path}; continue with: brc-rl train --resume {run_dir}", file=sys.stderr)
        raise
    finally:
        if eval_env is not None:
            eval_env.close()
    model.save(run_dir / FINAL_MODEL)
    vecnormalize = model.get_vec_normalize_env()
    if vecnormalize is not None:
        vecnormalize.save(str(run_dir / FINAL_VECNORMALIZE))
    model.get_env().close()


def _as_config(config: TrainConfig | Mapping[str, Any] | str | Path) -> TrainConfig:
    if isinstance(config, (str, Path)):
        return load_config(config)
    if isinstance(config, TrainConfig):
        config = config.to_dict()
    return config_from_dict(config)


def train(
    config: TrainConfig | Mapping[str, Any] | str | Path,
    run_dir: str | Path | None = None,
    argv: Sequence[str] | None = None,
    callbacks: Sequence[BaseCallback] = (),
) -> Path:
    """Train an agent from a config into a new run folder.

    Args:
        config: a :class:`TrainConfig`, a mapping of its keys, or a YAML file.
        run_dir: the run folder (default ``config.run_dir``, else a new folder under
            ``config.log_dir``); it must not exist or be empty.
        argv: the command recorded in ``command.txt`` (default ``sys.argv``).
        callbacks: extra SB3 callbacks.

    Returns:
        The run folder.

    Raises:
        ConfigError: for an invalid config (before anything is built).
        RunError: if ``run_dir`` exists and is not empty.
    """
    config = _as_config(config)
    path = _new_run_dir(config, run_dir)
    config = dataclasses.replace(config, run_dir=str(path))
    path.mkdir(parents=True, exist_ok=True)
    dump_config(config, path / CONFIG_FILE)
    _record_command(path, argv)
    env = make_env(config.env, config.env.n_envs, config.seed)
    model = build_model(config, env, path)
    _learn(model, config, path, resumed=False, callbacks=callbacks)
    return path


def resume(
    run_dir: str | Path,
    overrides: Sequence[str] = (),
    argv: Sequence[str] | None = None,
    callbacks: Sequence[BaseCallback] = (),
) -> Path:
    """Continue a run from its latest checkpoint up to ``total_timesteps``.

    The step count goes on (``reset_num_timesteps=False``) and so do the tensorboard
    run, the checkpoints and the evaluations.

    Args:
        run_dir: a run folder written by :func:`train`.
        overrides: ``key=value`` changes of keys in ``RESUME_OVERRIDABLE``
            (e.g. ``total_timesteps=200000`` to train longer); saved to config.yaml.
        argv: the command appended to ``command.txt`` (default ``sys.argv``).
        callbacks: extra SB3 callbacks.

    Returns:
        The run folder.

    Raises:
        RunError: if the folder has no config or no checkpoint.
        ConfigError: for an override of another key.
    """
    path = Path(run_dir)
    if not (path / CONFIG_FILE).is_file():
        raise RunError(f"{str(path)!r} is not a run folder: it has no {CONFIG_FILE}")
    for override in overrides:
        key = override.partition("=")[0]
        if key not in RESUME_OVERRIDABLE:
            raise ConfigError(f"--resume cannot change {key!r}; it may change: {', '.join(RESUME_OVERRIDABLE)}")
    config = config_from_dict(read_yaml(path / CONFIG_FILE), overrides)
    found = checkpoints(path)
    if not found:
        raise RunError(f"no checkpoint to resume from in {str(path / CHECKPOINT_DIR)!r}")
    steps, model_path = found[-1]
    _record_command(path, argv)
    if steps >= config.total_timesteps:
        print(f"{path}: already at {steps} >= total_timesteps {config.total_timesteps} steps; nothing to do")
        return path
    if overrides:
        dump_config(config, path / CONFIG_FILE)
    vecnormalize = _vecnormalize_of(model_path)
    env = make_env(config.env, config.env.n_envs, config.seed + steps,
                   vecnormalize=vecnormalize if vecnormalize.is_file() else None)
    model = algorithms()[config.algo].load(model_path, env=env, device=config.device)
    model.set_random_seed(config.seed + steps)
    model.tensorboard_log = str(path / TENSORBOARD_DIR)
    print(f"resuming {path} from {model_path.name} ({steps} steps)")
    _learn(model, config, path, resumed=True, callbacks=callbacks)
    return path


# --------------------------------------------------------------------------- evaluation
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
    path = Path(run_dir)
    if not (path / CONFIG_FILE).is_file():
        raise RunError(f"{str(path)!r} is not a run folder: it has no {CONFIG_FILE}")
    config = config_from_dict(read_yaml(path / CONFIG_FILE))
    check_env_kwargs(config.env.id, env_kwargs or {}, key="--env-kwargs")
    model_path = find_model(path, model)
    seed = config.seed + EVAL_SEED_OFFSET if seed is None else seed
    stats = _vecnormalize_of(model_path if model != "best" else find_model(path, "final"))
    env = make_env(config.env, 1, seed, kwargs=env_kwargs, vecnormalize=stats if stats.is_file() else None,
                   training=False)
    agent = algorithms()[config.algo].load(model_path, device=device)
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
