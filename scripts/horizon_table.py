"""Markdown table of the horizon evaluations of a sweep's trials.

    python scripts/horizon_table.py SWEEP_DIR... [--file horizon.json]

Reads ``TRIAL/eval/<file>`` (written by ``brc-rl horizon TRIAL --lengths ... --json
TRIAL/eval/horizon.json``) of every trial of each sweep folder and prints one row per
trial: its agent (algorithm, cell and the settings that differ between the trials, as
``brc-rl report`` names them), seed, the model's training steps, and the success rate at
each corridor length.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from brc_rl.experiments.report import agent_names, read_run


def rows(sweep_dirs: list[Path], name: str) -> tuple[list[int], list[list[str]]]:
    lengths: list[int] = []
    table = []
    paths = [path for sweep_dir in sweep_dirs for path in sorted(sweep_dir.glob(f"trials/*/eval/{name}"))]
    agents = agent_names([read_run(path.parents[1], "success") for path in paths])
    for path, agent in zip(paths, agents):
        config = yaml.safe_load((path.parents[1] / "config.yaml").read_text())
        result = json.loads(path.read_text())
        rates = {r["corridor_length"]: r["success_rate"] for r in result["results"]}
        lengths = lengths or list(rates)
        if list(rates) != lengths:
            raise SystemExit(f"{path}: lengths {list(rates)}, expected {lengths}")
        table.append([agent, str(config["seed"]), f"{result['steps']:,}", *(f"{rates[n]:.2f}" for n in lengths)])
    return lengths, sorted(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dirs", nargs="+", type=Path)
    parser.add_argument("--file", default="horizon.json", help="file name under TRIAL/eval/ (default horizon.json)")
    args = parser.parse_args()
    lengths, table = rows(args.sweep_dirs, args.file)
    print("| agent | seed | model steps | " + " | ".join(f"L = {n}" for n in lengths) + " |")
    print("|---|---|---|" + "---|" * len(lengths))
    for row in table:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
