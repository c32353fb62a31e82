"""Warm-up to multistability of a recurrent agent's memories, on its own initial behaviour.

The agent plays ``n_steps`` steps in each of its environments with its current (at the
start: untrained) policy; the features its extractor gives of what it saw are cut into
episodes, and every memory of the policy (the actor's ``memory`` and, if it has its own,
the ``critic_memory``) is warmed up on them (:func:`brc_rl.nn.warmup.warmup`) or measured
(:func:`brc_rl.nn.vaa`). These env steps are not counted in ``num_timesteps``.

Example:
    >>> model = RecurrentPPO("MlpRecurrentPolicy", "brc_rl/TMaze-v0", policy_kwargs=dict(cell="gru"))
    >>> records = warmup_policy(model, n_steps=256)  # doctest: +SKIP
    >>> records["memory"].after.overall  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv
from torch.nn.utils.rnn import pad_sequence

from brc_rl.agents.base import RecurrentOnPolicyAlgorithm
from brc_rl.nn import VAA, vaa
from brc_rl.nn.warmup import WarmupRecord, warmup

Episodes = tuple[th.Tensor, th.Tensor]


def split_episodes(features: th.Tensor, starts: th.Tensor) -> Episodes:
    """Cut time-major sequences at their episode starts.

    Args:
        features: (T, E, F).
        starts: bool (T, E), True where an episode starts (step 0 always starts one).

    Returns:
        ``(episodes, lengths)``: (L_max, P, F) zero-padded, time-major, and (P,) int64.
    """
    pieces = []
    for env in range(features.shape[1]):
        cuts = sorted({0, *starts[:, env].nonzero().flatten().tolist(), features.shape[0]})
        pieces += [features[a:b, env] for a, b in zip(cuts[:-1], cuts[1:])]
    return pad_sequence(pieces), th.tensor([len(p) for p in pieces])


@th.no_grad()
def rollout_episodes(model: RecurrentOnPolicyAlgorithm, n_steps: int, env: VecEnv | None = None,
                     deterministic: bool = False) -> dict[str, Episodes]:
    """Play ``n_steps`` steps in every environment with the policy; its memories' inputs, by episode.

    Args:
        model: the agent.
        n_steps: steps per environment (>= 1).
        env: where to play (default ``model.env``); it is reset first.
        deterministic: greedy actions (default: sampled, as in training).

    Returns:
        ``{"memory": episodes, "critic_memory": episodes}`` (the second only if the critic
        has its own memory), each ``(features (L_max, P, F), lengths (P,))`` on the CPU.

    Raises:
        ValueError: for n_steps < 1 or no environment.
    """
    env = model.env if env is None else env
    if n_steps < 1 or env is None:
        raise ValueError(f"need n_steps >= 1 and an environment, got n_steps={n_steps}, env={env}")
    policy = model.policy
    policy.set_training_mode(False)
    obs, starts = env.reset(), np.ones(env.num_envs, dtype=bool)
    states = policy.initial_state(env.num_envs)
    features: list[Any] = []
    all_starts = []
    for _ in range(n_steps):
        obs_tensor = obs_as_tensor(obs, model.device)
        starts_tensor = th.as_tensor(starts, device=model.device).view(1, -1)
        features.append(policy.extract_features(obs_tensor))
        all_starts.append(starts_tensor[0].cpu())
        actions, _, _, states = policy(obs_tensor, states, starts_tensor, deterministic=deterministic)
        obs, _, starts, _ = env.step(model._clip_actions(actions.cpu().numpy()))
    starts_all = th.stack(all_starts)
    names = ["memory"] if policy.critic_memory is None else ["memory", "critic_memory"]
    pairs = [f if isinstance(f, tuple) else (f, f) for f in features]
    return {name: split_episodes(th.stack([p[i] for p in pairs]).cpu(), starts_all) for i, name in enumerate(names)}


def _memories(model: RecurrentOnPolicyAlgorithm) -> dict[str, th.nn.Module]:
    critic = model.policy.critic_memory
    return {"memory": model.policy.memory, **({} if critic is None else {"critic_memory": critic})}


def warmup_policy(model: RecurrentOnPolicyAlgorithm, n_steps: int = 1024, **kwargs: Any) -> dict[str, WarmupRecord]:
    """Warm every memory of the policy up on episodes of the policy's own behaviour.

    Args:
        model: the agent, before it learns.
        n_steps: steps played per environment.
        **kwargs: settings of :func:`brc_rl.nn.warmup.warmup` (steps, lr, batch_size, ...).

    Returns:
        ``{memory name: record}``, names as :func:`rollout_episodes`.
    """
    episodes = rollout_episodes(model, n_steps)
    model.policy.set_training_mode(True)
    return {name: warmup(memory, *episodes[name], **kwargs) for name, memory in _memories(model).items()}


def policy_vaa(model: RecurrentOnPolicyAlgorithm, n_steps: int, env: VecEnv | None = None, **kwargs: Any
               ) -> dict[str, VAA]:
    """The exact VAA of every memory of the policy, on episodes it plays (:func:`rollout_episodes`).

    Args:
        model: the agent.
        n_steps: steps played per environment.
        env: where to play (default ``model.env``).
        **kwargs: ``samples``, ``steps``, ``eps``, ``repeats`` of :func:`brc_rl.nn.vaa`.
    """
    episodes = rollout_episodes(model, n_steps, env)
    return {name: vaa(memory, *episodes[name], **kwargs) for name, memory in _memories(model).items()}
