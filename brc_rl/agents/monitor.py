"""Statistics of the actor's memory on rollout data, logged as ``memory/layer{k}/<stat>``.

The scheme, the stats and their equations are those of :mod:`brc_rl.nn.stats`. Per layer k
of the actor memory (the shared one when actor and critic share it):

- ``state_abs_mean``: mean |h| over the rollout's steps, environments and units (every
  cell; for "lstm" the h half of its [h | c] state). Taken from the states the rollout
  computes anyway: one stack and one reduction per update.
- ``bistable_fraction``, ``mean_a``, ``mean_c`` (BRC, NBRC): over the gates of the first
  epoch of the update, whose minibatches cover the rollout exactly once; the numba kernel
  computes them anyway, so this costs three reductions per minibatch.
- ``firing_rate``, ``mean_adaptation`` (LSNN), ``spike_rate`` (SRC): likewise, over the
  spiking traces of the first epoch.

and, for ``NmdRecurrentPolicy``, ``memory/context_mean`` and ``memory/context_std`` of the
actor's context z over the same first epoch.
"""

from __future__ import annotations

import torch as th
from stable_baselines3.common.logger import Logger

from brc_rl.nn.stats import (
    GATE_STATS,
    LayerGates,
    context_scalars,
    context_sums,
    gate_means,
    gate_stats,
    gate_sums,
    memory_scalars,
    state_abs_mean,
)


class MemoryMonitor:
    """Accumulates the memory statistics of one rollout and records them.

    Args:
        hidden_size: H, the size of h (the first H entries of every state).
        num_layers: layers of the memory.
    """

    def __init__(self, hidden_size: int, num_layers: int) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.reset()

    def reset(self) -> None:
        """Forget everything recorded."""
        self._states: list[th.Tensor] = []
        self._gate_sums: th.Tensor | None = None
        self._gate_count = 0
        self._gate_stats: tuple[str, ...] = GATE_STATS
        self._context_sums: th.Tensor | None = None
        self._context_count = 0

    def record_state(self, state: th.Tensor) -> None:
        """Record the memory state after one rollout step.

        Args:
            state: (num_layers, N, S) with S >= H; h is ``state[..., :H]``.
        """
        self._states.append(state[..., : self.hidden_size])

    def record_gates(self, gates: list[LayerGates]) -> None:
        """Record the gates of one sequence evaluation.

        Args:
            gates: per layer ``(a, c)`` (BRC, nBRC) or a spiking memory's
                ``{stat: values}``, each (L, N, H).
        """
        self._gate_stats = gate_stats(gates)
        sums, count = gate_sums(gates)
        self._gate_sums = sums if self._gate_sums is None else self._gate_sums + sums
        self._gate_count += count

    def record_context(self, context: th.Tensor) -> None:
        """Record the NMD context z of one sequence evaluation, (L * N, Z)."""
        sums, count = context_sums(context)
        self._context_sums = sums if self._context_sums is None else self._context_sums + sums
        self._context_count += count

    def summary(self) -> dict[str, float]:
        """The ``memory/layer{k}/<stat>`` and ``memory/context_*`` values of what was recorded
        (empty if nothing was)."""
        layers: list[dict[str, float]] = [{} for _ in range(self.num_layers)]
        for layer, value in zip(layers, state_abs_mean(th.stack(self._states, dim=1)) if self._states else []):
            layer["state_abs_mean"] = value
        if self._gate_sums is not None:
            for layer, means in zip(layers, gate_means(self._gate_sums, self._gate_count, self._gate_stats)):
                layer.update(means)
        scalars = memory_scalars(layers)
        if self._context_sums is not None:
            scalars.update(context_scalars(self._context_sums, self._context_count))
        return scalars

    def dump(self, logger: Logger) -> None:
        """Record :meth:`summary` through ``logger.record`` and reset."""
        for key, value in self.summary().items():
            logger.record(key, value)
        self.reset()
