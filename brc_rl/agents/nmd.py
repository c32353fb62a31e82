r"""Neuromodulated policies: the NMD net of Vecoven, Ernst, Wehenkel and Drion (PLoS One 2020).

Two networks per actor (and per critic)::

    [obs | prev_action | prev_reward] -> memory -> context layer (ReLU) -> z     neuromodulatory network
    obs -> modulated saturated layers (net_arch) -> modulated heads            main network, modulated by z

Every layer of the main network is a :class:`ModulatedLinear`,
:math:`y = (W x) \odot (1 + W_s z_k) + b + W_b z_k`, followed by ``activation_fn``
(``Hardtanh``, the authors' clip to [-1, 1]) in the hidden layers and by nothing in the heads.
z is cut into ``len(net_arch) + 1`` chunks of ``context_size`` units: chunk k modulates hidden
layer k, the last chunk every head, as in the authors' code (benchmark 1: memory GRU(50),
context ReLU(20) = 2 x 10, main layers [10]; benchmarks 2-3: GRU(100) -> GRU(75), ReLU(45) =
3 x 15, main [30, 10]). The heads:

- Box actions: a Gaussian of mean :math:`\mu` and state-dependent log-std
  :math:`\tfrac12 v + \text{log\_std\_init}`, where :math:`\mu` and :math:`v` are two modulated
  heads (the authors' log-variance head, offset by their initial log-variance -1: log_std_init
  -0.5);
- Discrete, MultiDiscrete, MultiBinary actions: one modulated head of logits;
- the critic: its own memory, context and main network, a modulated head of one value
  (the authors' value network is a second NMD net); with ``shared_memory`` actor and
  critic read one memory and keep their own context layers and main networks.

The observation must be the Dict of ``brc_rl.envs.wrappers.PrevActionReward(env, mode="dict")``:
the neuromodulatory network reads every key, the main network every key but ``prev_action``
and ``prev_reward``, so the previous action and reward reach the actions only through z.
"""

from __future__ import annotations

from typing import Any

import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
    MultiCategoricalDistribution,
)
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, CombinedExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from brc_rl.agents.policies import RecurrentActorCriticPolicy
from brc_rl.envs.wrappers import PREV_ACTION_KEY, PREV_REWARD_KEY

#: Standard deviation of the authors' truncated-normal init (cut at 2 standard deviations).
INIT_STD = 0.1


def truncated_normal_(tensor: th.Tensor, std: float = INIT_STD) -> th.Tensor:
    """Fill ``tensor`` from N(0, std^2) cut to [-2 std, 2 std] (TensorFlow's ``truncated_normal``)."""
    return nn.init.trunc_normal_(tensor, std=std, a=-2 * std, b=2 * std)


