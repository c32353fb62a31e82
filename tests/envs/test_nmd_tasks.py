"""The NMD benchmarks: MovingTarget, WindyReference, MultipleReferences on hand-made cases."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.envs.moving_target import HIT_REWARD, RENDER_HEIGHT, RENDER_WIDTH, MovingTargetEnv
from brc_rl.envs.references import RENDER_SIZE, SPEED, MultipleReferencesEnv, WindyReferenceEnv


def reset(env: gym.Env, seed: int = 0) -> gym.Env:
    env.reset(seed=seed)
    return env


# --------------------------------------------------------------------------- moving target
def test_moving_target_hit_redraws_the_position_and_keeps_the_offset():
    env = reset(MovingTargetEnv())
    env.position, env.offset = 1.0, 2.0
    obs, reward, terminated, truncated, info = env.step(np.array([3.5 / 20], np.float32))  # |3 - 3.5| < 1
    assert reward == HIT_REWARD and info == {"offset": 2.0, "hit": True}
    assert not terminated and not truncated
    assert obs[0] == np.float32(env.position) and env.position != 1.0 and abs(env.position) <= 5.0


def test_moving_target_miss_costs_the_distance_clipped_and_keeps_the_position():
    env = reset(MovingTargetEnv())
    env.position, env.offset = 1.0, 2.0
    obs, reward, *_, info = env.step(np.array([0.0], np.float32))
    assert reward == pytest.approx(-3.0) and not info["hit"] and obs[0] == 1.0
    _, reward, *_ = env.step(np.array([4.0 / 20], np.float32))  # exactly margin 1 away: a miss
    assert reward == pytest.approx(-1.0)
    env.position, env.offset = 5.0, 10.0
    _, reward, *_ = env.step(np.array([-1.0], np.float32))  # 35 away: the penalty stops at 20
    assert reward == -20.0
    _, reward, *_ = env.step(np.array([-7.0], np.float32))  # outside the space: clipped to -1
    assert reward == -20.0


def test_moving_target_offset_change_after_a_hit():
    env = reset(MovingTargetEnv(offset_change_prob=1.0))
    env.position, env.offset = 0.0, 0.0
    *_, info = env.step(np.array([0.0], np.float32))
    assert info["hit"] and info["offset"] != 0.0 and abs(info["offset"]) <= 10.0


def test_moving_target_reset_draws_position_and_offset_in_range():
    env = MovingTargetEnv(offset_range=3.0, position_range=2.0)
    offsets = []
    for seed in range(50):
        obs, info = env.reset(seed=seed)
        assert abs(obs[0]) <= 2.0 and obs[0] == np.float32(env.position)
        offsets.append(info["offset"])
    assert max(np.abs(offsets)) <= 3.0 and min(offsets) < -1.5 < 1.5 < max(offsets)


def test_moving_target_truncated_after_max_episode_steps():
    env = gym.make("brc_rl/MovingTarget-v0", max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(np.zeros(1, np.float32))[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    assert gym.spec("brc_rl/MovingTarget-v0").max_episode_steps == 1400


def test_moving_target_image():
    env = reset(MovingTargetEnv(render_mode="rgb_array"))
    env.position, env.offset = 0.0, 10.0
    env.step(np.array([-0.5], np.float32))
    image = env.render()
    assert image.shape == (RENDER_HEIGHT, RENDER_WIDTH, 3) and image.dtype == np.uint8
    assert tuple(image[-1, int(30 / 40 * RENDER_WIDTH)]) == (0, 160, 0)  # the target, 10 -> column 120
    assert (image[-1] == (220, 0, 0)).all(axis=1).any()  # the last guess


# --------------------------------------------------------------------------- windy reference
def windy(**kwargs) -> WindyReferenceEnv:
    env = reset(WindyReferenceEnv(**kwargs))
    env.references = np.array([[0.0, 0.0]])
    return env


def test_windy_move_costs_a_step_and_shows_the_reference():
    env = windy(wind_power=0.0)
    env.position = np.array([1.0, 0.0])
    obs, reward, *_, info = env.step(np.array([1.0], np.float32))  # heading pi: -x
    assert reward == -2.0 and info["reached"] == 0
    np.testing.assert_allclose(env.position, [1.0 - SPEED, 0.0], atol=1e-12)
    np.testing.assert_allclose(obs, [-(1.0 - SPEED), 0.0], atol=1e-6)


def test_windy_wind_adds_its_own_move_and_the_plane_wraps():
    env = windy(wind_power=1.0, wind_half_cone=0.0)
    env.wind_direction = np.pi / 2
    env.position = np.array([1.9, 1.0])
    env.step(np.array([0.0], np.float32))  # heading 0: +x, wind +y
    np.testing.assert_allclose(env.position, [1.9 + SPEED - 4.0, 1.0 + SPEED], atol=1e-12)


def test_windy_reach_pays_and_moves_to_a_new_start_without_applying_the_action():
    env = windy()
    env.position = np.array([0.3, 0.1])
    obs, reward, *_, info = env.step(np.array([0.0], np.float32))
    assert reward == 100.0 and info["reached"] == 1
    assert np.linalg.norm(env.position) > 0.6 and np.abs(env.position).max() <= 1.5
    np.testing.assert_allclose(obs, -env.position, atol=1e-6)


def test_windy_reset_draws_the_task():
    env = WindyReferenceEnv()
    directions = []
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        assert np.abs(env.references).max() <= 1.0 and np.abs(env.position).max() <= 1.5
        assert np.linalg.norm(env.references[0] - env.position) > 0.6 and info["reached"] == 0
        np.testing.assert_allclose(obs, env.references[0] - env.position, atol=1e-6)
        directions.append(info["wind_direction"])
    assert 0 <= min(directions) < 1.0 and 5.0 < max(directions) < 2 * np.pi


# --------------------------------------------------------------------------- multiple references
def test_multiple_references_rewards_and_shuffled_slots():
    env = reset(MultipleReferencesEnv())
    env.references, env.order = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1, 0])
    env.position = np.array([-1.0, 0.0])
    obs, reward, *_, info = env.step(np.array([0.0], np.float32))  # +x, outside both zones
    assert reward == 0.0 and (info["good"], info["bad"]) == (0, 0) and list(info["good_slots"]) == [1]
    np.testing.assert_allclose(obs, [1.75, 1.0, 0.75, 0.0], atol=1e-6)  # slot 0 is reference 1
    env.position = np.array([0.9, 0.8])
    _, reward, *_, info = env.step(np.array([0.0], np.float32))
    assert reward == -50.0 and (info["good"], info["bad"]) == (0, 1)
    env.position = np.array([0.0, -0.2])
    _, reward, *_, info = env.step(np.array([0.0], np.float32))
    assert reward == 100.0 and (info["good"], info["bad"]) == (1, 1)
    assert np.linalg.norm(env.references - env.position, axis=1).min() > 0.6


def test_multiple_references_order_is_redrawn_at_reset():
    env = MultipleReferencesEnv(n_references=3, n_good=1)
    slots = {int(env.reset(seed=seed)[1]["good_slots"][0]) for seed in range(30)}
    assert slots == {0, 1, 2}


def test_reference_images():
    env = reset(MultipleReferencesEnv(render_mode="rgb_array"))
    env.references, env.position = np.array([[-1.0, 1.0], [1.0, -1.0]]), np.array([0.0, 0.0])
    env.step(np.array([0.5], np.float32))  # heading +y: the agent moves 8 pixels up
    image = env.render()
    assert image.shape == (RENDER_SIZE, RENDER_SIZE, 3)
    quarter = RENDER_SIZE // 4
    assert tuple(image[quarter, quarter]) == (0, 170, 0)  # good reference at (-1, 1): top left
    assert tuple(image[3 * quarter, 3 * quarter]) == (220, 0, 0)
    assert tuple(image[RENDER_SIZE // 2 - 14, RENDER_SIZE // 2]) == (0, 0, 0)  # heading line above the agent
    assert tuple(image[0, RENDER_SIZE // 2]) == (255, 255, 255)


# --------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(("cls", "kwargs", "match"), [
    (MovingTargetEnv, {"margin": 0.0}, "margin must be a real number > 0"),
    (MovingTargetEnv, {"offset_range": "10"}, "offset_range must be a finite real number"),
    (MovingTargetEnv, {"offset_change_prob": 1.5}, r"offset_change_prob must be a probability in \[0, 1\]"),
    (WindyReferenceEnv, {"wind_power": -1.0}, "wind_power and wind_half_cone must be >= 0"),
    (WindyReferenceEnv, {"goal_reward": float("nan")}, "goal_reward must be a finite real number"),
    (MultipleReferencesEnv, {"n_references": 1}, "n_references must be an integer >= 2"),
    (MultipleReferencesEnv, {"n_good": 2}, "n_good must be < n_references=2, got 2"),
    (MultipleReferencesEnv, {"render_mode": "human"}, r"render_mode must be None or one of \['rgb_array'\]"),
])
def test_bad_arguments_name_the_valid_values(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
