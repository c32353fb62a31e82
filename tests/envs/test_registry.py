"""Every registered brc_rl id: env checker, same-seed determinism, pickle round trip."""

from __future__ import annotations

import importlib
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import brc_rl.envs

# Each registered id with its defaults, plus variants that change the spaces or dynamics.
CASES = [(env_id, {}) for env_id in brc_rl.envs.ENV_IDS] + [
    ("brc_rl/MetaBandit-v0", {"n_arms": 5, "n_pulls": 10}),
    ("brc_rl/MetaBandit-v0", {"prior": "hard"}),
    ("brc_rl/TMaze-v0", {"corridor_length": 3, "action_noise": 0.3}),
    ("brc_rl/MiniGridMemory-v0", {"size": 13, "random_length": True, "agent_view_size": 7}),
    ("brc_rl/MovingTarget-v0", {"offset_range": 2.0, "offset_change_prob": 0.5, "max_episode_steps": 20}),
    ("brc_rl/WindyReference-v0", {"wind_power": 0.5, "max_episode_steps": 30}),
    ("brc_rl/MultipleReferences-v0", {"n_references": 3, "n_good": 2, "max_episode_steps": 30}),
]
IDS = [f"{env_id}{kwargs or ''}" for env_id, kwargs in CASES]


def test_every_env_id_is_registered_and_listed():
    brc_ids = {env_id for env_id in gym.registry if env_id.startswith("brc_rl/")}
    assert brc_ids == set(brc_rl.envs.ENV_IDS) == {
        "brc_rl/MetaBandit-v0",
        "brc_rl/TMaze-v0",
        "brc_rl/MiniGridMemory-v0",
        "brc_rl/MovingTarget-v0",
        "brc_rl/WindyReference-v0",
        "brc_rl/MultipleReferences-v0",
    }


def test_reimport_registers_nothing_twice_and_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(brc_rl.envs)
    assert gym.spec("brc_rl/TMaze-v0").entry_point == brc_rl.envs.ENV_IDS["brc_rl/TMaze-v0"]


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=IDS)
def test_check_env_on_unwrapped_env(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=IDS)
def test_check_env_and_rollout_through_make(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    # The only warning allowed is the checker's note that ``env`` is wrapped.
    assert [str(w.message) for w in caught if "unwrapped" not in str(w.message)] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the PassiveEnvChecker that make() adds must stay silent
        env.action_space.seed(0)
        obs, _ = env.reset(seed=0)
        for _ in range(50):
            assert env.observation_space.contains(obs)
            obs, _, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                obs, _ = env.reset()


def _rollout(env: gym.Env, seed: int, n_steps: int) -> list:
    """Observations, rewards, flags and info values of ``n_steps`` seeded random steps."""
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    trace = [obs.copy()]
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace += [obs.copy(), reward, terminated, truncated, sorted(info.items(), key=str)]
        if terminated or truncated:
            obs, info = env.reset()
            trace.append(obs.copy())
    return trace


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else repr(x) == repr(y) for x, y in zip(a, b)
    )


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=IDS)
def test_same_seed_same_episodes(env_id, kwargs):
    first = _rollout(gym.make(env_id, **kwargs), seed=3, n_steps=300)
    second = _rollout(gym.make(env_id, **kwargs), seed=3, n_steps=300)
    assert _same(first, second)
    other = _rollout(gym.make(env_id, **kwargs), seed=4, n_steps=300)
    assert not _same(first, other)


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=IDS)
def test_pickled_env_continues_identically(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(1)
    env.reset(seed=1)
    for _ in range(2):
        env.step(env.action_space.sample())
    clone = pickle.loads(pickle.dumps(env))
    actions = [env.action_space.sample() for _ in range(200)]
    traces = []
    for e in (env, clone):
        trace = []
        for action in actions:
            obs, reward, terminated, truncated, info = e.step(action)
            trace += [obs.copy(), reward, terminated, truncated, sorted(info.items(), key=str)]
            if terminated or truncated:
                trace.append(e.reset()[0].copy())
        traces.append(trace)
    assert _same(*traces)
