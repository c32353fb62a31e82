"""Recurrent A2C on the shared sequence machinery."""

from __future__ import annotations

from typing import Any

import torch as th
import torch.nn.functional as F
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from brc_rl.agents.base import RecurrentOnPolicyAlgorithm
from brc_rl.agents.buffers import RecurrentRolloutSamples
from brc_rl.agents.policies import RecurrentActorCriticPolicy, SequenceEvaluation


class RecurrentA2C(RecurrentOnPolicyAlgorithm):
    r"""Advantage Actor-Critic with a recurrent memory (BRC, nBRC, GRU, LSTM).

    One gradient step per rollout on the whole rollout (one minibatch, one epoch):


        L = -\mathrm{mean}(A \log\pi) + c_{vf}\,\mathrm{mean}(R - V)^2 - c_{ent}\,\mathrm{mean}\,H[\pi]

    This is :class:`RecurrentPPO` with n_epochs=1, batch_size=n_envs * n_steps,
    normalize_advantage=False, gae_lambda=1 and RMSprop (Huang et al., "A2C is a special
    case of PPO", arXiv 2205.09123).

    The arguments are SB3 A2C's, with its defaults (learning_rate 7e-4, gae_lambda 1.0,
    RMSprop alpha 0.99 eps 1e-5, normalize_advantage False), except n_steps, whose default
    is 32 rather than 5: n_steps is the length of backpropagation through time, and memory
    tasks need more. The others are those of :class:`RecurrentOnPolicyAlgorithm`.

    Args:
        rms_prop_eps: RMSprop epsilon.
        use_rms_prop: use RMSprop (alpha 0.99) unless policy_kwargs sets optimizer_class;
            False keeps the policy's default (Adam).
    """

    default_log_interval = 100

    def __init__(
        self,
        policy: str | type[RecurrentActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 7e-4,
        n_steps: int = 32,
        gamma: float = 0.99,
        gae_lambda: float = 1.0,
        ent_coef: float | Schedule = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        rms_prop_eps: float = 1e-5,
        use_rms_prop: bool = True,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        normalize_advantage: bool = False,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy, env, learning_rate=learning_rate, n_steps=n_steps, batch_size=None, n_epochs=1,
            gamma=gamma, gae_lambda=gae_lambda, ent_coef=ent_coef, vf_coef=vf_coef,
            max_grad_norm=max_grad_norm, normalize_advantage=normalize_advantage, use_sde=use_sde,
            sde_sample_freq=sde_sample_freq, stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs, verbose=verbose,
            seed=seed, device=device, _init_setup_model=False,
        )
        if use_rms_prop and "optimizer_class" not in self.policy_kwargs:
            self.policy_kwargs["optimizer_class"] = th.optim.RMSprop
            self.policy_kwargs["optimizer_kwargs"] = dict(alpha=0.99, eps=rms_prop_eps, weight_decay=0)
        if _init_setup_model:
            self._setup_model()

    def _loss(
        self, batch: RecurrentRolloutSamples, evaluation: SequenceEvaluation, advantages: th.Tensor
    ) -> tuple[th.Tensor, dict[str, float]]:
        policy_loss = -(advantages * evaluation.log_prob).mean()
        value_loss = F.mse_loss(batch.returns, evaluation.values)
        entropy_loss = self._entropy_loss(evaluation)
        loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        return loss, dict(
            policy_loss=policy_loss.item(), value_loss=value_loss.item(), entropy_loss=entropy_loss.item()
        )
