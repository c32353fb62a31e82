"""Sequence machinery of brc_rl.agents: resets at episode starts, whole-sequence minibatches,
time-out bootstrap through the memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from agents_envs import make_noise_env
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from brc_rl.agents import RecurrentA2C, RecurrentPPO, valid_batch_sizes
from brc_rl.agents.buffers import RecurrentRolloutBuffer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CELLS = ["brc", "nbrc", "gru", "lstm", "lsnn", "src"]
N_ENVS, N_STEPS = 3, 16
# The rollout computes one step at a time, training the whole sequence at once: the
# matrix products differ in batch size only, so outputs agree to float32 rounding.
ATOL = 2e-6


def make_model(cell: str, shared: bool, algo=RecurrentPPO, **kwargs):
    env = DummyVecEnv([make_noise_env for _ in range(N_ENVS)])
    env.seed(0)
    # ortho_init=False: large initial logits, so that a wrong state shows in the log-probs.
    policy_kwargs = dict(cell=cell, hidden_size=16, num_layers=2, shared_memory=shared, ortho_init=False)
    if algo is RecurrentPPO:
        kwargs.setdefault("batch_size", N_STEPS)
    return algo("MlpRecurrentPolicy", env, n_steps=N_STEPS, seed=0, device="cpu",
                policy_kwargs=policy_kwargs, **kwargs)


class RecordInfos(BaseCallback):
    """Keeps every step's infos, dones and memory states (from the explicit locals)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[dict] = []

    def _on_step(self) -> bool:
        self.steps.append({k: self.locals[k] for k in ("infos", "dones", "states", "rewards")})
        return True


def collect(model, n_rollouts: int = 1, callback: BaseCallback | None = None):
    _, callback = model._setup_learn(10**6, callback)
    for _ in range(n_rollouts):
        assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
    return model.rollout_buffer


@pytest.mark.parametrize("shared", [False, True], ids=["separate", "shared"])
@pytest.mark.parametrize("cell", CELLS)
def test_training_evaluation_reproduces_rollout(cell, shared):
    """Before any update, replaying each minibatch's sequences from the stored start state,
    with resets at episode starts, gives the log-probs and values of the rollout; without
    the resets it does not. The second rollout starts mid-episode (carried state)."""
    model = make_model(cell, shared)
    buffer = collect(model, n_rollouts=2)
    for envs_per_batch in (1, N_ENVS):
        for batch in buffer.get_sequences(envs_per_batch):
            assert batch.episode_starts.shape == (N_STEPS, envs_per_batch)
            assert batch.episode_starts[1:].any(), "the test needs episodes ending mid-rollout"
            actions = batch.actions.long().flatten()
            with torch.no_grad():
                ev = model.policy.evaluate_sequences(batch.observations, actions, batch.states, batch.episode_starts)
                no_reset = model.policy.evaluate_sequences(
                    batch.observations, actions, batch.states, torch.zeros_like(batch.episode_starts)
                )
            torch.testing.assert_close(ev.log_prob, batch.old_log_prob, rtol=0, atol=ATOL)
            torch.testing.assert_close(ev.values, batch.old_values, rtol=0, atol=ATOL)
            assert (no_reset.log_prob - batch.old_log_prob).abs().max() > 100 * ATOL


@pytest.mark.parametrize("cell", CELLS)
def test_rollout_resets_state_at_episode_starts(cell):
    """Every episode that starts inside the rollout has the log-probs of the same episode
    played alone from a zero state: nothing leaks across episode boundaries."""
    model = make_model(cell, shared=False)
    buffer = collect(model)
    starts = buffer.episode_starts > 0.5
    checked = 0
    for env in range(N_ENVS):
        bounds = [*np.flatnonzero(starts[:, env]), N_STEPS]
        for begin, end in zip(bounds[:-1], bounds[1:]):
            obs = torch.as_tensor(buffer.observations[begin:end, env])
            actions = torch.as_tensor(buffer.actions[begin:end, env]).long().flatten()
            zero = model.policy.initial_state(1)
            no_resets = torch.zeros(end - begin, 1, dtype=torch.bool)
            with torch.no_grad():
                ev = model.policy.evaluate_sequences(obs, actions, zero, no_resets)
            expected = torch.as_tensor(buffer.log_probs[begin:end, env])
            torch.testing.assert_close(ev.log_prob, expected, rtol=0, atol=ATOL)
            torch.testing.assert_close(ev.values, torch.as_tensor(buffer.values[begin:end, env]), rtol=0, atol=ATOL)
            checked += 1
    assert checked >= 2 * N_ENVS


