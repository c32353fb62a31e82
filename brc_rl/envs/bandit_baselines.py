"""Reference agents for ``brc_rl/MetaBandit-v0``, played through the env's own bookkeeping.

Agents (``AGENTS``; each a factory returning a batched policy):

| name | rule |
|---|---|
| "random" | a uniformly random arm |
| "greedy" | argmax of the Beta(1, 1) posterior mean (s_a + 1) / (n_a + 2) |
| "thompson" | argmax of a draw from each arm's Beta(s_a + 1, f_a + 1) posterior |
| "ucb1" | each arm once, then argmax of s_a / n_a + c sqrt(ln t / n_a); c = sqrt 2 by default |
| "bayes_optimal" | exact finite-horizon dynamic programming, 2 arms only |

Ties are broken uniformly at random. The Bayes-optimal policy maximises the
expected total reward under the env's prior, which is the same as minimising the
expected regret, since n E[max_a p_a] does not depend on the policy:

    E[regret] = n E[max_a p_a] - V_0

where V_0 is the DP's value at the empty history. ``bayes_optimal_regret`` gives
that number exactly.

Episodes are played in batches through ``brc_rl.envs.bandit.BanditBatch``, the
class the env itself uses for its rewards and its regret, with the same draws: the
first of a batch played with ``seed`` is the episode ``MetaBanditEnv`` plays after
``reset(seed=seed)`` given the same actions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from brc_rl.envs._checks import check_choice, check_int
from brc_rl.envs.bandit import (
    DEPENDENT_PRIORS,
    BanditBatch,
    BanditCounts,
    check_bandit_args,
    sample_probs,
)
from brc_rl.envs.bandit_dp import MAX_INDEPENDENT_DP_PULLS, BayesOptimal, bayes_optimal_regret

#: A batched policy: (counts, rng) -> (E,) integer arms.
Policy = Callable[[BanditCounts, np.random.Generator], np.ndarray]

__all__ = [
    "AGENTS",
    "MAX_INDEPENDENT_DP_PULLS",
    "UCB1",
    "BayesOptimal",
    "bayes_optimal_regret",
    "defined_agents",
    "evaluate_baselines",
    "format_baselines_table",
    "make_agent",
    "play",
]


def argmax_random_ties(values: np.ndarray, rng: np.random.Generator, atol: float = 1e-12) -> np.ndarray:
    """Row-wise argmax of (E, k) ``values``, ties (within ``atol``) broken uniformly."""
    best = values >= values.max(axis=1, keepdims=True) - atol
    return np.argmax(rng.random(values.shape) * best, axis=1)


def random_policy(counts: BanditCounts, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random arm."""
    return rng.integers(counts.pulls.shape[1], size=len(counts.pulls))


def greedy_policy(counts: BanditCounts, rng: np.random.Generator) -> np.ndarray:
    """Argmax of the Beta(1, 1) posterior mean (s_a + 1) / (n_a + 2)."""
    return argmax_random_ties((counts.successes + 1.0) / (counts.pulls + 2.0), rng)


def thompson_policy(counts: BanditCounts, rng: np.random.Generator) -> np.ndarray:
    """Argmax of one draw from each arm's Beta(s_a + 1, n_a - s_a + 1) posterior."""
    return np.argmax(rng.beta(counts.successes + 1.0, counts.pulls - counts.successes + 1.0), axis=1)


@dataclass(frozen=True)
class UCB1:
    """UCB1 (Auer et al. 2002): each arm once (lowest index first), then

        argmax_a  s_a / n_a + c sqrt(ln t / n_a)

    with t the pulls made so far; c = sqrt 2 is Auer's constant (untuned).
    """

    c: float = math.sqrt(2.0)

    def __call__(self, counts: BanditCounts, rng: np.random.Generator) -> np.ndarray:
        untried = counts.pulls == 0
        if untried.any():
            first_untried = np.argmax(untried, axis=1)
        n = np.maximum(counts.pulls, 1)
        index = counts.successes / n + self.c * np.sqrt(math.log(max(counts.t, 1)) / n)
        actions = argmax_random_ties(index, rng)
        if untried.any():
            actions = np.where(untried.any(axis=1), first_untried, actions)
        return actions


def _bayes_factory(n_arms: int, n_pulls: int, prior: str, ucb_c: float) -> Policy:
    if n_arms != 2:
        raise ValueError(f"bayes_optimal is defined for n_arms=2 only, got n_arms={n_arms}")
    return BayesOptimal(n_pulls, prior)


