"""Learning on a memory task: RecallEnv (report a bit shown 9 steps earlier).

A feed-forward policy sees the same query observation whatever the bit: its success rate
cannot exceed 0.5 in expectation (deterministic: exactly the share of one bit). A policy
with memory can reach 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from agents_envs import RecallEnv
from sb3_contrib import RecurrentPPO as ContribRecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from brc_rl.agents import RecurrentA2C, RecurrentPPO

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

DELAY, N_ENVS = 8, 8
# Shared by every PPO below (ours, sb3-contrib's, SB3's feed-forward one).
PPO_KWARGS = dict(n_steps=32, batch_size=64, n_epochs=4, learning_rate=1e-3, ent_coef=0.01, device="cpu")
THRESHOLD = 0.95


def recall_env(seed: int = 0):
    return make_vec_env(RecallEnv, n_envs=N_ENVS, seed=seed, env_kwargs=dict(delay=DELAY))


def success_rate(model, n_episodes: int = 200, seed: int = 123) -> float:
    """Deterministic success rate over n_episodes, carrying the state as SB3's evaluate_policy does."""
    env = recall_env(seed)
    obs, state, starts = env.reset(), None, np.ones(N_ENVS, dtype=bool)
    rewards, episodes = 0.0, 0
    while episodes < n_episodes:
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        obs, reward, starts, _ = env.step(actions)
        rewards += reward.sum()
        episodes += starts.sum()
    return float(rewards / episodes)


def test_recurrent_agents_clear_what_feedforward_cannot():
    steps = 16_384
    feedforward = PPO("MlpPolicy", recall_env(), seed=0, policy_kwargs=dict(net_arch=[32]), **PPO_KWARGS)
    rates = {"ppo-mlp": success_rate(feedforward.learn(steps))}
    for cell in ("nbrc", "brc"):
        model = RecurrentPPO("MlpRecurrentPolicy", recall_env(), seed=0,
                             policy_kwargs=dict(cell=cell, hidden_size=32, net_arch=[32]), **PPO_KWARGS)
        rates[f"ppo-{cell}"] = success_rate(model.learn(steps))
    a2c = RecurrentA2C("MlpRecurrentPolicy", recall_env(), n_steps=32, learning_rate=1e-3, ent_coef=0.01,
                       seed=0, device="cpu", policy_kwargs=dict(cell="nbrc", hidden_size=32, net_arch=[32]))
    rates["a2c-nbrc"] = success_rate(a2c.learn(steps))
    print(f"success rates after {steps} steps: {rates}")
    assert rates["ppo-mlp"] < 0.6
    assert all(rate >= THRESHOLD for name, rate in rates.items() if name != "ppo-mlp"), rates


def test_our_lstm_learns_what_sb3_contrib_lstm_learns():
    steps = 32_768
    ours = RecurrentPPO("MlpRecurrentPolicy", recall_env(), seed=0,
                        policy_kwargs=dict(cell="lstm", hidden_size=32, net_arch=[32]), **PPO_KWARGS)
    theirs = ContribRecurrentPPO("MlpLstmPolicy", recall_env(), seed=0,
                                 policy_kwargs=dict(lstm_hidden_size=32, net_arch=[32]), **PPO_KWARGS)
    rates = {"brc_rl lstm": success_rate(ours.learn(steps)), "sb3-contrib lstm": success_rate(theirs.learn(steps))}
    print(f"success rates after {steps} steps: {rates}")
    assert rates["sb3-contrib lstm"] >= THRESHOLD, (
        "the reference must learn the task for the comparison to mean anything")
    assert rates["brc_rl lstm"] >= THRESHOLD
