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


def _kernel_inputs(*tensors: Tensor) -> list[Tensor]:
    """Detached, C-contiguous copies (or views) of the tensors, for the numba kernels."""
    return [t.detach().contiguous() for t in tensors]


def _resets_or_none(resets: Tensor | None, length: int, batch: int) -> Tensor:
    """Contiguous bool (T, N) resets, all False where None."""
    return torch.zeros(length, batch, dtype=torch.bool) if resets is None else resets.contiguous()


def _recurrent_weight_grad(dq: Tensor, h0: Tensor, h: Tensor, resets: Tensor) -> Tensor:
    """sum over (t, n) of dq_t h_{t-1}^T, with h_{t-1} = 0 after a reset: the gradient of a
    recurrent weight W from dq = dL/d(W h_{t-1}) (T, N, G) and the states h0 (N, H), h (T, N, H)."""
    prev = torch.cat([h0.unsqueeze(0), h[:-1]])
    if resets.any():
        prev = prev.masked_fill(resets.unsqueeze(-1), 0)
    return dq.reshape(-1, dq.shape[-1]).t() @ prev.reshape(-1, h.shape[-1])


class _BistableScan(torch.autograd.Function):
    """Whole-sequence recurrence on CPU with a hand-written backward (numba kernels)."""

    @staticmethod
    def forward(ctx, pre, weight_hh, h0, resets):  # type: ignore[override]
        T, N, three_h = pre.shape
        H = three_h // 3
        pre_c, w, h0_c = _kernel_inputs(pre, weight_hh, h0)
        resets = _resets_or_none(resets, T, N)
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
        return dpre, _recurrent_weight_grad(dpre[..., : 2 * H], h0, h, resets), dh0, None


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


def gru_scan_reference(
    pre_ih: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, h0: Tensor, resets: Tensor | None = None
) -> Tensor:
    """torch.nn.GRU's recurrence step by step (gate order r, z, n), differentiated by autograd.

    Args:
        pre_ih: (T, N, 3H) input projections ``x W_ih^T + b_ih``, blocks [r | z | n].
        weight_hh: (3H, H). bias_hh: (3H,) or None.
        h0: (N, H) initial state.
        resets: optional (T, N) bool; where True the state is zeroed before step t.

    Returns:
        h: (T, N, H).
    """
    h = h0
    steps = []
    resets_t = resets.unbind(0) if resets is not None else None
    for t, p in enumerate(pre_ih.unbind(0)):
        if resets_t is not None:
            h = torch.where(resets_t[t].unsqueeze(-1), torch.zeros_like(h), h)
        p_r, p_z, p_n = p.chunk(3, dim=-1)
        q_r, q_z, q_n = torch.nn.functional.linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(p_r + q_r)
        z = torch.sigmoid(p_z + q_z)
        n = torch.tanh(p_n + r * q_n)
        h = (1 - z) * n + z * h
        steps.append(h)
    return torch.stack(steps)


class _GRUScan(torch.autograd.Function):
    """torch.nn.GRU's recurrence on CPU with a hand-written backward (numba kernels)."""

    @staticmethod
    def forward(ctx, pre_ih, weight_hh, bias_hh, h0, resets):  # type: ignore[override]
        T, N, three_h = pre_ih.shape
        H = three_h // 3
        pre_c, w, h0_c = _kernel_inputs(pre_ih, weight_hh, h0)
        b = pre_ih.new_zeros(three_h) if bias_hh is None else bias_hh.detach().contiguous()
        resets = _resets_or_none(resets, T, N)
        h, r, z, n, q_n = (pre_ih.new_empty(T, N, H) for _ in range(5))
        _sync_numba_threads()
        _kernels.gru_forward(
            pre_c.numpy(), w.t().contiguous().numpy(), b.numpy(), h0_c.numpy(), resets.numpy(),
            h.numpy(), r.numpy(), z.numpy(), n.numpy(), q_n.numpy(),
        )
        ctx.has_bias = bias_hh is not None
        ctx.save_for_backward(w, h0_c, h, r, z, n, q_n, resets)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dh):  # type: ignore[override]
        w, h0, h, r, z, n, q_n, resets = ctx.saved_tensors
        T, N, H = h.shape
        dh = dh.contiguous()
        dpre, dq = h.new_empty(T, N, 3 * H), h.new_empty(T, N, 3 * H)
        dh0 = h.new_empty(N, H)
        _sync_numba_threads()
        _kernels.gru_backward(
            dh.numpy(), h0.numpy(), h.numpy(), r.numpy(), z.numpy(), n.numpy(), q_n.numpy(),
            w.numpy(), resets.numpy(), dpre.numpy(), dq.numpy(), dh0.numpy(),
        )
        db = dq.sum((0, 1)) if ctx.has_bias else None
        return dpre, _recurrent_weight_grad(dq, h0, h, resets), db, dh0, None


