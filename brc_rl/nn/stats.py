"""Statistics of a recurrent memory: bistable share, gate means, spike rates, mean |h|, and their keys.

One scheme serves RL (``MemoryMonitor`` on rollout data) and the supervised benchmarks
(a probe on 100 test sequences). Every statistic of layer k is logged under

    ``memory/layer{k}/<stat>``

(:func:`memory_key`, :func:`memory_scalars`), with these stats, for layer k's gates
a, c, spikes, adaptations and hidden state h over the valid steps V (a mask; all steps
without one) and the H units j:

- ``bistable_fraction`` = 1 / (|V| H) * sum_{s in V} sum_j 1[a_{s,j} > 1]: the share of
  unit-steps in the bistable regime a > 1 (BRC, nBRC; the paper's Fig. 4).
- ``mean_a`` = 1 / (|V| H) * sum_{s in V} sum_j a_{s,j}: the mean feedback gate,
  a in (0, 2) (BRC, nBRC).
- ``mean_c`` = 1 / (|V| H) * sum_{s in V} sum_j c_{s,j}: the mean update gate; near 1
  a unit holds its state (BRC, nBRC; the paper's Fig. 4).
- ``firing_rate`` = 1 / (|V| H) * sum_{s in V} sum_j z_{s,j}: spikes per neuron and
  step, z in {0, 1} the output of an LSNN layer (LSNN).
- ``mean_adaptation`` = 1 / (|V| H) * sum_{s in V} sum_j beta_j b_{s,j}: the mean rise
  of the threshold A = v_th + beta b above v_th (LSNN; 0 for LIF neurons, beta_j = 0).
- ``spike_rate`` = 1 / (|V| H) * sum_{s in V} sum_j 1[h_{s,j} > 0 and h_{s-1,j} <= 0]:
  spikes per neuron and step of an SRC layer, counting a spike once at its onset (the
  output max(h, 0) stays positive for a step or two per spike; h_{s-1} is the
  previous time step's h of the same sequence: hx's at step 0, 0 after a reset) (SRC).
- ``state_abs_mean`` = mean of |h_{s,j}| over the steps, sequences and units (every
  cell; the first H entries of the state: h of LSTM's [h | c], the spikes z of LSNN's
  [z | v | b | r] (its firing rate at the rollout's steps), h - h* of SRC's
  [h - h* | h_s - h* | i] (the distance from rest)). Logged by RL only.

A step s is one (time step, sequence) pair: the gates may be time-major (L, N, H), as
the RL memories return them, or batch-first (N, T, H), as the supervised models do;
the mask has the shape of their first two dimensions. Per layer, the "gates" are BRC's
and nBRC's ``(a, c)``, or a spiking memory's traces ``{stat: values}``, whose means
over the valid unit-steps are the statistics (``forward_with_gates`` of
:class:`brc_rl.nn.LSNN` and :class:`brc_rl.nn.SRC`).

The neuromodulated policy (``NmdRecurrentPolicy``) also logs its actor's context z, the
output of its neuromodulatory network, over the steps and its Z units
(:func:`context_sums`, :func:`context_scalars`; RL only):

- ``memory/context_mean`` = mean of z_{s,j}: z >= 0 (ReLU); 0 when every unit is silent.
- ``memory/context_std`` = standard deviation of z_{s,j} over steps and units: 0 when z
  is constant, which would leave the main network unmodulated.

Example:
    >>> import torch
    >>> a, c = torch.tensor([[[0.5, 1.5]]]), torch.tensor([[[0.25, 0.5]]])  # (L=1, N=1, H=2)
    >>> memory_scalars(gate_means(*gate_sums([(a, c)])))
    {'memory/layer0/bistable_fraction': 0.5, 'memory/layer0/mean_a': 1.0, 'memory/layer0/mean_c': 0.375}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

#: The gate statistics of BRC and nBRC, in the order of the columns of :func:`gate_sums`.
GATE_STATS = ("bistable_fraction", "mean_a", "mean_c")
#: The statistics of the spiking memories: LSNN's two, then SRC's.
SPIKE_STATS = ("firing_rate", "mean_adaptation", "spike_rate")
#: Every statistic of the ``memory/layer{k}/<stat>`` scheme.
MEMORY_STATS = (*GATE_STATS, *SPIKE_STATS, "state_abs_mean")
#: The NMD context statistics, logged as ``memory/<stat>``.
CONTEXT_STATS = ("context_mean", "context_std")

#: Per layer: BRC's ``(a, c)`` or a spiking memory's ``{stat: values}``.
LayerGates = tuple[Tensor, Tensor] | Mapping[str, Tensor]


def _traces(layer: LayerGates) -> Mapping[str, Tensor]:
    """``{stat: values}`` whose means are the layer's statistics."""
    if isinstance(layer, Mapping):
        return layer
    a, c = layer
    return {"bistable_fraction": a > 1, "mean_a": a, "mean_c": c}


