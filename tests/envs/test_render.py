"""Render modes the Gymnasium way, so that SB3's ``make_vec_env`` takes our ids."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

import brc_rl.envs
from brc_rl.envs.bandit import BAR_PIXELS
from brc_rl.envs.tmaze import CELL_PIXELS, DOWN, RIGHT

IDS = list(brc_rl.envs.ENV_IDS)


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_env_accepts_every_id(env_id):
    # SB3 adds render_mode="rgb_array" to a string id and only falls back on TypeError.
    vec = make_vec_env(env_id, n_envs=2, seed=0)
    obs = vec.reset()
    assert obs.shape[0] == 2
    vec.step(np.zeros(2, dtype=np.int64))
    assert vec.get_attr("render_mode") == ["rgb_array", "rgb_array"]
    vec.close()


@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")  # gymnasium's own warning
@pytest.mark.parametrize("env_id", IDS)
def test_render_mode_outside_metadata_raises_naming_valid_modes(env_id):
    with pytest.raises(ValueError, match="render_mode must be None or one of .*rgb_array.*got 'ansi'"):
        gym.make(env_id, render_mode="ansi")


@pytest.mark.parametrize("env_id", IDS)
def test_render_none_by_default(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    assert env.unwrapped.render_mode is None
    assert "rgb_array" in env.unwrapped.metadata["render_modes"]


def test_tmaze_rgb_array_image():
    env = gym.make("brc_rl/TMaze-v0", corridor_length=4, render_mode="rgb_array")
    env.reset(seed=0)
    goal_up = env.unwrapped.goal_up
    image = env.render()
    s = CELL_PIXELS
    assert image.shape == (3 * s, 5 * s, 3) and image.dtype == np.uint8
    assert tuple(image[s, 0]) == (255, 0, 0)  # the agent in cell 0
    goal_row = 0 if goal_up else 2
    assert tuple(image[goal_row * s, 4 * s]) == (0, 200, 0)
    assert tuple(image[(2 - goal_row) * s, 4 * s]) == (255, 255, 255)
    assert tuple(image[0, 0]) == (0, 0, 0)  # a wall above cell 0
    env.step(RIGHT)
    image = env.render()
    assert tuple(image[s, s]) == (255, 0, 0) and tuple(image[s, 0]) == (80, 80, 255)
    env.step(DOWN)  # a bump: still in cell 1
    assert tuple(env.render()[s, s]) == (255, 0, 0)


def test_bandit_rgb_array_bars_follow_the_probabilities():
    env = gym.make("brc_rl/MetaBandit-v0", n_arms=3, render_mode="rgb_array")
    _, info = env.reset(seed=3)
    env.step(1)
    image = env.render()
    assert image.shape == (BAR_PIXELS, 24, 3)
    for arm, p in enumerate(info["probs"]):
        column = image[:, 8 * arm + 3]
        filled = int((column != 255).any(axis=1).sum())
        assert filled == round(p * BAR_PIXELS)
    assert tuple(image[-1, 8 + 3]) == (220, 0, 0)  # the arm pulled last


def test_render_without_mode_returns_none():
    env = gym.make("brc_rl/TMaze-v0")
    env.reset(seed=0)
    assert env.unwrapped.render() is None
