"""TMazeEnv: rewards, wall bumps, the cue only in the first cell, time limit, noise, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.envs.tmaze import (
    CORRIDOR,
    DOWN,
    DOWN_CUE,
    JUNCTION,
    LEFT,
    RIGHT,
    UP,
    UP_CUE,
    TMazeEnv,
    tmaze_horizon,
)


def _one_hot(index: int) -> np.ndarray:
    obs = np.zeros(4, np.float32)
    obs[index] = 1.0
    return obs


def _env_with_goal(goal_up: bool, length: int = 5) -> tuple[TMazeEnv, np.ndarray]:
    """A fresh env whose reset drew the given goal side (searching seeds)."""
    for seed in range(100):
        env = TMazeEnv(corridor_length=length)
        obs, _ = env.reset(seed=seed)
        if env.goal_up == goal_up:
            return env, obs
    raise AssertionError("no seed drew that goal side")


@pytest.mark.parametrize("goal_up", [True, False])
def test_cue_shown_only_in_first_cell_and_matches_the_goal(goal_up):
    env, obs = _env_with_goal(goal_up, length=5)
    cue = UP_CUE if goal_up else DOWN_CUE
    seen = [obs]
    for _ in range(5):
        obs, reward, terminated, truncated, _ = env.step(RIGHT)
        assert (reward, terminated, truncated) == (0.0, False, False)
        seen.append(obs)
    expected = [_one_hot(cue)] + [_one_hot(CORRIDOR)] * 4 + [_one_hot(JUNCTION)]
    np.testing.assert_array_equal(np.stack(seen), np.stack(expected))
    for _ in range(5):  # walking back to the first cell shows the cue again
        obs = env.step(LEFT)[0]
    np.testing.assert_array_equal(obs, _one_hot(cue))


@pytest.mark.parametrize("goal_up", [True, False])
def test_only_the_goal_arm_pays(goal_up):
    for turn in (UP, DOWN):
        env, _ = _env_with_goal(goal_up, length=3)
        for _ in range(3):
            env.step(RIGHT)
        _, reward, terminated, truncated, info = env.step(turn)
        correct = (turn == UP) == goal_up
        assert reward == (4.0 if correct else -0.1)
        assert terminated and not truncated
        assert info["is_success"] is correct


def test_wall_bumps_cost_and_do_not_move():
    env, _ = _env_with_goal(True, length=3)
    bumps = [(LEFT, 0), (UP, 0), (DOWN, 0), (RIGHT, 1), (UP, 1), (DOWN, 1), (RIGHT, 2), (RIGHT, 3), (RIGHT, 3)]
    for action, position in bumps:
        before = env.position
        _, reward, terminated, _, info = env.step(action)
        assert env.position == position and not terminated and not info["is_success"]
        assert reward == (0.0 if env.position != before else -0.1)
    assert env.step(LEFT)[1] == 0.0 and env.position == 2


@pytest.mark.parametrize("length", [1, 4])
def test_time_limit_is_three_times_the_shortest_path(length):
    assert tmaze_horizon(length) == 3 * (length + 1)
    env = gym.make("brc_rl/TMaze-v0", corridor_length=length)
    env.reset(seed=0)
    for step in range(1, 3 * (length + 1) + 1):
        _, _, terminated, truncated, info = env.step(LEFT if step % 2 else RIGHT)
        assert not terminated and not info["is_success"]
        assert truncated == (step == 3 * (length + 1))


def test_goal_side_is_drawn_at_random():
    env = TMazeEnv()
    sides = [env.reset(seed=seed)[0].argmax() for seed in range(400)]
    assert abs(np.mean(np.array(sides) == UP_CUE) - 0.5) < 0.1


def test_action_noise_replaces_actions():
    positions = []
    for noise in (0.0, 1.0):
        env = TMazeEnv(corridor_length=50, action_noise=noise)
        env.reset(seed=0)
        for _ in range(30):
            env.step(RIGHT)
        positions.append(env.position)
    assert positions[0] == 30 and positions[1] < 25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corridor_length": 0}, "corridor_length must be an integer >= 1, got 0"),
        ({"corridor_length": 2.5}, "corridor_length must be an integer >= 1"),
        ({"action_noise": -0.1}, "action_noise must be a probability in \\[0, 1\\]"),
        ({"action_noise": 1.5}, "action_noise must be a probability in \\[0, 1\\]"),
        ({"render_mode": "human"}, r"render_mode must be None or one of \[.rgb_array.\], got .human."),
    ],
)
def test_bad_kwargs_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TMazeEnv(**kwargs)
