"""SB3 API of brc_rl.agents: predict with state, save/load, seeding, A2C as PPO, every cell,
every policy kind, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from agents_envs import DictObs, ImageObs, RecallEnv
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.policies import ActorCriticPolicy

from brc_rl.agents import ALGORITHMS, RecurrentA2C, RecurrentActorCriticPolicy, RecurrentPPO

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CELLS = ["brc", "nbrc", "gru", "lstm", "lsnn", "src"]
N_ENVS, N_STEPS = 2, 16


def recall_env(n_envs: int = N_ENVS, wrapper=None, seed: int = 0):
    return make_vec_env(RecallEnv, n_envs=n_envs, seed=seed, env_kwargs=dict(delay=(1, 4)), wrapper_class=wrapper)


def ppo(env=None, cell: str = "nbrc", **kwargs) -> RecurrentPPO:
    policy_kwargs = dict(cell=cell, hidden_size=16, net_arch=[16], **kwargs.pop("policy_kwargs", {}))
    kwargs = dict(n_steps=N_STEPS, batch_size=N_STEPS, n_epochs=2, seed=0, device="cpu") | kwargs
    policy = kwargs.pop("policy", "MlpRecurrentPolicy")
    return RecurrentPPO(policy, env or recall_env(), policy_kwargs=policy_kwargs, **kwargs)


def parameters(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


def rollout_predictions(model, env, steps: int = 12):
    """Deterministic stepwise predict on env: (obs, episode starts, actions, final state)."""
    obs, state, starts = env.reset(), None, np.ones(env.num_envs, dtype=bool)
    trace = []
    for _ in range(steps):
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        trace.append((obs, starts, actions))
        obs, _, dones, _ = env.step(actions)
        starts = dones
    return trace, state


@pytest.mark.parametrize("cell", CELLS)
def test_stepwise_predict_equals_one_sequence_call(cell):
    model = ppo(cell=cell, policy_kwargs=dict(num_layers=2, ortho_init=False))
    env = recall_env(n_envs=3, seed=1)
    trace, state = rollout_predictions(model, env)
    L, N = len(trace), env.num_envs
    obs = torch.as_tensor(np.concatenate([o for o, _, _ in trace]))
    starts = torch.as_tensor(np.stack([s for _, s, _ in trace]))
    assert starts[1:].any()
    with torch.no_grad():
        dist, h_n = model.policy.get_distribution(obs, model.policy.initial_state(N)[0], starts)
    np.testing.assert_array_equal(dist.mode().numpy().reshape(L, N), np.stack([a for _, _, a in trace]))
    assert state.shape == (2, N, model.policy.memory.state_size)
    np.testing.assert_allclose(state, h_n.numpy(), rtol=0, atol=2e-6)


def test_predict_state_shape_errors():
    model = ppo()
    obs = recall_env().reset()
    with pytest.raises(ValueError, match=r"expected state of shape \(1, 2, 16\)"):
        model.predict(obs, state=np.zeros((1, 3, 16)))
    with pytest.raises(ValueError, match="expected episode_start of 2 values"):
        model.predict(obs, episode_start=np.zeros(3, dtype=bool))
    action, state = model.predict(obs[0])  # one unbatched observation
    assert np.shape(action) == () and state.shape == (1, 1, 16)


@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_save_load_identical_actions(algo, tmp_path):
    cls = ALGORITHMS[algo]
    kwargs = dict(n_steps=N_STEPS, seed=0, device="cpu", policy_kwargs=dict(cell="lstm", hidden_size=16))
    if algo == "ppo":
        kwargs |= dict(batch_size=N_STEPS, n_epochs=2)
    model = cls("MlpRecurrentPolicy", recall_env(), **kwargs).learn(128)
    model.save(tmp_path / "model.zip")
    loaded = cls.load(tmp_path / "model.zip", env=recall_env(), device="cpu")
    assert type(loaded) is cls and loaded.policy.cell == "lstm" and loaded.n_steps == N_STEPS
    for a, b in zip(parameters(model), parameters(loaded)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    (t1, s1), (t2, s2) = rollout_predictions(model, recall_env(seed=3)), rollout_predictions(loaded, recall_env(seed=3))
    for (_, _, a1), (_, _, a2) in zip(t1, t2):
        np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(s1, s2)
    loaded.learn(64)  # training resumes with the loaded optimizer


def test_policy_save_load(tmp_path):
    model = ppo(cell="brc", policy_kwargs=dict(shared_memory=True, num_layers=2))
    model.policy.save(tmp_path / "policy.pt")
    policy = RecurrentActorCriticPolicy.load(tmp_path / "policy.pt", device="cpu")
    assert (policy.cell, policy.num_layers, policy.shared_memory, policy.critic_memory) == ("brc", 2, True, None)
    obs = recall_env().reset()
    np.testing.assert_array_equal(policy.predict(obs)[1], model.policy.predict(obs)[1])


def test_same_seed_same_run():
    runs = [parameters(ppo(cell="nbrc", seed=7).learn(128)) for _ in range(2)]
    other = parameters(ppo(cell="nbrc", seed=8).learn(128))
    for a, b in zip(*runs):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(runs[0], other))


@pytest.mark.parametrize("cell", ["nbrc", "lstm"])
def test_a2c_update_equals_ppo_with_a2c_settings(cell):
    """Huang et al. 2022: PPO with one epoch, one full batch, no advantage normalisation,
    gae_lambda 1 and RMSprop makes A2C's update (the ratio is 1 on fresh data)."""
    rmsprop = dict(optimizer_class=torch.optim.RMSprop, optimizer_kwargs=dict(alpha=0.99, eps=1e-5, weight_decay=0))
    common = dict(n_steps=N_STEPS, seed=0, device="cpu", learning_rate=7e-4)
    policy_kwargs = dict(cell=cell, hidden_size=16, num_layers=2)
    a2c_settings = dict(batch_size=4 * N_STEPS, n_epochs=1, gae_lambda=1.0, normalize_advantage=False, clip_range=1e6)

    def run(model):  # built and trained in turn: they share torch's global generator
        start = parameters(model)
        return start, parameters(model.learn(2 * 4 * N_STEPS))  # two updates

    a2c = RecurrentA2C("MlpRecurrentPolicy", recall_env(n_envs=4), policy_kwargs=policy_kwargs, **common)
    start, after_a2c = run(a2c)
    start_ppo, after_as_a2c = run(RecurrentPPO(
        "MlpRecurrentPolicy", recall_env(n_envs=4), policy_kwargs=policy_kwargs | rmsprop, **common, **a2c_settings
    ))
    _, after_ppo = run(RecurrentPPO(
        "MlpRecurrentPolicy", recall_env(n_envs=4), policy_kwargs=policy_kwargs | rmsprop, **common,
        **(a2c_settings | dict(normalize_advantage=True)),
    ))
    assert isinstance(a2c.policy.optimizer, torch.optim.RMSprop)
    assert all(torch.equal(a, b) for a, b in zip(start, start_ppo))
    assert any(not torch.allclose(a, b) for a, b in zip(start, after_a2c))
    for a, b in zip(after_a2c, after_as_a2c):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(after_a2c, after_ppo))


