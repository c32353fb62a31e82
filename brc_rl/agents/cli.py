"""``brc-rl train`` and ``brc-rl eval``: train from a YAML config, resume, evaluate a run.

Usage::

    brc-rl train CONFIG.yaml [--set key.sub=value ...] [--run-dir DIR]
    brc-rl train --resume RUN_DIR [--set total_timesteps=N]
    brc-rl eval RUN_DIR [--episodes N] [--deterministic | --stochastic]
                [--env-kwargs key=value ...] [--seed S] [--model final|latest|best]

An invalid config, run folder or argument prints ``brc-rl CMD: error: ...`` and
exits with status 2, before any environment or model is built.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


# brc_rl.agents (torch, SB3) is imported by the commands, not here: ``brc-rl --help`` stays fast.


def register(subparsers: Any) -> None:
    """Add the ``train`` and ``eval`` subcommands to ``brc-rl``."""
    train = subparsers.add_parser(
        "train",
        help="train a recurrent agent from a YAML config, or resume a run",
        description=(
            "Train a recurrent PPO/A2C agent from a YAML config into a run folder "
            "(config.yaml, command.txt, tensorboard/, checkpoints/, final_model.zip), "
            "or continue an interrupted run with --resume."
        ),
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
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser(
        "eval",
        help="evaluate a trained run: mean return and success rate",
        description="Play episodes with a run's model (recurrent state carried) and print "
        "mean return +- std and the success rate (info['is_success']).",
    )
    evaluate.add_argument("run_dir", type=Path, help="a run folder written by brc-rl train")
    evaluate.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    mode = evaluate.add_mutually_exclusive_group()
    mode.add_argument("--deterministic", dest="deterministic", action="store_true", default=True,
                      help="greedy actions (default)")
    mode.add_argument("--stochastic", dest="deterministic", action="store_false", help="sampled actions")
    evaluate.add_argument("--env-kwargs", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                          help="override env kwargs, e.g. --env-kwargs corridor_length=100")
    evaluate.add_argument("--seed", type=int, default=None, help="seed of the eval env (default: config seed + 1000)")
    evaluate.add_argument("--model", choices=("final", "latest", "best"), default="final",
                          help="final model (default; falls back to the latest checkpoint), latest checkpoint, or best")
    evaluate.add_argument("--device", default="auto", help="torch device (default auto)")
    evaluate.add_argument("--json", type=Path, default=None, help="also write the episodes to this JSON file")
    evaluate.set_defaults(func=run_eval)


def _train_argv(args: argparse.Namespace) -> list[str]:
    """The command line of ``args``, as recorded in command.txt."""
    argv = ["brc-rl", "train"]
    if args.config is not None:
        argv.append(str(args.config))
    if args.resume is not None:
        argv += ["--resume", str(args.resume)]
    if args.overrides:
        argv += ["--set", *args.overrides]
    if args.run_dir is not None:
        argv += ["--run-dir", str(args.run_dir)]
    return argv


def _fail(command: str, error: Exception) -> int:
    print(f"brc-rl {command}: error: {error}", file=sys.stderr)
    return 2


def run_train(args: argparse.Namespace) -> int:
    """Train (or resume) and print the run folder."""
    from brc_rl.agents.config import ConfigError, load_config
    from brc_rl.agents.run import RunError, resume, train

    try:
        if (args.config is None) == (args.resume is None):
            raise ConfigError("give either a CONFIG file or --resume RUN_DIR")
        if args.resume is not None:
            if args.run_dir is not None:
                raise ConfigError("--run-dir cannot be used with --resume (the run folder is RUN_DIR)")
            run_dir = resume(args.resume, args.overrides, argv=_train_argv(args))
        else:
            config = load_config(args.config, args.overrides)
            run_dir = train(config, run_dir=args.run_dir, argv=_train_argv(args))
    except (ConfigError, RunError) as error:
        return _fail("train", error)
    except KeyboardInterrupt:  # a checkpoint was saved and the resume command printed
        return 130
    print(f"run folder: {run_dir}")
    print(f"evaluate:    brc-rl eval {run_dir} --episodes 100")
    print(f"tensorboard: tensorboard --logdir {Path(run_dir) / 'tensorboard'}")
    return 0


def _parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    from brc_rl.agents.config import ConfigError, parse_scalar

    kwargs = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env-kwargs {pair!r} must look like key=value")
        kwargs[key] = parse_scalar(text)
    return kwargs


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate a run and print its summary."""
    from brc_rl.agents.evaluation import evaluate

    try:
        result = evaluate(args.run_dir, args.episodes, args.deterministic, _parse_kwargs(args.env_kwargs),
                          args.seed, args.model, args.device)
    except ValueError as error:  # ConfigError, RunError, --episodes 0, a bad env kwarg value
        return _fail("eval", error)
    print(result.summary())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "model": str(result.model_path), "steps": result.steps, "deterministic": result.deterministic,
            "seed": result.seed, "mean_return": result.mean_return, "std_return": result.std_return,
            "success_rate": result.success_rate, "returns": result.returns, "lengths": result.lengths,
        }, indent=2) + "\n")
    return 0
