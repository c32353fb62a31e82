"""The ``brc-rl`` command line: thin subcommands over the library.

Each subcommand parses its arguments here and calls one library function; the library
is imported inside the command, so ``brc-rl --help`` imports no torch. Every expected
failure (a bad config, run folder, argument or data file) is a ``ValueError`` or an
``OSError`` raised by the library: :func:`main` prints it as one line,
``brc-rl COMMAND: error: ...``, and returns 2. Ctrl-C returns 130 after the command
has said what it kept.

Commands::

    brc-rl train CONFIG.yaml [--set key=value ...] [--run-dir DIR]
    brc-rl train --resume RUN_DIR [--set total_timesteps=N]
    brc-rl sweep SWEEP.yaml [--dir DIR] [--address ADDRESS]
    brc-rl sweep --resume DIR [--address ADDRESS]
    brc-rl eval RUN_DIR [--episodes N] [--stochastic] [--env-kwargs key=value ...]
    brc-rl horizon RUN_DIR --lengths 20 100 1000
    brc-rl bandit-regret RUN_DIR [--episodes 1000]
    brc-rl bandit-baselines [--arms 2] [--pulls 100]
    brc-rl report RUNS_OR_SWEEP_DIRS ... [--metric success|return|regret] [--output DIR]
    brc-rl supervised BENCHMARK --cell CELL [...]
    brc-rl supervised-table RESULTS.json ...
    brc-rl vaa RUN_OR_CHECKPOINT [--samples 200] [--steps 10000] [--repeats 10]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from brc_rl.experiments.utils import write_json  # no torch

#: Exit status of a refused command (bad input), as argparse's.
EXIT_USAGE = 2
#: Exit status after Ctrl-C / SIGTERM (the command has said what it kept).
EXIT_INTERRUPTED = 130

MODELS = ("final", "latest", "best")


def _command(subparsers: Any, name: str, func: Callable[[argparse.Namespace], int | None], **kwargs: Any):
    parser = subparsers.add_parser(name, **kwargs)
    parser.set_defaults(func=func, command=name)
    return parser


def _report(args: argparse.Namespace, text: str, payload: Any) -> int:
    """Print ``text``; write ``payload`` to ``--json`` when given. Returns 0."""
    print(text)
    if getattr(args, "json", None) is not None:
        write_json(args.json, payload)
    return 0


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="final",
                        help="final model (default; falls back to the latest checkpoint), latest checkpoint, or best")
    parser.add_argument("--device", default="auto", help="torch device (default auto)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")


# --------------------------------------------------------------------------- RL runs
def _add_rl_commands(subparsers: Any) -> None:
    train = _command(
        subparsers, "train", run_train,
        help="train a recurrent agent from a YAML config, or resume a run",
        description="Train a recurrent PPO/A2C agent from a YAML config into a run folder "
        "(config.yaml, command.txt, tensorboard/, checkpoints/, final_model.zip), "
        "or continue an interrupted run with --resume.",
    )
    train.add_argument("config", nargs="?", type=Path, help="YAML config (see configs/)")
    train.add_argument(
        "--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
        help="override a config key, e.g. --set policy.cell=gru hyperparams.learning_rate=1e-3 "
        "(values parsed as YAML)",
    )
    train.add_argument("--run-dir", type=Path, default=None, help="run folder (default: a new folder under log_dir)")
    train.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                       help="continue RUN_DIR from its latest checkpoint up to total_timesteps")

    sweep = _command(
        subparsers, "sweep", run_sweep,
        help="train the trials of a sweep file (a grid or an Optuna search) on Ray Tune, or resume a sweep",
        description="Train one run folder per trial of a sweep file (a grid of config values, or an Optuna "
        "search with ASHA early stopping) on Ray Tune, locally on every core or on a cluster with --address. "
        "Every trial's config is validated before Ray starts. Needs the sweep extra: pip install 'brc-rl[sweep]'. "
        "Exit status 1 if a trial failed (continue with --resume).",
    )
    sweep.add_argument("sweep", nargs="?", type=Path, metavar="SWEEP.yaml", help="sweep file (see configs/sweeps/)")
    sweep.add_argument("--dir", type=Path, default=None,
                       help="sweep folder (default: runs/sweeps/{file stem}_{time}); trials go to DIR/trials/NAME")
    sweep.add_argument("--resume", type=Path, default=None, metavar="DIR",
                       help="continue the sweep in DIR: finished trials are kept, the others continue from their "
                       "latest checkpoints")
    sweep.add_argument("--address", default=None,
                       help="join the Ray cluster at ADDRESS ('auto': the one started on this machine with "
                       "'ray start --head'); default: a local Ray on every core")

    evaluate = _command(
        subparsers, "eval", run_eval,
        help="evaluate a trained run: mean return and success rate",
        description="Play episodes with a run's model (recurrent state carried) and print "
        "mean return +- std and the success rate (info['is_success']).",
    )
    evaluate.add_argument("run_dir", type=Path, help="a run folder written by brc-rl train")
    evaluate.add_argument("--episodes", type=int, default=100, help="episodes to play (default 100)")
    mode = evaluate.add_mutually_exclusive_group()
    mode.add_argument("--deterministic", dest="deterministic", action="store_true", default=True,
                      help="greedy actions (default)")
    mode.add_argument("--stochastic", dest="deterministic", action="store_false", help="sampled actions")
    evaluate.add_argument("--env-kwargs", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                          help="override env kwargs, e.g. --env-kwargs corridor_length=100")
    evaluate.add_argument("--seed", type=int, default=None, help="seed of the eval env (default: config seed + 1000)")
    _add_model_args(evaluate)

    horizon = _command(
        subparsers, "horizon", run_horizon,
        help="success rate of a T-maze run at other corridor lengths (horizon generalisation)",
        description="Play a T-maze run's model (greedy, recurrent state carried) at each corridor "
        "length and print the success rate per length.",
    )
    horizon.add_argument("run_dir", type=Path, help="a run folder trained on brc_rl/TMaze-v0")
    horizon.add_argument("--lengths", type=int, nargs="+", required=True, metavar="L", help="corridor lengths")
    horizon.add_argument("--episodes", type=int, default=100, help="episodes per length (default 100)")
    horizon.add_argument("--seed", type=int, default=0, help="episode i is reset with seed S + i (default 0)")
    _add_model_args(horizon)

    regret = _command(
        subparsers, "bandit-regret", run_bandit_regret,
        help="mean regret per episode of a MetaBandit run",
        description="Play a brc_rl/MetaBandit-v0 run's model (recurrent state carried) and print "
        "its mean expected regret sum_t (max_a p_a - p_{a_t}) per episode with its standard error.",
    )
    regret.add_argument("run_dir", type=Path, help="a run folder trained on brc_rl/MetaBandit-v0")
    regret.add_argument("--episodes", type=int, default=1000, help="episodes (default 1000)")
    regret.add_argument("--seed", type=int, default=0, help="env i of the batch is seeded S + i (default 0)")
    regret.add_argument("--stochastic", action="store_true", help="sampled actions (default greedy)")
    _add_model_args(regret)

    report = _command(
        subparsers, "report", run_report,
        help="Markdown tables and learning curves of many runs (seeds, sweeps)",
        description="Find the run folders (folders with config.yaml) below the given folders, group "
        "them into tasks (env.id and env.kwargs) and agents (algo, policy.cell and every other "
        "differing config key), and print per task each agent's final metric, mean +- std over "
        "seeds (population std) with each seed's value, the env steps at which the seed mean first "
        "reaches the threshold, env steps per second and the steps trained. Runs without "
        "evaluations and unfinished runs are listed.",
    )
    report.add_argument("paths", nargs="+", type=Path, metavar="RUNS_OR_SWEEP_DIRS",
                        help="run folders or folders holding them (searched recursively)")
    report.add_argument("--metric", choices=("success", "return", "regret"), default="success",
                        help="success: mean of eval successes; return: mean eval return; regret: mean_regret "
                        "of RUN/eval/regret.json (brc-rl bandit-regret RUN --json RUN/eval/regret.json); "
                        "default success")
    report.add_argument("--threshold", type=float, default=None,
                        help="of the steps-to-threshold column (default 0.95 for success, none otherwise)")
    report.add_argument("--output", type=Path, default=None, metavar="DIR",
                        help="also write DIR/report.md and one learning-curve PNG per task there")


def _resuming(given: Path | None, resume: Path | None, folder: Path | None, names: tuple[str, str, str]) -> bool:
    """Whether a command resumes: exactly one of a FILE and ``--resume DIR``, no folder option with the latter.

    Args:
        names: the file's name, the resumed folder's name and the folder option's, for the messages.
    """
    from brc_rl.experiments.schema import ConfigError

    file, folder_name, option = names
    if (given is None) == (resume is None):
        raise ConfigError(f"give either a {file} file or --resume {folder_name}")
    if resume is not None and folder is not None:
        raise ConfigError(f"{option} cannot be used with --resume (the folder is {folder_name})")
    return resume is not None


def run_train(args: argparse.Namespace) -> int:
    """Train (or resume) and print the run folder."""
    from brc_rl.experiments.config import load_config

    if _resuming(args.config, args.resume, args.run_dir, ("CONFIG", "RUN_DIR", "--run-dir")):
        from brc_rl.experiments.run import resume

        run_dir = resume(args.resume, args.overrides, argv=args.argv)
    else:
        config = load_config(args.config, args.overrides)
        from brc_rl.experiments.run import train  # SB3 and torch: after the config is read

        run_dir = train(config, run_dir=args.run_dir, argv=args.argv)
    print(f"run folder: {run_dir}")
    print(f"evaluate:    brc-rl eval {run_dir}")
    print(f"tensorboard: tensorboard --logdir {Path(run_dir) / 'tensorboard'}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    """Run (or resume) a sweep and print its trials; 1 if a trial failed."""
    resuming = _resuming(args.sweep, args.resume, args.dir, ("SWEEP", "DIR", "--dir"))
    from brc_rl.experiments import sweep  # SB3 and torch: after the arguments are checked

    if resuming:
        result = sweep.resume_sweep(args.resume, args.address, argv=args.argv)
    else:
        result = sweep.run_sweep(args.sweep, args.dir, args.address, argv=args.argv)
    print(result.summary())
    return 1 if result.failed else 0


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate a run and print its summary."""
    from brc_rl.experiments.config import parse_assignments
    from brc_rl.experiments.evaluation import evaluate

    result = evaluate(args.run_dir, args.episodes, args.deterministic,
                      parse_assignments(args.env_kwargs, "--env-kwargs"), args.seed, args.model, args.device)
    return _report(args, result.summary(), result.to_dict())


