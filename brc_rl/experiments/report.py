"""Tables and learning curves of many run folders: ``brc-rl report``.

The run folders (``brc-rl train``) are found below the given folders (any folder with a
``config.yaml``, e.g. the trials of a sweep) and grouped:

- a *task* is ``env.id`` and ``env.kwargs``, e.g. ``brc_rl/TMaze-v0 corridor_length=20``;
- an *agent* is ``algo`` and ``policy.cell``, plus every other config key whose value
  differs between the runs of the task (e.g. ``hyperparams.learning_rate=0.001``), so that
  different settings are never pooled. Keys that do not change what is learned are not
  compared: :data:`IGNORED_KEYS`.

Metrics (one value per evaluation of ``eval/evaluations.npz``, SB3's EvalCallback format):

- ``success``: the mean of ``successes`` (the env's ``info["is_success"]``);
- ``return``: the mean of ``results`` (the episodes' returns);
- ``regret``: ``brc_rl/MetaBandit-v0`` only, final value only (no curve): the
  ``mean_regret`` of ``eval/regret.json``, written by
  ``brc-rl bandit-regret RUN --json RUN/eval/regret.json``; lower is better.

A seed's final value is its own last evaluation; the table gives the mean +- the
population standard deviation (``ddof=0``) over seeds and each seed's value. Curves are
the mean over seeds on the timesteps that all seeds evaluated, with a min-max band.
Steps to threshold: the first of these timesteps at which the seed mean is ``>=`` the
threshold. A run whose evaluations are missing or unreadable is listed, never fatal.

Example:
    >>> report = build_report(["runs/sweep"], metric="success")  # doctest: +SKIP
    >>> print(format_report(report))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from brc_rl.experiments.config import config_from_dict
from brc_rl.experiments.run_dir import RunDir

METRICS = ("success", "return", "regret")
#: Default threshold of ``steps to threshold`` per metric (None: no column unless asked).
DEFAULT_THRESHOLDS: dict[str, float | None] = {"success": 0.95, "return": None, "regret": None}
#: Config keys that are not compared between runs (they do not change what is learned).
IGNORED_KEYS = ("seed", "run_dir", "log_dir", "device", "progress_bar", "checkpoint_freq", "keep_checkpoints")
BANDIT_ID = "brc_rl/MetaBandit-v0"
REGRET_FILE = "eval/regret.json"
EVALUATIONS_FILE = "eval/evaluations.npz"  # RunDir.evaluations, as messages name it


@dataclass
class Run:
    """One run folder as the report reads it.

    Attributes:
        path: the run folder.
        config: its ``config.yaml``, flattened to dotted keys.
        timesteps: env steps of its evaluations, shape (E,).
        curve: the metric at each evaluation, shape (E,) (empty for ``regret``).
        final: its final metric, or None if it has none (``problem`` says why).
        steps_per_second: env steps per second of training (``training.json``, else tensorboard
            ``time/fps``), or None if unknown.
        finished: whether training ended (``final_model.zip``) and its last evaluation is there.
        problem: why the run is not in the table, or None.
    """

    path: Path
    config: dict[str, Any]
    timesteps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    curve: np.ndarray = field(default_factory=lambda: np.zeros(0))
    final: float | None = None
    steps_per_second: float | None = None
    finished: bool = False
    problem: str | None = None

    @property
    def task(self) -> str:
        """``env.id`` and the ``env.kwargs`` as ``key=value``, sorted by key."""
        kwargs = {k.removeprefix("env.kwargs."): v for k, v in self.config.items() if k.startswith("env.kwargs.")}
        return " ".join([str(self.config.get("env.id")), *(f"{k}={v}" for k, v in sorted(kwargs.items()))])

    @property
    def seed(self) -> Any:
        """The ``seed`` of the config."""
        return self.config.get("seed")

    @property
    def last_step(self) -> int | None:
        """Env steps of the last evaluation, or None without evaluations."""
        return int(self.timesteps[-1]) if len(self.timesteps) else None


@dataclass
class Agent:
    """The runs of one agent on one task, summarised over seeds.

    Attributes:
        name: ``algo cell`` plus the differing keys.
        runs: its runs with a final value, by seed.
        timesteps, mean, low, high: the curve on the common timesteps (mean, min, max over seeds).
        steps_to_threshold: first common timestep with ``mean >= threshold``, or None.
    """

    name: str
    runs: list[Run]
    timesteps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    steps_to_threshold: int | None

    @property
    def finals(self) -> np.ndarray:
        """The final value of each run, shape (seeds,)."""
        return np.array([run.final for run in self.runs], dtype=float)


@dataclass
class Report:
    """Everything :func:`format_report` and :func:`plot_curves` show."""

    metric: str
    threshold: float | None
    tasks: dict[str, list[Agent]]
    runs: list[Run]


# --------------------------------------------------------------------------- reading
def find_runs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Run folders (folders with a ``config.yaml``) at or below ``paths``, sorted.

    Folders below a run folder are searched too: a sweep folder may hold a ``config.yaml``
    of its own (see :func:`build_report`).

    Raises:
        FileNotFoundError: for a path that is not a folder.
        ValueError: if no run folder is found.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such folder")
        found.extend(config.parent for config in path.rglob("config.yaml") if config.is_file())
    if not found:
        raise ValueError(f"no run folder (a folder with config.yaml) in {', '.join(map(str, paths))}")
    return sorted(set(found))


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists and empty mappings are values)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _one_line(error: Exception) -> str:
    """``Type: message`` on one line (YAML errors span several)."""
    return " ".join(f"{type(error).__name__}: {error}".split())


def _evaluations(run: RunDir) -> dict[str, np.ndarray] | str:
    """The arrays of ``eval/evaluations.npz``, or why they cannot be read."""
    path = run.evaluations
    if not path.is_file():
        return f"no {EVALUATIONS_FILE}"
    if not zipfile.is_zipfile(path):  # np.load would try it as a pickle
        return f"corrupt {EVALUATIONS_FILE} (not an .npz archive: truncated or overwritten?)"
    try:
        with np.load(path) as npz:
            data = {key: np.asarray(npz[key]) for key in npz.files}
        for key in ("results", "successes"):
            if key in data and (data[key].ndim != 2 or len(data[key]) != len(data["timesteps"])):
                raise ValueError(f"{key} has shape {data[key].shape}, timesteps {data['timesteps'].shape}")
    except Exception as error:  # noqa: BLE001 - any unreadable file is one line of the report
        return f"corrupt {EVALUATIONS_FILE} ({_one_line(error)})"
    if len(data["timesteps"]) == 0:
        return f"no evaluation in {EVALUATIONS_FILE}"
    return data


def _regret(run: RunDir, config: Mapping[str, Any]) -> float | str:
    """``mean_regret`` of ``eval/regret.json``, or why there is none."""
    if config.get("env.id") != BANDIT_ID:
        return f"regret needs a {BANDIT_ID} run"
    path = run / REGRET_FILE
    if not path.is_file():
        return f"no {REGRET_FILE}: run `brc-rl bandit-regret {run} --json {path}` first"
    try:
        return float(json.loads(path.read_text())["mean_regret"])
    except Exception as error:  # noqa: BLE001
        return f"corrupt {REGRET_FILE} ({_one_line(error)})"


def tensorboard_fps(folder: str | os.PathLike[str]) -> float | None:
    """The last ``time/fps`` of the tensorboard runs in ``folder`` (SB3 logs it), or None."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    last: tuple[int, float] | None = None
    for sub in sorted(Path(folder).glob("*/")):
        try:
            events = EventAccumulator(str(sub), size_guidance={"scalars": 0})
            events.Reload()
            if "time/fps" in events.Tags()["scalars"]:
                event = events.Scalars("time/fps")[-1]
                if last is None or event.step >= last[0]:
                    last = (event.step, float(event.value))
        except Exception:  # noqa: BLE001 - a corrupt event file: the others may have it
            continue
    return None if last is None else last[1]


