"""NmdRecurrentPolicy: the modulated layer by hand, the main network's inputs, sequences and
resets, predict, save/load, the context statistics, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from agents_envs import make_noise_env
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.vec_env import DummyVecEnv

from brc_rl.agents import (
    ALGORITHMS,
    MemoryMonitor,
    ModulatedLinear,
    ModulatedMLP,
    NmdExtractor,
    NmdRecurrentPolicy,
    RecurrentA2C,
    RecurrentPPO,
)
from brc_rl.envs.wrappers import PrevActionReward

pytestmark = pytest.mark.usefixtures("one_torch_thread")
N_ENVS, N_STEPS = 3, 16
ATOL = 2e-6  # float32 rounding between one-step and whole-sequence calls (as tests/agents/test_sequences.py)


def noise_env(box: bool = False, n_envs: int = N_ENVS, seed: int = 0) -> DummyVecEnv:
    env = DummyVecEnv([lambda: PrevActionReward(make_noise_env(box_actions=box)) for _ in range(n_envs)])
    env.seed(seed)
    return env


def nmd(cell: str = "gru", box: bool = False, shared: bool = False, algo=RecurrentPPO, **kwargs):
    policy_kwargs = dict(cell=cell, hidden_size=16, num_layers=2, shared_memory=shared, net_arch=[8, 4],
                         context_size=3) | kwargs.pop("policy_kwargs", {})
    if algo is RecurrentPPO:
        kwargs = dict(batch_size=N_STEPS, n_epochs=2) | kwargs
    return algo("NmdRecurrentPolicy", kwargs.pop("env", None) or noise_env(box), n_steps=N_STEPS, seed=0,
                device="cpu", policy_kwargs=policy_kwargs, **kwargs)


def collect(model, n_rollouts: int = 1):
    _, callback = model._setup_learn(10**6, None)
    for _ in range(n_rollouts):
        assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
    return model.rollout_buffer


def parameters(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


# --------------------------------------------------------------------------- layers by hand
def test_modulated_linear_is_its_equation():
    layer = ModulatedLinear(2, 2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [0.5, -1.0]]))
        layer.weight_scale.copy_(torch.tensor([[0.5], [-1.0]]))
        layer.weight_shift.copy_(torch.tensor([[2.0], [0.0]]))
        layer.bias.copy_(torch.tensor([0.1, -0.2]))
    x, z = torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0]])
    # W x = [3, -0.5]; 1 + W_s z = [2, -1]; W_b z = [4, 0]
    expected = torch.tensor([[3.0 * 2.0 + 0.1 + 4.0, -0.5 * -1.0 - 0.2 + 0.0]])
    torch.testing.assert_close(layer(x, z), expected)


def test_init_is_the_authors_truncated_normal():
    layer = ModulatedLinear(200, 100, 50)
    for weight in (layer.weight, layer.weight_scale, layer.weight_shift):
        assert weight.abs().max() <= 0.2
        assert 0.08 < weight.std().item() < 0.095  # N(0, 0.1^2) cut at 2 std has std 0.088
    assert not layer.bias.any()


def test_main_network_clips_hidden_layers_and_modulates_by_chunks():
    net = ModulatedMLP(2, [3], [1, 2], context_size=2)
    x, z = torch.tensor([[4.0, -3.0]]), torch.tensor([[0.5, 1.0, -2.0, 3.0]])
    with torch.no_grad():
        net.hidden[0].weight.mul_(30)  # saturate some units
        hidden = torch.clamp(net.hidden[0](x, z[:, :2]), -1, 1)
        outputs = net(x, z)
    assert (hidden.abs() == 1).any() and net.context_features == 4
    assert [o.shape for o in outputs] == [(1, 1), (1, 2)]
    for head, out in zip(net.heads, outputs):
        torch.testing.assert_close(out, head(hidden, z[:, 2:]))


# --------------------------------------------------------------------------- the policy's heads
def test_gaussian_heads_mean_and_log_variance():
    policy = nmd(box=True).policy
    features, out = torch.randn(5, policy.features_dim), torch.randn(5, 16)
    with torch.no_grad():
        dist, z = policy._actor_head(features, out)
        mean, log_var = policy.actor_net(features[:, : policy.main_features_dim], policy.actor_context(out))
    assert z.shape == (5, 9) and (z >= 0).all()  # ReLU context, 3 chunks of 3
    torch.testing.assert_close(dist.distribution.mean, mean)
    torch.testing.assert_close(dist.distribution.stddev, torch.exp(0.5 * log_var - 0.5))


def obs_batch(policy, prev_action, prev_reward, obs=None) -> dict[str, torch.Tensor]:
    n = len(prev_action)
    return {"obs": torch.ones(n, 3) if obs is None else obs, "prev_action": torch.as_tensor(prev_action).float(),
            "prev_reward": torch.as_tensor(prev_reward).float().reshape(n, 1)}


def test_main_network_reads_the_observation_only():
    """Previous action and reward change the actions through z only: with z held fixed,
    they change nothing; the observation does."""
    policy = nmd(box=True).policy
    state, starts = policy.initial_state(2)[0], torch.zeros(1, 2, dtype=torch.bool)
    a = obs_batch(policy, [[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0])
    b = obs_batch(policy, [[0.9, -0.7], [-1.0, 0.3]], [5.0, -3.0])

    def mean_std(obs):
        with torch.no_grad():
            dist, _ = policy.get_distribution(obs, state, starts)
        return torch.cat([dist.distribution.mean, dist.distribution.stddev], 1)

    assert not torch.allclose(mean_std(a), mean_std(b))  # through the memory and z
    fixed_z = torch.rand(2, policy.actor_net.context_features)
    policy.actor_context.forward = lambda out: fixed_z
    torch.testing.assert_close(mean_std(a), mean_std(b), rtol=0, atol=0)
    c = obs_batch(policy, [[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0], obs=torch.full((2, 3), -1.0))
    assert not torch.allclose(mean_std(a), mean_std(c))


def test_extractor_layout_and_own_obs_extractor():
    space = noise_env().observation_space
    extractor = NmdExtractor(space, obs_extractor_class=FlattenExtractor)
    assert (extractor.features_dim, extractor.main_features_dim) == (3 + 3 + 1, 3)
    obs = obs_batch(None, [[0.0, 1.0, 0.0]], [2.0], obs=torch.tensor([[4.0, 5.0, 6.0]]))
    torch.testing.assert_close(extractor(obs), torch.tensor([[4.0, 5.0, 6.0, 0.0, 1.0, 0.0, 2.0]]))


# --------------------------------------------------------------------------- sequences and resets
@pytest.mark.parametrize("box", [False, True], ids=["discrete", "box"])
@pytest.mark.parametrize("shared", [False, True], ids=["separate", "shared"])
@pytest.mark.parametrize("cell", ["nbrc", "gru"])
def test_training_evaluation_reproduces_rollout(cell, shared, box):
    """Replaying each minibatch from the stored start state, with resets at episode starts,
    gives the rollout's log-probs and values; without the resets it does not."""
    model = nmd(cell, box=box, shared=shared, policy_kwargs=dict(net_arch=dict(pi=[8], vf=[])))
    buffer = collect(model, n_rollouts=2)
    for batch in buffer.get_sequences(1):
        assert batch.episode_starts[1:].any()
        actions = batch.actions if box else batch.actions.long().flatten()
        with torch.no_grad():
            ev = model.policy.evaluate_sequences(batch.observations, actions, batch.states, batch.episode_starts)
            no_reset = model.policy.evaluate_sequences(
                batch.observations, actions, batch.states, torch.zeros_like(batch.episode_starts))
        torch.testing.assert_close(ev.log_prob, batch.old_log_prob, rtol=0, atol=ATOL)
        torch.testing.assert_close(ev.values, batch.old_values, rtol=0, atol=ATOL)
        assert (no_reset.log_prob - batch.old_log_prob).abs().max() > 100 * ATOL


