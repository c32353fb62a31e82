"""Sweeps on Ray Tune: a grid or a search over config keys, each trial an ordinary run folder.

A sweep file (keys of :class:`SweepConfig`)::

    base: ../tmaze/ppo_nbrc.yaml      # the config every trial starts from (relative to this file)
    set: {total_timesteps: 51200}     # fixed overrides of every trial
    grid:                             # every combination is one trial
      policy.cell: [brc, nbrc, gru, lstm]
      seed: [0, 1, 2]

Every trial's config is built and validated before Ray starts, so a bad key or value is
the config's own one-line :class:`~brc_rl.experiments.config.ConfigError`. The sweep
folder holds::

    sweep.yaml      the resolved sweep (its base is base.yaml)
    base.yaml       the resolved base config (its own base: chain merged)
    command.txt     the argv of every invocation (the sweep, then each --resume)
    trials/NAME/    one run folder per trial, written by brc_rl.experiments.run.train
    ray/            Ray Tune's experiment state; ray/NAME/ holds the trial's results,
                    stdout and stderr

A trial is named after its grid values (``cell=gru,seed=1``) or, in a search, after its
Ray trial id. It reports each periodic evaluation to Ray (``tune.report``: ``env_steps``
and the ``eval/*`` keys), so an ASHA scheduler can stop it early; a stopped trial keeps
its folder. :func:`resume_sweep` restores Ray's experiment: finished trials are not run
again, and a trial whose folder holds a checkpoint continues from it through
:func:`~brc_rl.experiments.run.resume`.

Example:
    >>> result = run_sweep("configs/sweeps/tmaze_cells.yaml", "runs/sweeps/tmaze")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field, field_validator
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

from brc_rl.experiments.config import ConfigError, TrainConfig, config_from_dict
from brc_rl.experiments.run_dir import RunDir
from brc_rl.experiments.schema import ConfigModel, read_mapping, read_yaml, validate_model

SWEEP_FILE = "sweep.yaml"
BASE_FILE = "base.yaml"
TRIALS = "trials"
#: Ray Tune's experiment folder inside the sweep folder.
RAY_EXPERIMENT = "ray"
#: Overrides of every trial: Ray writes each trial's output to a file, where a progress bar is noise.
TRIAL_OVERRIDES = ("progress_bar=false",)

#: Search spaces: ``{name: [arguments]}`` -> Ray Tune's sampler of that name. ``randint: [a, b]``
#: draws a <= x < b (Ray's convention); the others include both ends.
SEARCH_SPACES: dict[str, str] = {
    "uniform": "uniform", "loguniform": "loguniform", "randint": "randint", "choice": "choice",
}


class SweepError(ValueError):
    """A sweep that cannot be started or resumed (its folder, or Ray Tune missing)."""


# --------------------------------------------------------------------------- the sweep file
class SchedulerConfig(ConfigModel):
    """Early stopping of bad trials (section ``scheduler``): Ray Tune's ``ASHAScheduler`` over env steps."""

    name: Literal["asha"] = "asha"
    """Scheduler: ``asha`` (asynchronous successive halving)."""
    grace_period: int | None = Field(None, ge=1)
    """Env steps a trial runs before it may be stopped (null: the config's ``eval_freq``)."""
    reduction_factor: float = Field(3, gt=1)
    """A rung keeps the best 1 / reduction_factor of the trials that reach it."""
    brackets: int = Field(1, ge=1)
    """Number of ASHA brackets."""


class Resources(ConfigModel):
    """What one trial holds (section ``resources_per_trial``); Ray runs as many trials at once as fit."""

    cpu: float = Field(1, ge=0)
    """CPUs per trial."""
    gpu: float = Field(0, ge=0)
    """GPUs per trial (fractions share a GPU)."""