#: Agent name -> factory (n_arms, n_pulls, prior, ucb_c) -> policy.
AGENTS: dict[str, Callable[[int, int, str, float], Policy]] = {
    "random": lambda k, n, prior, c: random_policy,
    "greedy": lambda k, n, prior, c: greedy_policy,
    "thompson": lambda k, n, prior, c: thompson_policy,
    "ucb1": lambda k, n, prior, c: UCB1(c),
    "bayes_optimal": _bayes_factory,
}


def defined_agents(n_arms: int, n_pulls: int, prior: str) -> list[str]:
    """Names of ``AGENTS`` defined for this bandit (bayes_optimal needs 2 arms and,
    under the independent prior, n_pulls <= ``MAX_INDEPENDENT_DP_PULLS``)."""
    n_arms, n_pulls, prior = check_bandit_args(n_arms, n_pulls, prior)
    dp_ok = n_arms == 2 and (prior in DEPENDENT_PRIORS or n_pulls <= MAX_INDEPENDENT_DP_PULLS)
    return [name for name in AGENTS if name != "bayes_optimal" or dp_ok]


def make_agent(name: str, n_arms: int, n_pulls: int, prior: str, ucb_c: float = math.sqrt(2.0)) -> Policy:
    """Build the agent ``AGENTS[name]`` for this bandit.

    Raises:
        ValueError: for an unknown name (listing the valid ones) or bad bandit arguments.
    """
    name = check_choice("agent", name, AGENTS)
    n_arms, n_pulls, prior = check_bandit_args(n_arms, n_pulls, prior)
    return AGENTS[name](n_arms, n_pulls, prior, ucb_c)


def play(
    policy: Policy, n_arms: int, n_pulls: int, prior: str, n_episodes: int, seed: int
) -> np.ndarray:
    """Play ``n_episodes`` bandits with ``policy``; return each episode's regret.

    The bandits and rewards come from ``np.random.default_rng(seed)`` through
    ``BanditBatch``, exactly as ``MetaBanditEnv`` draws them after
    ``reset(seed=seed)``; the policy draws from a separate generator spawned from
    the same seed. Every policy played with the same seed meets the same bandits.

    Returns:
        (n_episodes,) regret sum_t (max_a p_a - p_{a_t}).
    """
    n_arms, n_pulls, prior = check_bandit_args(n_arms, n_pulls, prior)
    n_episodes = check_int("n_episodes", n_episodes, 1)
    seed_seq = np.random.SeedSequence(seed)
    env_rng = np.random.Generator(np.random.PCG64(seed_seq))
    agent_rng = np.random.default_rng(seed_seq.spawn(1)[0])
    batch = BanditBatch(sample_probs(prior, env_rng, n_episodes, n_arms))
    counts = BanditCounts(np.zeros((n_episodes, n_arms), np.int64), np.zeros((n_episodes, n_arms), np.int64), 0)
    rows = np.arange(n_episodes)
    for t in range(n_pulls):
        counts.t = t
        actions = policy(counts, agent_rng)
        rewards = batch.pull(actions, env_rng)
        counts.pulls[rows, actions] += 1
        counts.successes[rows, actions] += rewards.astype(np.int64)
    return batch.regret.copy()


def evaluate_baselines(
    n_arms: int,
    n_pulls: int,
    prior: str,
    n_episodes: int,
    seed: int = 0,
    ucb_c: float = math.sqrt(2.0),
) -> dict[str, dict[str, float]]:
    """Mean regret and its standard error for every agent defined for this bandit.

    Returns:
        ``{name: {"regret": mean, "sem": std / sqrt(E)}}``; bayes_optimal also
        carries ``"exact"``, its exact expected regret.
    """
    results: dict[str, dict[str, float]] = {}
    for name in defined_agents(n_arms, n_pulls, prior):
        policy = make_agent(name, n_arms, n_pulls, prior, ucb_c)
        regret = play(policy, n_arms, n_pulls, prior, n_episodes, seed)
        sem = float(regret.std(ddof=1) / math.sqrt(len(regret))) if len(regret) > 1 else float("nan")
        results[name] = {"regret": float(regret.mean()), "sem": sem}
        if isinstance(policy, BayesOptimal):
            results[name]["exact"] = policy.expected_regret
    return results


def format_baselines_table(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table of ``evaluate_baselines``' results."""
    lines = ["| agent | mean regret | s.e.m. | exact |", "|---|---|---|---|"]
    for name, row in results.items():
        exact = f"{row['exact']:.3f}" if "exact" in row else ""
        lines.append(f"| {name} | {row['regret']:.3f} | {row['sem']:.3f} | {exact} |")
    return "\n".join(lines)
