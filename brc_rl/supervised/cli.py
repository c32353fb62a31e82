"""The arguments and the body of ``brc-rl supervised`` (registered by :mod:`brc_rl.cli`).

Importing this module imports no torch: ``brc-rl --help`` stays fast.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from brc_rl.cli import EXIT_INTERRUPTED
from brc_rl.experiments.schema import add_model_arguments, model_from_args
from brc_rl.supervised.protocol import SupervisedConfig, departures


def add_supervised_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``brc-rl supervised``: the fields of :class:`SupervisedConfig`, then the command's own."""
    add_model_arguments(p, SupervisedConfig, positional=("benchmark",))
    p.add_argument("--json", type=Path, help="also write the results to this file")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="require a checkpoint to resume")
    group.add_argument("--fresh", action="store_true",
                       help="train from scratch: the run's old folder is removed once the new run has started")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run_command(args: argparse.Namespace) -> int:
    """Train the seeds the command line asks for; print the summary.

    Raises:
        ValueError: a bad argument, or a checkpoint of other settings.
        OSError: MNIST missing or corrupt (:class:`~brc_rl.supervised.mnist.MnistUnavailableError`).
    """
    config = model_from_args(SupervisedConfig, args)  # refused before torch is imported
    from brc_rl.experiments.utils import write_json
    from brc_rl.nn import RNN_REGISTRY
    from brc_rl.supervised.train import TrainingInterrupted, checkpoint_path, run, stop_on_signals

    if config.cell not in RNN_REGISTRY:
        raise ValueError(f"unknown cell {config.cell!r}; expected one of {sorted(RNN_REGISTRY)}")
    run_dir = Path(config.logdir) / config.run_name()
    resumed = [s for s in config.seeds if checkpoint_path(run_dir, s).exists()]
    if args.resume and not resumed:
        raise ValueError(f"--resume: no checkpoint of seed(s) {list(config.seeds)} in {run_dir}")
    if resumed and not args.fresh:
        print(f"resuming seed(s) {resumed} from their checkpoints in {run_dir}", file=sys.stderr)
    # --fresh: the old folder is moved aside, and removed only once the new run has
    # checked its data and model; if it cannot start, the old folder comes back.
    aside = run_dir.with_name(run_dir.name + ".replaced") if args.fresh and run_dir.exists() else None
    if aside is not None:
        if aside.exists():
            raise ValueError(f"--fresh: {aside} exists (left by an earlier --fresh); remove it or move it away first")
        run_dir.rename(aside)
    command = shlex.join(args.argv)  # set by brc_rl.cli.main
    try:
        with stop_on_signals() as stop:
            results = run(config, stop=stop, progress=not args.no_progress, command=command,
                          on_start=None if aside is None else lambda: shutil.rmtree(aside))
    except TrainingInterrupted as err:
        print(f"interrupted: {err}; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        if aside is not None and aside.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            aside.rename(run_dir)
            print(f"--fresh: the run did not start; {run_dir} is as it was", file=sys.stderr)
        raise
    if args.json:
        write_json(args.json, results)
    _print_summary(results)
    return 0


def _print_summary(results: dict) -> None:
    protocol = results["protocol"]
    scores = ", ".join(f"{m} {s['mean']:.4f}" + (f" +- {s['std']:.4f}" if s["n"] > 1 else "")
                       for m, s in results["summary"].items())
    seeds = len(protocol["seeds"])
    label = ("REDUCED protocol" if departures(protocol) else
             "the paper's settings" if protocol["reduced"] else "full protocol")
    print(f"{results['benchmark']} {results['cell']} ({label}, {seeds} seed(s)): {scores}")