class SweepConfig(ConfigModel):
    """A sweep file (the top level)."""

    base: str
    """The config every trial starts from, relative to the sweep file."""
    set: dict[str, Any] = Field(default_factory=dict)
    """Fixed overrides of every trial, by dotted key (as ``--set``): ``{total_timesteps: 51200}``."""
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    """Dotted config keys -> lists of values; every combination is one trial."""
    search: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)
    """Dotted config keys -> one range each, sampled by Optuna: ``{loguniform: [1e-4, 1e-2]}``,
    ``{uniform: [a, b]}``, ``{randint: [a, b]}`` (a <= x < b) or ``{choice: [...]}``."""
    num_samples: int = Field(1, ge=1)
    """Trials of a search."""
    search_seed: int = 0
    """Seed of the search's Optuna sampler."""
    metric: Literal["eval/success_rate", "eval/mean_reward"] = "eval/success_rate"
    """What the search and the scheduler optimise (the last periodic evaluation's);
    ``eval/mean_reward`` for an environment that reports no ``info["is_success"]``."""
    mode: Literal["max", "min"] = "max"
    """Maximise or minimise ``metric``."""
    scheduler: SchedulerConfig | None = None
    """Early stopping (section, see ``SchedulerConfig``); null runs every trial to total_timesteps."""
    resources_per_trial: Resources = Field(default_factory=Resources)
    """CPUs and GPUs per trial (section, see ``Resources``)."""
    torch_threads: int = Field(1, ge=1)
    """``torch.set_num_threads`` of each trial."""
    max_concurrent_trials: int | None = Field(None, ge=1)
    """At most this many trials at once (null: as many as the resources allow)."""

    @field_validator("grid")
    @classmethod
    def _grid_lists_not_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"{key}: expected at least one value, got []")
        return grid

    @field_validator("search")
    @classmethod
    def _one_space_each(cls, search: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
        for key, space in search.items():
            if len(space) != 1 or next(iter(space)) not in SEARCH_SPACES:
                raise ValueError(f"{key}: expected one of {', '.join(SEARCH_SPACES)}, got {space!r}")
            kind, args = next(iter(space.items()))
            if kind == "choice":
                if not args:
                    raise ValueError(f"{key}: choice needs at least one value")
                continue
            number = int if kind == "randint" else (int, float)
            if len(args) != 2 or not all(isinstance(a, number) and not isinstance(a, bool) for a in args):
                raise ValueError(f"{key}: {kind} takes [lower, upper] {'integers' if kind == 'randint' else 'numbers'}"
                                 f", got {args!r}")
            if not args[0] < args[1] or (kind == "loguniform" and args[0] <= 0):
                raise ValueError(f"{key}: {kind} needs {'0 < ' if kind == 'loguniform' else ''}lower < upper, "
                                 f"got {args!r}")
        return search


def _sweep_key(key: str) -> str:
    return f"sweep key {key!r}"


def assignment(key: str, value: Any) -> str:
    """``key=value`` as ``--set`` reads it (the value written as YAML)."""
    value = value.item() if isinstance(value, np.generic) else value
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 16).removesuffix("...\n").strip()
    return f"{key}={text}"


def _endpoints(space: Mapping[str, list[Any]]) -> list[Any]:
    """The values a search range is validated at, as sampled: both ends (floats of ``uniform`` and
    ``loguniform``, ``randint``'s upper one excluded), every choice."""
    kind, args = next(iter(space.items()))
    if kind == "choice":
        return list(args)
    return [args[0], args[1] - 1] if kind == "randint" else [float(args[0]), float(args[1])]


def _trial_names(grid: Mapping[str, list[Any]]) -> dict[str, list[str]]:
    """Each grid combination's folder name (``cell=gru,seed=1``) -> its overrides."""
    short = [key.rpartition(".")[2] for key in grid]
    short = [s if short.count(s) == 1 else key for s, key in zip(short, grid)]
    names: dict[str, list[str]] = {}
    for values in itertools.product(*grid.values()):
        overrides = [assignment(key, value) for key, value in zip(grid, values)]
        parts = [f"{s}={o.partition('=')[2]}" for s, o in zip(short, overrides)]
        name = re.sub(r"[^A-Za-z0-9._=,+-]+", "-", ",".join(parts)).strip("-") or "base"
        unique, n = name, 1
        while unique in names:
            n += 1
            unique = f"{name}-{n}"
        names[unique] = overrides
    return names


