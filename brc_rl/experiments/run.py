"""Train from a config into a run folder, with checkpoints and evaluation; resume.

The run folder (:class:`~brc_rl.experiments.run_dir.RunDir`) holds::

    config.yaml                 the resolved config (every key, defaults filled in)
    command.txt                 the argv of every invocation (train, then each resume)
    tensorboard/{algo}_1/       tensorboard events (one run, continued by --resume)
    checkpoints/model_{N}_steps.zip         the last keep_checkpoints checkpoints,
    checkpoints/vecnormalize_{N}_steps.pkl  N env steps (with VecNormalize statistics if any)
    eval/evaluations.npz        periodic evaluations (SB3 EvalCallback format)
    best_model.zip              the model with the best periodic evaluation
    final_model.zip             the model at the end of training
    final_vecnormalize.pkl      its VecNormalize statistics, if any
    training.json               wall time and env steps of each training session (train, resumes)
    warmup.json                 with policy.warmup: the warm-up of every memory (VAA before, after)
    tensorboard/warmup/         its tensorboard keys (brc_rl.experiments.warmup.warmup_scalars)

The environment and the model are built before the folder is written, so a config
that the environment or the algorithm rejects leaves nothing behind. A folder in
which nothing was trained (no checkpoint, no final model) may be trained into again.

Example:
    >>> run_dir = train("configs/quickstart.yaml")  # doctest: +SKIP
    >>> run_dir = resume(run_dir, ["total_timesteps=200000"])  # train longer  # doctest: +SKIP

See :mod:`brc_rl.experiments.evaluation` to evaluate a run.
"""

from __future__ import annotations

import copy
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from brc_rl.experiments.callbacks import (
    CheckpointEvery,
    EntCoefSchedule,
    EnvSchedule,
    EvalEvery,
    ProgressBar,
    UpdateLogs,
    check_schedulable,
    list_checkpoints,
    save_model,
    vecnormalize_of,
)
from brc_rl.experiments.config import (
    ACTIVATIONS,
    FEATURES_EXTRACTORS,
    NMD_POLICY,
    RESUME_OVERRIDABLE,
    SB3_CONTRIB_PPO,
    VEC_ENVS,
    WRAPPERS,
    ConfigError,
    EnvConfig,
    PolicyConfig,
    TrainConfig,
    algo_hyperparams,
    algorithms,
    config_from_dict,
    dump_config,
    load_config,
    parse_schedule,
    read_yaml,
    resolve,
)
from brc_rl.experiments.run_dir import RunDir
from brc_rl.experiments.utils import get_device
from brc_rl.experiments.warmup import PolicyWarmupConfig, log_warmup, save_warmup, summary

CONFIG_FILE = "config.yaml"
BEST_MODEL = "best_model.zip"
FINAL_MODEL = "final_model.zip"
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


def reward_gamma(config: TrainConfig) -> float:
    """The discount ``VecNormalize`` normalises rewards with: ``env.normalize_gamma``, else the
    algorithm's ``hyperparams.gamma`` (else 0.99, the default of SB3's PPO and A2C)."""
    if config.env.normalize_gamma is not None:
        return config.env.normalize_gamma
    return float(config.hyperparams.get("gamma", 0.99))


