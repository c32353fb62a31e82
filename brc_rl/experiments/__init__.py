"""Experiments above the algorithms: configs, run folders, train / resume, evaluation.

As rl-baselines3-zoo is to stable-baselines3: this package imports
:mod:`brc_rl.agents`, :mod:`brc_rl.envs` and :mod:`brc_rl.nn`, never the other way.

- :mod:`~brc_rl.experiments.config`: YAML configs (``base:`` files, ``--set`` overrides).
- :mod:`~brc_rl.experiments.run`: :func:`train` and :func:`resume` into a run folder.
- :mod:`~brc_rl.experiments.sweep`: :func:`run_sweep` a grid or a search on Ray Tune, each trial a
  run folder; :func:`resume_sweep`.
- :mod:`~brc_rl.experiments.evaluation`: :func:`evaluate` a run folder's model; :func:`play`,
  the one recurrent play loop (SB3's ``evaluate_policy``) under every evaluation.
- :mod:`~brc_rl.experiments.horizon`: T-maze horizon generalisation.
- :mod:`~brc_rl.experiments.bandit`: a bandit agent's regret.
- :mod:`~brc_rl.experiments.report`: :func:`build_report`, tables and curves of many runs.
- :mod:`~brc_rl.experiments.warmup`: the ``policy.warmup`` section, its logs, :func:`run_vaa` of a run.

Example:
    >>> from brc_rl.experiments import evaluate, train
    >>> run_dir = train("configs/quickstart.yaml")  # doctest: +SKIP
    >>> print(evaluate(run_dir, episodes=100).summary())  # doctest: +SKIP

Names are imported on first use, so that ``brc-rl --help`` imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "config", "load_config": "config", "ConfigError": "config",
    "train": "run", "resume": "run", "RunError": "run",
    "run_sweep": "sweep", "resume_sweep": "sweep", "load_sweep": "sweep",
    "evaluate": "evaluation", "EvalResult": "evaluation", "play": "evaluation", "Episodes": "evaluation",
    "horizon": "horizon", "evaluate_horizons": "horizon",
    "bandit_regrets": "bandit",
    "build_report": "report", "format_report": "report", "plot_curves": "report",
    "run_vaa": "warmup",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"brc_rl.experiments.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'brc_rl.experiments' has no attribute {name!r}")