def gate_stats(gates: Sequence[LayerGates]) -> tuple[str, ...]:
    """The statistics that :func:`gate_sums` computes from these gates, in column order:
    :data:`GATE_STATS` for ``(a, c)`` pairs, the keys of a spiking memory's traces."""
    return tuple(_traces(gates[0]))


@torch.no_grad()
def gate_sums(gates: Sequence[LayerGates], mask: Tensor | None = None) -> tuple[Tensor, int]:
    """Per layer, the sums over the valid unit-steps of what the statistics average.

    For ``(a, c)``: 1[a > 1], a and c; for a spiking memory's traces: each trace. Sums
    add up across batches; :func:`gate_means` turns them into the statistics.

    Args:
        gates: per layer ``(a, c)`` or ``{stat: values}``, each (L, N, H) or (N, T, H).
        mask: optional bool or 0/1 tensor of the gates' first two dimensions; only the
            steps where it is true count.

    Returns:
        The (num_layers, number of statistics) float tensor of sums, columns in the order
        of :func:`gate_stats`, and the number of unit-steps summed per layer.

    Raises:
        ValueError: if the mask's shape is not the gates' first two dimensions.
    """
    layers = [list(_traces(layer).values()) for layer in gates]
    first = layers[0][0]
    if mask is None:
        rows = [torch.stack([t.sum() for t in traces]).float() for traces in layers]
        return torch.stack(rows), first.numel()
    if mask.shape != first.shape[:2]:
        raise ValueError(f"expected a mask of shape {tuple(first.shape[:2])}, got {tuple(mask.shape)}")
    weight = mask.to(device=first.device, dtype=torch.float32)[..., None]
    rows = [torch.stack([(t * weight).sum() for t in traces]) for traces in layers]
    return torch.stack(rows), int(mask.sum()) * first.shape[2]


def gate_means(sums: Tensor, count: int, stats: Sequence[str] = GATE_STATS) -> list[dict[str, float]]:
    """Per layer ``{stat: mean}`` from :func:`gate_sums`' output.

    Args:
        sums: (num_layers, len(stats)) sums.
        count: unit-steps summed per layer.
        stats: the names of the columns, :func:`gate_stats` of the gates summed
            (default: BRC's and nBRC's).
    """
    return [dict(zip(stats, row)) for row in (sums / count).tolist()]


@torch.no_grad()
def state_abs_mean(states: Tensor) -> list[float]:
    """Per layer, the mean of |h| over everything else.

    Args:
        states: (num_layers, ...) the h of each layer, e.g. (num_layers, T, N, H).
    """
    return states.abs().flatten(1).mean(1).tolist()


def memory_key(layer: int, stat: str) -> str:
    """The logged name of statistic ``stat`` of layer ``layer``: ``memory/layer{k}/<stat>``.

    Raises:
        ValueError: for a stat not in :data:`MEMORY_STATS`.
    """
    if stat not in MEMORY_STATS:
        raise ValueError(f"unknown memory statistic {stat!r}; valid: {', '.join(MEMORY_STATS)}")
    return f"memory/layer{layer}/{stat}"


def memory_scalars(layers: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """``{memory_key(k, stat): value}`` of per-layer ``{stat: value}`` dicts."""
    return {memory_key(k, stat): value for k, layer in enumerate(layers) for stat, value in layer.items()}


@torch.no_grad()
def context_sums(context: Tensor) -> tuple[Tensor, int]:
    """The sums of z and z^2 over every entry of ``context`` (any shape), and their count."""
    z = context.double()
    return torch.stack([z.sum(), (z * z).sum()]), context.numel()


def context_scalars(sums: Tensor, count: int) -> dict[str, float]:
    """``{"memory/context_mean": .., "memory/context_std": ..}`` of :func:`context_sums`' output."""
    mean, square = (sums / count).tolist()
    return {"memory/context_mean": mean, "memory/context_std": max(square - mean * mean, 0.0) ** 0.5}
