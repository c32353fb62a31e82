"""The memory/layer{k}/<stat> statistics of RL: values against hand and independent
computations, and their presence in the tensorboard event files."""

from __future__ import annotations

import pytest
import torch
from agents_envs import RecallEnv
from stable_baselines3.common.env_util import make_vec_env
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from brc_rl.agents import MemoryMonitor, RecurrentA2C, RecurrentPPO
from brc_rl.nn import memory_key

pytestmark = pytest.mark.usefixtures("one_torch_thread")
N_ENVS, N_STEPS = 2, 16


def recall_env():
    return make_vec_env(RecallEnv, n_envs=N_ENVS, seed=0, env_kwargs=dict(delay=(1, 4)))


def test_monitor_by_hand():
    monitor = MemoryMonitor(hidden_size=2, num_layers=1)
    assert monitor.summary() == {}
    # lstm-like states [h | c]: only h (the first 2 entries) counts.
    monitor.record_state(torch.tensor([[[1.0, -3.0, 100.0, 100.0]]]))
    monitor.record_state(torch.tensor([[[0.0, 2.0, -100.0, 7.0]]]))
    monitor.record_gates([(torch.tensor([[[0.5, 1.5]]]), torch.tensor([[[0.2, 0.4]]]))])
    monitor.record_gates([(torch.tensor([[[1.0, 2.0], [1.2, 0.0]]]), torch.tensor([[[0.0, 0.0], [0.6, 0.8]]]))])
    summary = monitor.summary()
    assert summary == pytest.approx({
        "memory/layer0/state_abs_mean": 6.0 / 4,
        "memory/layer0/bistable_fraction": 3 / 6,  # 1.5, 2.0, 1.2 (a = 1 is not bistable)
        "memory/layer0/mean_a": 6.2 / 6,
        "memory/layer0/mean_c": 2.0 / 6,
    })


def test_monitor_by_hand_spiking_traces():
    monitor = MemoryMonitor(hidden_size=2, num_layers=1)
    monitor.record_gates([{"spike_rate": torch.tensor([[[1.0, 0.0]]])}])
    monitor.record_gates([{"spike_rate": torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])}])
    assert monitor.summary() == pytest.approx({"memory/layer0/spike_rate": 3 / 6})


def test_monitor_values_equal_a_pass_over_the_rollout():
    """With one minibatch, the gates are those of the rollout under the pre-update
    parameters; |h| is that of the states the rollout computed."""
    model = RecurrentA2C("MlpRecurrentPolicy", recall_env(), n_steps=N_STEPS, seed=0, device="cpu",
                         policy_kwargs=dict(cell="brc", hidden_size=8, num_layers=2, shared_memory=True))
    _, callback = model._setup_learn(10**6, None)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, N_STEPS)
    (batch,) = model.rollout_buffer.get_sequences(N_ENVS)
    policy = model.policy
    with torch.no_grad():
        features = policy.extract_features(batch.observations).reshape(N_STEPS, N_ENVS, -1)
        out, _, gates = policy.memory.forward_with_gates(features, batch.states[0], batch.episode_starts)
    model.train()
    logged = model.logger.name_to_value
    for k, (a, c) in enumerate(gates):
        assert logged[f"memory/layer{k}/bistable_fraction"] == pytest.approx((a > 1).float().mean().item(), abs=1e-6)
        assert logged[f"memory/layer{k}/mean_a"] == pytest.approx(a.mean().item(), abs=1e-6)
        assert logged[f"memory/layer{k}/mean_c"] == pytest.approx(c.mean().item(), abs=1e-6)
    assert logged["memory/layer1/state_abs_mean"] == pytest.approx(out.abs().mean().item(), abs=1e-6)
    assert 0 < logged["memory/layer0/state_abs_mean"] < 1


@pytest.mark.parametrize("cell, keys", [
    ("nbrc", ["bistable_fraction", "mean_a", "mean_c", "state_abs_mean"]),
    ("lstm", ["state_abs_mean"]),
    ("lsnn", ["firing_rate", "mean_adaptation", "state_abs_mean"]),
    ("src", ["spike_rate", "state_abs_mean"]),
])
def test_memory_keys_in_tensorboard(cell, keys, tmp_path):
    model = RecurrentPPO("MlpRecurrentPolicy", recall_env(), n_steps=N_STEPS, batch_size=N_STEPS, n_epochs=1,
                         seed=0, device="cpu", tensorboard_log=str(tmp_path),
                         policy_kwargs=dict(cell=cell, hidden_size=8, num_layers=2))
    model.learn(4 * N_ENVS * N_STEPS)
    (run,) = tmp_path.iterdir()
    assert run.name == "RecurrentPPO_1"
    events = EventAccumulator(str(run))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {f"memory/layer{k}/{key}" for key in keys for k in range(2)}
    assert expected == {memory_key(k, key) for key in keys for k in range(2)}
    assert {t for t in tags if t.startswith("memory/")} == expected
    assert {"train/value_loss", "train/policy_gradient_loss", "train/approx_kl", "rollout/ep_rew_mean",
            "time/fps"} <= tags
    for tag in expected:
        values = [event.value for event in events.Scalars(tag)]
        assert len(values) == 3  # updates 1-3 are dumped with rollouts 2-4
        if any(stat in tag for stat in ("bistable_fraction", "mean_c", "firing_rate", "spike_rate")):
            assert all(0 <= v <= 1 for v in values)
        if "mean_a" in tag:
            assert all(0 <= v <= 2 for v in values)