def make_env(
    env: EnvConfig,
    n_envs: int,
    seed: int,
    kwargs: Mapping[str, Any] | None = None,
    vecnormalize: str | Path | None = None,
    training: bool = True,
    gamma: float = 0.99,
) -> VecEnv:
    """Build the vectorised env of a config: ``Monitor``, the wrappers, then ``VecNormalize`` if asked.

    Args:
        env: the ``env`` section.
        n_envs: number of copies.
        seed: seed of copy 0 (copy i gets seed + i).
        kwargs: overrides of ``env.kwargs`` (and, for evaluation, of ``env.eval_kwargs``).
        vecnormalize: saved VecNormalize statistics to load if the file exists (else new ones).
        training: False for evaluation: ``env.eval_kwargs`` applied, statistics frozen, rewards
            not normalised.
        gamma: discount of the returns whose running std normalises the rewards (training:
            :func:`reward_gamma` of the config).
    """
    import minigrid  # noqa: F401  (registers MiniGrid-*)
    from stable_baselines3.common.env_util import make_vec_env

    import brc_rl.envs  # noqa: F401  (registers brc_rl/*)

    vec = make_vec_env(
        env.id,  # SB3 adds render_mode="rgb_array" (brc_rl envs accept it; retried without on TypeError)
        n_envs=n_envs,
        seed=seed,
        env_kwargs={**env.kwargs, **({} if training else env.eval_kwargs), **(kwargs or {})},
        wrapper_class=partial(apply_wrappers, specs=env.wrappers) if env.wrappers else None,
        vec_env_cls=resolve(VEC_ENVS, env.vec_env, "env.vec_env"),
    )
    if not (env.normalize_obs or env.normalize_reward):
        return vec
    if vecnormalize is not None and Path(vecnormalize).is_file():
        vec = VecNormalize.load(str(vecnormalize), vec)
    else:
        vec = VecNormalize(vec, norm_obs=env.normalize_obs, norm_reward=env.normalize_reward, gamma=gamma)
    vec.training = training
    vec.norm_reward = env.normalize_reward and training
    return vec


def policy_kwargs(policy: PolicyConfig, algo: str = "ppo") -> dict[str, Any]:
    """The ``policy_kwargs`` of ``algo``, with names resolved through the registries.

    For ``sb3_contrib_ppo`` the memory keys become sb3-contrib's: ``hidden_size`` ->
    ``lstm_hidden_size``, ``num_layers`` -> ``n_lstm_layers``, ``shared_memory`` ->
    ``shared_lstm`` and its opposite ``enable_critic_lstm`` (the critic's own LSTM);
    ``cell`` (``lstm``) and ``rnn_kwargs`` (empty) go nowhere. ``context_size`` goes to
    ``NmdRecurrentPolicy`` only, ``features_to_head`` and ``log_std_init`` when they are set. The other keys are SB3's;
    ``warmup.partial`` adds ``partial_warmup: true`` to ``rnn_kwargs``.
    """
    if algo == SB3_CONTRIB_PPO:
        memory: dict[str, Any] = dict(
            lstm_hidden_size=policy.hidden_size,
            n_lstm_layers=policy.num_layers,
            shared_lstm=policy.shared_memory,
            enable_critic_lstm=not policy.shared_memory,
        )
    else:
        partial = {"partial_warmup": True} if policy.warmup is not None and policy.warmup.partial else {}
        memory = dict(cell=policy.cell, hidden_size=policy.hidden_size, num_layers=policy.num_layers,
                      shared_memory=policy.shared_memory, rnn_kwargs={**policy.rnn_kwargs, **partial})
    kwargs: dict[str, Any] = dict(
        **memory,
        net_arch=copy.deepcopy(policy.net_arch),
        activation_fn=resolve(ACTIVATIONS, policy.activation_fn, "policy.activation_fn"),
        normalize_images=policy.normalize_images,
        ortho_init=policy.ortho_init,
    )
    if policy.name == NMD_POLICY:
        kwargs["context_size"] = policy.context_size
    if policy.features_to_head:
        kwargs["features_to_head"] = True
    if policy.log_std_init is not None:
        kwargs["log_std_init"] = policy.log_std_init
    if policy.features_extractor is not None:
        kwargs["features_extractor_class"] = resolve(
            FEATURES_EXTRACTORS, policy.features_extractor, "policy.features_extractor"
        )
        kwargs["features_extractor_kwargs"] = dict(policy.features_extractor_kwargs)
    return kwargs


def config_device(config: TrainConfig) -> Any:
    """The torch device of ``config.device`` (:func:`~brc_rl.experiments.utils.get_device`).

    Raises:
        ConfigError: for CUDA asked on a machine without it, or a name that is no device.
    """
    try:
        return get_device(config.device)
    except ValueError as error:
        raise ConfigError(f"config key 'device': {error}") from None


def _sb3_ent_schedule(config: TrainConfig) -> Any:
    """The ``ent_coef`` schedule that sb3-contrib's RecurrentPPO, which takes a float, gets from
    :class:`EntCoefSchedule`; None for other algorithms or a float ``ent_coef``."""
    value = config.hyperparams.get("ent_coef")
    if config.algo != SB3_CONTRIB_PPO or not isinstance(value, str):
        return None
    return parse_schedule("hyperparams.ent_coef", value)


