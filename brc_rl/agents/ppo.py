"""Recurrent PPO (clip version) on the shared sequence machinery."""

from __future__ import annotations

from typing import Any

import torch as th
import torch.nn.functional as F
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.common.utils import FloatSchedule

from brc_rl.agents.base import RecurrentOnPolicyAlgorithm
from brc_rl.agents.buffers import RecurrentRolloutSamples
from brc_rl.agents.policies import RecurrentActorCriticPolicy, SequenceEvaluation


class RecurrentPPO(RecurrentOnPolicyAlgorithm):
    r"""Proximal Policy Optimization (clip) with a recurrent memory (BRC, nBRC, GRU, LSTM).

    Loss per minibatch, with :math:`r = \exp(\log\pi - \log\pi_{old})`:


        L = -\mathrm{mean}\,\min(A r, A\,\mathrm{clip}(r, 1 - \epsilon, 1 + \epsilon))
            + c_{vf}\,\mathrm{mean}(R - V)^2 - c_{ent}\,\mathrm{mean}\,H[\pi]

    The arguments are those of :class:`brc_rl.agents.base.RecurrentOnPolicyAlgorithm`,
    with SB3 PPO's names (and sb3-contrib RecurrentPPO's defaults n_steps=128,
    batch_size=128, n_epochs=10), and the three below.

    Args:
        clip_range: the clipping parameter epsilon (float or schedule).
        clip_range_vf: clipping of the value change (None: no clipping).
        target_kl: stop the update when the approximate KL of a minibatch exceeds
            1.5 * target_kl (None: no limit).

    Example:
        >>> model = RecurrentPPO("MlpRecurrentPolicy", "CartPole-v1", n_steps=128, batch_size=128,
        ...                      policy_kwargs=dict(cell="nbrc", hidden_size=64))
        >>> model = model.learn(10_000)
    """

    def __init__(
        self,
        policy: str | type[RecurrentActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        n_steps: int = 128,
        batch_size: int | None = 128,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = None,
        normalize_advantage: bool = True,
        ent_coef: float | Schedule = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        target_kl: float | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if clip_range_vf is not None and isinstance(clip_range_vf, (float, int)) and clip_range_vf <= 0:
            raise ValueError(f"clip_range_vf must be positive (None disables it), got {clip_range_vf}")
        self.clip_range = clip_range
        self.clip_range_vf = clip_range_vf
        self.target_kl = target_kl
        super().__init__(
            policy, env, learning_rate=learning_rate, n_steps=n_steps, batch_size=batch_size,
            n_epochs=n_epochs, gamma=gamma, gae_lambda=gae_lambda, ent_coef=ent_coef,
            vf_coef=vf_coef, max_grad_norm=max_grad_norm, normalize_advantage=normalize_advantage,
            use_sde=use_sde, sde_sample_freq=sde_sample_freq, stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs, verbose=verbose,
            seed=seed, device=device, _init_setup_model=_init_setup_model,
        )

    def _setup_model(self) -> None:
        super()._setup_model()
        self.clip_range = FloatSchedule(self.clip_range)
        if self.clip_range_vf is not None:
            self.clip_range_vf = FloatSchedule(self.clip_range_vf)

    def _prepare_update(self) -> None:
        self._clip = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        self.logger.record("train/clip_range", self._clip)
        self._clip_vf = None
        if self.clip_range_vf is not None:
            self._clip_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
            self.logger.record("train/clip_range_vf", self._clip_vf)

    def _loss(
        self, batch: RecurrentRolloutSamples, evaluation: SequenceEvaluation, advantages: th.Tensor
    ) -> tuple[th.Tensor, dict[str, float]]:
        log_ratio = evaluation.log_prob - batch.old_log_prob
        ratio = th.exp(log_ratio)
        clipped = th.clamp(ratio, 1 - self._clip, 1 + self._clip)
        policy_loss = -th.min(advantages * ratio, advantages * clipped).mean()
        values = evaluation.values
        if self._clip_vf is not None:
            values = batch.old_values + th.clamp(values - batch.old_values, -self._clip_vf, self._clip_vf)
        value_loss = F.mse_loss(batch.returns, values)
        entropy_loss = self._entropy_loss(evaluation)
        loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        with th.no_grad():
            approx_kl = th.mean((ratio - 1) - log_ratio).item()
            clip_fraction = th.mean((th.abs(ratio - 1) > self._clip).float()).item()
        return loss, dict(
            policy_gradient_loss=policy_loss.item(), value_loss=value_loss.item(),
            entropy_loss=entropy_loss.item(), approx_kl=approx_kl, clip_fraction=clip_fraction,
            loss=loss.item(),
        )

    def _stop_early(self, stats: dict[str, float]) -> bool:
        return self.target_kl is not None and stats["approx_kl"] > 1.5 * self.target_kl