class ModulatedLinear(nn.Module):
    r"""A linear layer whose gain and bias a context modulates (the NMD net's layer).

    .. math::
        y = (W x) \odot (1 + W_s z) + b + W_b z

    Args:
        in_features: size of x, H_in.
        out_features: size of y, H_out.
        context_features: size of z, Z.
        init_std: standard deviation of the truncated-normal init of the three matrices.

    Inputs:
        input: (*, H_in); context: (*, Z).

    Outputs:
        (*, H_out), not clipped (a layer of the main network clips it).

    Attributes:
        weight: W, (H_out, H_in); weight_scale: W_s, (H_out, Z); weight_shift: W_b, (H_out, Z):
            truncated normal, std ``init_std``, within 2 std.
        bias: b, (H_out,), zeros.
    """

    def __init__(self, in_features: int, out_features: int, context_features: int, init_std: float = INIT_STD) -> None:
        super().__init__()
        self.in_features, self.out_features, self.context_features = in_features, out_features, context_features
        self.init_std = init_std
        self.weight = nn.Parameter(th.empty(out_features, in_features))
        self.weight_scale = nn.Parameter(th.empty(out_features, context_features))
        self.weight_shift = nn.Parameter(th.empty(out_features, context_features))
        self.bias = nn.Parameter(th.empty(out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for weight in (self.weight, self.weight_scale, self.weight_shift):
            truncated_normal_(weight, self.init_std)
        nn.init.zeros_(self.bias)

    def forward(self, input: th.Tensor, context: th.Tensor) -> th.Tensor:
        gain = 1.0 + F.linear(context, self.weight_scale)
        return F.linear(input, self.weight) * gain + self.bias + F.linear(context, self.weight_shift)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"context_features={self.context_features}")


class ModulatedMLP(nn.Module):
    """The NMD net's main network: modulated hidden layers, then modulated heads.

    ``h_0 = x``; ``h_k = activation_fn(ModulatedLinear_k(h_{k-1}, z_k))`` for the hidden
    layers; each head is ``ModulatedLinear(h_K, z_{K+1})``. z is cut in order into chunks
    ``z_1, ..., z_{K+1}`` of ``context_size`` units.

    Args:
        in_features: size of x.
        net_arch: sizes of the K hidden layers (may be empty).
        head_sizes: output size of each head.
        context_size: units of z per chunk.
        activation_fn: activation of the hidden layers (``nn.Hardtanh``: the authors' clip to [-1, 1]).
        init_std: truncated-normal init of every layer.

    Inputs:
        x: (B, in_features); z: (B, context_features).

    Outputs:
        One tensor (B, head_size) per head.
    """

    def __init__(
        self, in_features: int, net_arch: list[int], head_sizes: list[int], context_size: int,
        activation_fn: type[nn.Module] = nn.Hardtanh, init_std: float = INIT_STD,
    ) -> None:
        super().__init__()
        sizes = [in_features, *net_arch]
        self.context_size = context_size
        self.hidden = nn.ModuleList(
            ModulatedLinear(n_in, n_out, context_size, init_std) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )
        self.activation = activation_fn()
        self.heads = nn.ModuleList(ModulatedLinear(sizes[-1], n, context_size, init_std) for n in head_sizes)

    @property
    def context_features(self) -> int:
        """Size of z: ``context_size * (len(net_arch) + 1)``."""
        return self.context_size * (len(self.hidden) + 1)

    def forward(self, x: th.Tensor, z: th.Tensor) -> list[th.Tensor]:
        chunks = z.split(self.context_size, dim=-1)
        for layer, chunk in zip(self.hidden, chunks):
            x = self.activation(layer(x, chunk))
        return [head(x, chunks[-1]) for head in self.heads]


def context_layer(in_features: int, out_features: int, init_std: float = INIT_STD) -> nn.Sequential:
    """The dense ReLU layer from the memory output to z (truncated-normal weights, zero bias)."""
    linear = nn.Linear(in_features, out_features)
    truncated_normal_(linear.weight, init_std)
    nn.init.zeros_(linear.bias)
    return nn.Sequential(linear, nn.ReLU())


class NmdExtractor(BaseFeaturesExtractor):
    """Features ``[main | prev_action | prev_reward]`` of a ``PrevActionReward`` Dict observation.

    The main part encodes the keys other than ``prev_action`` and ``prev_reward``: by SB3's
    ``CombinedExtractor`` (flattened vectors, NatureCNN for images), or by
    ``obs_extractor_class`` when there is one such key (e.g. ``MiniGridCNN``).

    Args:
        observation_space: a Dict with keys ``prev_action``, ``prev_reward`` and at least one other.
        obs_extractor_class: features extractor of the single observation key (None: CombinedExtractor).
        obs_extractor_kwargs: its keyword arguments.

    Attributes:
        main_features_dim: size of the main part, the first entries of the features.

    Raises:
        ValueError: for another space, or an ``obs_extractor_class`` with several observation keys.
    """

    def __init__(
        self, observation_space: spaces.Dict, obs_extractor_class: type[BaseFeaturesExtractor] | None = None,
        obs_extractor_kwargs: dict[str, Any] | None = None,
    ) -> None:
        keys = check_nmd_observation_space(observation_space)
        if obs_extractor_class is None:
            main: nn.Module = CombinedExtractor(spaces.Dict({k: observation_space[k] for k in keys}))
        elif len(keys) == 1:
            main = obs_extractor_class(observation_space[keys[0]], **(obs_extractor_kwargs or {}))
        else:
            raise ValueError(f"obs_extractor_class reads one observation key, got {keys}")
        feedback = sum(get_flattened_obs_dim(observation_space[k]) for k in (PREV_ACTION_KEY, PREV_REWARD_KEY))
        super().__init__(observation_space, main.features_dim + feedback)
        self.keys, self.main, self.main_features_dim = keys, main, main.features_dim
        self.combined = obs_extractor_class is None

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        main = self.main({k: observations[k] for k in self.keys} if self.combined else observations[self.keys[0]])
        return th.cat([main, observations[PREV_ACTION_KEY].flatten(1), observations[PREV_REWARD_KEY]], dim=1)


def check_nmd_observation_space(space: spaces.Space) -> list[str]:
    """The observation keys of a ``PrevActionReward`` Dict space (all but the two feedback keys).

    Raises:
        ValueError: naming the wrapper, if ``space`` is not such a Dict.
    """
    feedback = {PREV_ACTION_KEY, PREV_REWARD_KEY}
    keys = [k for k in getattr(space, "spaces", {}) if k not in feedback] if isinstance(space, spaces.Dict) else []
    if not keys or not feedback <= set(space.spaces):  # type: ignore[attr-defined]
        raise ValueError(
            "NmdRecurrentPolicy needs a Dict observation with keys 'prev_action', 'prev_reward' and the "
            "observation: wrap the env in brc_rl.envs.wrappers.PrevActionReward(env, mode='dict') (config: "
            f"env.wrappers: [{{prev_action_reward: {{mode: dict}}}}]); got {space}"
        )
    return keys


class NmdRecurrentPolicy(RecurrentActorCriticPolicy):
    """Actor-critic NMD net: a memory modulates, through a context z, a main network that sees
    only the observation (see the module's docstring for the equations).

    The arguments not listed below are those of :class:`RecurrentActorCriticPolicy` (the
    memory: ``cell``, ``num_layers``, ``shared_memory``, ``rnn_kwargs``; SB3's optimizer,
    features-extractor and image arguments), with the authors' sizes as defaults (their
    benchmark 1); the memory keeps its cell's own init.

    Args:
        net_arch: hidden layers of the main network, ``[10]``; ``{pi: [...], vf: [...]}``
            for different actor and critic sizes.
        activation_fn: activation of the main network's hidden layers (``nn.Hardtanh``, the
            authors' clip to [-1, 1]).
        hidden_size: units per memory layer (50).
        context_size: units of z per modulated layer (10); z has
            ``context_size * (len(net_arch) + 1)`` units.
        log_std_init: offset of the Gaussian log-std (-0.5: the authors' initial log-variance -1).
        init_std: truncated-normal init of the context layers and the main networks (0.1).
        ortho_init: must be False: the layers have the authors' init.
        features_extractor_class: :class:`NmdExtractor` or a subclass.

    Raises:
        ValueError: for an observation that is not ``PrevActionReward``'s Dict, ``ortho_init``,
            ``use_sde``, a features extractor without ``main_features_dim``, or the errors
            of :class:`RecurrentActorCriticPolicy`.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Hardtanh,
        ortho_init: bool = False,
        use_sde: bool = False,
        log_std_init: float = -0.5,
        features_extractor_class: type[BaseFeaturesExtractor] = NmdExtractor,
        hidden_size: int = 50,
        context_size: int = 10,
        init_std: float = INIT_STD,
        **kwargs: Any,
    ) -> None:
        check_nmd_observation_space(observation_space)
        if kwargs.get("features_to_head"):
            raise ValueError("NmdRecurrentPolicy's main network reads the observation already: "
                             "features_to_head must be False")
        if ortho_init or use_sde:
            raise ValueError("NmdRecurrentPolicy has the authors' init and Gaussian heads: "
                             f"set ortho_init=False and use_sde=False, got {ortho_init}, {use_sde}")
        self.context_size = context_size
        self.init_std = init_std
        super().__init__(
            observation_space, action_space, lr_schedule, net_arch=[10] if net_arch is None else net_arch,
            activation_fn=activation_fn, ortho_init=False, use_sde=False, log_std_init=log_std_init,
            features_extractor_class=features_extractor_class, hidden_size=hidden_size, **kwargs,
        )

    def _head_sizes(self) -> list[int]:
        dist = self.action_dist
        if isinstance(dist, DiagGaussianDistribution):
            return [dist.action_dim, dist.action_dim]  # mean, log-variance
        if isinstance(dist, CategoricalDistribution):
            return [dist.action_dim]
        if isinstance(dist, MultiCategoricalDistribution):
            return [sum(dist.action_dims)]
        if isinstance(dist, BernoulliDistribution):
            return [dist.action_dims]
        raise ValueError(f"NmdRecurrentPolicy has no head for {type(dist).__name__}")

    def _build(self, lr_schedule: Schedule) -> None:
        """Memories, context layers, main networks, then the optimizer (no SB3 MLP or heads)."""
        self.main_features_dim = getattr(self.features_extractor, "main_features_dim", None)
        if self.main_features_dim is None:
            raise ValueError(f"the features extractor must have main_features_dim (NmdExtractor), "
                             f"got {type(self.features_extractor).__name__}")
        self._build_memories()
        arch = self.net_arch if isinstance(self.net_arch, dict) else {"pi": self.net_arch, "vf": self.net_arch}

        def main(layers: list[int], heads: list[int]) -> ModulatedMLP:
            return ModulatedMLP(self.main_features_dim, list(layers), heads, self.context_size, self.activation_fn,
                                self.init_std)

        self.actor_net = main(arch.get("pi", []), self._head_sizes())
        self.critic_net = main(arch.get("vf", []), [1])
        self.actor_context = context_layer(self.hidden_size, self.actor_net.context_features, self.init_std)
        self.critic_context = context_layer(self.hidden_size, self.critic_net.context_features, self.init_std)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _actor_head(self, features: th.Tensor, memory_out: th.Tensor) -> tuple[Distribution, th.Tensor | None]:
        """The modulated action distribution, and z."""
        z = self.actor_context(memory_out)
        heads = self.actor_net(features[:, : self.main_features_dim], z)
        if isinstance(self.action_dist, DiagGaussianDistribution):
            mean, log_var = heads
            return self.action_dist.proba_distribution(mean, 0.5 * log_var + self.log_std_init), z
        return self.action_dist.proba_distribution(action_logits=heads[0]), z

    def _critic_head(self, features: th.Tensor, memory_out: th.Tensor) -> th.Tensor:
        return self.critic_net(features[:, : self.main_features_dim], self.critic_context(memory_out))[0]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(context_size=self.context_size, init_std=self.init_std)
        return data