def constructor_hyperparams(config: TrainConfig) -> dict[str, Any]:
    """The algorithm's keyword arguments (:func:`algo_hyperparams`); sb3-contrib's RecurrentPPO
    starts at its schedule's first value (:func:`_sb3_ent_schedule`)."""
    kwargs = algo_hyperparams(config.hyperparams)
    schedule = _sb3_ent_schedule(config)
    if schedule is not None:
        kwargs["ent_coef"] = float(schedule(1.0))
    return kwargs


# --------------------------------------------------------------------------- run folders
def checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(steps, path)`` of the run's checkpoints, oldest first."""
    return list_checkpoints(RunDir(run_dir).checkpoints)


def _learn(
    model: BaseAlgorithm, config: TrainConfig, run: RunDir, resumed: bool, callbacks: Sequence[BaseCallback]
) -> None:
    """Run ``model.learn`` up to ``config.total_timesteps`` with checkpoints and evaluation, then save."""
    checkpoint = CheckpointEvery(run.checkpoints, config.checkpoint_freq, config.keep_checkpoints)
    all_callbacks: list[BaseCallback] = [UpdateLogs(), checkpoint]  # logs first: written before a checkpoint
    if config.progress_bar:
        all_callbacks.append(ProgressBar(config.total_timesteps))
    ent_schedule = _sb3_ent_schedule(config)
    if ent_schedule is not None:
        all_callbacks.append(EntCoefSchedule(ent_schedule))
    if config.env.schedules:
        all_callbacks.append(EnvSchedule({name: parse_schedule(f"env.schedules.{name}", value)
                                          for name, value in config.env.schedules.items()}))
    eval_env = None
    if config.eval_freq:
        eval_env = make_env(config.env, 1, config.seed + EVAL_SEED_OFFSET, training=False)
        all_callbacks.append(EvalEvery(
            eval_env, config.eval_freq, n_eval_episodes=config.eval_episodes,
            deterministic=config.eval_deterministic, best_model_save_path=str(run.path),
            log_path=str(run.eval), verbose=1,
        ))
    start_step, start_time = model.num_timesteps, time.perf_counter()
    try:
        model.learn(
            config.total_timesteps - model.num_timesteps,
            callback=CallbackList(all_callbacks + list(callbacks)),
            tb_log_name=config.algo,
            reset_num_timesteps=not resumed,
        )
    except KeyboardInterrupt:
        path = checkpoint.save()
        print(f"\ninterrupted: saved {path} ({model.num_timesteps} steps); "
              f"continue with: brc-rl train --resume {run}", file=sys.stderr)
        raise
    finally:
        if eval_env is not None:
            eval_env.close()
        if model.num_timesteps > start_step:
            try:
                run.record_training(start_step, model.num_timesteps, time.perf_counter() - start_time)
            except ValueError as error:  # a corrupt training.json must not cost the trained model
                print(f"warning: {error}; this session is not recorded", file=sys.stderr)
    save_model(model, run.final_model())
    model.get_env().close()


def _warm_up(model: BaseAlgorithm, settings: PolicyWarmupConfig, run: RunDir) -> None:
    """Warm the policy's memories up on its own episodes; log to ``tensorboard/warmup``, write ``warmup.json``."""
    from torch.utils.tensorboard import SummaryWriter

    from brc_rl.agents import warmup_policy

    records = warmup_policy(model, settings.rollout_steps, **settings.kwargs())
    with SummaryWriter(str(run.tensorboard / "warmup")) as writer:
        log_warmup(writer, records)
    save_warmup(run.path, records)
    print(summary(records), file=sys.stderr)


