"""``brc-rl bandit-baselines``: reference regrets on the meta-RL bandit."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from brc_rl.envs.bandit import PRIORS
from brc_rl.envs.bandit_baselines import evaluate_baselines, format_baselines_table


def register(subparsers: Any) -> None:
    """Add the ``bandit-baselines`` subcommand to ``brc-rl``."""
    parser = subparsers.add_parser(
        "bandit-baselines",
        help="mean regret of reference agents on brc_rl/MetaBandit-v0",
        description=(
            "Play random, greedy, Thompson, UCB1 and (2 arms) Bayes-optimal agents on the "
            "meta-RL bandit and print their mean regret sum_t (max_a p_a - p_{a_t}) with "
            "its standard error."
        ),
    )
    parser.add_argument("--arms", type=int, default=2, help="number of arms k (default 2)")
    parser.add_argument("--pulls", type=int, default=100, help="pulls per episode n (default 100)")
    parser.add_argument(
        "--prior", default="independent", choices=sorted(PRIORS), help="arm prior (default independent)"
    )
    parser.add_argument("--episodes", type=int, default=10000, help="episodes per agent (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed; every agent meets the same bandits")
    parser.add_argument(
        "--ucb-c", type=float, default=math.sqrt(2.0), help="UCB1 exploration constant (default sqrt 2)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate the agents, print the table, write the JSON if asked."""
    try:
        results = evaluate_baselines(args.arms, args.pulls, args.prior, args.episodes, args.seed, args.ucb_c)
    except ValueError as error:
        print(f"brc-rl bandit-baselines: error: {error}", file=sys.stderr)
        return 2
    print(
        f"MetaBandit: {args.arms} arms, {args.pulls} pulls, prior {args.prior}, "
        f"{args.episodes} episodes, seed {args.seed}, UCB1 c = {args.ucb_c:.4g}"
    )
    print(format_baselines_table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0
