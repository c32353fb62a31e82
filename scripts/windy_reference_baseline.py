"""Return of a policy without memory on the windy reference: head straight at the reference.

It sees reference - position (the observation) and not the wind, so it cannot compensate;
this is the level a recurrent agent must beat by inferring the wind from its own moves.
Episodes of ``--steps`` steps (250 as in configs/windy_reference), seeded 0, 1, ...

    python scripts/windy_reference_baseline.py --episodes 200 --json results/rl/nmd/windy_baseline.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import brc_rl.envs  # noqa: F401  (registers brc_rl/*)


def straight_heading(obs: np.ndarray) -> np.ndarray:
    """The action (heading / pi) pointing from the agent at the reference."""
    return np.array([np.arctan2(obs[1], obs[0]) / np.pi], dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    env = gym.make("brc_rl/WindyReference-v0", max_episode_steps=args.steps)
    returns = []
    for seed in range(args.episodes):
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(straight_heading(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    mean, se = float(np.mean(returns)), float(np.std(returns, ddof=1) / np.sqrt(len(returns)))
    print(f"straight heading, {args.episodes} episodes of {args.steps} steps: "
          f"mean return {mean:.1f} +- {se:.1f} (s.e.)")
    if args.json is not None:
        args.json.write_text(json.dumps({"policy": "straight heading", "episodes": args.episodes, "steps": args.steps,
                                         "mean_return": mean, "standard_error": se, "returns": returns}, indent=1))


if __name__ == "__main__":
    main()