def test_every_step_in_exactly_one_minibatch_per_epoch():
    """Minibatches are whole environment sequences: each (t, env) appears once, in time
    order, with its own episode-start flag and its environment's initial state."""
    model = make_model("gru", shared=False, batch_size=N_STEPS)
    buffer = collect(model)
    ids = np.arange(N_STEPS * N_ENVS, dtype=np.float32).reshape(N_STEPS, N_ENVS)
    buffer.returns[:] = ids  # tag every step with its (t, env) id
    seen = []
    for batch in buffer.get_sequences(1):
        returns = batch.returns.numpy()
        env = int(returns[0]) % N_ENVS
        np.testing.assert_array_equal(returns, ids[:, env])
        np.testing.assert_array_equal(batch.episode_starts.numpy()[:, 0], buffer.episode_starts[:, env] > 0.5)
        torch.testing.assert_close(batch.states, buffer.initial_states[:, :, env : env + 1], rtol=0, atol=0)
        seen.extend(returns.tolist())
    assert sorted(seen) == ids.flatten().tolist()


def test_sequences_are_time_major():
    """Row t * n + j of a minibatch is step t of its j-th environment."""
    model = make_model("brc", shared=True, batch_size=N_STEPS * N_ENVS)
    buffer = collect(model)
    buffer.returns[:] = np.arange(N_STEPS * N_ENVS, dtype=np.float32).reshape(N_STEPS, N_ENVS)
    (batch,) = buffer.get_sequences(N_ENVS)
    returns = batch.returns.numpy().reshape(N_STEPS, N_ENVS)
    order = (returns[0] % N_ENVS).astype(int)
    np.testing.assert_array_equal(returns, buffer.returns[:, order])
    obs = batch.observations.numpy().reshape(N_STEPS, N_ENVS, -1)
    np.testing.assert_array_equal(obs, buffer.observations[:, order])


def test_get_sequences_errors():
    model = make_model("gru", shared=False)
    with pytest.raises(ValueError, match="full buffer"):
        next(model.rollout_buffer.get_sequences(1))
    buffer = collect(model)
    with pytest.raises(ValueError, match="must divide n_envs=3, got 2"):
        next(buffer.get_sequences(2))
    assert isinstance(buffer, RecurrentRolloutBuffer)


@pytest.mark.parametrize("batch_size", [8, 24, 32, 64])
def test_invalid_batch_size_lists_valid_values(batch_size):
    assert valid_batch_sizes(N_STEPS, N_ENVS) == [16, 48]
    with pytest.raises(ValueError, match=r"valid values: \[16, 48\]; got " + str(batch_size)):
        make_model("gru", shared=False, batch_size=batch_size)


def test_valid_batch_sizes_and_full_batch():
    assert make_model("gru", shared=False, batch_size=48).envs_per_batch == 3
    assert make_model("gru", shared=False, batch_size=None).envs_per_batch == 3
    assert make_model("gru", shared=False, algo=RecurrentA2C).envs_per_batch == 3
    assert valid_batch_sizes(4, 12) == [4, 8, 12, 16, 24, 48]


@pytest.mark.parametrize("shared", [False, True], ids=["separate", "shared"])
def test_timeout_bootstrap_goes_through_critic_memory(shared):
    """A truncated episode's last reward (0 in NoiseEnv) becomes gamma * V(terminal obs),
    V computed by the critic memory continuing from its state after that step."""
    model = make_model("nbrc", shared)
    recorder = RecordInfos()
    buffer = collect(model, callback=recorder)
    truncated = 0
    for t, step in enumerate(recorder.steps):
        for env, info in enumerate(step["infos"]):
            if not (step["dones"][env] and info.get("TimeLimit.truncated", False)):
                assert buffer.rewards[t, env] == 0.0
                continue
            obs = torch.as_tensor(info["terminal_observation"]).unsqueeze(0)
            state = step["states"][:, :, env : env + 1]
            with torch.no_grad():
                value = model.policy.predict_values(obs, state, torch.zeros(1, 1, dtype=torch.bool)).item()
                no_reset = torch.zeros(1, 1, dtype=torch.bool)
                cold = model.policy.predict_values(obs, torch.zeros_like(state), no_reset).item()
            assert buffer.rewards[t, env] == pytest.approx(model.gamma * value, abs=1e-6)
            assert abs(value - cold) > 1e-4  # the memory state matters
            truncated += 1
    assert truncated > 0
