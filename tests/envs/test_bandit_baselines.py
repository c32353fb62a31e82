"""Reference bandit agents: exact DP values, simulated regrets against the reference figures."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from brc_rl.envs.bandit import MetaBanditEnv
from brc_rl.envs.bandit_baselines import (
    AGENTS,
    MAX_INDEPENDENT_DP_PULLS,
    BayesOptimal,
    bayes_optimal_regret,
    defined_agents,
    evaluate_baselines,
    make_agent,
    play,
)

# envs.md, 2 arms, 100 pulls.
REFERENCE = {
    "independent": {"bayes_optimal": 1.75, "thompson": 2.77, "greedy": 2.68, "ucb1": 5.56, "random": 16.7},
    "uniform": {"bayes_optimal": 1.22},
    "easy": {"bayes_optimal": 0.63},
    "medium": {"bayes_optimal": 1.00},
    "hard": {"bayes_optimal": 2.31},
}
EPISODES = 20000


@pytest.mark.parametrize("prior", sorted(REFERENCE))
def test_exact_dp_matches_the_reference_figures(prior):
    # The figures are rounded to 2 decimals.
    assert bayes_optimal_regret(100, prior) == pytest.approx(REFERENCE[prior]["bayes_optimal"], abs=0.006)


def test_dp_values_computed_by_hand():
    # n = 1: E[max p] - 1/2.
    assert bayes_optimal_regret(1, "independent") == pytest.approx(2 / 3 - 1 / 2)
    assert bayes_optimal_regret(1, "uniform") == pytest.approx(3 / 4 - 1 / 2)
    # n = 2, independent: pull, keep after a success (2/3), switch after a failure (1/2):
    # V_0 = 1/2 + 1/2 * 2/3 + 1/2 * 1/2 = 13/12, regret = 4/3 - 13/12.
    assert bayes_optimal_regret(2, "independent") == pytest.approx(4 / 3 - 13 / 12)
    # n = 2, dependent uniform: the second pull pays 2/3 whatever happened: 3/2 - 7/6.
    assert bayes_optimal_regret(2, "uniform") == pytest.approx(3 / 2 - 7 / 6)
    # easy, n = 1: regret 0.9 - 0.5; n = 2: one draw identifies the good arm with prob 0.9.
    assert bayes_optimal_regret(1, "easy") == pytest.approx(0.4)
    assert bayes_optimal_regret(2, "easy") == pytest.approx(0.4 + (0.9 - 0.82))


def test_independent_dp_matches_brute_force_expectimax():
    @cache
    def value(s0: int, f0: int, s1: int, f1: int, left: int) -> float:
        if left == 0:
            return 0.0
        q = []
        for arm, (s, f) in enumerate([(s0, f0), (s1, f1)]):
            m = (s + 1) / (s + f + 2)
            win = (s0 + (arm == 0), f0, s1 + (arm == 1), f1)
            lose = (s0, f0 + (arm == 0), s1, f1 + (arm == 1))
            q.append(m * (1 + value(*win, left - 1)) + (1 - m) * value(*lose, left - 1))
        return max(q)

    for n in (3, 7, 12):
        assert bayes_optimal_regret(n, "independent") == pytest.approx(n * 2 / 3 - value(0, 0, 0, 0, n), abs=1e-12)


@pytest.mark.parametrize("prior", sorted(REFERENCE))
def test_bayes_optimal_policy_achieves_its_dp_value(prior):
    # Checks the policy's table look-up: a wrong index would cost regret.
    agent = BayesOptimal(100, prior)
    regret = play(agent, 2, 100, prior, EPISODES, seed=1)
    sem = regret.std(ddof=1) / math.sqrt(EPISODES)
    assert abs(regret.mean() - agent.expected_regret) < 3 * sem


def test_reference_agents_land_within_three_standard_errors():
    results = evaluate_baselines(2, 100, "independent", EPISODES, seed=0)
    assert list(results) == ["random", "greedy", "thompson", "ucb1", "bayes_optimal"]
    for name, reference in REFERENCE["independent"].items():
        row = results[name]
        assert abs(row["regret"] - reference) < 3 * row["sem"], (name, row)
    assert results["bayes_optimal"]["exact"] == pytest.approx(bayes_optimal_regret(100, "independent"))


def test_ucb1_constant_is_configurable():
    default = play(make_agent("ucb1", 2, 100, "independent"), 2, 100, "independent", 5000, 0).mean()
    tuned = play(make_agent("ucb1", 2, 100, "independent", ucb_c=0.3), 2, 100, "independent", 5000, 0).mean()
    assert tuned < default - 1.0


def test_play_is_the_env_episode_with_the_same_seed():
    # play() records nothing, so wrap the policy to capture the actions it takes.
    taken = []

    def thompson(counts, rng):
        actions = AGENTS["thompson"](3, 30, "independent", 0.0)(counts, rng)
        taken.append(int(actions[0]))
        return actions

    regret = play(thompson, 3, 30, "independent", 1, seed=9)
    env = MetaBanditEnv(n_arms=3, n_pulls=30)
    env.reset(seed=9)
    for action in taken:
        info = env.step(action)[4]
    assert info["regret"] == pytest.approx(regret[0], abs=1e-12)


def test_same_seed_same_bandits_for_every_agent():
    a = play(make_agent("random", 2, 10, "easy"), 2, 10, "easy", 100, seed=3)
    b = play(make_agent("random", 2, 10, "easy"), 2, 10, "easy", 100, seed=3)
    np.testing.assert_array_equal(a, b)


def test_defined_agents_and_errors():
    assert "bayes_optimal" in defined_agents(2, 100, "independent")
    assert "bayes_optimal" not in defined_agents(5, 100, "independent")
    assert "bayes_optimal" not in defined_agents(2, MAX_INDEPENDENT_DP_PULLS + 1, "independent")
    assert "bayes_optimal" in defined_agents(2, 1000, "hard")
    with pytest.raises(ValueError, match="valid values: \\['bayes_optimal', 'greedy', 'random', 'thompson', 'ucb1'\\]"):
        make_agent("gittins", 2, 10, "independent")
    with pytest.raises(ValueError, match="n_arms=2 only"):
        make_agent("bayes_optimal", 3, 10, "independent")
    with pytest.raises(ValueError, match=f"n_pulls <= {MAX_INDEPENDENT_DP_PULLS}"):
        BayesOptimal(MAX_INDEPENDENT_DP_PULLS + 1, "independent")
    with pytest.raises(ValueError, match="n_episodes must be an integer >= 1"):
        play(make_agent("random", 2, 10, "easy"), 2, 10, "easy", 0, seed=0)
