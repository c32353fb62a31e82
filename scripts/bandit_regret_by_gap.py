"""Regret of MetaBandit runs by the gap |p_1 - p_2| between the two arms, next to Thompson sampling.

Where an agent loses regret tells what it does wrong: a policy that commits too early loses
on medium gaps (the worse arm looks best after a few unlucky pulls), one that explores too
long loses on large gaps. Each row plays ``--episodes`` episodes (sampled actions, as
trained; ``--greedy`` for argmax ones) through ``brc_rl.experiments.evaluation.evaluate``;
the references play the same number through ``brc_rl.envs.bandit_baselines.play``.
2-armed bandits only.

    python scripts/bandit_regret_by_gap.py RUN_DIR [RUN_DIR ...] [--episodes 2000] [--greedy]
"""

from __future__ import annotations

import argparse

import numpy as np

from brc_rl.envs.bandit import sample_probs
from brc_rl.envs.bandit_baselines import make_agent, play
from brc_rl.experiments.evaluation import evaluate, load_run_config

EDGES = (0.0, 0.05, 0.1, 0.2, 0.4, 1.0)


def row(name: str, gaps: np.ndarray, regrets: np.ndarray) -> str:
    """A Markdown row: the mean regret overall and in each gap bin of ``EDGES``."""
    bins = np.digitize(gaps, EDGES[1:-1])
    cells = [f"{regrets[bins == b].mean():.2f}" for b in range(len(EDGES) - 1)]
    return f"| {name} | {regrets.mean():.2f} | " + " | ".join(cells) + " |"


def played_bandits(prior: str, n_arms: int, episodes: int, seed: int) -> np.ndarray:
    """(episodes, n_arms) arm probabilities of the bandits ``play(..., episodes, seed)`` meets:
    its first draw from its env stream."""
    env_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    return sample_probs(prior, env_rng, episodes, n_arms)


def reference(name: str, n_pulls: int, prior: str, episodes: int, seed: int) -> str:
    """The row of reference agent ``name`` on ``episodes`` 2-armed bandits drawn as ``play`` draws them."""
    regrets = play(make_agent(name, 2, n_pulls, prior), 2, n_pulls, prior, episodes, seed)
    probs = played_bandits(prior, 2, episodes, seed)
    return row(name, np.abs(probs[:, 0] - probs[:, 1]), regrets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--greedy", action="store_true", help="argmax actions (default: sampled)")
    args = parser.parse_args()
    kwargs = load_run_config(args.run_dirs[0]).env.kwargs
    if kwargs.get("n_arms", 2) != 2:
        raise SystemExit(f"2-armed bandits only, {args.run_dirs[0]} has n_arms={kwargs['n_arms']}")
    labels = " | ".join(f"{lo}-{hi}" for lo, hi in zip(EDGES[:-1], EDGES[1:]))
    print(f"| agent | all | {labels} |\n|" + "---|" * (len(EDGES) + 1))
    for name in ("thompson", "bayes_optimal"):
        print(reference(name, kwargs.get("n_pulls", 100), kwargs.get("prior", "independent"), args.episodes, args.seed))
    for run_dir in args.run_dirs:
        result = evaluate(run_dir, args.episodes, args.greedy, seed=args.seed, n_envs=min(100, args.episodes))
        gaps = np.array([abs(info["probs"][0] - info["probs"][1]) for info in result.infos])
        print(row(run_dir.rstrip("/").split("/")[-1], gaps, np.array([info["regret"] for info in result.infos])))


if __name__ == "__main__":
    main()
