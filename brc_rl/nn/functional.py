"""The BRC / nBRC recurrence as functions of pre-activations.

One layer of a bistable RNN is ``pre = x U^T + b`` (one matrix product for the whole
sequence, done by the caller) followed by the recurrence implemented here:

    a_t = 1 + tanh(p_a,t + r_a,t)
    c_t = sigmoid(p_c,t + r_c,t)
    h_t = c_t * h_{t-1} + (1 - c_t) * tanh(p_h,t + a_t * h_{t-1})

with ``r = w * h_{t-1}`` (elementwise, BRC: ``weight_hh`` is (2H,) = [w_a; w_c]) or
``r = W h_{t-1}`` (matrix product, nBRC: ``weight_hh`` is (2H, H) = [W_a; W_c]).

:func:`bistable_scan` is the fast path: on CPU a numba kernel with a hand-written
backward over the whole sequence; elsewhere (CUDA) the step-by-step autograd path.
:func:`bistable_scan_reference` is the plain step-by-step implementation, kept for tests.
"""

from __future__ import annotations

import numba
import torch
from torch import Tensor

from brc_rl.nn import _kernels


def bistable_step(pre: Tensor, weight_hh: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One step of the recurrence.

    Args:
        pre: (N, 3H) pre-activations [p_a | p_c | p_h] (input projection plus bias).
        weight_hh: (2H,) for BRC or (2H, H) for nBRC.
        h: (N, H) previous state.

    Returns:
        ``(h_t, a_t, c_t)``, each (N, H).
    """
    p_a, p_c, p_h = pre.chunk(3, dim=-1)
    if weight_hh.dim() == 2:
        r_a, r_c = (h @ weight_hh.t()).chunk(2, dim=-1)
    else:
        w_a, w_c = weight_hh.chunk(2)
        r_a, r_c = w_a * h, w_c * h
    a = 1 + torch.tanh(p_a + r_a)
    c = torch.sigmoid(p_c + r_c)
    h = c * h + (1 - c) * torch.tanh(p_h + a * h)
    return h, a, c


def bistable_scan_reference(
    pre: Tensor, weight_hh: Tensor, h0: Tensor, resets: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Plain step-by-step recurrence, differentiated by autograd.

    Args:
        pre: (T, N, 3H) pre-activations.
        weight_hh: (2H,) for BRC or (2H, H) for nBRC.
        h0: (N, H) initial state.
        resets: optional (T, N) bool; where True the state is zeroed before step t.

    Returns:
        ``(h, a, c)``, each (T, N, H).
    """
    h = h0
    steps = []
    resets_t = resets.unbind(0) if resets is not None else None
    for t, pre_t in enumerate(pre.unbind(0)):  # unbind, not pre[t]: see cells.md's O(T^2) trap
        if resets_t is not None:
            h = torch.where(resets_t[t].unsqueeze(-1), torch.zeros_like(h), h)
        h, a, c = bistable_step(pre_t, weight_hh, h)
        steps.append((h, a, c))
    return tuple(torch.stack(s) for s in zip(*steps))  # type: ignore[return-value]


def _sync_numba_threads() -> None:
    """Give the numba kernels as many threads as torch uses (``torch.set_num_threads``).

    With numba's OpenMP threading layer, numba and torch share one OpenMP runtime, so
    setting numba's count can change torch's: torch's count is put back if it changed.
    """
    torch_threads = torch.get_num_threads()
    wanted = max(1, min(torch_threads, numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != wanted:
        numba.set_num_threads(wanted)
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


class _BistableScan(torch.autograd.Function):
    """Whole-sequence recurrence on CPU with a hand-written backward (numba kernels)."""

    @staticmethod
    def forward(ctx, pre, weight_hh, h0, resets):  # type: ignore[override]
        T, N, three_h = pre.shape
        H = three_h // 3
        pre_c = pre.detach().contiguous()
        w = weight_hh.detach().contiguous()
        h0_c = h0.detach().contiguous()
        if resets is None:
            resets = torch.zeros(T, N, dtype=torch.bool)
        resets = resets.contiguous()
        h, a, c, z = (pre.new_empty(T, N, H) for _ in range(4))
        outs = (h.numpy(), a.numpy(), c.numpy(), z.numpy())
        _sync_numba_threads()
        if w.dim() == 2:
            _kernels.nbrc_forward(
                pre_c.numpy(), w.t().contiguous().numpy(), h0_c.numpy(), resets.numpy(), *outs
            )
        else:
            _kernels.brc_forward(
                pre_c.numpy(), w[:H].numpy(), w[H:].numpy(), h0_c.numpy(), resets.numpy(), *outs
            )
        ctx.save_for_backward(w, h0_c, h, a, c, z, resets)
        ctx.mark_non_differentiable(a, c)
        ctx.set_materialize_grads(False)  # no (T, N, H) zero gradients for a and c
        return h, a, c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dh, _da, _dc):  # type: ignore[override]
        w, h0, h, a, c, z, resets = ctx.saved_tensors
        T, N, H = h.shape
        dh = torch.zeros_like(h) if dh is None else dh.contiguous()
        dpre = h.new_empty(T, N, 3 * H)
        dh0 = h.new_empty(N, H)
        arrays = (h0.numpy(), h.numpy(), a.numpy(), c.numpy(), z.numpy())
        _sync_numba_threads()
        if w.dim() == 1:
            dw_parts = h.new_empty(N, 2 * H)
            _kernels.brc_backward(
                dh.numpy(), *arrays, w[:H].numpy(), w[H:].numpy(), resets.numpy(),
                dpre.numpy(), dh0.numpy(), dw_parts.numpy(),
            )
            return dpre, dw_parts.sum(0), dh0, None
        _kernels.nbrc_backward(
            dh.numpy(), *arrays, w.numpy(), resets.numpy(), dpre.numpy(), dh0.numpy()
        )
        # dW = sum over (t, n) of [dp_a; dp_c] h_{t-1}^T, with h_{t-1} = 0 after a reset.
        d_gates = dpre[..., : 2 * H]
        prev, prev0 = h[:-1], h0
        if resets.any():
            prev = prev.masked_fill(resets[1:].unsqueeze(-1), 0)
            prev0 = prev0.masked_fill(resets[0].unsqueeze(-1), 0)
        dw = d_gates[0].t() @ prev0
        if T > 1:
            dw += d_gates[1:].reshape(-1, 2 * H).t() @ prev.reshape(-1, H)
        return dpre, dw, dh0, None


def bistable_scan(
    pre: Tensor, weight_hh: Tensor, h0: Tensor, resets: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Fast recurrence over a whole sequence (same contract as the reference).

    On CPU for float32/float64 this runs numba kernels forward and backward (linear in T,
    no per-step autograd graph); on other devices or dtypes it runs
    :func:`bistable_scan_reference`. ``a`` and ``c`` carry no gradient.

    Args:
        pre: (T, N, 3H) pre-activations.
        weight_hh: (2H,) for BRC or (2H, H) for nBRC.
        h0: (N, H) initial state.
        resets: optional (T, N) bool; where True the state is zeroed before step t.

    Returns:
        ``(h, a, c)``, each (T, N, H).
    """
    if pre.device.type == "cpu" and pre.dtype in (torch.float32, torch.float64):
        return _BistableScan.apply(pre, weight_hh, h0, resets)
    h, a, c = bistable_scan_reference(pre, weight_hh, h0, resets)
    return h, a.detach(), c.detach()
