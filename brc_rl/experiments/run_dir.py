"""The run folder: one convention for every run that brc-rl writes.

A run folder owns its paths; RL runs (``brc-rl train``) and supervised runs
(``brc-rl supervised``, one folder per seed) use the same names::

    config.yaml       the resolved settings of the run (every key, defaults filled in)
    command.txt       the command line of every invocation (train, then each resume)
    tensorboard/      tensorboard events, continued by a resume
    checkpoints/      what a resume starts from (the latest few, or one)
    eval/             periodic evaluations (RL)
    results.json      measured results (supervised; ``brc-rl eval --json`` anywhere)
    training.json     wall time of each training session and the env steps it trained (RL)
    final_model.*     the trained model (``.zip`` for SB3 agents, ``.pt`` for supervised
                      models), what users evaluate

Example:
    >>> run = RunDir("runs/tmaze_ppo_nbrc_s0")
    >>> run.checkpoints
    PosixPath('runs/tmaze_ppo_nbrc_s0/checkpoints')
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from brc_rl.experiments.utils import replace_atomically, write_json


@dataclass(frozen=True)
class RunDir:
    """A run folder and the paths it owns (nothing is created until written).

    Args:
        path: the folder.
    """

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def __str__(self) -> str:
        return str(self.path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def config(self) -> Path:
        """``config.yaml``: the resolved settings."""
        return self.path / "config.yaml"

    @property
    def command(self) -> Path:
        """``command.txt``: one line per invocation."""
        return self.path / "command.txt"

    @property
    def tensorboard(self) -> Path:
        """``tensorboard/``: the events of the run."""
        return self.path / "tensorboard"

    @property
    def checkpoints(self) -> Path:
        """``checkpoints/``: what a resume starts from."""
        return self.path / "checkpoints"

    @property
    def eval(self) -> Path:
        """``eval/``: periodic evaluations."""
        return self.path / "eval"

    @property
    def evaluations(self) -> Path:
        """``eval/evaluations.npz``: the periodic evaluations (SB3's EvalCallback format)."""
        return self.eval / "evaluations.npz"

    @property
    def results(self) -> Path:
        """``results.json``: measured results."""
        return self.path / "results.json"

    @property
    def training(self) -> Path:
        """``training.json``: the sessions of ``model.learn`` (train, then each resume)."""
        return self.path / "training.json"

    def record_training(self, start_step: int, end_step: int, seconds: float) -> None:
        """Append a training session (env steps ``start_step`` to ``end_step`` in ``seconds``
        of wall time, evaluations and checkpoints included) to ``training.json``, atomically."""
        sessions = self.training_sessions() if self.training.is_file() else []
        sessions.append({"start_step": int(start_step), "end_step": int(end_step), "seconds": float(seconds)})
        write_json(self.training, {"sessions": sessions})

    def training_sessions(self) -> list[dict[str, Any]]:
        """The sessions recorded in ``training.json``.

        Raises:
            ValueError: if the file is missing or not what :meth:`record_training` writes.
        """
        try:
            sessions = json.loads(self.training.read_text())["sessions"]
            for session in sessions:
                if not all(isinstance(session.get(key), (int, float)) for key in ("start_step", "end_step", "seconds")):
                    raise ValueError(f"a session needs numeric start_step, end_step and seconds, got {session!r}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"cannot read {str(self.training)!r}: {error}") from error
        return list(sessions)

    def steps_per_second(self) -> float | None:
        """Env steps per second of training: the sum over the sessions of ``training.json`` of
        ``end_step - start_step``, over the sum of their ``seconds``; None without the file.

        Raises:
            ValueError: if the file is corrupt.
        """
        if not self.training.is_file():
            return None
        sessions = self.training_sessions()
        seconds = sum(session["seconds"] for session in sessions)
        steps = sum(session["end_step"] - session["start_step"] for session in sessions)
        return steps / seconds if seconds > 0 and steps > 0 else None

    def final_model(self, suffix: str = ".zip") -> Path:
        """``final_model.zip`` (SB3 agents) or ``final_model.pt`` (supervised models)."""
        return self.path / f"final_model{suffix}"

    def is_run(self) -> bool:
        """Whether the folder holds a run (its ``config.yaml``)."""
        return self.config.is_file()

    def write_config(self, settings: Mapping[str, Any]) -> None:
        """Write ``settings`` to ``config.yaml`` (atomically, keys in their order)."""
        text = yaml.safe_dump(dict(settings), sort_keys=False, default_flow_style=None)
        replace_atomically(self.config, lambda tmp: tmp.write_text(text))

    def record_command(self, argv: Sequence[str] | None = None) -> None:
        """Append ``argv`` (default ``sys.argv``) to ``command.txt``."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.command, "a") as file:
            file.write(shlex.join(list(argv) if argv is not None else sys.argv) + "\n")