def run_horizon(args: argparse.Namespace) -> int:
    """Evaluate a T-maze run at each length and print the table."""
    from brc_rl.experiments.horizon import format_horizon_table, horizon

    results, model_path, steps = horizon(args.run_dir, args.lengths, args.episodes, args.seed,
                                         args.model, args.device)
    return _report(args, f"model: {model_path} ({steps} steps)\n{format_horizon_table(results)}", {
        "run_dir": str(args.run_dir), "model": str(model_path), "steps": steps, "seed": args.seed,
        "results": [vars(r) for r in results.values()],
    })


def run_bandit_regret(args: argparse.Namespace) -> int:
    """Play a bandit run and print its mean regret."""
    import numpy as np

    from brc_rl.experiments.bandit import bandit_regrets

    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    regrets = bandit_regrets(args.run_dir, args.episodes, args.seed, args.model, not args.stochastic,
                             device=args.device)
    mean, sem = float(np.mean(regrets)), float(np.std(regrets) / math.sqrt(len(regrets)))
    mode = "stochastic" if args.stochastic else "deterministic"
    text = f"{args.run_dir}: mean regret per episode {mean:.2f} +- {sem:.2f} ({len(regrets)} episodes, {mode})"
    return _report(args, text, {"mean_regret": mean, "sem": sem, "episodes": len(regrets),
                                "deterministic": not args.stochastic})