@dataclass(frozen=True)
class Sweep:
    """A sweep file, validated: its settings, its base config and its trials.

    Attributes:
        path: the sweep file.
        config: its settings.
        base: the base config as a mapping (``base:`` chain resolved, not yet overridden).
        fixed: the ``set:`` overrides, as ``key=value`` strings.
        trials: grid sweep: trial name -> its overrides (``set:`` then ``grid:``); empty for a search,
            whose trials are named after their Ray trial ids.
        first: the first trial's validated config (every trial has its ``total_timesteps``).
    """

    path: Path
    config: SweepConfig
    base: dict[str, Any]
    fixed: list[str]
    trials: dict[str, list[str]] = field(default_factory=dict)
    first: TrainConfig | None = None

    def overrides(self, name: str, sampled: Mapping[str, Any] | None = None) -> list[str]:
        """The overrides of a trial: the grid's of ``name``, or ``set:`` plus the ``sampled`` search values."""
        if self.config.search:
            return [*self.fixed, *(assignment(key, sampled[key]) for key in self.config.search), *TRIAL_OVERRIDES]
        return [*self.trials[name], *TRIAL_OVERRIDES]

    def trial_config(self, label: str, overrides: Sequence[str]) -> TrainConfig:
        """The validated config of a trial; an error names the sweep file and ``label``."""
        try:
            return config_from_dict(self.base, overrides)
        except ConfigError as error:
            raise ConfigError(f"sweep {str(self.path)!r}, trial {label}: {error}") from None

    def validate_trials(self) -> TrainConfig:
        """Build every trial's config (a search: each range at its ends); return the first.

        Raises:
            ConfigError: for the first config that fails, naming the trial and the key;
                when trials differ in ``total_timesteps`` (agents compared get one budget);
                without periodic evaluation (``eval_freq`` 0 or over ``total_timesteps``).
        """
        if self.config.search:
            first = {key: _endpoints(space)[0] for key, space in self.config.search.items()}
            configs = [self.trial_config(assignment(key, value), self.overrides("", {**first, key: value}))
                       for key, space in self.config.search.items() for value in _endpoints(space)]
        else:
            configs = [self.trial_config(name, self.overrides(name)) for name in self.trials]
        budgets = sorted({config.total_timesteps for config in configs})
        if len(budgets) > 1:
            raise ConfigError(f"sweep {str(self.path)!r}: config key 'total_timesteps' differs between trials "
                              f"({', '.join(map(str, budgets))}); the agents of a sweep share one budget")
        bad = next((c for c in configs if not 0 < c.eval_freq <= c.total_timesteps), None)
        if bad is not None:
            raise ConfigError(f"sweep {str(self.path)!r}: config key 'eval_freq': a sweep reports periodic "
                              f"evaluations, expected 1 to total_timesteps {bad.total_timesteps}, got {bad.eval_freq}")
        scheduler = self.config.scheduler
        if scheduler is not None and (scheduler.grace_period or 0) > budgets[0]:
            raise ConfigError(f"{_sweep_key('scheduler.grace_period')}: expected at most total_timesteps "
                              f"{budgets[0]}, got {scheduler.grace_period}")
        return configs[0]


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file, and every trial's config, before anything runs.

    Raises:
        ConfigError: one line naming the first bad key: of the sweep file, or of a trial's
            config (with the trial's overrides).
    """
    path = Path(path)
    data = read_mapping(path, "sweep file")
    try:
        config = validate_model(SweepConfig, data, _sweep_key)
    except ConfigError as error:
        raise ConfigError(f"sweep {str(path)!r}: {str(error).replace('unknown config key', 'unknown sweep key')}"
                          ) from None
    if config.grid and config.search:
        raise ConfigError(f"sweep {str(path)!r}: give either grid or search, not both (one search per agent "
                          "compared, in its own sweep file)")
    if config.num_samples > 1 and not config.search:
        raise ConfigError(f"{_sweep_key('num_samples')}: samples of a search, which this sweep has not; "
                          "repeat a grid with seeds in it")
    fixed = [assignment(key, value) for key, value in config.set.items()]
    trials = {} if config.search else {name: [*fixed, *overrides]
                                       for name, overrides in _trial_names(config.grid).items()}
    sweep = Sweep(path, config, read_yaml(path.parent / config.base), fixed, trials)
    return replace(sweep, first=sweep.validate_trials())


# --------------------------------------------------------------------------- reporting to Ray
class _TuneWriter(KVWriter):
    """An SB3 logger output that passes each evaluation's ``eval/*`` keys to ``tune.report``."""

    def __init__(self, metric: str) -> None:
        self.metric, self.reported = metric, 0

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        if "eval/mean_reward" in key_values:
            report(self.metric, step, {k: v for k, v in key_values.items() if k.startswith("eval/")})
            self.reported += 1

    def close(self) -> None:
        pass


def report(metric: str, env_steps: int, evaluation: Mapping[str, Any]) -> None:
    """``tune.report`` of one evaluation: ``env_steps`` and the ``eval/*`` keys.

    Raises:
        ConfigError: when ``metric`` is not among them (an env without ``info["is_success"]``).
    """
    from ray import tune

    if metric not in evaluation:
        raise ConfigError(f"{_sweep_key('metric')}: the evaluation reports no {metric!r} (it has "
                          f"{', '.join(evaluation)}); set metric: eval/mean_reward")
    tune.report({"env_steps": int(env_steps), **{k: float(v) for k, v in evaluation.items()}})


class TuneReport(BaseCallback):
    """Report every periodic evaluation of a run to Ray Tune, so that a scheduler can stop it early.

    The evaluation's ``eval/*`` keys reach it through the model's SB3 logger (an extra output
    format), as they reach tensorboard.

    Args:
        metric: the key the sweep optimises; a trial without it fails with a ConfigError.
    """

    def __init__(self, metric: str) -> None:
        super().__init__()
        self.writer = _TuneWriter(metric)

    @property
    def reported(self) -> int:
        """Evaluations reported so far."""
        return self.writer.reported

    def _init_callback(self) -> None:
        self.logger.output_formats.append(self.writer)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self.logger.output_formats.remove(self.writer)


def report_last_evaluation(run_dir: Path, metric: str) -> None:
    """Report a run's last saved evaluation (``eval/evaluations.npz``), for a trial that had nothing to train."""
    with np.load(RunDir(run_dir).evaluations) as saved:
        evaluation = {"eval/mean_reward": float(np.mean(saved["results"][-1])),
                      "eval/mean_ep_length": float(np.mean(saved["ep_lengths"][-1]))}
        if "successes" in saved.files and len(saved["successes"]):
            evaluation["eval/success_rate"] = float(np.mean(saved["successes"][-1]))
        report(metric, int(saved["timesteps"][-1]), evaluation)


def run_trial(params: dict[str, Any], sweep_dir: str = "", argv: Sequence[str] | None = None) -> None:
    """Ray Tune's function trainable: train one trial into ``sweep_dir/trials/NAME``, or resume it.

    ``params`` holds ``trial`` (a grid trial's name) or the sampled search values. A folder
    that holds a checkpoint is resumed (an interrupted or errored trial); otherwise the
    trial is trained from its config.
    """
    import torch
    from ray import tune

    from brc_rl.experiments.run import checkpoints, resume, train

    sweep = load_resolved(Path(sweep_dir))
    torch.set_num_threads(sweep.config.torch_threads)
    name = params.get("trial") or tune.get_context().get_trial_id()
    run_dir = Path(sweep_dir) / TRIALS / name
    callback = TuneReport(sweep.config.metric)
    if checkpoints(run_dir):
        resume(run_dir, argv=argv, callbacks=[callback])
    else:
        config = sweep.trial_config(name, sweep.overrides(name, params))
        train(config, run_dir=run_dir, argv=argv, callbacks=[callback])
    if not callback.reported:
        report_last_evaluation(run_dir, sweep.config.metric)


def _trial_dirname(trial: Any) -> str:
    """Ray's folder (and name) of a trial: the grid trial's name, or the trial id."""
    return trial.config.get("trial") or trial.trial_id


# --------------------------------------------------------------------------- running
@dataclass(frozen=True)
class TrialResult:
    """One trial of a sweep after Ray returned.

    Attributes:
        name: the trial's name (its folder under ``trials/``).
        run_dir: its run folder.
        status: ``finished`` (total_timesteps reached), ``stopped`` (by the scheduler),
            ``error`` or ``not run``.
        env_steps: env steps at its last report.
        metrics: its last report's ``eval/*`` values.
        error: the error of a failed trial.
    """

    name: str
    run_dir: Path
    status: str
    env_steps: int | None
    metrics: dict[str, float]
    error: str | None = None


@dataclass(frozen=True)
class SweepResult:
    """The trials of a sweep, as :func:`run_sweep` and :func:`resume_sweep` return them."""

    sweep_dir: Path
    metric: str
    trials: list[TrialResult]

    @property
    def failed(self) -> list[TrialResult]:
        """The trials that raised."""
        return [t for t in self.trials if t.status == "error"]

    def summary(self) -> str:
        """A table of the trials (name, status, env steps, metric), then where they are."""
        width = max([len(t.name) for t in self.trials] + [5])
        lines = [f"{'trial':<{width}}  {'status':<8}  {'env steps':>9}  {self.metric}"]
        for t in sorted(self.trials, key=lambda t: t.name):
            value = t.metrics.get(self.metric)
            lines.append(f"{t.name:<{width}}  {t.status:<8}  {t.env_steps or 0:>9}  "
                         f"{'-' if value is None else f'{value:.4g}'}")
        lines.append(f"run folders: {self.sweep_dir / TRIALS}/NAME (brc-rl eval, horizon, tensorboard)")
        for t in self.failed:
            lines.append(f"{t.name} failed: {t.error}")
        if self.failed:
            lines.append(f"continue with: brc-rl sweep --resume {self.sweep_dir}")
        return "\n".join(lines)


def _import_ray() -> Any:
    try:
        import ray
        from ray import tune  # noqa: F401
    except ImportError as error:
        raise SweepError(f"sweeps need Ray Tune and Optuna: pip install 'brc-rl[sweep]' ({error})") from None
    return ray


def connect(address: str | None = None) -> None:
    """Start a local Ray (every core, no dashboard) or join the cluster at ``address``;
    nothing if Ray is already initialised in this process."""
    ray = _import_ray()
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False)


