"""Shared machinery of the recurrent on-policy algorithms.

:class:`RecurrentOnPolicyAlgorithm` extends SB3's ``OnPolicyAlgorithm`` with

- rollout collection that carries the memory state (M, num_layers, n_envs, S), resets it
  at episode starts (inside the memory call, from ``episode_starts``) and bootstraps
  time-outs through the critic memory;
- an update loop over whole environment sequences: each minibatch is all n_steps of
  ``batch_size / n_steps`` environments, evaluated by ONE memory call from the state
  stored at the rollout's start, with ``resets`` at episode starts;
- the ``memory/*`` statistics (:class:`brc_rl.agents.monitor.MemoryMonitor`).

Subclasses (PPO, A2C) only define :meth:`RecurrentOnPolicyAlgorithm._loss`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import explained_variance, obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv

from brc_rl.agents.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer, RecurrentRolloutSamples
from brc_rl.agents.monitor import MemoryMonitor
from brc_rl.agents.nmd import NmdRecurrentPolicy
from brc_rl.agents.policies import POLICY_ALIASES, RecurrentActorCriticPolicy, SequenceEvaluation

SelfRecurrentOnPolicyAlgorithm = TypeVar("SelfRecurrentOnPolicyAlgorithm", bound="RecurrentOnPolicyAlgorithm")


def valid_batch_sizes(n_steps: int, n_envs: int) -> list[int]:
    """Minibatch sizes that cut the rollout along whole environments: k * n_steps, k | n_envs."""
    return [k * n_steps for k in range(1, n_envs + 1) if n_envs % k == 0]


class RecurrentOnPolicyAlgorithm(OnPolicyAlgorithm):
    """Base of :class:`RecurrentPPO` and :class:`RecurrentA2C`.

    The arguments not listed below (gamma, gae_lambda, vf_coef, max_grad_norm, use_sde,
    sde_sample_freq, stats_window_size, tensorboard_log, policy_kwargs, verbose, seed,
    device) are SB3's ``OnPolicyAlgorithm``'s.

    Args:
        policy: a name of ``policy_aliases`` or a :class:`RecurrentActorCriticPolicy` subclass.
        env: the environment (a VecEnv, a gymnasium env or an id).
        learning_rate: float or schedule of the progress remaining (1 -> 0).
        n_steps: steps per environment per rollout: the length of every training sequence
            (and so of backpropagation through time).
        batch_size: steps per minibatch, a multiple of n_steps dividing n_envs * n_steps;
            None means one minibatch of the whole rollout.
        n_epochs: passes over the rollout per update.
        ent_coef: the entropy bonus c in ``loss = ... - c * entropy``: a float, or a schedule of
            the progress remaining (1 -> 0; e.g. SB3's ``LinearSchedule(0.05, 0.0, 1.0)``), read
            at the start of every update into ``self.ent_coef`` and logged as ``train/ent_coef``
            (SB3 takes only a float here; its learning_rate and clip_range take schedules).
        normalize_advantage: normalise advantages per minibatch.

    Raises:
        ValueError: for an unknown policy name, a policy that is not recurrent, or an
            invalid batch_size (the message lists the valid ones).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {  # type: ignore[assignment]
        **POLICY_ALIASES, "NmdRecurrentPolicy": NmdRecurrentPolicy,
    }
    default_log_interval: ClassVar[int] = 1  # SB3's: 1 for PPO, 100 for A2C
    policy: RecurrentActorCriticPolicy
    rollout_buffer: RecurrentRolloutBuffer | RecurrentDictRolloutBuffer  # type: ignore[assignment]

    def __init__(
        self,
        policy: str | type[RecurrentActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule,
        n_steps: int,
        batch_size: int | None,
        n_epochs: int,
        gamma: float,
        gae_lambda: float,
        ent_coef: float | Schedule,
        vf_coef: float,
        max_grad_norm: float,
        normalize_advantage: bool,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy, env, learning_rate=learning_rate, n_steps=n_steps, gamma=gamma,
            gae_lambda=gae_lambda, ent_coef=ent_coef(1.0) if callable(ent_coef) else ent_coef,
            vf_coef=vf_coef, max_grad_norm=max_grad_norm,
            use_sde=use_sde, sde_sample_freq=sde_sample_freq, stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs, verbose=verbose,
            seed=seed, device=device, _init_setup_model=False,
            supported_action_spaces=(spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
        )
        # None for a constant (models saved before schedules existed load with None too)
        self.ent_coef_schedule: Schedule | None = ent_coef if callable(ent_coef) else None
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.normalize_advantage = normalize_advantage
        if _init_setup_model:
            self._setup_model()

    def learn(
        self: SelfRecurrentOnPolicyAlgorithm,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int | None = None,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfRecurrentOnPolicyAlgorithm:
        """SB3's ``learn``; log_interval defaults to the class's ``default_log_interval``
        and tb_log_name to the class name ("RecurrentPPO", "RecurrentA2C")."""
        return super().learn(
            total_timesteps, callback,
            self.default_log_interval if log_interval is None else log_interval,
            type(self).__name__ if tb_log_name is None else tb_log_name,
            reset_num_timesteps, progress_bar,
        )

    def _get_policy_from_name(self, policy_name: str) -> type[BasePolicy]:
        if policy_name not in self.policy_aliases:
            raise ValueError(
                f"unknown policy {policy_name!r}; valid policies: {', '.join(self.policy_aliases)}"
            )
        return self.policy_aliases[policy_name]

    def _setup_model(self) -> None:
        batch_size = self.n_envs * self.n_steps if self.batch_size is None else self.batch_size
        valid = valid_batch_sizes(self.n_steps, self.n_envs)
        if batch_size not in valid:
            raise ValueError(
                f"batch_size must be a multiple of n_steps={self.n_steps} dividing "
                f"n_envs * n_steps={self.n_envs * self.n_steps} (minibatches are whole "
                f"environment sequences); valid values: {valid}; got {self.batch_size}"
            )
        self.envs_per_batch = batch_size // self.n_steps
        if not (isinstance(self.policy_class, type) and issubclass(self.policy_class, RecurrentActorCriticPolicy)):
            raise ValueError(f"policy must be a RecurrentActorCriticPolicy subclass, got {self.policy_class!r}")
        is_dict = isinstance(self.observation_space, spaces.Dict)
        self.rollout_buffer_class = RecurrentDictRolloutBuffer if is_dict else RecurrentRolloutBuffer
        super()._setup_model()
        self._last_states = self.policy.initial_state(self.n_envs)
        self.memory_monitor = MemoryMonitor(self.policy.hidden_size, self.policy.num_layers)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_last_states", "memory_monitor"]

    # ------------------------------------------------------------------ rollouts

    def _clip_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the environment takes them (unsquashed or clipped for Box spaces)."""
        if not isinstance(self.action_space, spaces.Box):
            return actions
        if self.policy.squash_output:
            return self.policy.unscale_action(actions)
        return np.clip(actions, self.action_space.low, self.action_space.high)

    def _bootstrap_timeouts(
        self, rewards: np.ndarray, dones: np.ndarray, infos: list[dict], states: th.Tensor
    ) -> None:
        """Add gamma * V(terminal obs) to the reward of truncated episodes (SB3 issue 633).

        The value is computed through the critic memory, continuing from its state after
        the step that ended the episode (no reset).
        """
        no_reset = th.zeros(1, 1, dtype=th.bool, device=self.device)
        for idx in np.flatnonzero(dones):
            info = infos[idx]
            if info.get("terminal_observation") is None or not info.get("TimeLimit.truncated", False):
                continue
            terminal_obs = self.policy.obs_to_tensor(info["terminal_observation"])[0]
            with th.no_grad():
                value = self.policy.predict_values(terminal_obs, states[:, :, idx : idx + 1], no_reset)
            rewards[idx] += self.gamma * value.item()

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RecurrentRolloutBuffer | RecurrentDictRolloutBuffer,  # type: ignore[override]
        n_rollout_steps: int,
    ) -> bool:
        """Fill the buffer with n_rollout_steps steps of every environment.

        The memory state is carried in ``self._last_states`` (M, num_layers, n_envs, S)
        across rollouts; the state at the rollout's start is stored in the buffer, from
        which training replays every sequence.

        Returns:
            False if a callback stopped training, True otherwise.
        """
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        rollout_buffer.initial_states = self._last_states
        self.memory_monitor.reset()
        if self.use_sde:
            self.policy.reset_noise(env.num_envs)
        callback.on_rollout_start()

        for step in range(n_rollout_steps):
            if self.use_sde and self.sde_sample_freq > 0 and step % self.sde_sample_freq == 0:
                self.policy.reset_noise(env.num_envs)
            with th.no_grad():
                obs_tensor = obs_as_tensor(self._last_obs, self.device)  # type: ignore[arg-type]
                starts = th.as_tensor(self._last_episode_starts, dtype=th.bool, device=self.device).view(1, -1)
                actions_t, values, log_probs, states = self.policy(obs_tensor, self._last_states, starts)
            self.memory_monitor.record_state(states[0])
            actions = actions_t.cpu().numpy()
            clipped_actions = self._clip_actions(actions)
            new_obs, rewards, dones, infos = env.step(clipped_actions)
            self.num_timesteps += env.num_envs

            # Explicit names for SB3 callbacks that read self.locals.
            callback.update_locals(dict(
                actions=actions, clipped_actions=clipped_actions, values=values, log_probs=log_probs,
                new_obs=new_obs, rewards=rewards, dones=dones, infos=infos, states=states,
            ))
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            if isinstance(self.action_space, spaces.Discrete):
                actions = actions.reshape(-1, 1)
            self._bootstrap_timeouts(rewards, dones, infos, states)
            rollout_buffer.add(
                self._last_obs, actions, rewards, self._last_episode_starts, values, log_probs  # type: ignore[arg-type]
            )
            self._last_obs = new_obs  # type: ignore[assignment]
            self._last_episode_starts = dones
            self._last_states = states

        with th.no_grad():
            starts = th.as_tensor(dones, dtype=th.bool, device=self.device).view(1, -1)
            values = self.policy.predict_values(obs_as_tensor(new_obs, self.device), states, starts)  # type: ignore[arg-type]
        rollout_buffer.compute_returns_and_advantage(last_values=values, dones=dones)
        callback.update_locals(dict(values=values, dones=dones))
        callback.on_rollout_end()
        return True

    # ------------------------------------------------------------------ updates

    def _loss(
        self, batch: RecurrentRolloutSamples, evaluation: SequenceEvaluation, advantages: th.Tensor
    ) -> tuple[th.Tensor, dict[str, float]]:
        """The algorithm's loss on one minibatch of sequences.

        Args:
            batch: the minibatch (old values and log-probabilities, returns, ...), (L * n,) each.
            evaluation: the current policy's values, log-probabilities and entropies on it.
            advantages: (L * n,), normalised when ``normalize_advantage``.

        Returns:
            ``(loss, stats)``: stats are logged as ``train/<name>`` (mean over minibatches).
        """
        raise NotImplementedError

    def _stop_early(self, stats: dict[str, float]) -> bool:
        """Whether to stop the update before stepping on this minibatch (PPO's target_kl)."""
        return False

    def _prepare_update(self) -> None:
        """Per-update setup of the subclass (schedules); called before the first minibatch."""

    @staticmethod
    def _entropy_loss(evaluation: SequenceEvaluation) -> th.Tensor:
        """-mean entropy (estimated by -log_prob where the distribution has no closed form)."""
        if evaluation.entropy is None:
            return th.mean(evaluation.log_prob)
        return -th.mean(evaluation.entropy)

    def _train_on(self, batch: RecurrentRolloutSamples, first_epoch: bool, stats: dict[str, list[float]]) -> bool:
        """One gradient step on a minibatch of sequences; False if the subclass stops early.

        In the first epoch the actor memory's gates (and the NMD context) are handed to the memory monitor.
        """
        actions = batch.actions.long().flatten() if isinstance(self.action_space, spaces.Discrete) else batch.actions
        evaluation = self.policy.evaluate_sequences(
            batch.observations, actions, batch.states, batch.episode_starts, with_gates=first_epoch
        )
        if evaluation.gates is not None:
            self.memory_monitor.record_gates(evaluation.gates)
        if evaluation.context is not None:
            self.memory_monitor.record_context(evaluation.context)
        advantages = batch.advantages
        if self.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        loss, batch_stats = self._loss(batch, evaluation, advantages)
        for key, value in batch_stats.items():
            stats[key].append(value)
        if self._stop_early(batch_stats):
            if self.verbose >= 1:
                print(f"Early stopping at update {self._n_updates} (approx_kl {batch_stats['approx_kl']:.3f})")
            return False
        self.policy.optimizer.zero_grad()
        loss.backward()
        th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()
        return True

    def train(self) -> None:
        """Update the policy on the rollout: n_epochs passes over whole-sequence minibatches."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        if self.ent_coef_schedule is not None:
            self.ent_coef = float(self.ent_coef_schedule(self._current_progress_remaining))
            self.logger.record("train/ent_coef", self.ent_coef)
        self._prepare_update()
        stats: dict[str, list[float]] = defaultdict(list)
        for epoch in range(self.n_epochs):
            batches = self.rollout_buffer.get_sequences(self.envs_per_batch)
            completed = all(self._train_on(batch, epoch == 0, stats) for batch in batches)
            self._n_updates += 1
            if not completed:
                break

        for key, values in stats.items():
            self.logger.record(f"train/{key}", float(np.mean(values)))
        self.logger.record(
            "train/explained_variance",
            explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()),
        )
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.memory_monitor.dump(self.logger)
