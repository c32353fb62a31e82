"""Statistics of the actor's memory on rollout data, logged under ``memory/``.

Per layer k of the actor memory (the shared one when actor and critic share it):

- ``memory/state_abs_mean_l{k}``: mean |h| over the rollout's steps, environments and
  units (every cell; for "lstm" the h half of its [h | c] state). Taken from the states
  the rollout computes anyway: one stack and one reduction per update.
- ``memory/bistable_fraction_l{k}``: share of unit-steps with a > 1 (BRC, nBRC).
- ``memory/mean_a_l{k}``, ``memory/mean_c_l{k}``: mean of the gates a and c (BRC, nBRC;
  the paper's Fig. 4 quantities). The gates come from the first epoch of the update,
  whose minibatches cover the rollout exactly once; the numba kernel computes them
  anyway, so this costs three reductions per minibatch.
"""

from __future__ import annotations

import torch as th
from stable_baselines3.common.logger import Logger


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

    def record_state(self, state: th.Tensor) -> None:
        """Record the memory state after one rollout step.

        Args:
            state: (num_layers, N, S) with S >= H; h is ``state[..., :H]``.
        """
        self._states.append(state[..., : self.hidden_size])

    def record_gates(self, gates: list[tuple[th.Tensor, th.Tensor]]) -> None:
        """Record the gates of one sequence evaluation.

        Args:
            gates: per layer ``(a, c)``, each (L, N, H).
        """
        with th.no_grad():
            sums = th.stack([th.stack([(a > 1).sum(), a.sum(), c.sum()]).float() for a, c in gates])
        self._gate_sums = sums if self._gate_sums is None else self._gate_sums + sums
        self._gate_count += gates[0][0].numel()

    def summary(self) -> dict[str, float]:
        """The ``memory/*`` values of what was recorded (empty if nothing was)."""
        values: dict[str, float] = {}
        if self._states:
            abs_mean = th.stack(self._states).abs().mean(dim=(0, 2, 3)).tolist()
            values.update({f"memory/state_abs_mean_l{k}": v for k, v in enumerate(abs_mean)})
        if self._gate_sums is not None:
            means = (self._gate_sums / self._gate_count).tolist()
            for k, (bistable, a, c) in enumerate(means):
                values[f"memory/bistable_fraction_l{k}"] = bistable
                values[f"memory/mean_a_l{k}"] = a
                values[f"memory/mean_c_l{k}"] = c
        return values

    def dump(self, logger: Logger) -> None:
        """Record :meth:`summary` through ``logger.record`` and reset."""
        for key, value in self.summary().items():
            logger.record(key, value)
        self.reset()