def _tune_config(sweep: Sweep) -> Any:
    from ray import tune

    total_timesteps, eval_freq = sweep.first.total_timesteps, sweep.first.eval_freq

    search_alg = scheduler = None
    if sweep.config.search:
        from ray.tune.search.optuna import OptunaSearch

        search_alg = OptunaSearch(seed=sweep.config.search_seed)
    if sweep.config.scheduler is not None:
        from ray.tune.schedulers import ASHAScheduler

        s = sweep.config.scheduler
        scheduler = ASHAScheduler(time_attr="env_steps", max_t=total_timesteps,
                                  grace_period=s.grace_period or eval_freq,
                                  reduction_factor=s.reduction_factor, brackets=s.brackets)
    return tune.TuneConfig(
        metric=sweep.config.metric, mode=sweep.config.mode, num_samples=sweep.config.num_samples,
        search_alg=search_alg, scheduler=scheduler, max_concurrent_trials=sweep.config.max_concurrent_trials,
        trial_name_creator=_trial_dirname, trial_dirname_creator=_trial_dirname,
    )


def _param_space(sweep: Sweep) -> dict[str, Any]:
    from ray import tune

    if not sweep.config.search:
        return {"trial": tune.grid_search(list(sweep.trials))}
    return {key: getattr(tune, SEARCH_SPACES[kind])(*args) if kind != "choice" else tune.choice(args)
            for key, space in sweep.config.search.items() for kind, args in space.items()}


