"""Recurrent actor-critic policies whose memory is any cell of :func:`brc_rl.nn.make_rnn`.

The network is SB3's ``ActorCriticPolicy`` with a memory between the features extractor
and the MLP heads::

    obs -> features extractor -> memory (one call per sequence, resets at episode starts)
        -> MlpExtractor (net_arch) -> action_net / value_net

The part after the memory is ``_actor_head`` and ``_critic_head``, which read the features
and the memory output; ``brc_rl.agents.nmd.NmdRecurrentPolicy`` replaces them.

Every tensor of a sequence is flattened time-major: step t of environment n is row
``t * N + n`` of an (L * N, ...) batch, and ``episode_starts`` is a bool (L, N) tensor.
A single step is the case L = 1.

The recurrent state is ONE tensor ``(M, num_layers, N, S)``: M = 1 when actor and critic
share the memory, M = 2 ([actor, critic]) when each has its own; S is the memory's
``state_size`` (2 * hidden_size for "lstm", whose state packs [h | c]).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    FlattenExtractor,
    MlpExtractor,
    NatureCNN,
)
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from brc_rl.nn import make_rnn
from brc_rl.nn.stats import LayerGates

Gates = list[LayerGates]


class SequenceEvaluation(NamedTuple):
    """What :meth:`RecurrentActorCriticPolicy.evaluate_sequences` returns.

    Attributes:
        values: (L * N,) critic values.
        log_prob: (L * N,) log-likelihood of the given actions.
        entropy: (L * N,) entropy of the action distribution, or None without a closed form.
        gates: the actor memory's ``(a, c)`` per layer (BRC, nBRC) or its spiking traces
            ``{stat: values}`` (LSNN, SRC), each (L, N, H), when asked for; None otherwise.
        context: the actor's context z, (L * N, Z), for ``NmdRecurrentPolicy`` when the
            gates are asked for; None otherwise.
    """

    values: th.Tensor
    log_prob: th.Tensor
    entropy: th.Tensor | None
    gates: Gates | None
    context: th.Tensor | None = None


class RecurrentActorCriticPolicy(ActorCriticPolicy):
    """Actor-critic policy with a recurrent memory (BRC, nBRC, GRU or LSTM).

    The arguments not listed below (observation_space, action_space, lr_schedule,
    net_arch, activation_fn, ortho_init, use_sde, log_std_init, full_std, use_expln,
    squash_output, features_extractor_class, features_extractor_kwargs,
    share_features_extractor, normalize_images, optimizer_class, optimizer_kwargs) are
    SB3's ``ActorCriticPolicy``'s. ``net_arch`` is applied after the memory (its input is
    the memory output, of size hidden_size). ``ortho_init`` does not touch the memory,
    which keeps its cell's own init.

    Args:
        cell: the memory, a name of ``brc_rl.nn.RNN_REGISTRY``: "brc", "nbrc", "gru", "lstm",
            "lsnn", "src".
        hidden_size: units per memory layer.
        num_layers: stacked memory layers.
        shared_memory: if True, actor and critic read one memory (trained by both losses);
            if False (default), the critic has its own memory of the same kind.
        rnn_kwargs: extra keyword arguments of the memory (e.g. ``recurrent_init``,
            ``dropout``); ``batch_first`` is not allowed (the policy is time-major).
        features_to_head: if True, ``net_arch`` reads ``[memory output, features]``
            (hidden_size + features_dim) instead of the memory output alone, so that the
            heads compare what the memory holds with what is seen now, where the action
            depends on both (e.g. the MiniGrid memory maze: step towards the object in view
            only if it matches the remembered cue).

    Raises:
        ValueError: for an unknown cell, ``batch_first`` in rnn_kwargs, or a shared memory
            with separate features extractors.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class=FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        cell: str = "nbrc",
        hidden_size: int = 128,
        num_layers: int = 1,
        shared_memory: bool = False,
        rnn_kwargs: dict[str, Any] | None = None,
        features_to_head: bool = False,
    ) -> None:
        rnn_kwargs = dict(rnn_kwargs or {})
        if "batch_first" in rnn_kwargs:
            raise ValueError("rnn_kwargs may not set batch_first: the policy's memory is time-major")
        if shared_memory and not share_features_extractor:
            raise ValueError(
                "shared_memory=True needs share_features_extractor=True (one memory reads one "
                "features extractor); got share_features_extractor=False"
            )
        # Read by _build, which ActorCriticPolicy.__init__ calls.
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.shared_memory = shared_memory
        self.rnn_kwargs = rnn_kwargs
        self.features_to_head = features_to_head
        super().__init__(
            observation_space, action_space, lr_schedule, net_arch, activation_fn, ortho_init,
            use_sde, log_std_init, full_std, use_expln, squash_output, features_extractor_class,
            features_extractor_kwargs, share_features_extractor, normalize_images,
            optimizer_class, optimizer_kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        """Build the memories, then SB3's heads and the optimizer (over all parameters)."""
        self._build_memories()
        super()._build(lr_schedule)

    def _build_memories(self) -> None:
        """The actor memory and, unless shared, the critic's, reading the features."""
        def make() -> nn.Module:
            return make_rnn(self.cell, self.features_dim, self.hidden_size, self.num_layers, **self.rnn_kwargs)

        self.memory = make()
        self.critic_memory = None if self.shared_memory else make()

    def _build_mlp_extractor(self) -> None:
        head_input = self.hidden_size + (self.features_dim if self.features_to_head else 0)
        self.mlp_extractor = MlpExtractor(
            head_input, net_arch=self.net_arch, activation_fn=self.activation_fn, device=self.device
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            cell=self.cell, hidden_size=self.hidden_size, num_layers=self.num_layers,
            shared_memory=self.shared_memory, rnn_kwargs=self.rnn_kwargs,
            share_features_extractor=self.share_features_extractor, features_to_head=self.features_to_head,
        )
        return data

    @property
    def num_memories(self) -> int:
        """M: 1 with a shared memory, 2 with separate actor and critic memories."""
        return 1 if self.critic_memory is None else 2

    def initial_state(self, n_envs: int) -> th.Tensor:
        """Zero state (M, num_layers, n_envs, S) on the policy's device."""
        return th.zeros(
            self.num_memories, self.num_layers, n_envs, self.memory.state_size, device=self.device
        )

    @staticmethod
    def _run_memory(
        memory: nn.Module, features: th.Tensor, state: th.Tensor, episode_starts: th.Tensor,
        with_gates: bool = False,
    ) -> tuple[th.Tensor, th.Tensor, Gates | None]:
        """One call of ``memory`` over a whole sequence.

        Args:
            features: (L * N, F) time-major.
            state: (num_layers, N, S) state before step 0.
            episode_starts: bool (L, N); where True the state is zeroed before step t.
            with_gates: also return the gates, if the memory has ``forward_with_gates``.

        Returns:
            ``(output (L * N, H), h_n (num_layers, N, S), gates or None)``.
        """
        L, N = episode_starts.shape
        x = features.reshape(L, N, -1)
        gates = None
        if with_gates and hasattr(memory, "forward_with_gates"):
            out, h_n, gates = memory.forward_with_gates(x, state, episode_starts)
        else:
            out, h_n = memory(x, state, episode_starts)
        return out.reshape(L * N, -1), h_n, gates

    def _head_input(self, features: th.Tensor, memory_out: th.Tensor) -> th.Tensor:
        """What ``net_arch`` reads: the memory output (L * N, H), with the features (L * N, F)
        after it if ``features_to_head``."""
        return th.cat([memory_out, features], dim=-1) if self.features_to_head else memory_out

    def _actor_head(self, features: th.Tensor, memory_out: th.Tensor) -> tuple[Distribution, th.Tensor | None]:
        """The action distribution of the actor, from its features (L * N, F) and memory output
        (L * N, H); and a context to monitor (None here; the context z of ``NmdRecurrentPolicy``)."""
        latent = self.mlp_extractor.forward_actor(self._head_input(features, memory_out))
        return self._get_action_dist_from_latent(latent), None

    def _critic_head(self, features: th.Tensor, memory_out: th.Tensor) -> th.Tensor:
        """Values (L * N, 1) from the critic's features (L * N, F) and memory output (L * N, H)."""
        return self.value_net(self.mlp_extractor.forward_critic(self._head_input(features, memory_out)))

    def _sequences(
        self, obs: PyTorchObs, states: th.Tensor, episode_starts: th.Tensor, with_gates: bool = False
    ) -> tuple[tuple[th.Tensor, th.Tensor], tuple[th.Tensor, th.Tensor], th.Tensor, Gates | None]:
        """Both memories along a sequence: ``((features, output) of the actor, (features, output)
        of the critic, new_states, gates)``."""
        features = self.extract_features(obs)
        pi_features, vf_features = (features, features) if self.share_features_extractor else features
        out_pi, h_pi, gates = self._run_memory(self.memory, pi_features, states[0], episode_starts, with_gates)
        if self.critic_memory is None:
            out_vf, new_states = out_pi, h_pi.unsqueeze(0)
        else:
            out_vf, h_vf, _ = self._run_memory(self.critic_memory, vf_features, states[1], episode_starts)
            new_states = th.stack([h_pi, h_vf])
        return (pi_features, out_pi), (vf_features, out_vf), new_states, gates

    def forward(  # type: ignore[override]
        self, obs: PyTorchObs, states: th.Tensor, episode_starts: th.Tensor, deterministic: bool = False
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        """Act on a sequence (a rollout step is L = 1).

        Args:
            obs: (L * N, *obs_shape) time-major.
            states: (M, num_layers, N, S) before step 0.
            episode_starts: bool (L, N).
            deterministic: take the mode of the distribution instead of sampling.

        Returns:
            ``(actions, values (L * N, 1), log_prob (L * N,), new_states (M, num_layers, N, S))``.
        """
        actor, critic, new_states, _ = self._sequences(obs, states, episode_starts)
        distribution, _ = self._actor_head(*actor)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions, self._critic_head(*critic), log_prob, new_states

    def evaluate_sequences(
        self, obs: PyTorchObs, actions: th.Tensor, states: th.Tensor, episode_starts: th.Tensor,
        with_gates: bool = False,
    ) -> SequenceEvaluation:
        """Values, log-likelihoods and entropies of the actions taken along sequences.

        Args:
            obs: (L * N, *obs_shape) time-major; actions: (L * N, ...) likewise.
            states: (M, num_layers, N, S) memory states before step 0.
            episode_starts: bool (L, N).
            with_gates: also return the actor memory's gates (BRC / nBRC) and context (NMD).
        """
        actor, critic, _, gates = self._sequences(obs, states, episode_starts, with_gates)
        distribution, context = self._actor_head(*actor)
        return SequenceEvaluation(
            values=self._critic_head(*critic).flatten(),
            log_prob=distribution.log_prob(actions),
            entropy=distribution.entropy(),
            gates=gates,
            context=context if with_gates else None,
        )

    def evaluate_actions(  # type: ignore[override]
        self, obs: PyTorchObs, actions: th.Tensor, states: th.Tensor, episode_starts: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """SB3's ``(values, log_prob, entropy)``, from :meth:`evaluate_sequences`."""
        return self.evaluate_sequences(obs, actions, states, episode_starts)[:3]

    def get_distribution(  # type: ignore[override]
        self, obs: PyTorchObs, state: th.Tensor, episode_starts: th.Tensor
    ) -> tuple[Distribution, th.Tensor]:
        """Actor only: the action distribution along a sequence and the new actor state.

        Args:
            obs: (L * N, *obs_shape) time-major.
            state: (num_layers, N, S) actor memory state.
            episode_starts: bool (L, N).

        Returns:
            ``(distribution over L * N rows, new state (num_layers, N, S))``.
        """
        features = BasePolicy.extract_features(self, obs, self.pi_features_extractor)
        out, h_n, _ = self._run_memory(self.memory, features, state, episode_starts)
        return self._actor_head(features, out)[0], h_n

    def predict_values(  # type: ignore[override]
        self, obs: PyTorchObs, states: th.Tensor, episode_starts: th.Tensor
    ) -> th.Tensor:
        """Critic only: values (L * N, 1) along a sequence from states (M, num_layers, N, S)."""
        features = BasePolicy.extract_features(self, obs, self.vf_features_extractor)
        memory, state = (self.memory, states[0]) if self.critic_memory is None else (self.critic_memory, states[1])
        out, _, _ = self._run_memory(memory, features, state, episode_starts)
        return self._critic_head(features, out)

    def _predict(  # type: ignore[override]
        self, observation: PyTorchObs, state: th.Tensor, episode_starts: th.Tensor, deterministic: bool = False
    ) -> tuple[th.Tensor, th.Tensor]:
        distribution, state = self.get_distribution(observation, state, episode_starts)
        return distribution.get_actions(deterministic=deterministic), state

    def predict(  # type: ignore[override]
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One step of the actor for N environments, carrying its memory state.

        Args:
            observation: (N, *obs_shape) (or one unbatched observation).
            state: the actor memory state (num_layers, N, S) returned by the previous call;
                None means zeros.
            episode_start: (N,) bool, True where a new episode starts (the state is zeroed
                before this step); None means no reset.
            deterministic: take the mode instead of sampling.

        Returns:
            ``(actions, state)``: the actions and the new actor state (num_layers, N, S).

        Raises:
            ValueError: if state or episode_start has the wrong shape.
        """
        self.set_training_mode(False)
        obs, vectorized = self.obs_to_tensor(observation)
        n_envs = (next(iter(obs.values())) if isinstance(obs, dict) else obs).shape[0]
        expected = (self.num_layers, n_envs, self.memory.state_size)
        state = np.zeros(expected, dtype=np.float32) if state is None else np.asarray(state)
        if state.shape != expected:
            raise ValueError(f"expected state of shape {expected} (num_layers, n_envs, state_size), got {state.shape}")
        starts = np.zeros(n_envs, dtype=bool) if episode_start is None else np.asarray(episode_start, dtype=bool)
        if starts.size != n_envs:
            raise ValueError(f"expected episode_start of {n_envs} values, got shape {starts.shape}")
        with th.no_grad():
            actions, new_state = self._predict(
                obs,
                th.as_tensor(state, dtype=th.float32, device=self.device),
                th.as_tensor(starts.reshape(1, n_envs), device=self.device),
                deterministic=deterministic,
            )
        actions = actions.cpu().numpy().reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        if isinstance(self.action_space, spaces.Box):
            actions = (
                self.unscale_action(actions) if self.squash_output
                else np.clip(actions, self.action_space.low, self.action_space.high)
            )
        if not vectorized:
            actions = actions.squeeze(axis=0)
        return actions, new_state.cpu().numpy()


class RecurrentActorCriticCnnPolicy(RecurrentActorCriticPolicy):
    """:class:`RecurrentActorCriticPolicy` with SB3's NatureCNN features extractor (images)."""

    def __init__(self, *args, features_extractor_class=NatureCNN, **kwargs) -> None:
        super().__init__(*args, features_extractor_class=features_extractor_class, **kwargs)


class RecurrentMultiInputActorCriticPolicy(RecurrentActorCriticPolicy):
    """:class:`RecurrentActorCriticPolicy` with SB3's CombinedExtractor (Dict observations)."""

    def __init__(self, *args, features_extractor_class=CombinedExtractor, **kwargs) -> None:
        super().__init__(*args, features_extractor_class=features_extractor_class, **kwargs)


MlpRecurrentPolicy = RecurrentActorCriticPolicy
CnnRecurrentPolicy = RecurrentActorCriticCnnPolicy
MultiInputRecurrentPolicy = RecurrentMultiInputActorCriticPolicy

POLICY_ALIASES: dict[str, type[RecurrentActorCriticPolicy]] = {
    "MlpRecurrentPolicy": MlpRecurrentPolicy,
    "CnnRecurrentPolicy": CnnRecurrentPolicy,
    "MultiInputRecurrentPolicy": MultiInputRecurrentPolicy,
}