@pytest.mark.parametrize("shared", [False, True], ids=["separate", "shared"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_every_cell_trains_saves_loads_predicts(algo, cell, shared, tmp_path):
    cls = ALGORITHMS[algo]
    kwargs = dict(n_steps=N_STEPS, seed=0, device="cpu",
                  policy_kwargs=dict(cell=cell, hidden_size=16, net_arch=[16], shared_memory=shared))
    if algo == "ppo":
        kwargs |= dict(batch_size=N_STEPS, n_epochs=2)
    model = cls("MlpRecurrentPolicy", recall_env(), **kwargs)
    start = parameters(model)
    model.learn(320)
    assert model.num_timesteps == 320
    changed = [not torch.equal(a, b) for a, b in zip(start, parameters(model))]
    assert all(changed), "every parameter, the memory's included, must be trained"
    assert (model.policy.critic_memory is None) == shared
    model.save(tmp_path / "m.zip")
    loaded = cls.load(tmp_path / "m.zip", device="cpu")
    obs = recall_env().reset()
    a1, s1 = model.predict(obs, deterministic=True)
    a2, s2 = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(s1, s2)


def test_a2c_defaults():
    model = RecurrentA2C("MlpRecurrentPolicy", recall_env(), device="cpu", policy_kwargs=dict(hidden_size=16))
    settings = (model.n_steps, model.n_epochs, model.batch_size, model.gae_lambda, model.normalize_advantage)
    assert settings == (32, 1, None, 1.0, False)
    assert model.learning_rate == 7e-4 and model.envs_per_batch == N_ENVS
    optimizer = model.policy.optimizer
    assert isinstance(optimizer, torch.optim.RMSprop)
    assert (optimizer.defaults["alpha"], optimizer.defaults["eps"]) == (0.99, 1e-5)


def test_cnn_policy_on_images(tmp_path):
    model = ppo(env=recall_env(wrapper=ImageObs), policy="CnnRecurrentPolicy",
                policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=32)))
    assert type(model.policy.features_extractor).__name__ == "NatureCNN"
    assert model.policy.memory.input_size == 32
    model.learn(64)
    image = recall_env(wrapper=ImageObs).reset()
    assert image.shape == (N_ENVS, 36, 36, 1)
    actions, state = model.predict(image, deterministic=True)
    assert actions.shape == (N_ENVS,) and state.shape == (1, N_ENVS, 16)


