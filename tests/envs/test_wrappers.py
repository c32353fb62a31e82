"""PrevActionReward: both modes, Box and Discrete actions, zeros after reset, errors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.envs.wrappers import PrevActionReward


class DiscreteFrom(gym.Env):
    """Discrete(3, start=-1) actions, a Dict or a 2-D Box observation, reward = action."""

    def __init__(self, dict_obs: bool = False) -> None:
        self.action_space = spaces.Discrete(3, start=-1)
        box = spaces.Box(0.0, 1.0, (2, 2), np.float32)
        self.observation_space = spaces.Dict({"image": box}) if dict_obs else box

    def _obs(self):
        obs = np.full((2, 2), 0.5, np.float32)
        return {"image": obs} if isinstance(self.observation_space, spaces.Dict) else obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), float(action), False, False, {}


def test_dict_mode_box_actions():
    env = PrevActionReward(gym.make("brc_rl/MovingTarget-v0"), reward_scale=0.1)
    assert set(env.observation_space.spaces) == {"obs", "prev_action", "prev_reward"}
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs["prev_action"], [0.0])
    np.testing.assert_array_equal(obs["prev_reward"], [0.0])
    target = env.unwrapped.position + env.unwrapped.offset
    obs, reward, *_ = env.step(np.array([3.0], np.float32))  # clipped to the space: 1
    np.testing.assert_array_equal(obs["prev_action"], [1.0])
    np.testing.assert_allclose(obs["prev_reward"], [0.1 * reward], rtol=1e-6)
    assert reward == pytest.approx(-min(abs(target - 20.0), 20.0))
    assert obs["obs"].shape == (1,) and env.observation_space.contains(obs)
    obs, _ = env.reset()
    assert not obs["prev_action"].any() and not obs["prev_reward"].any()


def test_concat_mode_discrete_actions_one_hot():
    env = PrevActionReward(gym.make("brc_rl/TMaze-v0", corridor_length=3), mode="concat")
    assert env.observation_space.shape == (4 + 4 + 1,) and env.observation_space.dtype == np.float32
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[4:], np.zeros(5))
    obs, reward, *_ = env.step(2)  # left in cell 0: a wall bump
    np.testing.assert_allclose(obs[4:], [0, 0, 1, 0, -0.1], rtol=1e-6)
    assert reward == pytest.approx(-0.1)
    np.testing.assert_array_equal(env.reset()[0][4:], np.zeros(5))


def test_discrete_with_start_and_dict_observation_keeps_its_keys():
    env = PrevActionReward(DiscreteFrom(dict_obs=True))
    assert set(env.observation_space.spaces) == {"image", "prev_action", "prev_reward"}
    env.reset(seed=0)
    obs, *_ = env.step(-1)
    np.testing.assert_array_equal(obs["prev_action"], [1, 0, 0])
    np.testing.assert_array_equal(obs["prev_reward"], [-1.0])
    assert obs["image"].shape == (2, 2)


@pytest.mark.parametrize("mode", ["dict", "concat"])
@pytest.mark.parametrize("env_id", ["brc_rl/WindyReference-v0", "brc_rl/MetaBandit-v0"])
def test_env_checker_passes(env_id, mode):
    env = PrevActionReward(gym.make(env_id), mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's notes on the wrapper and the unbounded reward
        check_env(env, skip_render_check=True)


def test_errors_name_what_is_expected():
    with pytest.raises(ValueError, match=r"unknown mode 'flat'; valid values: \['concat', 'dict'\]"):
        PrevActionReward(gym.make("brc_rl/TMaze-v0"), mode="flat")
    with pytest.raises(ValueError, match="mode='concat' needs a 1-D Box observation space, got .*use mode='dict'"):
        PrevActionReward(DiscreteFrom(), mode="concat")
    with pytest.raises(ValueError, match="supports Box and Discrete action spaces, got MultiDiscrete"):
        env = DiscreteFrom()
        env.action_space = spaces.MultiDiscrete([2, 2])
        PrevActionReward(env)
    with pytest.raises(ValueError, match=r"already has key\(s\) \['prev_action', 'prev_reward'\]"):
        PrevActionReward(PrevActionReward(DiscreteFrom(dict_obs=True)))


def test_config_wrapper_name():
    from brc_rl.experiments.config import WRAPPERS, resolve

    assert resolve(WRAPPERS, "prev_action_reward", "env.wrappers[0]") is PrevActionReward


@pytest.mark.parametrize("mode", ["dict", "concat"])
def test_one_part_only(mode):
    env = PrevActionReward(gym.make("CartPole-v1"), mode=mode, reward=False)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(1)
    if mode == "dict":
        assert set(obs) == {"obs", "prev_action"} and obs["prev_action"].tolist() == [0, 1]
    else:
        assert env.observation_space.shape == (6,) and obs[4:].tolist() == [0, 1]
    check_env(env)
    with pytest.raises(ValueError, match="needs action=True or reward=True"):
        PrevActionReward(gym.make("CartPole-v1"), action=False, reward=False)


def test_minigrid_grid_in_dict_mode():
    env = PrevActionReward(gym.make("brc_rl/MiniGridMemory-v0", n_actions=3), mode="dict", reward=False)
    env.reset(seed=0)
    obs, *_ = env.step(2)
    assert obs["prev_action"].tolist() == [0, 0, 1] and obs["obs"].shape == (3, 3, 3)
