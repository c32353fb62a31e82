"""The partial warm-up memory: per layer, a warmed half and a plain half on the same input.

Lambrechts et al. 2023 (arXiv 2106.01001; ``cells.Double`` in the repository
``glambrechts/warmup``): warm-up may cost precision; with half of every layer warmed
up (long memory) and half left as initialised (precision), both are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from brc_rl.nn._layout import prepare, set_rnn_arguments
from brc_rl.nn.attractors import WarmupLayer


class PartialWarmup(nn.Module):
    r"""Layers made of two memories of hidden_size / 2 that read the same input.

    Layer k runs ``warm[k]`` and ``cold[k]``, one-layer memories of the cell, on the same
    input x_t (the memory's input, or layer k - 1's output) and outputs
    [y^warm_t | y^cold_t] (size hidden_size). Its state is [s^warm | s^cold] (for "lstm"
    [h | c] of the warm half, then of the cold half). Warm-up (:func:`brc_rl.nn.warmup.warmup`)
    updates ``warm`` only (:meth:`warmup_layers`); training then updates both.

    Build it with ``make_rnn(cell, ..., partial_warmup=True)``. The interface is
    :class:`brc_rl.nn.BRC`'s (torch.nn.GRU's, with ``resets``).

    Args:
        cell: a name of ``brc_rl.nn.RNN_REGISTRY``.
        input_size: H_in.
        hidden_size: H, even: each half has H / 2 units.
        num_layers: stacked layers.
        bias: as torch.nn.GRU.
        batch_first: as torch.nn.GRU (not hx).
        dropout: on the outputs of every layer but the last, in training.
        device: factory kwarg.
        dtype: factory kwarg.
        **cell_kwargs: more arguments of the cell (``recurrent_init`` ...).

    Inputs: ``input, hx, resets`` as :class:`brc_rl.nn.BRC`, hx (num_layers, N, state_size).

    Outputs: ``output`` (L, N, H) (the input's layout), ``h_n`` (num_layers, N, state_size).

    Attributes:
        warm: ``nn.ModuleList`` of the warmed halves, one-layer memories of H / 2 units.
        cold: ``nn.ModuleList`` of the other halves.
        state_size: 2 x the halves' state size.

    Raises:
        ValueError: for an odd hidden_size, or a dropout out of [0, 1].
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, **cell_kwargs: Any) -> None:
        super().__init__()
        from brc_rl.nn.registry import make_rnn  # the registry builds this class

        set_rnn_arguments(self, input_size, hidden_size, num_layers, bias, batch_first, dropout)
        if hidden_size % 2:
            raise ValueError(f"partial warm-up splits every layer in two halves: hidden_size must be even, "
                             f"got {hidden_size}")
        self.cell = cell
        kwargs = dict(bias=bias, device=device, dtype=dtype, **cell_kwargs)

        def half(k: int) -> nn.Module:
            return make_rnn(cell, input_size if k == 0 else hidden_size, hidden_size // 2, 1, **kwargs)

        self.warm = nn.ModuleList(half(k) for k in range(num_layers))
        self.cold = nn.ModuleList(half(k) for k in range(num_layers))

    @property
    def state_size(self) -> int:
        """S of one layer: both halves' states."""
        return 2 * self.warm[0].state_size

    def reset_parameters(self) -> None:
        for half in (*self.warm, *self.cold):
            half.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.cell!r}, {self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        return s + (f", dropout={self.dropout}" if self.dropout else "")

    def warmup_layers(self) -> list[WarmupLayer]:
        """The warmed half of every layer, holding the first half of the layer's state."""
        half = self.warm[0].state_size
        return [WarmupLayer(warm, warm.input_size, slice(0, half)) for warm in self.warm]

    def forward(self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        output, h_n, _ = self._run(input, hx, resets, with_gates=False)
        return output, h_n

    def _run(self, input: Tensor, hx: Tensor | None, resets: Tensor | None, with_gates: bool):
        x, hx, resets, layout = prepare(
            input, hx, resets, input_size=self.input_size, num_layers=self.num_layers,
            state_size=self.state_size, batch_first=self.batch_first, dtype=next(self.parameters()).dtype,
        )
        half = self.warm[0].state_size
        h_n, gates = [], []
        for k, (warm, cold) in enumerate(zip(self.warm, self.cold)):
            if k > 0 and self.dropout and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)
            outs = [half_memory.forward_with_gates(x, state, resets) if with_gates else
                    half_memory(x, state, resets) for half_memory, state in
                    ((warm, hx[k : k + 1, :, :half]), (cold, hx[k : k + 1, :, half:]))]
            x = torch.cat([outs[0][0], outs[1][0]], dim=-1)
            h_n.append(torch.cat([outs[0][1][0], outs[1][1][0]], dim=-1))
            if with_gates:
                gates.append(_join(outs[0][2][0], outs[1][2][0], layout.output))
        return layout.output(x), layout.state(torch.stack(h_n)), gates


def _join(warm: Any, cold: Any, output: Callable[[Tensor], Tensor]) -> Any:
    """One layer's gates of the two halves, units concatenated (warm first): ``(a, c)`` or ``{stat: values}``."""
    if isinstance(warm, dict):
        return {name: output(torch.cat([warm[name], cold[name]], -1)) for name in warm}
    return tuple(output(torch.cat([w, c], -1)) for w, c in zip(warm, cold))


class GatedPartialWarmup(PartialWarmup):
    """:class:`PartialWarmup` of a memory with ``forward_with_gates`` (BRC, nBRC, LSNN, SRC)."""

    def forward_with_gates(self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
                           ) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor]]]:
        """As the memory's ``forward_with_gates``: each layer's ``(a, c)`` or ``{stat: values}``,
        the warm half's units first."""
        return self._run(input, hx, resets, with_gates=True)


__all__ = ["GatedPartialWarmup", "PartialWarmup"]
