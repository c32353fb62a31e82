"""Env steps per second of brc_rl's RecurrentPPO against sb3-contrib's, in one process.

Setting (agents.md): MiniGrid-MemoryS7-v0 with ImgObsWrapper, the 7x7x3 image flattened
to 147 inputs for both Mlp policies, 8 DummyVecEnv envs, n_steps 128, batch_size 256,
n_epochs 4, hidden 128, net_arch [64], a separate critic memory on both sides.
Each agent is built once, warmed up with one update (numba compilation, allocations),
then timed over ``--updates`` updates, ``--repeats`` times, the agents taking turns
so that a change of machine load hits them alike. Reported: median env steps/s, the
ratio to sb3-contrib's median, and the share of time in ``train()`` (the update) vs
``collect_rollouts()``.

Targets: nbrc and brc >= 3x sb3-contrib, lstm >= 1x.

Usage::

    python benchmarks/rl_throughput.py                       # full size
    python benchmarks/rl_throughput.py --updates 1 --repeats 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from brc_rl.experiments.config import EnvConfig
from brc_rl.experiments.run import make_env

SB3 = "sb3-contrib lstm"


class Timed:
    """Accumulate the wall time of ``collect_rollouts`` and ``train`` of one model."""

    def __init__(self, model: Any) -> None:
        self.times = {"collect": 0.0, "train": 0.0}
        for name, key in (("collect_rollouts", "collect"), ("train", "train")):
            setattr(model, name, self._wrap(getattr(model, name), key))

    def _wrap(self, method: Callable[..., Any], key: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.times[key] += time.perf_counter() - start

        return timed

    def reset(self) -> None:
        self.times = {"collect": 0.0, "train": 0.0}


def build(agent: str, args: argparse.Namespace) -> Any:
    """Our RecurrentPPO with cell ``agent``, or sb3-contrib's with MlpLstmPolicy."""
    env = make_env(
        EnvConfig(id=args.env, n_envs=args.n_envs, wrappers=["minigrid_img", "flatten"]),
        args.n_envs, seed=args.seed,
    )
    common = dict(n_steps=args.n_steps, batch_size=args.batch_size, n_epochs=args.n_epochs,
                  seed=args.seed, device=args.device, verbose=0)
    if agent == SB3:
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=dict(
            lstm_hidden_size=args.hidden, n_lstm_layers=1, net_arch=list(args.net_arch)), **common)
    from brc_rl.agents import RecurrentPPO

    return RecurrentPPO("MlpRecurrentPolicy", env, policy_kwargs=dict(
        cell=agent, hidden_size=args.hidden, num_layers=1, net_arch=list(args.net_arch)), **common)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up every agent, then time them in turn; return the raw and summarised figures."""
    agents = [*args.cells, SB3] if not args.no_sb3 else list(args.cells)
    rollout = args.n_steps * args.n_envs
    models, timers = {}, {}
    for agent in agents:
        models[agent] = build(agent, args)
        timers[agent] = Timed(models[agent])
        models[agent].learn(rollout)  # warm-up update, untimed
    runs: dict[str, list[dict[str, float]]] = {agent: [] for agent in agents}
    for repeat in range(args.repeats):
        for agent in agents:
            timers[agent].reset()
            start = time.perf_counter()
            models[agent].learn(args.updates * rollout, reset_num_timesteps=False)
            wall = time.perf_counter() - start
            runs[agent].append({"wall_s": wall, "steps": args.updates * rollout, **timers[agent].times})
            print(f"repeat {repeat + 1}/{args.repeats} {agent:>16}: {args.updates * rollout / wall:8.0f} steps/s")
    return {"agents": agents, "runs": runs}


def summarise(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Median steps/s, its ratio to sb3-contrib, and the time shares, per agent."""
    summary = {}
    for agent, rows in runs.items():
        rates = [row["steps"] / row["wall_s"] for row in rows]
        train = sum(row["train"] for row in rows)
        collect = sum(row["collect"] for row in rows)
        summary[agent] = {
            "steps_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "train_share": train / (train + collect), "collect_share": collect / (train + collect),
        }
    if SB3 in summary:
        for row in summary.values():
            row["ratio_to_sb3"] = row["steps_per_s"] / summary[SB3]["steps_per_s"]
    return summary


def table(summary: dict[str, dict[str, float]]) -> str:
    lines = ["| agent | env steps/s (median) | min - max | vs sb3-contrib | train() | collect_rollouts() |",
             "|---|---|---|---|---|---|"]
    for agent, row in summary.items():
        ratio = f"{row['ratio_to_sb3']:.2f}x" if "ratio_to_sb3" in row else "-"
        lines.append(f"| {agent} | {row['steps_per_s']:.0f} | {row['min']:.0f} - {row['max']:.0f} | {ratio} "
                     f"| {row['train_share']:.0%} | {row['collect_share']:.0%} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["nbrc", "brc", "gru", "lstm"],
                        help="cells of our RecurrentPPO (default: nbrc brc gru lstm)")
    parser.add_argument("--no-sb3", action="store_true", help="skip sb3-contrib's RecurrentPPO")
    parser.add_argument("--env", default="MiniGrid-MemoryS7-v0")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--n-steps", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-epochs", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--net-arch", type=int, nargs="+", default=[64])
    parser.add_argument("--updates", type=int, default=4, help="timed updates per repeat (default 4)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats; the median is reported (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write settings, raw timings and summary here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    result = measure(args)
    summary = summarise(result["runs"])
    print(table(summary))
    if args.json is not None:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        machine = {"python": platform.python_version(), "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads(), "processor": platform.processor(),
                   "cpu_count": os.cpu_count()}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"settings": settings, "machine": machine, "runs": result["runs"],
                                         "summary": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
