"""torch.nn.GRU and torch.nn.LSTM behind the memory interface of brc_rl.nn.

Both take ``resets`` like :class:`brc_rl.nn.BRC` and call the native (cuDNN / oneDNN /
ATen) recurrence once per forward, whatever the resets:

- no reset after step 0 (``resets`` None, all False, or only at step 0 as in a rollout
  step, L = 1): the resetting sequences' states are zeroed (``masked_fill``) and the
  whole batch goes through one plain call;
- resets inside the sequence (training minibatches): every sequence is cut at its
  resets into pieces, the first starting from ``hx`` (zeros if it resets at step 0), the
  others from zeros; the pieces go through one call as a ``PackedSequence``, and the
  outputs are gathered back to (L, N). ``h_n`` is the state after each sequence's last
  piece.

On the CPU (float32 / float64) the GRU with resets inside the sequence takes neither:
layer by layer, one input projection for the whole sequence, then
:func:`brc_rl.nn.functional.gru_scan`, numba kernels forward and backward with the
resets applied inside (torch's generic per-step GRU, packed, was about 5x slower than
nBRC's kernel on a 128 x 2 training minibatch); dropout between layers in training, as
torch.nn.GRU. The parameters stay torch.nn.GRU's.

The LSTM on the CPU with resets inside the sequence is the other exception: torch runs an
unpacked LSTM through oneDNN but a packed one through its generic per-step code, which was about twice as slow as one
oneDNN call per piece of time between reset steps (forward and backward of 128 steps x 2
sequences, an episode start every 48 steps, hidden 128). There, the sequence is cut at
the steps where any sequence resets, one native call per piece.
All paths are exact: each piece runs the same recurrence as if it were called on its own.

The LSTM's state is one tensor to the outside: ``hx`` and ``h_n`` are
(num_layers, N, 2H) holding [h | c] along the last dimension.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from brc_rl.nn._layout import prepare
from brc_rl.nn.functional import gru_scan, lstm_scan


class Packing(NamedTuple):
    """Where the steps of an (L, N) batch cut at its resets go in a ``PackedSequence``.

    A piece runs from a sequence's step 0 or from one of its resets up to its next reset
    or step L. Pieces are sorted by decreasing length (stable), as a ``PackedSequence``
    without ``sorted_indices`` expects; "packed row" is a row of its ``data``.

    Attributes:
        gather: (L * N,) long, the time-major row (t * N + n) held by each packed row.
        scatter: (L * N,) long, the packed row of each time-major row (inverse of gather).
        batch_sizes: (max piece length,) long on the CPU, the ``PackedSequence``'s.
        first: (N,) long, the sorted position of each sequence's first piece.
        last: (N,) long, the sorted position of each sequence's last piece.
    """

    gather: Tensor
    scatter: Tensor
    batch_sizes: Tensor
    first: Tensor
    last: Tensor

    @property
    def num_pieces(self) -> int:
        return int(self.batch_sizes[0])


def packing(resets: Tensor) -> Packing:
    """The :class:`Packing` of bool resets (L, N); index tensors on ``resets.device``."""
    L, N = resets.shape
    starts = resets.t().to("cpu", copy=True)  # sequence-major: step t of sequence n is n * L + t
    starts[:, 0] = True
    flat = starts.reshape(-1)
    piece = flat.cumsum(0) - 1  # piece of each sequence-major step
    begin = flat.nonzero().squeeze(1)  # sequence-major step where each piece begins
    lengths = torch.diff(begin, append=begin.new_tensor([L * N]))
    order = torch.sort(lengths, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    batch_sizes = (lengths[order] > torch.arange(L).unsqueeze(1)).sum(1)
    batch_sizes = batch_sizes[batch_sizes > 0]
    offsets = batch_sizes.cumsum(0) - batch_sizes
    index = torch.arange(L * N)
    packed = offsets[index - begin[piece]] + rank[piece]  # packed row of each sequence-major step
    time_major = (index % L) * N + index // L
    scatter = torch.empty_like(packed)
    scatter[time_major] = packed
    gather = torch.empty_like(packed)
    gather[packed] = time_major
    ends = torch.arange(N) * L
    device = resets.device
    return Packing(gather.to(device), scatter.to(device), batch_sizes,
                   rank[piece[ends]].to(device), rank[piece[ends + L - 1]].to(device))


def _segments(resets: Tensor, length: int) -> list[tuple[int, int]]:
    """[start, stop) pieces of time; each starts at 0 or at a step where any sequence resets."""
    starts = resets.any(dim=1).nonzero().flatten().tolist()
    bounds = sorted({0, *starts}) + [length]
    return list(zip(bounds[:-1], bounds[1:]))


class _ResettableMixin:
    """Runs a native torch RNN once per call, resets included (see the module docstring)."""

    @property
    def state_size(self) -> int:
        raise NotImplementedError

    def _native(self, x: Tensor | PackedSequence, state: Tensor) -> tuple[Tensor | PackedSequence, Tensor]:
        """One native call on x (time-major (L, N, H_in) or packed) and the one-tensor state."""
        raise NotImplementedError

    def _call_native(self, x: Tensor | PackedSequence, *state):
        # The native forward reads self.batch_first for a Tensor; x is time-major here.
        if self.batch_first and not isinstance(x, PackedSequence):
            out, state = super().forward(x.transpose(0, 1), *state)
            return out.transpose(0, 1), state
        return super().forward(x, *state)

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Args and returns as :meth:`brc_rl.nn.BRC.forward` (state size :attr:`state_size`)."""
        x, state, resets, layout = prepare(
            input, hx, resets, input_size=self.input_size, num_layers=self.num_layers,
            state_size=self.state_size, batch_first=self.batch_first, dtype=self.weight_ih_l0.dtype,
        )
        if resets is not None and x.shape[0] > 1 and bool(resets[1:].any()):
            if self._scans(x):
                output, state = self._forward_scan(x, state, resets)
            elif self._packs(x):
                output, state = self._forward_packed(x, state, resets)
            else:
                output, state = self._forward_segments(x, state, resets)
        else:
            if resets is not None:
                state = state.masked_fill(resets[0].view(1, -1, 1), 0.0)
            output, state = self._native(x, state)
        return layout.output(output), layout.state(state)

    def _scans(self, x: Tensor) -> bool:
        """Whether resets inside the sequence go through our own kernels (:meth:`_forward_scan`)."""
        return False

    def _forward_scan(self, x: Tensor, state: Tensor, resets: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _packs(self, x: Tensor) -> bool:
        """Whether resets inside the sequence go through one packed call (else per segment)."""
        return True

    def _forward_segments(self, x: Tensor, state: Tensor, resets: Tensor) -> tuple[Tensor, Tensor]:
        """One native call per piece of time between the steps where any sequence resets."""
        outputs = []
        for start, stop in _segments(resets, x.shape[0]):
            state = state.masked_fill(resets[start].view(1, -1, 1), 0.0)
            out, state = self._native(x[start:stop], state)
            outputs.append(out)
        return torch.cat(outputs), state

    def _forward_packed(self, x: Tensor, state: Tensor, resets: Tensor) -> tuple[Tensor, Tensor]:
        """One native call on the pieces of x (L, N, H_in) cut at ``resets`` (L, N)."""
        L, N = resets.shape
        pack = packing(resets)
        data = x.reshape(L * N, -1).index_select(0, pack.gather)
        h0 = state.new_zeros(self.num_layers, pack.num_pieces, self.state_size)
        h0 = h0.index_copy(1, pack.first, state.masked_fill(resets[0].view(1, -1, 1), 0.0))
        out, h = self._native(PackedSequence(data, pack.batch_sizes), h0)
        output = out.data.index_select(0, pack.scatter).view(L, N, -1)
        return output, h.index_select(1, pack.last)


class GRU(_ResettableMixin, nn.GRU):
    """torch.nn.GRU that also takes ``resets`` (same arguments, parameters and init)."""

    @property
    def state_size(self) -> int:
        return self.hidden_size

    def _native(self, x: Tensor | PackedSequence, state: Tensor) -> tuple[Tensor | PackedSequence, Tensor]:
        return self._call_native(x, state.contiguous())

    def _scans(self, x: Tensor) -> bool:
        return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)

    def _forward_scan(self, x: Tensor, state: Tensor, resets: Tensor) -> tuple[Tensor, Tensor]:
        """Layer by layer: one input projection, then :func:`gru_scan` (resets inside)."""
        h_n = []
        for k in range(self.num_layers):
            if k > 0 and self.dropout and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)
            bias_ih = getattr(self, f"bias_ih_l{k}") if self.bias else None
            bias_hh = getattr(self, f"bias_hh_l{k}") if self.bias else None
            pre = nn.functional.linear(x, getattr(self, f"weight_ih_l{k}"), bias_ih)
            x = gru_scan(pre, getattr(self, f"weight_hh_l{k}"), bias_hh, state[k], resets)
            h_n.append(x[-1])
        return x, torch.stack(h_n)


