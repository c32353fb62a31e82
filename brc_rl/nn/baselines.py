"""torch.nn.GRU and torch.nn.LSTM behind the memory interface of brc_rl.nn.

Both take ``resets`` like :class:`brc_rl.nn.BRC`. The sequence is cut at the steps where
any sequence of the batch resets; each piece is one call of the native (cuDNN / oneDNN)
recurrence, with the resetting sequences' states zeroed first. This is exact and costs
one native call per distinct reset step.

The LSTM's state is one tensor to the outside: ``hx`` and ``h_n`` are
(num_layers, N, 2H) holding [h | c] along the last dimension.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from brc_rl.nn._layout import prepare


def _segments(resets: Tensor | None, length: int) -> list[tuple[int, int]]:
    """[start, stop) pieces of the sequence; each starts at 0 or at a step with a reset."""
    if resets is None:
        return [(0, length)]
    starts = resets.any(dim=1).nonzero().flatten().tolist()
    bounds = sorted({0, *starts}) + [length]
    return list(zip(bounds[:-1], bounds[1:]))


class _ResettableMixin:
    """Runs a native torch RNN piecewise between reset steps."""

    def _native(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """One native call on time-major x (L, N, H_in) and the packed state."""
        raise NotImplementedError

    def _call_native(self, x: Tensor, *state):
        # The native forward reads self.batch_first; x is time-major here.
        if self.batch_first:
            out, state = super().forward(x.transpose(0, 1), *state)
            return out.transpose(0, 1), state
        return super().forward(x, *state)

    @property
    def state_size(self) -> int:
        raise NotImplementedError

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Args and returns as :meth:`brc_rl.nn.BRC.forward` (state size :attr:`state_size`)."""
        x, state, resets, layout = prepare(
            input, hx, resets, input_size=self.input_size, num_layers=self.num_layers,
            state_size=self.state_size, batch_first=self.batch_first, dtype=self.weight_ih_l0.dtype,
        )
        outputs = []
        for start, stop in _segments(resets, x.shape[0]):
            if resets is not None:
                state = torch.where(resets[start].view(1, -1, 1), torch.zeros_like(state), state)
            out, state = self._native(x[start:stop], state)
            outputs.append(out)
        output = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        return layout.output(output), layout.state(state)


class GRU(_ResettableMixin, nn.GRU):
    """torch.nn.GRU that also takes ``resets`` (same arguments, parameters and init)."""

    @property
    def state_size(self) -> int:
        return self.hidden_size

    def _native(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return self._call_native(x, state.contiguous())


class LSTM(_ResettableMixin, nn.LSTM):
    """torch.nn.LSTM that also takes ``resets``, with one state tensor [h | c] of size 2H."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs) -> None:
        if kwargs.get("proj_size", 0):
            raise ValueError("proj_size is not supported by brc_rl.nn.LSTM")
        super().__init__(input_size, hidden_size, num_layers, **kwargs)

    @property
    def state_size(self) -> int:
        return 2 * self.hidden_size

    def _native(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h, c = state.chunk(2, dim=-1)
        out, (h, c) = self._call_native(x, (h.contiguous(), c.contiguous()))
        return out, torch.cat([h, c], dim=-1)