def run_report(args: argparse.Namespace) -> int:
    """Print the Markdown report; with ``--output`` also write it and the curves there."""
    from brc_rl.experiments.report import build_report, format_report, plot_curves

    report = build_report(args.paths, args.metric, args.threshold)
    print(format_report(report), end="")
    if args.output is not None:
        figures = plot_curves(report, args.output)
        (args.output / "report.md").write_text(format_report(report, figures))
        print(f"wrote {args.output / 'report.md'} and {len(figures)} figure(s)", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- tasks
def _add_env_commands(subparsers: Any) -> None:
    from brc_rl.envs.bandit import PRIORS  # numpy and gymnasium only

    parser = _command(
        subparsers, "bandit-baselines", run_bandit_baselines,
        help="mean regret of reference agents on brc_rl/MetaBandit-v0",
        description="Play random, greedy, Thompson, UCB1 and (2 arms) Bayes-optimal agents on the "
        "meta-RL bandit and print their mean regret sum_t (max_a p_a - p_{a_t}) with "
        "its standard error.",
    )
    parser.add_argument("--arms", type=int, default=2, help="number of arms k (default 2)")
    parser.add_argument("--pulls", type=int, default=100, help="pulls per episode n (default 100)")
    parser.add_argument("--prior", default="independent", choices=sorted(PRIORS),
                        help="arm prior (default independent)")
    parser.add_argument("--episodes", type=int, default=10000, help="episodes per agent (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed; every agent meets the same bandits")
    parser.add_argument("--ucb-c", type=float, default=math.sqrt(2.0),
                        help="UCB1 exploration constant (default sqrt 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")


def run_bandit_baselines(args: argparse.Namespace) -> int:
    """Evaluate the reference agents, print the table, write the JSON if asked."""
    from brc_rl.envs.bandit_baselines import evaluate_baselines, format_baselines_table

    results = evaluate_baselines(args.arms, args.pulls, args.prior, args.episodes, args.seed, args.ucb_c)
    head = (f"MetaBandit: {args.arms} arms, {args.pulls} pulls, prior {args.prior}, "
            f"{args.episodes} episodes, seed {args.seed}, UCB1 c = {args.ucb_c:.4g}")
    return _report(args, f"{head}\n{format_baselines_table(results)}", results)


# --------------------------------------------------------------------------- supervised
def _add_supervised_commands(subparsers: Any) -> None:
    from brc_rl.supervised.cli import add_supervised_arguments

    parser = _command(
        subparsers, "supervised", run_supervised,
        help="train a cell on one of the paper's supervised benchmarks",
        description="Train 2 x 128 recurrent layers + a linear read-out on a benchmark of "
        "the paper (section 5). Defaults are the paper's protocol. A run folder with a "
        "checkpoint is resumed; Ctrl-C checkpoints and stops.",
    )
    add_supervised_arguments(parser)

    table = _command(
        subparsers, "supervised-table", run_supervised_table,
        help="render supervised results next to the paper's tables (Markdown)",
        description="Markdown tables: the paper's results and the measured ones.",
    )
    table.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    table.add_argument("--output", type=Path, help="write here instead of stdout")


def _add_vaa_command(subparsers: Any) -> None:
    vaa = _command(
        subparsers, "vaa", run_vaa,
        help="variability amongst attractors (VAA) of a trained memory, per layer",
        description="Measure the exact VAA (Lambrechts et al. 2023) of the memories of a run: states reached on "
        "random prefixes of real sequences, driven by one random constant input until they settle; the share of "
        "distinct final states (1/n: monostable, 1: every sequence on its own attractor). RL run folders: on "
        "episodes the model plays; supervised run folders, seed folders or model files: on training sequences.",
    )
    vaa.add_argument("path", type=Path, metavar="RUN_OR_CHECKPOINT", help="an RL run folder, or a supervised "
                     "run folder, seed<k>/ folder, final_model.pt or checkpoint.pt")
    vaa.add_argument("--samples", type=int, default=200, help="sequences measured, n (default 200)")
    vaa.add_argument("--steps", type=int, default=10_000, help="stabilisation steps of the constant input "
                     "(default 10000)")
    vaa.add_argument("--eps", type=float, default=1e-4, help="distance under which two states are one attractor "
                     "(default 1e-4)")
    vaa.add_argument("--repeats", type=int, default=10, help="estimates averaged, each with its own constant "
                     "input (default 10)")
    vaa.add_argument("--rollout-steps", type=int, default=1024,
                     help="RL: steps the model plays in each environment (default 1024)")
    vaa.add_argument("--seed", type=int, default=None, help="RL: seed of the environments (default config seed + 1000)")
    _add_model_args(vaa)


def run_vaa(args: argparse.Namespace) -> int:
    """Measure and print the VAA of a run's memories."""
    from brc_rl.experiments import warmup

    results = warmup.run_vaa(args.path, args.samples, args.steps, args.eps, args.repeats, args.rollout_steps,
                             args.seed, args.model, args.device)
    return _report(args, warmup.vaa_table(results), {name: v.to_dict() for name, v in results.items()})


def run_supervised(args: argparse.Namespace) -> int:
    from brc_rl.supervised.cli import run_command

    return run_command(args)


def run_supervised_table(args: argparse.Namespace) -> int:
    from brc_rl.supervised.table import load_results, render_tables

    text = render_tables(load_results(args.results))
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    """The ``brc-rl`` parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="brc-rl", description="Reinforcement learning with bistable recurrent cells.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_rl_commands(subparsers)
    _add_env_commands(subparsers)
    _add_supervised_commands(subparsers)
    _add_vaa_command(subparsers)
    return parser


def fail(command: str, error: object) -> int:
    """Print ``brc-rl COMMAND: error: ...`` on stderr and return :data:`EXIT_USAGE`: the one error exit."""
    print(f"brc-rl {command}: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``brc-rl`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = ["brc-rl", *argv]  # the command as typed, recorded in run folders
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError) as error:  # ConfigError, RunError, a bad argument or data file
        return fail(args.command, error)
    except KeyboardInterrupt:  # what was kept has been said by the command (a checkpoint, or nothing)
        print(f"brc-rl {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