class LSTM(_ResettableMixin, nn.LSTM):
    """torch.nn.LSTM that also takes ``resets``, with one state tensor [h | c] of size 2H."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs) -> None:
        if kwargs.get("proj_size", 0):
            raise ValueError("proj_size is not supported by brc_rl.nn.LSTM")
        super().__init__(input_size, hidden_size, num_layers, **kwargs)

    @property
    def state_size(self) -> int:
        return 2 * self.hidden_size

    def _packs(self, x: Tensor) -> bool:
        return x.device.type != "cpu"  # the CPU's oneDNN LSTM takes no PackedSequence

    def _scans(self, x: Tensor) -> bool:
        return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)

    def _forward_scan(self, x: Tensor, state: Tensor, resets: Tensor) -> tuple[Tensor, Tensor]:
        """Layer by layer: one input projection (both biases), then :func:`lstm_scan`."""
        H = self.hidden_size
        h_n = []
        for k in range(self.num_layers):
            if k > 0 and self.dropout and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)
            bias = getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}") if self.bias else None
            pre = nn.functional.linear(x, getattr(self, f"weight_ih_l{k}"), bias)
            x, c = lstm_scan(pre, getattr(self, f"weight_hh_l{k}"), state[k, :, :H], state[k, :, H:], resets)
            h_n.append(torch.cat([x[-1], c[-1]], dim=-1))
        return x, torch.stack(h_n)

    def _native(self, x: Tensor | PackedSequence, state: Tensor) -> tuple[Tensor | PackedSequence, Tensor]:
        h, c = state.chunk(2, dim=-1)
        out, (h, c) = self._call_native(x, (h.contiguous(), c.contiguous()))
        return out, torch.cat([h, c], dim=-1)
