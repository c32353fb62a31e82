"""Success of a MiniGrid memory-maze run by start column: does the agent use the cue it saw?

The cue sits at column 1 of the start room; facing right with a 3x3 view, the agent sees it
at its first step only when it starts in column 1. An agent that remembers it succeeds
there; one that rushes to the end and guesses succeeds half the time, whatever the column.

    python scripts/minigrid_by_start.py RUN_DIR [--episodes 600] [--seed 20000]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from brc_rl.experiments.evaluation import load_agent, load_run_config
from brc_rl.experiments.run import make_env


def by_start(run_dir: str, episodes: int, seed: int) -> dict[int, tuple[int, float, float]]:
    """Play ``episodes`` greedy episodes; start column -> (episodes, success rate, mean length)."""
    config = load_run_config(run_dir)
    agent, _ = load_agent(run_dir, config, device="cpu")
    env = make_env(config.env, 1, seed, training=False)
    obs = env.reset()
    played: dict[int, list[tuple[bool, int]]] = defaultdict(list)
    for _ in range(episodes):
        column = int(env.get_attr("agent_pos")[0][0])
        state, start, length, done = None, np.ones(1, dtype=bool), 0, False
        while not done:
            action, state = agent.predict(obs, state=state, episode_start=start, deterministic=True)
            obs, _, dones, infos = env.step(action)
            start, length, done = dones, length + 1, bool(dones[0])
        played[column].append((bool(infos[0]["is_success"]), length))
    return {c: (len(v), float(np.mean([s for s, _ in v])), float(np.mean([n for _, n in v])))
            for c, v in sorted(played.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20000)
    args = parser.parse_args()
    print("| start column | episodes | success | mean length |\n|---|---|---|---|")
    for column, (n, success, length) in by_start(args.run_dir, args.episodes, args.seed).items():
        print(f"| {column} | {n} | {success:.2f} | {length:.1f} |")


if __name__ == "__main__":
    main()