def training_speed(run: RunDir) -> float | None:
    """The run's env steps per second: from ``training.json`` (wall time of every training
    session), else the last tensorboard ``time/fps`` (runs trained before brc-rl wrote
    ``training.json``), else None. File times are not used: a copy or a git checkout resets them."""
    try:
        speed = run.steps_per_second()
    except ValueError:  # a corrupt training.json: tensorboard may still know
        speed = None
    if speed is None and run.tensorboard.is_dir():
        speed = tensorboard_fps(run.tensorboard)
    return speed


def _resolved(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The config with the current schema's defaults filled in, so that a run saved before a
    key existed and one saved with that key at its default are the same agent; the file's
    own keys when it no longer validates."""
    try:
        return config_from_dict(data).to_dict()
    except Exception:  # noqa: BLE001  (an old or foreign config: compare what it says)
        return data


def read_run(path: str | os.PathLike[str], metric: str) -> Run:
    """Read one run folder for ``metric``; what is missing goes to ``Run.problem``."""
    run_dir = RunDir(path)
    try:
        data = yaml.safe_load(run_dir.config.read_text())
        if not (isinstance(data, Mapping) and "algo" in data and isinstance(data.get("env"), Mapping)
                and "id" in data["env"] and isinstance(data.get("total_timesteps"), int)):
            raise ValueError("not a brc-rl train config (needs algo, env.id and an integer total_timesteps)")
    except Exception as error:  # noqa: BLE001
        return Run(run_dir.path, {}, problem=f"unreadable config.yaml ({_one_line(error)})")
    run = Run(run_dir.path, flatten(_resolved(data)))
    evaluations = _evaluations(run_dir)
    if isinstance(evaluations, dict):
        run.timesteps = evaluations["timesteps"].astype(int)
        if metric == "return":
            run.curve = evaluations["results"].mean(axis=1)
        elif metric == "success" and "successes" in evaluations:
            run.curve = evaluations["successes"].mean(axis=1)
        elif metric == "success":
            run.problem = (f"no successes in {EVALUATIONS_FILE} (the env reports no info['is_success']; "
                           "try --metric return)")
        run.final = float(run.curve[-1]) if len(run.curve) else None
    elif metric != "regret":
        run.problem = evaluations
    if metric == "regret":
        regret = _regret(run_dir, run.config)
        run.final, run.problem = (regret, None) if isinstance(regret, float) else (None, regret)
    eval_freq, total = int(run.config.get("eval_freq") or 0), int(run.config.get("total_timesteps") or 0)
    expected_last = total // eval_freq * eval_freq if eval_freq else 0
    run.finished = run_dir.final_model().is_file() and (run.last_step or 0) >= expected_last
    run.steps_per_second = training_speed(run_dir)
    return run


# --------------------------------------------------------------------------- grouping
def agent_names(runs: Sequence[Run]) -> list[str]:
    """``algo cell`` plus the keys (not :data:`IGNORED_KEYS`) that differ between ``runs`` of a task
    among runs of one algorithm (a key that only follows the algorithm, as ``policy.name``, is not named).

    A section set in some runs and None in others (e.g. ``policy.warmup``) is named
    ``section=None`` where it is None; where it is set, its keys that differ between the
    runs that set it are named, or ``section=set`` if none does."""
    keys = sorted({k for run in runs for k in run.config} - {*IGNORED_KEYS, "algo", "policy.cell", "env.id"})

    def values(key: str) -> dict[str, set[str]]:  # algo -> the values of the runs that have the key
        found: dict[str, set[str]] = {}
        for run in runs:
            if key in run.config:
                found.setdefault(str(run.config.get("algo")), set()).add(repr(run.config[key]))
        return found

    def unset_section(key: str) -> bool:  # None here, a section with keys in another run
        return any(other.startswith(key + ".") for run in runs for other in run.config)

    def named(key: str) -> bool:
        if key.startswith("env.kwargs."):
            return False
        if unset_section(key):
            return True
        found = values(key)
        differs = len(set().union(*found.values())) > 1
        return differs and any(len(v) > 1 for v in found.values())  # not when it only follows the algo

    differing = [k for k in keys if named(k)]

    def parts(run: Run) -> list[str]:
        found = [f"{k}={run.config[k]}" for k in differing if k in run.config]
        for section in (k for k in differing if unset_section(k) and k not in run.config):
            if not any(part.startswith(section + ".") for part in found):
                found.append(f"{section}=set")  # set here, None elsewhere, the same wherever set
        return sorted(found)

    return [" ".join([str(run.config.get("algo")), str(run.config.get("policy.cell")), *parts(run)]) for run in runs]


def summarise(name: str, runs: list[Run], threshold: float | None) -> Agent:
    """One agent: its seeds' curves aligned on their common timesteps."""
    runs = sorted(runs, key=lambda run: (run.seed if isinstance(run.seed, int) else 0, str(run.path)))
    curves = [run for run in runs if len(run.curve)]
    common = sorted(set.intersection(*(set(run.timesteps.tolist()) for run in curves))) if curves else []
    aligned = np.array([[run.curve[list(run.timesteps).index(t)] for t in common] for run in curves])
    aligned = aligned.reshape(len(curves), len(common))
    mean = aligned.mean(axis=0) if curves else np.zeros(0)
    reached = [t for t, m in zip(common, mean) if threshold is not None and m >= threshold]
    return Agent(name, runs, np.array(common, dtype=int), mean, aligned.min(axis=0, initial=np.inf),
                 aligned.max(axis=0, initial=-np.inf), reached[0] if reached else None)


def build_report(paths: Iterable[str | os.PathLike[str]], metric: str = "success",
                 threshold: float | None = None) -> Report:
    """Read the run folders below ``paths`` and summarise them per task and agent.

    Args:
        paths: run folders or folders holding them (searched recursively).
        metric: ``success``, ``return`` or ``regret`` (see the module docstring).
        threshold: of ``steps to threshold``; None takes :data:`DEFAULT_THRESHOLDS`.

    Raises:
        ValueError: for an unknown metric, a threshold with ``regret`` or no run folder.
        FileNotFoundError: for a path that is not a folder.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    if metric == "regret" and threshold is not None:
        raise ValueError("--threshold needs a learning curve; regret has only a final value")
    threshold = DEFAULT_THRESHOLDS[metric] if threshold is None else threshold
    folders = find_runs(paths)
    runs = [read_run(path, metric) for path in folders]
    # a folder whose config.yaml is not a run's but that holds runs (a sweep's own settings) is no run
    runs = [run for run in runs if run.config or not any(run.path in folder.parents for folder in folders)]
    by_task: dict[str, list[Run]] = {}
    for run in runs:
        if run.problem is None:
            by_task.setdefault(run.task, []).append(run)
    tasks = {}
    for task, task_runs in sorted(by_task.items()):
        agents: dict[str, list[Run]] = {}
        for name, run in zip(agent_names(task_runs), task_runs):
            agents.setdefault(name, []).append(run)
        tasks[task] = [summarise(name, agent_runs, threshold) for name, agent_runs in sorted(agents.items())]
    return Report(metric, threshold, tasks, runs)


# --------------------------------------------------------------------------- output
def _value(metric: str, value: float) -> str:
    return f"{value:.3f}" if metric == "success" else f"{value:.2f}"


def _steps(agent: Agent) -> str:
    last = sorted({run.last_step for run in agent.runs if run.last_step is not None})
    total = agent.runs[0].config.get("total_timesteps")
    if not last:
        return f"? / {total:,}"
    trained = f"{last[0]:,}" if len(last) == 1 else f"{last[0]:,}-{last[-1]:,}"
    unfinished = sum(not run.finished for run in agent.runs)
    return f"{trained} / {total:,}" + (f" ({unfinished} unfinished)" if unfinished else "")


def _fps(agent: Agent) -> str:
    known = [run for run in agent.runs if run.steps_per_second is not None]
    if not known:
        return "?"
    return f"{np.mean([run.steps_per_second for run in known]):,.0f}"


def format_task(report: Report, task: str) -> str:
    """The Markdown table of one task."""
    metric, threshold = report.metric, report.threshold
    head = ["agent", "seeds", f"final {metric} (mean +- std)", "per seed"]
    head += [f"steps to {threshold:g}"] if threshold is not None else []
    head += ["env steps/s", "steps trained / total"]
    lines = [f"### {task}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for agent in report.tasks[task]:
        finals = agent.finals
        seeds = ", ".join(f"{_value(metric, run.final)} (s{run.seed}{'' if run.finished else '*'})"
                          for run in agent.runs)
        row = [agent.name, str(len(agent.runs)),
               f"{_value(metric, finals.mean())} +- {_value(metric, finals.std())}", seeds]
        if threshold is not None:
            reached = agent.steps_to_threshold
            row.append(f"{reached:,}" if reached is not None else "not reached")
        row += [_fps(agent), _steps(agent)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def format_report(report: Report, figures: Mapping[str, str] | None = None) -> str:
    """The Markdown report: a table per task, then the runs left out or unfinished.

    Args:
        report: from :func:`build_report`.
        figures: task -> image file name, linked below each table.
    """
    parts = [f"## brc-rl report: {report.metric}", "",
             "Final value: each seed's last evaluation; mean +- population std (ddof=0) over seeds. "
             "\\* unfinished run. env steps/s: training.json, else tensorboard time/fps (?: neither)."]
    for task in report.tasks:
        parts += ["", format_task(report, task)]
        if figures and task in figures:
            parts += ["", f"![{task}]({figures[task]})"]
    left_out = [run for run in report.runs if run.problem is not None]
    unfinished = [run for run in report.runs if run.problem is None and not run.finished]
    if left_out:
        parts += ["", "Not in the tables:", ""] + [f"- {run.path}: {run.problem}" for run in left_out]
    if unfinished:
        parts += ["", "Unfinished (marked *):", ""] + [
            f"- {run.path}: last evaluation at {run.last_step or 0:,} of "
            f"{run.config.get('total_timesteps', 0):,} steps"
            + ("" if RunDir(run.path).final_model().is_file() else ", no final_model.zip") for run in unfinished]
    return "\n".join(parts) + "\n"


def figure_name(task: str, metric: str) -> str:
    """The PNG file name of a task's curves, e.g. ``brc_rl-TMaze-v0_corridor_length=20_success.png``."""
    return re.sub(r"[^\w.=-]+", "_", task.replace("/", "-")) + f"_{metric}.png"


def plot_curves(report: Report, output: str | os.PathLike[str]) -> dict[str, str]:
    """One PNG per task with a curve: the seed mean per agent, a min-max band over seeds.

    Returns:
        task -> file name (in ``output``) of the tasks plotted.
    """
    from matplotlib.figure import Figure  # no pyplot: the Agg canvas, no global backend

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    figures = {}
    for task, agents in report.tasks.items():
        plotted = [agent for agent in agents if len(agent.timesteps)]
        if not plotted:
            continue
        labels = [textwrap.fill(f"{agent.name} ({len(agent.runs)} seeds)", 70) for agent in plotted]
        # Long agent names (settings that differ between runs) go in a legend below the axes.
        below = max(label.count("\n") for label in labels) > 0
        height = 4 + (0.2 * sum(label.count("\n") + 1 for label in labels) if below else 0)
        fig = Figure(figsize=(6, height), layout="constrained")
        ax = fig.add_subplot()
        for agent, label in zip(plotted, labels):
            (line,) = ax.plot(agent.timesteps, agent.mean, marker=".", label=label)
            ax.fill_between(agent.timesteps, agent.low, agent.high, color=line.get_color(), alpha=0.2)
        if report.threshold is not None:
            ax.axhline(report.threshold, color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel="env steps", ylabel=f"{report.metric} (mean over seeds, band min-max)", title=task)
        if below:
            fig.legend(loc="outside lower center", fontsize="x-small")
        else:
            ax.legend(fontsize="small")
        figures[task] = figure_name(task, report.metric)
        fig.savefig(output / figures[task], dpi=100)
    return figures