def _trainable(sweep: Sweep, sweep_dir: Path, argv: Sequence[str] | None) -> Any:
    from ray import tune

    resources = sweep.config.resources_per_trial
    trainable = tune.with_parameters(run_trial, sweep_dir=str(sweep_dir), argv=list(argv) if argv else None)
    return tune.with_resources(trainable, {"cpu": resources.cpu, "gpu": resources.gpu})


def _results(sweep: Sweep, sweep_dir: Path, grid: Any) -> SweepResult:
    trials, total_timesteps = [], sweep.first.total_timesteps
    for result in grid:
        name = Path(result.path).name
        metrics = {k: v for k, v in (result.metrics or {}).items() if k.startswith("eval/")}
        steps = (result.metrics or {}).get("env_steps")
        if result.error is not None:
            status = "error"
        elif steps is None:
            status = "not run"
        else:
            status = "finished" if steps >= total_timesteps else "stopped"
        error = str(result.error).strip().splitlines()[-1] if result.error is not None else None
        trials.append(TrialResult(name, sweep_dir / TRIALS / name, status, steps, metrics, error))
    return SweepResult(sweep_dir, sweep.config.metric, trials)


def load_resolved(sweep_dir: Path) -> Sweep:
    """The sweep saved in a sweep folder (``sweep.yaml`` and ``base.yaml``)."""
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise SweepError(f"{str(sweep_dir)!r} is not a sweep folder: it has no {SWEEP_FILE}")
    return load_sweep(sweep_dir / SWEEP_FILE)


