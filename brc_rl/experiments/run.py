"""Run folders: train from a config, with checkpoints and evaluation; resume.

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
    >>> run_dir = resume(run_dir, ["total_timesteps=200000"])  # train longer

See :mod:`brc_rl.experiments.evaluation` to evaluate a run.
"""

from __future__ import annotations

import copy
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from brc_rl.experiments.callbacks import CheckpointEvery, EvalEvery, list_checkpoints
from brc_rl.experiments.config import (
    ACTIVATIONS, FEATURES_EXTRACTORS, RESUME_OVERRIDABLE, VEC_ENVS, WRAPPERS, ConfigError, EnvConfig,
    PolicyConfig, TrainConfig, algorithms, config_from_dict, dump_config, load_config, read_yaml, resolve,
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


class RunError(ValueError):
    """A run folder that cannot be created, resumed or evaluated."""


# --------------------------------------------------------------------------- building
def apply_wrappers(env: Any, specs: Sequence[str | Mapping[str, Mapping[str, Any]]]) -> Any:
    """Wrap ``env`` in the named wrappers of ``WRAPPERS``, in order."""
    for i, spec in enumerate(specs):
        name, kwargs = (spec, {}) if isinstance(spec, str) else next(iter(spec.items()))
        env = resolve(WRAPPERS, name, f"env.wrappers[{i}]")(env, **kwargs)
    return env


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
        env.id,  # SB3 adds render_mode="rgb_array" (brc_rl envs accept it; retried without on TypeError)
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
        rnn_kwargs=dict(policy.rnn_kwargs),
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


# --------------------------------------------------------------------------- run folders
def checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(steps, path)`` of the run's checkpoints, oldest first."""
    return list_checkpoints(Path(run_dir) / CHECKPOINT_DIR)


def vecnormalize_of(model_path: Path) -> Path:
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
        config = config.model_dump()
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
    config = config.model_copy(update={"run_dir": str(path)})
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
    vecnormalize = vecnormalize_of(model_path)
    env = make_env(config.env, config.env.n_envs, config.seed + steps,
                   vecnormalize=vecnormalize if vecnormalize.is_file() else None)
    model = algorithms()[config.algo].load(model_path, env=env, device=config.device)
    model.set_random_seed(config.seed + steps)
    model.tensorboard_log = str(path / TENSORBOARD_DIR)
    print(f"resuming {path} from {model_path.name} ({steps} steps)")
    _learn(model, config, path, resumed=True, callbacks=callbacks)
    return path
