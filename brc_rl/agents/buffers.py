"""Rollout buffers that hand out whole environment sequences (no padding).

SB3's buffers store every array as (n_steps, n_envs, ...). A minibatch here is all
n_steps of a random subset of the environments (CleanRL's ppo_atari_lstm), flattened
time-major, with the memory state those environments had at the start of the rollout.
Every step of the rollout is in exactly one minibatch per epoch, and every sequence
starts where the rollout started, so nothing is padded and no step needs a mask.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NamedTuple

import numpy as np
import torch as th
from stable_baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer


class RecurrentRolloutSamples(NamedTuple):
    """One minibatch of n environments' sequences of length L = n_steps.

    Attributes:
        observations: (L * n, *obs_shape) time-major (a dict of such tensors for Dict spaces).
        actions: (L * n, action_dim).
        old_values, old_log_prob, advantages, returns: (L * n,).
        episode_starts: bool (L, n); True where the memory is zeroed before step t.
        states: (M, num_layers, n, S) memory states at the start of the rollout.
    """

    observations: th.Tensor | dict[str, th.Tensor]
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    episode_starts: th.Tensor
    states: th.Tensor


class _SequenceMixin:
    """Adds the rollout's initial memory states and :meth:`get_sequences` to an SB3 buffer."""

    initial_states: th.Tensor | None = None

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        self.initial_states = None

    def get_sequences(self, envs_per_batch: int) -> Generator[RecurrentRolloutSamples, None, None]:
        """Yield minibatches of ``envs_per_batch`` whole environment sequences.

        The environments are shuffled (with numpy's global generator, as SB3 does); each
        appears in exactly one minibatch.

        Args:
            envs_per_batch: environments per minibatch, a divisor of n_envs.

        Raises:
            ValueError: if the buffer is not full, has no initial states, or
                envs_per_batch does not divide n_envs.
        """
        n_envs = self.n_envs  # type: ignore[attr-defined]
        if not self.full or self.initial_states is None:  # type: ignore[attr-defined]
            raise ValueError("get_sequences needs a full buffer and initial_states set at the rollout's start")
        if envs_per_batch < 1 or n_envs % envs_per_batch:
            raise ValueError(f"envs_per_batch must divide n_envs={n_envs}, got {envs_per_batch}")
        order = np.random.permutation(n_envs)
        for start in range(0, n_envs, envs_per_batch):
            yield self._sequences(order[start : start + envs_per_batch])

    def _sequences(self, env_idx: np.ndarray) -> RecurrentRolloutSamples:
        def take(array: np.ndarray) -> th.Tensor:
            # (L, n_envs, ...) -> (L, n, ...) -> (L * n, ...): time-major rows t * n + j.
            picked = array[:, env_idx]
            return self.to_torch(picked.reshape(-1, *picked.shape[2:]))  # type: ignore[attr-defined]

        obs = self.observations  # type: ignore[attr-defined]
        observations = {key: take(value) for key, value in obs.items()} if isinstance(obs, dict) else take(obs)
        assert self.initial_states is not None
        return RecurrentRolloutSamples(
            observations=observations,
            actions=take(self.actions),  # type: ignore[attr-defined]
            old_values=take(self.values),  # type: ignore[attr-defined]
            old_log_prob=take(self.log_probs),  # type: ignore[attr-defined]
            advantages=take(self.advantages),  # type: ignore[attr-defined]
            returns=take(self.returns),  # type: ignore[attr-defined]
            episode_starts=th.as_tensor(self.episode_starts[:, env_idx] > 0.5, device=self.device),  # type: ignore[attr-defined]
            states=self.initial_states[:, :, th.as_tensor(env_idx, device=self.initial_states.device)],
        )


class RecurrentRolloutBuffer(_SequenceMixin, RolloutBuffer):
    """SB3's RolloutBuffer with :meth:`get_sequences` (Box / Discrete / ... observations)."""


class RecurrentDictRolloutBuffer(_SequenceMixin, DictRolloutBuffer):
    """SB3's DictRolloutBuffer with :meth:`get_sequences` (Dict observations)."""