def run_sweep(path: str | Path, sweep_dir: str | Path | None = None, address: str | None = None,
              argv: Sequence[str] | None = None) -> SweepResult:
    """Run a sweep file's trials on Ray Tune, each into a run folder under ``sweep_dir/trials/``.

    Args:
        path: the sweep file (keys of :class:`SweepConfig`).
        sweep_dir: the sweep folder (default ``runs/sweeps/{file stem}_{time}``); it must not
            exist or be empty.
        address: a Ray cluster to join (``auto``, ``HOST:6379``); default a local Ray on every core.
        argv: the command recorded in ``command.txt`` and in every trial's (default ``sys.argv``).

    Returns:
        The trials' last reports.

    Raises:
        ConfigError: for a bad sweep file or trial config, before Ray starts or anything is written.
        SweepError: for a sweep folder that is not empty, or Ray Tune not installed.
    """
    sweep = load_sweep(path)
    _import_ray()
    if sweep_dir is None:
        sweep_dir = Path("runs") / "sweeps" / f"{Path(path).stem}_{time.strftime('%Y%m%d-%H%M%S')}"
    sweep_dir = Path(sweep_dir).resolve()
    if sweep_dir.exists() and any(sweep_dir.iterdir()):
        hint = f"continue it with 'brc-rl sweep --resume {sweep_dir}'" if (sweep_dir / SWEEP_FILE).is_file() \
            else "choose another --dir"
        raise SweepError(f"sweep folder {str(sweep_dir)!r} already exists and is not empty; {hint}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / BASE_FILE).write_text(yaml.safe_dump(sweep.base, sort_keys=False, default_flow_style=None))
    resolved = {**sweep.config.model_dump(), "base": BASE_FILE}
    (sweep_dir / SWEEP_FILE).write_text(yaml.safe_dump(resolved, sort_keys=False, default_flow_style=None))
    RunDir(sweep_dir).record_command(argv)
    sweep = load_resolved(sweep_dir)
    connect(address)
    from ray import tune

    tuner = tune.Tuner(
        _trainable(sweep, sweep_dir, argv), param_space=_param_space(sweep), tune_config=_tune_config(sweep),
        run_config=tune.RunConfig(name=RAY_EXPERIMENT, storage_path=str(sweep_dir), log_to_file=True,
                                  sync_config=tune.SyncConfig(sync_artifacts=True)),
    )
    return _results(sweep, sweep_dir, tuner.fit())


def resume_sweep(sweep_dir: str | Path, address: str | None = None, argv: Sequence[str] | None = None
                 ) -> SweepResult:
    """Continue a sweep: finished trials are kept, the others continue from their checkpoints.

    Ray Tune's experiment is restored (``Tuner.restore`` with ``resume_unfinished`` and
    ``resume_errored``); a trial that runs again resumes its run folder from its latest
    checkpoint, with its step count, or starts it if nothing was trained.

    Raises:
        SweepError: if ``sweep_dir`` holds no sweep or no Ray Tune experiment.
    """
    sweep_dir = Path(sweep_dir).resolve()
    sweep = load_resolved(sweep_dir)
    _import_ray()
    from ray import tune

    experiment = sweep_dir / RAY_EXPERIMENT
    if not tune.Tuner.can_restore(str(experiment)):
        raise SweepError(f"no Ray Tune experiment to resume in {str(experiment)!r}; start the sweep again with "
                         f"'brc-rl sweep SWEEP.yaml --dir DIR'")
    RunDir(sweep_dir).record_command(argv)
    connect(address)
    tuner = tune.Tuner.restore(str(experiment), _trainable(sweep, sweep_dir, argv),
                               resume_unfinished=True, resume_errored=True)
    return _results(sweep, sweep_dir, tuner.fit())


__all__ = [
    "SEARCH_SPACES", "Resources", "SchedulerConfig", "Sweep", "SweepConfig", "SweepError", "SweepResult",
    "TrialResult", "TuneReport", "connect", "load_sweep", "resume_sweep", "run_sweep", "run_trial",
]
