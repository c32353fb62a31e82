"""PrevActionReward: the previous action (one-hot or as is) and reward in each observation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.env_checker import check_env

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.envs.wrappers import PrevActionReward


def test_concat_discrete_one_hot_then_reward_zero_after_reset():
    env = PrevActionReward(gym.make("CartPole-v1"), mode="concat")
    assert env.observation_space.shape == (4 + 2 + 1,)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[4:], [0, 0, 0])
    obs, reward, *_ = env.step(1)
    np.testing.assert_array_equal(obs[4:], [0, 1, reward])
    obs, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs[4:], [0, 0, 0])
    check_env(env)


def test_dict_box_action_as_is():
    env = PrevActionReward(gym.make("Pendulum-v1"), mode="dict")
    assert set(env.observation_space.spaces) == {"obs", "prev_action", "prev_reward"}
    np.testing.assert_array_equal(env.observation_space["prev_action"].high, [2.0])
    obs, _ = env.reset(seed=0)
    assert obs["prev_action"].tolist() == [0.0] and obs["prev_reward"].tolist() == [0.0]
    obs, reward, *_ = env.step(np.array([0.5], dtype=np.float32))
    assert obs["prev_action"].tolist() == [0.5]
    np.testing.assert_allclose(obs["prev_reward"], [reward], rtol=1e-6)
    check_env(env)


def test_one_part_only_and_a_grid_env_in_dict_mode():
    env = PrevActionReward(gym.make("brc_rl/MiniGridMemory-v0", n_actions=3), mode="dict", reward=False)
    assert set(env.observation_space.spaces) == {"obs", "prev_action"}
    env.reset(seed=0)
    obs, *_ = env.step(2)
    assert obs["prev_action"].tolist() == [0, 0, 1] and obs["obs"].shape == (3, 3, 3)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "message"),
    [
        ("CartPole-v1", {"mode": "stack"}, r"unknown mode 'stack'; valid values: \['dict', 'concat'\]"),
        ("CartPole-v1", {"action": False, "reward": False}, "needs action=True or reward=True"),
        ("brc_rl/MiniGridMemory-v0", {"mode": "concat"}, "needs a 1-d Box observation space"),
    ],
)
def test_bad_arguments(env_id, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PrevActionReward(gym.make(env_id), **kwargs)


def test_other_action_spaces_are_refused():
    env = gym.make("CartPole-v1")
    env.action_space = spaces.MultiBinary(2)
    with pytest.raises(ValueError, match="supports Discrete and Box actions"):
        PrevActionReward(env)