def train(
    config: TrainConfig | Mapping[str, Any] | str | Path,
    run_dir: str | Path | None = None,
    argv: Sequence[str] | None = None,
    callbacks: Sequence[BaseCallback] = (),
) -> Path:
    """Train an agent from a config into a new run folder.

    The environment and the model are built first: a config they reject raises before
    the folder is written.

    Args:
        config: a :class:`TrainConfig`, a mapping of its keys, or a YAML file.
        run_dir: the run folder (default ``config.run_dir``, else a new folder under
            ``config.log_dir``); it must not exist, be empty, or be a run folder in
            which nothing was trained.
        argv: the command recorded in ``command.txt`` (default ``sys.argv``).
        callbacks: extra SB3 callbacks.

    Returns:
        The run folder.

    Raises:
        ConfigError: for an invalid config (before anything is written).
        RunError: if ``run_dir`` holds something else or a trained run.
    """
    if isinstance(config, (str, Path)):
        config = load_config(config)
    else:
        config = config_from_dict(config.model_dump() if isinstance(config, TrainConfig) else config)
    if run_dir is None and config.run_dir is not None:
        run_dir = config.run_dir
    if run_dir is not None:
        run = RunDir(run_dir)
        if run.path.exists() and any(run.path.iterdir()):
            if not run.is_run() or checkpoints(run.path) or run.final_model().is_file():
                raise RunError(
                    f"run dir {str(run)!r} already exists and is not empty; continue it with "
                    f"'brc-rl train --resume {run}' or choose another --run-dir"
                )
            print(f"{run}: nothing was trained there (no checkpoint); starting it again", file=sys.stderr)
            shutil.rmtree(run.path)
    else:
        env_name = config.env.id.rpartition(":")[2].replace("/", "-")
        stem = f"{env_name}_{config.algo}_{config.policy.cell}_s{config.seed}_{time.strftime('%Y%m%d-%H%M%S')}"
        path, n = Path(config.log_dir) / stem, 1
        while path.exists():
            n += 1
            path = Path(config.log_dir) / f"{stem}_{n}"
        run = RunDir(path)
    config = config.model_copy(update={"run_dir": str(run)})
    device = config_device(config)
    try:
        env = make_env(config.env, config.env.n_envs, config.seed, gamma=reward_gamma(config))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"config key 'env.kwargs': {config.env.id} rejects {config.env.kwargs}: {error}") from None
    try:
        check_schedulable(env, config.env.schedules)
    except ConfigError:
        env.close()
        raise
    try:
        model = algorithms()[config.algo](
            config.policy.name, env, policy_kwargs=policy_kwargs(config.policy, config.algo),
            tensorboard_log=str(run.tensorboard), seed=config.seed, device=device,
            **constructor_hyperparams(config),
        )
    except (ValueError, TypeError, AssertionError) as error:
        env.close()
        raise ConfigError(f"{config.algo} rejects the config's hyperparams or policy: {error}") from None
    run.path.mkdir(parents=True, exist_ok=True)
    dump_config(config, run.config)
    run.record_command(argv)
    if config.policy.warmup is not None:
        _warm_up(model, config.policy.warmup, run)
    _learn(model, config, run, resumed=False, callbacks=callbacks)
    return run.path


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
    run = RunDir(run_dir)
    if not run.is_run():
        raise RunError(f"{str(run)!r} is not a run folder: it has no {run.config.name}")
    for override in overrides:
        key = override.partition("=")[0]
        if key not in RESUME_OVERRIDABLE:
            raise ConfigError(f"--resume cannot change {key!r}; it may change: {', '.join(RESUME_OVERRIDABLE)}")
    config = config_from_dict(read_yaml(run.config), overrides)
    found = checkpoints(run.path)
    if not found:
        raise RunError(
            f"no checkpoint to resume from in {str(run.checkpoints)!r}: nothing was trained; "
            f"start it again with 'brc-rl train {run.config} --run-dir {run}'"
        )
    steps, model_path = found[-1]
    run.record_command(argv)
    if steps >= config.total_timesteps:
        print(f"{run}: already at {steps} >= total_timesteps {config.total_timesteps} steps; nothing to do")
        return run.path
    if overrides:
        dump_config(config, run.config)
    env = make_env(config.env, config.env.n_envs, config.seed + steps, vecnormalize=vecnormalize_of(model_path),
                   gamma=reward_gamma(config))
    model = algorithms()[config.algo].load(model_path, env=env, device=config_device(config))
    model.set_random_seed(config.seed + steps)
    model.tensorboard_log = str(run.tensorboard)
    print(f"resuming {run} from {model_path.name} ({steps} steps)")
    _learn(model, config, run, resumed=True, callbacks=callbacks)
    return run.path