def test_multi_input_policy_on_dict_observations(tmp_path):
    model = ppo(env=recall_env(wrapper=DictObs), policy="MultiInputRecurrentPolicy", cell="gru")
    assert type(model.policy.features_extractor).__name__ == "CombinedExtractor"
    model.learn(64)
    model.save(tmp_path / "dict.zip")
    loaded = RecurrentPPO.load(tmp_path / "dict.zip", device="cpu")
    obs = recall_env(wrapper=DictObs).reset()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])


def test_separate_features_extractors():
    model = ppo(policy_kwargs=dict(share_features_extractor=False))
    assert model.policy.pi_features_extractor is not model.policy.vf_features_extractor
    model.learn(32)


@pytest.mark.parametrize("share", [True, False])
def test_features_to_head_feeds_the_features_beside_the_memory(share, tmp_path):
    model = ppo(policy_kwargs=dict(features_to_head=True, share_features_extractor=share))
    policy = model.policy
    features_dim = policy.features_dim
    assert policy.mlp_extractor.policy_net[0].in_features == 16 + features_dim  # hidden_size + features
    obs = torch.as_tensor(recall_env().reset())
    starts = torch.ones(1, N_ENVS, dtype=torch.bool)
    state = policy.initial_state(N_ENVS)
    (pi_features, out_pi), (vf_features, out_vf), _, _ = policy._sequences(obs, state, starts)
    latent = policy.mlp_extractor.forward_actor(torch.cat([out_pi, pi_features], dim=-1))  # by hand
    torch.testing.assert_close(policy._actor_head(pi_features, out_pi)[0].distribution.logits,
                               policy.action_net(latent).log_softmax(-1))
    values = policy.value_net(policy.mlp_extractor.forward_critic(torch.cat([out_vf, vf_features], dim=-1)))
    torch.testing.assert_close(policy._critic_head(vf_features, out_vf), values)
    model.learn(64)
    model.save(tmp_path / "model.zip")
    loaded = RecurrentPPO.load(tmp_path / "model.zip", device="cpu")
    assert loaded.policy.features_to_head
    np.testing.assert_array_equal(rollout_predictions(model, recall_env(seed=3))[1],
                                  rollout_predictions(loaded, recall_env(seed=3))[1])


