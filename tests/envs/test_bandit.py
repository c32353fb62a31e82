"""MetaBanditEnv: observations, termination, rewards, regret bookkeeping, priors, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.envs.bandit import PRIORS, BanditBatch, MetaBanditEnv, sample_probs


def test_batch_regret_on_a_hand_made_case():
    batch = BanditBatch(np.array([[0.2, 0.7, 0.5], [0.9, 0.1, 0.3]]))
    rng = np.random.default_rng(0)
    expected = np.zeros(2)
    for actions, increments in [([0, 0], [0.5, 0.0]), ([1, 2], [0.0, 0.6]), ([2, 1], [0.2, 0.8])]:
        batch.pull(np.array(actions), rng)
        expected += increments
        np.testing.assert_allclose(batch.regret, expected)
    np.testing.assert_allclose(batch.regret, [0.7, 1.4])


def test_batch_rewards_are_bernoulli_draws_of_the_pulled_arm():
    # A uniform draw u gives reward 1 iff u < p: replay the generator to check.
    probs = np.array([[0.3, 0.8]] * 1000)
    rewards = BanditBatch(probs).pull(np.array([0, 1] * 500), np.random.default_rng(5))
    u = np.random.default_rng(5).random(1000)
    np.testing.assert_array_equal(rewards, (u < probs[np.arange(1000), [0, 1] * 500]).astype(float))


def test_env_observation_layout_regret_and_termination():
    env = gym.make("brc_rl/MetaBandit-v0", n_arms=3, n_pulls=4)
    obs, info = env.reset(seed=7)
    np.testing.assert_array_equal(obs, np.zeros(5, np.float32))
    probs = info["probs"]
    assert probs.shape == (3,) and info["regret"] == 0.0
    regret = 0.0
    for t, action in enumerate([2, 0, 2, 1], start=1):
        obs, reward, terminated, truncated, info = env.step(action)
        regret += probs.max() - probs[action]
        expected = np.zeros(5, np.float32)
        expected[action], expected[3], expected[4] = 1.0, reward, t / 4
        np.testing.assert_array_equal(obs, expected)
        assert reward in (0.0, 1.0)
        assert info["regret"] == pytest.approx(regret)
        np.testing.assert_array_equal(info["probs"], probs)
        assert terminated == (t == 4) and not truncated


def test_env_reward_frequency_matches_the_arm_probability():
    env = MetaBanditEnv(n_arms=2, n_pulls=20000)
    _, info = env.reset(seed=11)
    rewards = [env.step(1)[1] for _ in range(20000)]
    p = info["probs"][1]
    assert abs(np.mean(rewards) - p) < 4 * np.sqrt(p * (1 - p) / 20000) + 1e-9


def test_each_reset_draws_a_new_bandit():
    env = MetaBanditEnv()
    first = env.reset(seed=0)[1]["probs"]
    second = env.reset()[1]["probs"]
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("prior", sorted(PRIORS))
def test_priors(prior):
    k = 4 if prior == "independent" else 2
    probs = sample_probs(prior, np.random.default_rng(0), 20000, k)
    assert probs.shape == (20000, k) and probs.min() >= 0.0 and probs.max() <= 1.0
    expected = {
        "independent": None,
        "uniform": None,
        "easy": {0.1, 0.9},
        "medium": {0.25, 0.75},
        "hard": {0.4, 0.6},
    }[prior]
    if prior != "independent":
        np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    if expected is not None:
        assert set(np.round(probs[:, 0], 6)) == expected
    # Both arms are a priori alike: p_0 has mean 1/2.
    assert abs(probs[:, 0].mean() - 0.5) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_arms": 0}, "n_arms must be an integer >= 1"),
        ({"n_arms": 2.0}, "n_arms must be an integer"),
        ({"n_pulls": 0}, "n_pulls must be an integer >= 1"),
        ({"prior": "beta"}, "valid values: \\['easy', 'hard', 'independent', 'medium', 'uniform'\\]"),
        ({"n_arms": 3, "prior": "easy"}, "defined for n_arms=2 only"),
        ({"render_mode": "human"}, r"render_mode must be None or one of \[.rgb_array.\], got .human."),
    ],
)
def test_bad_kwargs_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MetaBanditEnv(**kwargs)


def test_bad_action_raises_value_error():
    env = MetaBanditEnv(n_arms=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="integer in \\[0, 2\\)"):
        env.step(2)