def test_stepwise_predict_equals_one_sequence_call():
    model = nmd("nbrc", box=True)
    env = noise_env(box=True, seed=1)
    obs, state, starts = env.reset(), None, np.ones(N_ENVS, dtype=bool)
    trace = []
    for _ in range(12):
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        trace.append((obs, starts, actions))
        obs, _, starts, _ = env.step(actions)
    sequence = {key: torch.as_tensor(np.concatenate([o[key] for o, _, _ in trace])) for key in trace[0][0]}
    all_starts = torch.as_tensor(np.stack([s for _, s, _ in trace]))
    assert all_starts[1:].any()
    with torch.no_grad():
        dist, h_n = model.policy.get_distribution(sequence, model.policy.initial_state(N_ENVS)[0], all_starts)
    np.testing.assert_allclose(dist.mode().numpy(), np.concatenate([a for _, _, a in trace]), rtol=0, atol=1e-5)
    np.testing.assert_allclose(state, h_n.numpy(), rtol=0, atol=ATOL)


# --------------------------------------------------------------------------- API
@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_trains_every_parameter_and_save_load_gives_identical_actions(algo, tmp_path):
    cls = ALGORITHMS[algo]
    model = nmd("nbrc", box=True, algo=cls)
    start = parameters(model)
    model.learn(4 * N_ENVS * N_STEPS)
    assert all(not torch.equal(a, b) for a, b in zip(start, parameters(model)))
    model.save(tmp_path / "nmd.zip")
    loaded = cls.load(tmp_path / "nmd.zip", device="cpu")
    assert isinstance(loaded.policy, NmdRecurrentPolicy) and loaded.policy.context_size == 3
    for a, b in zip(parameters(model), parameters(loaded)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    env_a, env_b = noise_env(box=True, seed=5), noise_env(box=True, seed=5)
    obs_a, obs_b, state_a, state_b = env_a.reset(), env_b.reset(), None, None
    starts = np.ones(N_ENVS, dtype=bool)
    for _ in range(10):
        action_a, state_a = model.predict(obs_a, state=state_a, episode_start=starts, deterministic=True)
        action_b, state_b = loaded.predict(obs_b, state=state_b, episode_start=starts, deterministic=True)
        np.testing.assert_array_equal(action_a, action_b)
        np.testing.assert_array_equal(state_a, state_b)
        obs_a, _, starts, _ = env_a.step(action_a)
        obs_b, _, _, _ = env_b.step(action_b)


def test_context_statistics_by_hand_and_on_the_rollout():
    monitor = MemoryMonitor(hidden_size=2, num_layers=1)
    monitor.record_context(torch.tensor([[0.0, 2.0]]))
    monitor.record_context(torch.tensor([[4.0, 2.0], [0.0, 4.0]]))
    assert monitor.summary() == pytest.approx({"memory/context_mean": 2.0, "memory/context_std": (16 / 6) ** 0.5})
    # One A2C minibatch: the logged values are those of the rollout's z before the update.
    model = nmd("nbrc", algo=RecurrentA2C)
    buffer = collect(model)
    (batch,) = buffer.get_sequences(N_ENVS)
    policy = model.policy
    with torch.no_grad():
        features = policy.extract_features(batch.observations)
        out, _, _ = policy._run_memory(policy.memory, features, batch.states[0], batch.episode_starts)
        z = policy.actor_context(out)
    model.train()
    logged = model.logger.name_to_value
    assert logged["memory/context_mean"] == pytest.approx(z.mean().item(), abs=1e-6)
    assert logged["memory/context_std"] == pytest.approx(z.std(unbiased=False).item(), abs=1e-6)
    assert "memory/layer1/bistable_fraction" in logged


def test_errors_name_what_is_expected():
    box_obs = DummyVecEnv([make_noise_env])
    with pytest.raises(ValueError, match=r"needs a Dict observation .*PrevActionReward\(env, mode='dict'\)"):
        RecurrentPPO("NmdRecurrentPolicy", box_obs, device="cpu")
    with pytest.raises(ValueError, match="set ortho_init=False and use_sde=False, got True, False"):
        nmd(policy_kwargs=dict(ortho_init=True))
    with pytest.raises(ValueError, match="must have main_features_dim"):
        nmd(policy_kwargs=dict(features_extractor_class=FlattenExtractor))
    with pytest.raises(ValueError, match="reads the observation already: features_to_head must be False"):
        nmd(policy_kwargs=dict(features_to_head=True))
    with pytest.raises(ValueError, match="unknown policy 'Nmd'; valid policies: .*NmdRecurrentPolicy"):
        RecurrentPPO("Nmd", noise_env(), device="cpu")
