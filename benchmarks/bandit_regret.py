"""Mean regret per episode of a MetaBandit run's model (compare with README.md).

    python benchmarks/bandit_regret.py RUN_DIR [--episodes 1000] [--seed 0] [--model final]
        [--stochastic] [--json PATH]

Plays ``--episodes`` episodes on ``--batch`` parallel envs (env i seeded ``seed + i``, the
recurrent state carried and reset at each episode start) and reads ``info["regret"]``, the
env's own expected regret ``sum_t (max_a p_a - p_{a_t})``, at the end of each episode.
Prints the mean regret and its standard error. Sampled actions (``--stochastic``) are what
the policy was trained with; greedy ones are the default, as in ``brc-rl eval``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from brc_rl.agents.evaluation import load_agent, load_run_config
from brc_rl.agents.run import make_env


def bandit_regrets(run_dir: Path, episodes: int, seed: int, model: str, deterministic: bool,
                   batch: int = 100) -> list[float]:
    """Regret at the end of each of ``episodes`` episodes (rounded up to whole batches)."""
    config = load_run_config(run_dir)
    if config.env.id != "brc_rl/MetaBandit-v0":
        raise SystemExit(f"{run_dir} was trained on {config.env.id}, not brc_rl/MetaBandit-v0")
    agent, _ = load_agent(run_dir, config, model, device="cpu")
    env = make_env(config.env, batch, seed, training=False)
    regrets: list[float] = []
    obs, state = env.reset(), None
    episode_start = np.ones(batch, dtype=bool)
    while len(regrets) < episodes:
        action, state = agent.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, _, done, infos = env.step(action)
        episode_start = done
        regrets += [float(info["regret"]) for info, d in zip(infos, done) if d]
    env.close()
    return regrets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", choices=("final", "latest", "best"), default="final")
    parser.add_argument("--stochastic", action="store_true", help="sampled actions (default greedy)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    regrets = bandit_regrets(args.run_dir, args.episodes, args.seed, args.model, not args.stochastic)
    mean, sem = float(np.mean(regrets)), float(np.std(regrets) / math.sqrt(len(regrets)))
    mode = "stochastic" if args.stochastic else "deterministic"
    print(f"{args.run_dir}: mean regret per episode {mean:.2f} +- {sem:.2f} ({len(regrets)} episodes, {mode})")
    if args.json is not None:
        args.json.write_text(json.dumps({"mean_regret": mean, "sem": sem, "episodes": len(regrets),
                                         "deterministic": not args.stochastic}, indent=2) + "\n")


if __name__ == "__main__":
    main()