def gru_scan(
    pre_ih: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, h0: Tensor, resets: Tensor | None = None
) -> Tensor:
    """torch.nn.GRU's recurrence over a whole sequence, with resets (one layer).

    Same contract as :func:`gru_scan_reference`. On CPU for float32/float64 numba kernels
    run the forward and a hand-written backward (gradients for ``pre_ih``, ``weight_hh``,
    ``bias_hh`` and ``h0``), resets applied inside; elsewhere the step-by-step reference.
    """
    if pre_ih.device.type == "cpu" and pre_ih.dtype in (torch.float32, torch.float64):
        return _GRUScan.apply(pre_ih, weight_hh, bias_hh, h0, resets)
    return gru_scan_reference(pre_ih, weight_hh, bias_hh, h0, resets)


def lstm_scan_reference(
    pre: Tensor, weight_hh: Tensor, h0: Tensor, c0: Tensor, resets: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """torch.nn.LSTM's recurrence step by step (gate order i, f, g, o), differentiated by autograd.

    Args:
        pre: (T, N, 4H) ``x W_ih^T + b_ih + b_hh``, blocks [i | f | g | o].
        weight_hh: (4H, H).
        h0: (N, H) initial h.
        c0: (N, H) initial c.
        resets: optional (T, N) bool; where True h and c are zeroed before step t.

    Returns:
        ``(h, c)``, each (T, N, H).
    """
    h, c = h0, c0
    hs, cs = [], []
    resets_t = resets.unbind(0) if resets is not None else None
    for t, p in enumerate(pre.unbind(0)):
        if resets_t is not None:
            keep = ~resets_t[t].unsqueeze(-1)
            h, c = h * keep, c * keep
        q_i, q_f, q_g, q_o = (p + h @ weight_hh.t()).chunk(4, dim=-1)
        c = torch.sigmoid(q_f) * c + torch.sigmoid(q_i) * torch.tanh(q_g)
        h = torch.sigmoid(q_o) * torch.tanh(c)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs), torch.stack(cs)


class _LSTMScan(torch.autograd.Function):
    """torch.nn.LSTM's recurrence on CPU with a hand-written backward (numba kernels)."""

    @staticmethod
    def forward(ctx, pre, weight_hh, h0, c0, resets):  # type: ignore[override]
        T, N, four_h = pre.shape
        H = four_h // 4
        pre_c, w, h0_c, c0_c = _kernel_inputs(pre, weight_hh, h0, c0)
        resets = _resets_or_none(resets, T, N)
        h, c, i, f, g, o, tc = (pre.new_empty(T, N, H) for _ in range(7))
        _sync_numba_threads()
        _kernels.lstm_forward(
            pre_c.numpy(), w.t().contiguous().numpy(), h0_c.numpy(), c0_c.numpy(), resets.numpy(),
            *(a.numpy() for a in (h, c, i, f, g, o, tc)),
        )
        ctx.save_for_backward(w, h0_c, c0_c, h, c, i, f, g, o, tc, resets)
        ctx.set_materialize_grads(False)
        return h, c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dh, dc):  # type: ignore[override]
        w, h0, c0, h, c, i, f, g, o, tc, resets = ctx.saved_tensors
        T, N, H = h.shape
        dh = torch.zeros_like(h) if dh is None else dh.contiguous()
        dc = torch.zeros_like(c) if dc is None else dc.contiguous()
        dpre = h.new_empty(T, N, 4 * H)
        dh0, dc0 = h.new_empty(N, H), h.new_empty(N, H)
        _sync_numba_threads()
        _kernels.lstm_backward(
            dh.numpy(), dc.numpy(), c0.numpy(), *(a.numpy() for a in (c, i, f, g, o, tc)),
            w.numpy(), resets.numpy(), dpre.numpy(), dh0.numpy(), dc0.numpy(),
        )
        return dpre, _recurrent_weight_grad(dpre, h0, h, resets), dh0, dc0, None


def lstm_scan(
    pre: Tensor, weight_hh: Tensor, h0: Tensor, c0: Tensor, resets: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """torch.nn.LSTM's recurrence over a whole sequence, with resets (one layer).

    Same contract as :func:`lstm_scan_reference` (``b_hh`` is folded into ``pre``). On CPU
    for float32/float64 numba kernels run the forward and a hand-written backward
    (gradients for ``pre``, ``weight_hh``, ``h0`` and ``c0``), resets applied inside;
    elsewhere the step-by-step reference.
    """
    if pre.device.type == "cpu" and pre.dtype in (torch.float32, torch.float64):
        return _LSTMScan.apply(pre, weight_hh, h0, c0, resets)
    return lstm_scan_reference(pre, weight_hh, h0, c0, resets)
