"""The ``brc-rl`` command line.

Every subcommand lives next to the code it drives, in a module that defines
``register(subparsers)``: it adds its parser and sets ``func`` (called with the parsed
namespace, returning an exit code). This file only lists those modules.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that add subcommands, in the order ``brc-rl --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "brc_rl.agents.cli",
    "brc_rl.agents.horizon",
    "brc_rl.envs.cli",
    "brc_rl.supervised.cli",
    "brc_rl.nn.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brc-rl",
        description="Reinforcement learning with bistable recurrent cells.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
