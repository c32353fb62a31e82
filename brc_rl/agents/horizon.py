"""``brc-rl horizon``: evaluate a T-maze run at corridor lengths other than its training one.

Usage::

    brc-rl horizon RUN_DIR --lengths 10 100 1000 [--episodes N] [--seed S]
                   [--model final|latest|best] [--json PATH]

The run's model (loaded as ``brc-rl eval`` loads it) plays ``--episodes`` episodes
at each length through :func:`brc_rl.envs.horizon.evaluate_horizons`, greedily;
the success rates are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TMAZE_ID = "brc_rl/TMaze-v0"


def horizon(
    run_dir: str | Path,
    lengths: Sequence[int],
    episodes: int = 100,
    seed: int = 0,
    model: str = "final",
    device: str = "auto",
) -> tuple[dict[int, Any], Path, int]:
    """Evaluate a T-maze run's model at several corridor lengths.

    The run's other env kwargs (``action_noise``) are kept; ``corridor_length``
    is replaced by each length in turn.

    Args:
        run_dir: a run folder trained on ``brc_rl/TMaze-v0``.
        lengths: corridor lengths L >= 1.
        episodes: episodes per length; episode i of every length is reset with seed ``seed + i``.
        seed: see ``episodes``.
        model: ``final``, ``latest`` or ``best``.
        device: torch device of the loaded model.

    Returns:
        ``({L: HorizonResult}, model path, training steps of the model)``.

    Raises:
        RunError: if the folder is not a run, or its env is not the plain T-maze
            (another id, wrappers, or VecNormalize observations).
        ValueError: on a length < 1 or episodes < 1.
    """
    from brc_rl.agents.evaluation import load_agent, load_run_config
    from brc_rl.agents.run import RunError
    from brc_rl.envs.horizon import evaluate_horizons

    config = load_run_config(run_dir)
    if config.env.id != TMAZE_ID:
        raise RunError(f"brc-rl horizon needs a run on {TMAZE_ID}, got env.id {config.env.id!r} in {str(run_dir)!r}")
    if config.env.wrappers or config.env.normalize_obs:
        raise RunError(
            f"brc-rl horizon plays the raw T-maze; the run uses env.wrappers={config.env.wrappers} "
            f"and env.normalize_obs={config.env.normalize_obs} (expected [] and false)"
        )
    env_kwargs = {k: v for k, v in config.env.kwargs.items() if k != "corridor_length"}
    agent, model_path = load_agent(run_dir, config, model, device)
    results = evaluate_horizons(agent, lengths, n_episodes=episodes, seed=seed, env_kwargs=env_kwargs)
    return results, model_path, int(agent.num_timesteps)


def register(subparsers: Any) -> None:
    """Add the ``horizon`` subcommand to ``brc-rl``."""
    parser = subparsers.add_parser(
        "horizon",
        help="success rate of a T-maze run at other corridor lengths (horizon generalisation)",
        description="Play a T-maze run's model (greedy, recurrent state carried) at each corridor "
        "length and print the success rate per length.",
    )
    parser.add_argument("run_dir", type=Path, help="a run folder trained on brc_rl/TMaze-v0")
    parser.add_argument("--lengths", type=int, nargs="+", required=True, metavar="L", help="corridor lengths")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per length (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="episode i is reset with seed S + i (default 0)")
    parser.add_argument("--model", choices=("final", "latest", "best"), default="final",
                        help="final model (default; falls back to the latest checkpoint), latest checkpoint, or best")
    parser.add_argument("--device", default="auto", help="torch device (default auto)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.set_defaults(func=run_horizon)


def run_horizon(args: argparse.Namespace) -> int:
    """Evaluate and print the table; exit status 2 on a bad run folder or argument."""
    from brc_rl.envs.horizon import format_horizon_table

    try:
        results, model_path, steps = horizon(args.run_dir, args.lengths, args.episodes, args.seed,
                                             args.model, args.device)
    except ValueError as error:  # RunError, ConfigError, a length or --episodes < 1
        print(f"brc-rl horizon: error: {error}", file=sys.stderr)
        return 2
    print(f"model: {model_path} ({steps} steps)")
    print(format_horizon_table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "run_dir": str(args.run_dir), "model": str(model_path), "steps": steps, "seed": args.seed,
            "results": [dataclasses.asdict(r) for r in results.values()],
        }, indent=2) + "\n")
    return 0
