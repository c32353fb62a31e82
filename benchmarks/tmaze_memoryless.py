"""The memoryless reference of the quick start: feed-forward SB3 PPO on the same T-maze.

At the junction a memoryless agent sees the same observation whichever side the goal
is, so it succeeds at most half of the time. Same env, budget and PPO settings as
configs/quickstart.yaml, with SB3's MlpPolicy (net_arch [32]) instead of a memory.

Usage::

    python benchmarks/tmaze_memoryless.py [--corridor-length 10] [--steps 51200] [--episodes 200]
"""

from __future__ import annotations

import argparse

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy

from brc_rl.experiments.config import EnvConfig
from brc_rl.experiments.run import make_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corridor-length", type=int, default=10)
    parser.add_argument("--steps", type=int, default=51200)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    env_config = EnvConfig(id="brc_rl/TMaze-v0", kwargs={"corridor_length": args.corridor_length}, n_envs=8)
    model = PPO("MlpPolicy", make_env(env_config, 8, args.seed), n_steps=128, batch_size=256, n_epochs=4,
                learning_rate=1e-3, ent_coef=0.01, policy_kwargs=dict(net_arch=[32]), seed=args.seed, device="cpu")
    model.learn(args.steps)
    for deterministic in (True, False):
        successes: list[bool] = []

        def record(local: dict, _globals: dict, successes: list[bool] = successes) -> None:
            if local["done"]:
                successes.append(bool(local["info"].get("is_success", False)))

        returns, _ = evaluate_policy(model, make_env(env_config, 1, args.seed + 1000, training=False),
                                     n_eval_episodes=args.episodes, deterministic=deterministic,
                                     return_episode_rewards=True, callback=record)
        mode = "deterministic" if deterministic else "stochastic"
        print(f"memoryless PPO, {mode}: mean return {np.mean(returns):.3f} +- {np.std(returns):.3f}, "
              f"success rate {np.mean(successes):.3f} ({sum(successes)}/{len(successes)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
