"""MiniGridMemoryEnv (the cue leaves a 3x3 view before the decision) and MiniGridCNN with SB3."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from minigrid.core.actions import Actions
from minigrid.core.constants import OBJECT_TO_IDX
from minigrid.wrappers import ImgObsWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import VecTransposeImage
from torch import nn

from brc_rl.agents import MiniGridCNN
from brc_rl.envs import MiniGridMemoryEnv
from brc_rl.envs.wrappers import PrevActionReward

CUE_CODES = (OBJECT_TO_IDX["key"], OBJECT_TO_IDX["ball"])


def _has_cue_object(obs: np.ndarray) -> bool:
    return bool(np.isin(obs[..., 0], CUE_CODES).any())


def _walk_to_junction(env: MiniGridMemoryEnv) -> np.ndarray:
    """Walk forward (facing right) to the end of the hallway; return the last observation."""
    junction = (env.success_pos[0], env.height // 2)
    obs = None
    while tuple(env.agent_pos) != junction:
        obs, _, terminated, truncated, _ = env.step(Actions.forward)
        assert not (terminated or truncated)
    return obs


@pytest.mark.parametrize(("size", "random_length"), [(7, False), (9, False), (13, True)])
def test_cue_is_out_of_a_3x3_view_at_the_decision_point(size, random_length):
    for seed in range(20):
        env = MiniGridMemoryEnv(size=size, random_length=random_length, agent_view_size=3)
        obs, _ = env.reset(seed=seed)
        assert obs.shape == (3, 3, 3) and obs.dtype == np.uint8
        if tuple(env.agent_pos) == (env.success_pos[0], size // 2):
            continue  # started at the junction already
        obs = _walk_to_junction(env)
        assert env.observation_space.contains(obs)
        assert not _has_cue_object(obs), (seed, obs[..., 0])


def test_cue_is_visible_with_a_7x7_view_in_the_start_room():
    checked = 0
    for seed in range(40):
        env = MiniGridMemoryEnv(size=9, agent_view_size=7)
        env.reset(seed=seed)
        if env.agent_pos[0] > 3:  # not in the start room
            continue
        obs = env.step(Actions.left)[0]  # face up, towards the cue
        assert obs.shape == (7, 7, 3)
        assert _has_cue_object(obs)
        cue = env.grid.get(1, env.height // 2 - 1)
        assert OBJECT_TO_IDX[cue.type] in obs[..., 0]
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("go_to_match", [True, False])
def test_is_success_and_reward_at_the_end_objects(go_to_match):
    env = MiniGridMemoryEnv(size=9, agent_view_size=3)
    env.reset(seed=2)
    _walk_to_junction(env)
    target = env.success_pos if go_to_match else env.failure_pos
    up = target[1] < env.height // 2
    env.step(Actions.left if up else Actions.right)
    _, reward, terminated, truncated, info = env.step(Actions.forward)
    assert terminated and not truncated
    assert info["is_success"] is go_to_match
    if go_to_match:
        assert reward == pytest.approx(1 - 0.9 * env.step_count / env.max_steps)
    else:
        assert reward == 0.0


def test_time_limit_is_five_size_squared():
    env = gym.make("brc_rl/MiniGridMemory-v0", size=7)
    env.reset(seed=0)
    for step in range(1, 5 * 49 + 1):
        _, _, terminated, truncated, info = env.step(Actions.left)
        assert not terminated and not info["is_success"]
        assert truncated == (step == 245)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 8}, "size must be an odd integer >= 7, got 8"),
        ({"size": 5}, "size must be an integer >= 7, got 5"),
        ({"agent_view_size": 4}, "agent_view_size must be an odd integer >= 3, got 4"),
        ({"agent_view_size": 1}, "agent_view_size must be an integer >= 3, got 1"),
        ({"random_length": 1}, "random_length must be a bool"),
        ({"max_steps": 0}, "max_steps must be an integer >= 1"),
        ({"n_actions": 4}, r"n_actions must be one of \(3, 7\), got 4"),
        ({"n_actions": True}, r"n_actions must be one of \(3, 7\), got True"),
        ({"cue_start_prob": 1.5}, r"cue_start_prob must be a number in \[0, 1\], got 1.5"),
        ({"cue_start_prob": "0.5"}, r"cue_start_prob must be a number in \[0, 1\], got '0.5'"),
        ({"cue_start_prob": True}, r"cue_start_prob must be a number in \[0, 1\], got True"),
    ],
)
def test_bad_kwargs_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MiniGridMemoryEnv(**kwargs)


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_cue_start_prob_moves_that_share_of_starts_to_the_cue_column(p):
    env = MiniGridMemoryEnv(size=9, cue_start_prob=p)
    starts, seen = [], []
    for seed in range(600):
        obs, _ = env.reset(seed=seed)
        starts.append(int(env.agent_pos[0]))
        seen.append(_has_cue_object(obs))
        assert env.agent_pos[1] == env.height // 2 and env.agent_dir == 0
    first = np.mean(np.array(starts) == 1)
    assert first == pytest.approx(p + (1 - p) / 6, abs=0.06)  # 6 start columns at size 9
    assert seen == [s == 1 for s in starts]  # the cue is in view exactly from the first column
    assert set(starts) == ({1} if p == 1 else set(range(1, 7)))
    check_env(MiniGridMemoryEnv(size=9, cue_start_prob=p), skip_render_check=True)


def test_three_actions_turn_and_move_as_minigrids_first_three():
    full, small = MiniGridMemoryEnv(size=9), MiniGridMemoryEnv(size=9, n_actions=3)
    assert full.action_space.n == 7 and small.action_space.n == 3
    for env in (full, small):
        env.reset(seed=3)
    for action in [2, 0, 0, 2, 1, 2, 1, 1, 2]:
        obs_full = full.step(action)[0]
        obs_small = small.step(action)[0]
        np.testing.assert_array_equal(obs_full, obs_small)
        assert tuple(full.agent_pos) == tuple(small.agent_pos) and full.agent_dir == small.agent_dir
    check_env(MiniGridMemoryEnv(size=9, n_actions=3), skip_render_check=True)


# MiniGridCNN ---------------------------------------------------------------------------


def test_cnn_one_hot_separates_neighbouring_codes_and_checks_bounds():
    space = MiniGridMemoryEnv(agent_view_size=3).observation_space
    extractor = MiniGridCNN(space, features_dim=8, one_hot=True)
    assert extractor.cnn[0].in_channels == 20
    codes = torch.zeros(2, 3, 3, 3, dtype=torch.long)
    codes[0, 0, 0, 0], codes[1, 0, 0, 0] = OBJECT_TO_IDX["key"], OBJECT_TO_IDX["ball"]
    encoded = extractor._one_hot(codes)
    assert encoded.shape == (2, 3, 3, 20) and torch.equal(encoded.sum(-1), torch.full((2, 3, 3), 3))
    assert encoded[0, 0, 0, OBJECT_TO_IDX["key"]] == 1 and encoded[0, 0, 0, OBJECT_TO_IDX["ball"]] == 0
    assert encoded[1, 0, 0, OBJECT_TO_IDX["ball"]] == 1
    assert extractor(codes).shape == (2, 8)
    codes[0, 1, 1, 1] = 6  # colour codes stop at 5
    with pytest.raises(ValueError, match="codes must lie in"):
        extractor(codes)


def test_cnn_reads_a_dict_with_the_previous_action():
    env = PrevActionReward(MiniGridMemoryEnv(size=9, n_actions=3), mode="dict")
    extractor = MiniGridCNN(env.observation_space, features_dim=16, one_hot=True)
    assert extractor.extra_keys == ["prev_action", "prev_reward"]
    obs, _ = env.reset(seed=0)
    batch = {k: torch.as_tensor(v)[None] for k, v in obs.items()}
    base = extractor(batch)
    batch["prev_action"] = torch.tensor([[0.0, 1.0, 0.0]])
    assert base.shape == (1, 16) and not torch.equal(extractor(batch), base)
    with pytest.raises(ValueError, match="grid under 'obs'"):
        MiniGridCNN(spaces.Dict({"image": env.observation_space["obs"]}))


@pytest.mark.parametrize(("view", "n_convs"), [(3, 2), (5, 3), (7, 3)])
def test_cnn_feature_shape(view, n_convs):
    space = MiniGridMemoryEnv(agent_view_size=view).observation_space
    extractor = MiniGridCNN(space, features_dim=48)
    obs = torch.as_tensor(np.stack([space.sample() for _ in range(5)]))
    assert extractor(obs).shape == (5, 48)
    assert sum(isinstance(m, nn.Conv2d) for m in extractor.cnn) == n_convs


def test_cnn_reads_channels_first_and_last_alike():
    last = MiniGridCNN(spaces.Box(0, 255, (7, 7, 3), np.uint8))
    first = MiniGridCNN(spaces.Box(0, 255, (3, 7, 7), np.uint8))
    first.load_state_dict(last.state_dict())
    x = torch.randint(0, 11, (4, 7, 7, 3))
    torch.testing.assert_close(first(x.permute(0, 3, 1, 2)), last(x))
    assert last.channels_last and not first.channels_last


@pytest.mark.parametrize("shape", [(7, 7), (7, 7, 4), (7, 6, 3), (4, 7, 7), (1, 1, 3)])
def test_cnn_rejects_other_spaces(shape):
    with pytest.raises(ValueError, match="expected"):
        MiniGridCNN(spaces.Box(0, 255, shape, np.uint8))


def _ppo(env: gym.Env, policy: str, **policy_kwargs) -> PPO:
    return PPO(
        policy,
        env,
        n_steps=32,
        batch_size=32,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs=dict(
            features_extractor_class=MiniGridCNN, features_extractor_kwargs=dict(features_dim=32), **policy_kwargs
        ),
    )


def _extractor_input(model: PPO, obs: np.ndarray) -> torch.Tensor:
    """What the features extractor receives when the policy acts on ``obs``."""
    seen = []
    hook = model.policy.features_extractor.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model.predict(obs, deterministic=True)
    hook.remove()
    return seen[0][0]


@pytest.mark.parametrize("view", [3, 7])
@pytest.mark.parametrize("policy", ["CnnPolicy", "MlpPolicy"])
def test_sb3_feeds_raw_codes_and_learns(view, policy):
    env = gym.make("brc_rl/MiniGridMemory-v0", size=7, agent_view_size=view)
    model = _ppo(env, policy)
    assert not isinstance(model.get_env(), VecTransposeImage)
    obs, _ = env.reset(seed=0)
    # Not divided by 255, not transposed: the codes themselves, (v, v, 3).
    torch.testing.assert_close(_extractor_input(model, obs), torch.as_tensor(obs).float())
    before = [p.detach().clone() for p in model.policy.features_extractor.parameters()]
    model.learn(total_timesteps=32)
    after = list(model.policy.features_extractor.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after))


def test_sb3_on_a_plain_imgobs_env_with_normalize_images_false():
    # MiniGrid's own 0-255 space: SB3 transposes it to (3, 7, 7); the extractor follows.
    env = ImgObsWrapper(gym.make("MiniGrid-MemoryS7-v0"))
    model = _ppo(env, "CnnPolicy", normalize_images=False)
    assert isinstance(model.get_env(), VecTransposeImage)
    assert not model.policy.features_extractor.channels_last
    obs, _ = env.reset(seed=0)
    seen = _extractor_input(model, obs)
    torch.testing.assert_close(seen, torch.as_tensor(obs).float().permute(2, 0, 1))
    model.learn(total_timesteps=32)


def test_cue_start_prob_may_change_between_episodes_and_is_validated_as_in_the_constructor():
    env = MiniGridMemoryEnv(size=9)
    env.cue_start_prob = 1.0  # what env.schedules does, through the wrappers
    env.reset(seed=0)
    assert env.agent_pos[0] == 1
    with pytest.raises(ValueError, match=r"cue_start_prob must be a number in \[0, 1\], got 1.5"):
        env.cue_start_prob = 1.5
    assert env.cue_start_prob == 1.0
