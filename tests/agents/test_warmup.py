"""Warm-up data of an agent: its own episodes, cut at their starts."""

import torch

import brc_rl.envs  # noqa: F401  (registers brc_rl/TMaze-v0)
from brc_rl.agents import RecurrentPPO, rollout_episodes, split_episodes


def test_split_episodes_cuts_at_starts_and_pads():
    features = torch.arange(12.0).view(4, 3, 1)  # (T=4, E=3, F=1): value = 3 t + e
    starts = torch.zeros(4, 3, dtype=torch.bool)
    starts[2, 0] = starts[1, 2] = starts[3, 2] = True
    episodes, lengths = split_episodes(features, starts)
    assert lengths.tolist() == [2, 2, 4, 1, 2, 1]
    assert episodes.shape == (4, 6, 1)
    assert episodes[:2, 0, 0].tolist() == [0.0, 3.0] and episodes[:2, 1, 0].tolist() == [6.0, 9.0]
    assert episodes[:, 2, 0].tolist() == [1.0, 4.0, 7.0, 10.0] and episodes[:2, 4, 0].tolist() == [5.0, 8.0]
    assert episodes[1:, 3].abs().sum() == 0  # padding


def test_rollout_episodes_give_each_memory_its_features():
    model = RecurrentPPO("MlpRecurrentPolicy", "brc_rl/TMaze-v0", n_steps=8, batch_size=8, seed=0,
                         policy_kwargs=dict(cell="gru", hidden_size=4, net_arch=[4], share_features_extractor=False))
    episodes = rollout_episodes(model, 40)
    assert set(episodes) == {"memory", "critic_memory"}
    x, lengths = episodes["memory"]
    assert x.shape[1] == lengths.numel() >= 2 and int(lengths.sum()) == 40  # one env, 40 steps
    assert x.shape[2] == model.policy.features_dim and model.num_timesteps == 0
