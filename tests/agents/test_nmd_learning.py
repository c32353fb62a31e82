"""Learning: the NMD net infers the moving target's hidden offset from its rewards.

Episodes of 10 steps, offset ~ U[-5, 5], margin 1. A policy that sees only the position p
can only guess p + c; its best expected return is that of c = 0, computed below (-4.0 per
episode). Guessing, reading the reward (the distance) and guessing again finds the offset
within two or three steps and then hits every step (about +75 per episode at best).
"""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from brc_rl.agents import RecurrentPPO
from brc_rl.envs.moving_target import HIT_REWARD
from brc_rl.envs.wrappers import PrevActionReward

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

OFFSET, EPISODE, N_ENVS = 5.0, 10, 8


def moving_target(seed: int):
    return make_vec_env("brc_rl/MovingTarget-v0", n_envs=N_ENVS, seed=seed, wrapper_class=PrevActionReward,
                        wrapper_kwargs=dict(reward_scale=0.1),
                        env_kwargs=dict(offset_range=OFFSET, max_episode_steps=EPISODE))


def best_return_without_memory(offset: float = OFFSET, margin: float = 1.0) -> float:
    """Expected return of guessing p + 0 every step, offset ~ U[-offset, offset] (offset >= margin):
    a hit (|offset| < margin) pays 10, a miss -|offset|."""
    hit = margin / offset
    miss = -(offset**2 - margin**2) / (2 * offset)  # E[-|o|; |o| >= margin]
    return EPISODE * (HIT_REWARD * hit + miss)


def mean_return(model, n_episodes: int = 80) -> float:
    env = moving_target(seed=1000)
    obs, state, starts = env.reset(), None, np.ones(N_ENVS, dtype=bool)
    returns, running = [], np.zeros(N_ENVS)
    while len(returns) < n_episodes:
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        obs, rewards, starts, _ = env.step(actions)
        running += rewards
        returns += running[starts].tolist()
        running[starts] = 0.0
    return float(np.mean(returns))


def test_nmd_net_infers_the_offset_that_a_memoryless_policy_cannot():
    bound = best_return_without_memory()
    assert bound == pytest.approx(-4.0)
    env = VecNormalize(moving_target(seed=0), norm_obs=False, gamma=0.9)
    model = RecurrentPPO(
        "NmdRecurrentPolicy", env, n_steps=4 * EPISODE, batch_size=8 * EPISODE, n_epochs=4, learning_rate=3e-3,
        gamma=0.9, gae_lambda=0.95, seed=0, device="cpu",
        policy_kwargs=dict(cell="nbrc", hidden_size=50, net_arch=[10], context_size=10, log_std_init=-1.0),
    )
    result = mean_return(model.learn(40_000))
    print(f"NMD net (nBRC) mean return after 40,000 steps: {result:.1f}; best without memory: {bound:.1f}")
    assert result > bound + 10
