"""Env steps per second of brc_rl's RecurrentPPO against sb3-contrib's, in one process.

Setting: 8 DummyVecEnv envs, n_steps 128, batch_size 256, n_epochs 4, hidden 128,
net_arch [64], a separate critic memory on both sides, Mlp policies, on one task of
``TASKS``:

- ``MiniGrid-MemoryS7-v0`` (default) with ImgObsWrapper, the 7x7x3 image flattened to
  147 inputs; episodes of a few hundred steps under a random policy;
- ``brc_rl/TMaze-v0`` with corridor_length 15: short episodes (at most 48 steps), so a
  minibatch sequence of 128 steps holds several episode starts.

Each agent is built once, warmed up with one update (numba compilation, allocations),
then timed over ``--updates`` updates, ``--repeats`` times, the agents taking turns
so that a change of machine load hits them alike. Reported: median env steps/s, the
ratio to sb3-contrib's and to nbrc's medians, the mean episode length, the share of time
in ``train()`` (the update) vs ``collect_rollouts()``, and how ``collect_rollouts()``
splits into the policy's step (``policy.forward``), the environments' step
(``VecEnv.step``) and the rest (buffer, callbacks, tensor conversions, time-out
bootstraps).

Targets: on MiniGrid, nbrc and brc >= 3x sb3-contrib, lstm >= 1x; on the short-episode
T-maze, gru and lstm >= 0.8x nbrc.

Usage::

    python benchmarks/rl_throughput.py                       # full size
    python benchmarks/rl_throughput.py --env brc_rl/TMaze-v0 --threads 1
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
REFERENCE = "nbrc"
DEFAULT_ENV = "MiniGrid-MemoryS7-v0"

#: Benchmark tasks: env id -> the env section (wrappers, kwargs) built for every agent.
TASKS: dict[str, EnvConfig] = {
    "MiniGrid-MemoryS7-v0": EnvConfig(id="MiniGrid-MemoryS7-v0", wrappers=["minigrid_img", "flatten"]),
    "brc_rl/TMaze-v0": EnvConfig(id="brc_rl/TMaze-v0", kwargs={"corridor_length": 15}),
}

TIMES = ("collect", "train", "policy_step", "env_step")
COUNTS = ("policy_calls",)


class Timed:
    """Accumulate the wall time of ``collect_rollouts`` and ``train`` of one model, and
    within the rollouts that of the policy's step and of the environments' step."""

    def __init__(self, model: Any) -> None:
        self.reset()
        for owner, name, key in ((model, "collect_rollouts", "collect"), (model, "train", "train"),
                                 (model.policy, "forward", "policy_step"), (model.env, "step", "env_step")):
            setattr(owner, name, self._wrap(getattr(owner, name), key))

    def _wrap(self, method: Callable[..., Any], key: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.times[key] += time.perf_counter() - start
                if key == "policy_step":
                    self.times["policy_calls"] += 1

        return timed

    def reset(self) -> None:
        self.times: dict[str, float] = {**dict.fromkeys(TIMES, 0.0), **dict.fromkeys(COUNTS, 0)}


def build(agent: str, args: argparse.Namespace) -> Any:
    """Our RecurrentPPO with cell ``agent``, or sb3-contrib's with MlpLstmPolicy."""
    env = make_env(TASKS[args.env], args.n_envs, seed=args.seed)
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
            lengths = [info["l"] for info in models[agent].ep_info_buffer]
            runs[agent].append({"wall_s": wall, "steps": args.updates * rollout, **timers[agent].times,
                                "episode_length": statistics.fmean(lengths) if lengths else 0.0})
            print(f"repeat {repeat + 1}/{args.repeats} {agent:>16}: {args.updates * rollout / wall:8.0f} steps/s")
    return {"agents": agents, "runs": runs}


def summarise(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per agent: median steps/s, its ratios to sb3-contrib and nbrc, the mean episode
    length, the shares of train() and collect_rollouts(), and the rollout's split."""
    summary = {}
    for agent, rows in runs.items():
        rates = [row["steps"] / row["wall_s"] for row in rows]
        total = {key: sum(row[key] for row in rows) for key in TIMES + COUNTS}
        collect = total["collect"]
        summary[agent] = {
            "steps_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "episode_length": statistics.fmean(row["episode_length"] for row in rows),
            "train_share": total["train"] / (total["train"] + collect),
            "collect_share": collect / (total["train"] + collect),
            "rollout_policy_share": total["policy_step"] / collect,
            "rollout_env_share": total["env_step"] / collect,
            "rollout_other_share": (collect - total["policy_step"] - total["env_step"]) / collect,
            "policy_step_us": 1e6 * total["policy_step"] / total["policy_calls"],
        }
    for reference, key in ((SB3, "ratio_to_sb3"), (REFERENCE, "ratio_to_nbrc")):
        if reference in summary:
            for row in summary.values():
                row[key] = row["steps_per_s"] / summary[reference]["steps_per_s"]
    return summary


def table(summary: dict[str, dict[str, float]]) -> str:
    lines = ["| agent | env steps/s (median) | min - max | vs sb3-contrib | vs nbrc | episode length "
             "| train() | collect_rollouts() | of which policy step / env step / rest | policy step |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for agent, row in summary.items():
        ratios = [f"{row[key]:.2f}x" if key in row else "-" for key in ("ratio_to_sb3", "ratio_to_nbrc")]
        lines.append(f"| {agent} | {row['steps_per_s']:.0f} | {row['min']:.0f} - {row['max']:.0f} | "
                     f"{' | '.join(ratios)} | {row['episode_length']:.0f} | {row['train_share']:.0%} | "
                     f"{row['collect_share']:.0%} | {row['rollout_policy_share']:.0%} / "
                     f"{row['rollout_env_share']:.0%} / {row['rollout_other_share']:.0%} | "
                     f"{row['policy_step_us']:.0f} us |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["nbrc", "brc", "gru", "lstm"],
                        help="cells of our RecurrentPPO (default: nbrc brc gru lstm)")
    parser.add_argument("--no-sb3", action="store_true", help="skip sb3-contrib's RecurrentPPO")
    parser.add_argument("--env", default=DEFAULT_ENV, choices=sorted(TASKS),
                        help=f"task of TASKS (default {DEFAULT_ENV})")
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
    parser.add_argument("--json", type=Path, default=None,
                        help="write settings, raw timings and summary here (other tasks' entries kept)")
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
        entry = {"settings": settings, "machine": machine, "runs": result["runs"], "summary": summary}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(merge_entry(args.json, args.env, entry), indent=2) + "\n")
    return 0


def merge_entry(path: Path, env: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The JSON file's content with ``entry`` for ``env`` written in.

    The default task's entry (settings, machine, runs, summary) is the top level of the
    file; the entries of the other tasks sit under ``tasks[env]``. An existing file keeps
    its other tasks.
    """
    content = json.loads(path.read_text()) if path.exists() else {}
    if env == DEFAULT_ENV:
        return {**content, **entry}
    return {**content, "tasks": {**content.get("tasks", {}), env: entry}}


if __name__ == "__main__":
    raise SystemExit(main())