def test_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match="unknown policy 'MlpLstmPolicy'; valid policies: MlpRecurrentPolicy, "
                                         "CnnRecurrentPolicy, MultiInputRecurrentPolicy"):
        ppo(policy="MlpLstmPolicy")
    with pytest.raises(ValueError, match="unknown cell 'rnn'; valid cells: brc, gru, lsnn, lstm, nbrc, src"):
        ppo(cell="rnn")
    with pytest.raises(ValueError, match="must be a RecurrentActorCriticPolicy subclass"):
        ppo(policy=ActorCriticPolicy)
    with pytest.raises(ValueError, match="shared_memory=True needs share_features_extractor=True"):
        ppo(policy_kwargs=dict(shared_memory=True, share_features_extractor=False))
    with pytest.raises(ValueError, match="batch_first"):
        ppo(policy_kwargs=dict(rnn_kwargs=dict(batch_first=True)))
    with pytest.raises(ValueError, match="clip_range_vf must be positive"):
        ppo(clip_range_vf=0.0)


def test_rnn_kwargs_reach_the_memory():
    model = ppo(policy_kwargs=dict(rnn_kwargs=dict(recurrent_init="orthogonal")))
    assert model.policy.memory.recurrent_init == "orthogonal"
    assert model.policy.critic_memory.recurrent_init == "orthogonal"


def test_sb3_callbacks_progress_bar_and_evaluate_policy(tmp_path):
    from stable_baselines3.common.callbacks import EvalCallback, StopTrainingOnMaxEpisodes
    from stable_baselines3.common.evaluation import evaluate_policy

    model = ppo()
    eval_callback = EvalCallback(recall_env(), n_eval_episodes=4, eval_freq=N_STEPS, log_path=str(tmp_path), verbose=0)
    model.learn(10 * N_ENVS * N_STEPS, callback=[eval_callback, StopTrainingOnMaxEpisodes(6)], progress_bar=True)
    assert model.num_timesteps < 10 * N_ENVS * N_STEPS  # stopped by episodes, read from the explicit locals
    assert eval_callback.evaluations_results and len(eval_callback.evaluations_successes[0]) == 4
    mean, _ = evaluate_policy(model, recall_env(), n_eval_episodes=6)
    assert 0.0 <= mean <= 1.0


def test_box_actions():
    model = ppo(env=make_vec_env("Pendulum-v1", n_envs=N_ENVS, seed=0))
    model.learn(2 * N_ENVS * N_STEPS)
    actions, _ = model.predict(model.env.reset())
    assert actions.shape == (N_ENVS, 1) and np.all(np.abs(actions) <= 2.0)
    assert "train/std" in model.logger.name_to_value


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("cell", CELLS)
def test_cuda_training_and_predict(cell):
    model = ppo(cell=cell, device="cuda", policy_kwargs=dict(num_layers=2))
    assert model.policy.memory.weight_ih_l0.is_cuda
    model.learn(2 * N_ENVS * N_STEPS)
    actions, state = model.predict(recall_env().reset(), deterministic=True)
    assert actions.shape == (N_ENVS,) and state.shape[1] == N_ENVS


def test_target_kl_stops_the_update_early():
    """Minibatch 1 sees the rollout's own policy (KL ~ 0) and steps; minibatch 2 sees the
    changed policy, exceeds 1.5 * target_kl and ends the update (SB3's rule)."""
    model = ppo(n_epochs=5, target_kl=1e-9)
    start = parameters(model)
    model.learn(N_ENVS * N_STEPS)
    assert model._n_updates == 1  # 5 epochs would make 5
    assert any(not torch.equal(a, b) for a, b in zip(start, parameters(model)))
    assert model.logger.name_to_value["train/approx_kl"] > 0  # mean over the two minibatches evaluated
