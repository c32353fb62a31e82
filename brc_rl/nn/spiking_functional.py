"""The LSNN and SRC recurrences as functions of input projections.

As for the bistable cells, one layer is ``pre = x W_in^T (+ b)`` for the whole sequence
(one matrix product, done by the caller) followed by a recurrence implemented here, in
two versions with one contract:

- :func:`lsnn_scan` / :func:`src_scan`, the fast path: on the CPU (float32, float64) a
  numba kernel runs the whole sequence forward and a hand-written backward
  (:mod:`brc_rl.nn._spiking_kernels`); elsewhere the reference below.
- :func:`lsnn_scan_reference` / :func:`src_scan_reference`: plain step-by-step torch,
  differentiated by autograd, kept for the tests and for CUDA.

The state of a layer is one tensor of the layer state layout: LSNN ``[z | v | b | r]``
(spikes, membrane potentials, adaptations, refractory counters), SRC ``[h | h_s | i]``
(fast variable, slow variable, input current); each block has H entries. Both functions
take it as (N, S) and return the sequences of its blocks, each (T, N, H), so that
``h_n`` is their last steps concatenated.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from brc_rl.nn import _spiking_kernels as kernels
from brc_rl.nn.functional import _kernel_inputs, _recurrent_weight_grad, _resets_or_none, _sync_numba_threads


def _fast(t: Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)


def _scalars(dtype: torch.dtype, *values: float) -> list:
    """Python floats as numpy scalars of ``dtype``, so that the kernels compute in that dtype."""
    np_type = np.float32 if dtype == torch.float32 else np.float64
    return [np_type(v) for v in values]


def _zeros_if_none(grad: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if grad is None else grad.contiguous()


def _zero_where(resets: Tensor | None, t: int, *tensors: Tensor) -> list[Tensor]:
    if resets is None:
        return list(tensors)
    keep = ~resets[t].unsqueeze(-1)
    return [x * keep for x in tensors]


# --------------------------------------------------------------------------- LSNN
class LSNNDynamics(NamedTuple):
    """The fixed constants of an LSNN layer (time in steps, dt = 1).

    Attributes:
        tau_m: membrane time constant; alpha = exp(-1 / tau_m).
        tau_a: adaptation time constant; rho = exp(-1 / tau_a).
        v_th: baseline threshold.
        dampening: gamma, the height of the pseudo-derivative.
        n_refractory: silent steps after a spike.
    """

    tau_m: float = 20.0
    tau_a: float = 200.0
    v_th: float = 0.01
    dampening: float = 0.3
    n_refractory: int = 0

    @property
    def alpha(self) -> float:
        return math.exp(-1.0 / self.tau_m)

    @property
    def rho(self) -> float:
        return math.exp(-1.0 / self.tau_a)


class _Spike(torch.autograd.Function):
    """z = H(u) with the pseudo-derivative dz/du = gamma max(0, 1 - |u|)."""

    @staticmethod
    def forward(ctx, u, gamma):  # type: ignore[override]
        ctx.save_for_backward(u)
        ctx.gamma = gamma
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (u,) = ctx.saved_tensors
        return grad * ctx.gamma * (1 - u.abs()).clamp(min=0), None


def lsnn_step(
    pre: Tensor, weight_hh: Tensor, beta: Tensor, z: Tensor, v: Tensor, b: Tensor, r: Tensor, dyn: LSNNDynamics
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One step of :func:`lsnn_scan_reference`; every tensor (N, H) but ``weight_hh`` (H, H), ``beta`` (H,)."""
    alpha, rho = dyn.alpha, dyn.rho
    b = rho * b + (1 - rho) * z
    threshold = dyn.v_th + beta * b
    v = alpha * v + (1 - alpha) * (pre + z @ weight_hh.t()) - z * threshold
    free = (r <= 0).to(v.dtype)  # not refractory
    z = _Spike.apply((v - threshold) / threshold, dyn.dampening) * free
    r = torch.where(z > 0, float(dyn.n_refractory), (r - 1).clamp(min=0)).detach()  # a counter: no gradient
    return z, v, b, r


def lsnn_scan_reference(
    pre: Tensor, weight_hh: Tensor, beta: Tensor, state: Tensor, resets: Tensor | None, dyn: LSNNDynamics
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The LSNN recurrence step by step (see :class:`brc_rl.nn.LSNN` for the equations).

    Args:
        pre: (T, N, H) input currents ``W_in x_t (+ b)``.
        weight_hh: (H, H) recurrent weights W_rec (zero diagonal: no self-connections).
        beta: (H,) adaptation strength of each neuron (0 for LIF neurons).
        state: (N, 4H) initial ``[z | v | b | r]``.
        resets: optional (T, N) bool; where True the state is zeroed before step t.
        dyn: the constants.

    Returns:
        ``(z, v, b, r)``, each (T, N, H).
    """
    z, v, b, r = state.chunk(4, dim=-1)
    steps = []
    for t, pre_t in enumerate(pre.unbind(0)):  # unbind, not pre[t]: no O(T^2) backward
        z, v, b, r = _zero_where(resets, t, z, v, b, r)
        z, v, b, r = lsnn_step(pre_t, weight_hh, beta, z, v, b, r, dyn)
        steps.append((z, v, b, r))
    return tuple(torch.stack(s) for s in zip(*steps))  # type: ignore[return-value]


class _LSNNScan(torch.autograd.Function):
    """The LSNN recurrence on the CPU with a hand-written backward (numba kernels)."""

    @staticmethod
    def forward(ctx, pre, weight_hh, beta, state, resets, dyn):  # type: ignore[override]
        T, N, H = pre.shape
        pre_c, w, beta_c, state_c = _kernel_inputs(pre, weight_hh, beta, state)
        z0, v0, b0, r0 = (s.contiguous() for s in state_c.chunk(4, dim=-1))
        resets = _resets_or_none(resets, T, N)
        z, v, b, r = (pre.new_empty(T, N, H) for _ in range(4))
        consts = _scalars(pre.dtype, dyn.alpha, 1 - dyn.alpha, dyn.rho, 1 - dyn.rho, dyn.v_th)
        _sync_numba_threads()
        kernels.lsnn_forward(
            pre_c.numpy(), w.t().contiguous().numpy(), beta_c.numpy(), *consts, float(dyn.n_refractory),
            z0.numpy(), v0.numpy(), b0.numpy(), r0.numpy(), resets.numpy(), z.numpy(), v.numpy(), b.numpy(), r.numpy(),
        )
        ctx.dyn = dyn
        ctx.save_for_backward(w, beta_c, z0, r0, z, v, b, r, resets)
        ctx.mark_non_differentiable(r)
        ctx.set_materialize_grads(False)
        return z, v, b, r

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dz, dv, db, _dr):  # type: ignore[override]
        w, beta, z0, r0, z, v, b, r, resets = ctx.saved_tensors
        dyn = ctx.dyn
        T, N, H = z.shape
        dpre = z.new_empty(T, N, H)
        dz0, dv0, db0 = (z.new_empty(N, H) for _ in range(3))
        consts = _scalars(z.dtype, dyn.alpha, 1 - dyn.alpha, dyn.rho, 1 - dyn.rho, dyn.v_th, dyn.dampening)
        _sync_numba_threads()
        kernels.lsnn_backward(
            _zeros_if_none(dz, z).numpy(), _zeros_if_none(dv, v).numpy(), _zeros_if_none(db, b).numpy(),
            z0.numpy(), r0.numpy(), z.numpy(), v.numpy(), b.numpy(), r.numpy(), w.numpy(), beta.numpy(), *consts,
            resets.numpy(), dpre.numpy(), dz0.numpy(), dv0.numpy(), db0.numpy(),
        )
        dstate = torch.cat([dz0, dv0, db0, torch.zeros_like(dz0)], dim=-1)
        return dpre, _recurrent_weight_grad(dpre, z0, z, resets), None, dstate, None, None


def lsnn_scan(
    pre: Tensor, weight_hh: Tensor, beta: Tensor, state: Tensor, resets: Tensor | None, dyn: LSNNDynamics
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fast LSNN recurrence over a whole sequence, same contract as :func:`lsnn_scan_reference`.

    On the CPU (float32, float64): numba kernels forward and backward; the forward adds
    the recurrent input column by column of the neurons that spiked (spikes are sparse).
    Gradients reach ``pre``, ``weight_hh`` and the z, v, b blocks of ``state`` (``beta``
    and the refractory counters are constants).
    """
    if _fast(pre):
        return _LSNNScan.apply(pre, weight_hh, beta, state, resets, dyn)
    return lsnn_scan_reference(pre, weight_hh, beta, state, resets, dyn)


# --------------------------------------------------------------------------- SRC
class SRCDynamics(NamedTuple):
    """The fixed constants of an SRC layer.

    Attributes:
        alpha: leak of the input current i.
        rho: saturation of the input, x = rho tanh(i / rho).
        r: positive (fast) feedback of h on itself.
        r_s: negative (slow) feedback of h_s on h.
        z: update gate of h (0: h follows its candidate at once).
        z_hyp: update gate of h_s while hyperpolarised (h_{t-1} <= 0): slow recovery.
        z_dep: update gate of h_s while depolarised (h_{t-1} > 0): h_s catches up with h.
        detach_recurrence: backpropagate through time only through i: h_{t-1} and
            h_s_{t-1} enter step t as constants of the gradient.
    """

    alpha: float = 0.9
    rho: float = 3.0
    r: float = 2.0
    r_s: float = -7.0
    z: float = 0.0
    z_hyp: float = 0.9
    z_dep: float = 0.0
    detach_recurrence: bool = True


def src_rest_state(bias: Tensor, dyn: SRCDynamics, solved: Tensor | None = None) -> Tensor:
    """The rest state h* of each neuron without input: h = h_s = h*, h* = tanh((r + r_s) h* + b_h).

    Bisection on [-1, 1], 60 halvings (f(h) = h - tanh(c h + b) with c = r + r_s < 0 rises
    monotonically, so the root is unique). The gradient with respect to ``bias`` is the
    implicit one, dh*/db = (1 - h*^2) / (1 - c (1 - h*^2)).

    Args:
        bias: (H,) b_h.
        dyn: the constants (r + r_s must be negative).
        solved: h* already solved for this ``bias`` (a cache), to add the gradient to.

    Returns:
        (H,) h*.
    """
    c = dyn.r + dyn.r_s
    if solved is None:
        with torch.no_grad():
            low, high = torch.full_like(bias, -1.0), torch.ones_like(bias)
            for _ in range(60):
                mid = (low + high) / 2
                below = torch.tanh(c * mid + bias) > mid  # the root is above mid
                low, high = torch.where(below, mid, low), torch.where(below, high, mid)
            solved = (low + high) / 2
    if not (bias.requires_grad and torch.is_grad_enabled()):
        return solved
    slope = 1 - solved * solved
    return solved + (slope / (1 - c * slope)) * (bias - bias.detach())


def src_step(pre: Tensor, bias: Tensor, h: Tensor, h_s: Tensor, i: Tensor, dyn: SRCDynamics
             ) -> tuple[Tensor, Tensor, Tensor]:
    """One step of :func:`src_scan_reference`; every tensor (N, H) but ``bias`` (H,)."""
    if dyn.detach_recurrence:
        h, h_s = h.detach(), h_s.detach()
    i = dyn.alpha * i + pre
    x = dyn.rho * torch.tanh(i / dyn.rho)
    depolarised = h > 0
    z_s = torch.full_like(h, dyn.z_hyp).masked_fill(depolarised, dyn.z_dep)
    one_minus_z_s = torch.full_like(h, 1 - dyn.z_hyp).masked_fill(depolarised, 1 - dyn.z_dep)
    h_new = dyn.z * h + (1 - dyn.z) * torch.tanh(x + dyn.r * h + dyn.r_s * h_s + bias)
    h_s = z_s * h_s + one_minus_z_s * h
    return h_new, h_s, i


def src_scan_reference(
    pre: Tensor, bias: Tensor, state: Tensor, resets: Tensor | None, dyn: SRCDynamics, rest: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """The SRC recurrence step by step (see :class:`brc_rl.nn.SRC` for the equations).

    Args:
        pre: (T, N, H) input projections ``W s_t``.
        bias: (H,) b_h.
        state: (N, 3H) initial ``[h | h_s | i]``.
        resets: optional (T, N) bool; where True the state is set to ``[rest | rest | 0]``
            before step t.
        dyn: the constants.
        rest: (H,) the h and h_s a reset sets; None: zeros.

    Returns:
        ``(h, h_s, i)``, each (T, N, H); the output spikes are ``relu(h)``.
    """
    h, h_s, i = state.chunk(3, dim=-1)
    rest = pre.new_zeros(pre.shape[-1]) if rest is None else rest
    steps = []
    for t, pre_t in enumerate(pre.unbind(0)):
        if resets is not None:
            reset = resets[t].unsqueeze(-1)
            h, h_s, i = torch.where(reset, rest, h), torch.where(reset, rest, h_s), i * ~reset
        h, h_s, i = src_step(pre_t, bias, h, h_s, i, dyn)
        steps.append((h, h_s, i))
    return tuple(torch.stack(s) for s in zip(*steps))  # type: ignore[return-value]


def _src_constants(dtype: torch.dtype, dyn: SRCDynamics) -> list:
    return _scalars(dtype, dyn.alpha, dyn.rho, dyn.r, dyn.r_s, dyn.z, 1 - dyn.z,
                    dyn.z_hyp, 1 - dyn.z_hyp, dyn.z_dep, 1 - dyn.z_dep, 0.0 if dyn.detach_recurrence else 1.0)


class _SRCScan(torch.autograd.Function):
    """The SRC recurrence on the CPU with a hand-written backward (numba kernels)."""

    @staticmethod
    def forward(ctx, pre, bias, state, resets, dyn, rest):  # type: ignore[override]
        T, N, H = pre.shape
        pre_c, bias_c, state_c, rest_c = _kernel_inputs(pre, bias, state, rest)
        h0, hs0, i0 = (s.contiguous() for s in state_c.chunk(3, dim=-1))
        resets = _resets_or_none(resets, T, N)
        h, h_s, i, x, g = (pre.new_empty(T, N, H) for _ in range(5))
        consts = _src_constants(pre.dtype, dyn)
        _sync_numba_threads()
        kernels.src_forward(
            pre_c.numpy(), bias_c.numpy(), *consts[:-1], rest_c.numpy(), h0.numpy(), hs0.numpy(), i0.numpy(),
            resets.numpy(), h.numpy(), h_s.numpy(), i.numpy(), x.numpy(), g.numpy(),
        )
        ctx.consts = consts
        ctx.save_for_backward(h0, h, x, g, rest_c, resets)
        ctx.set_materialize_grads(False)
        return h, h_s, i

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dh, dhs, di):  # type: ignore[override]
        h0, h, x, g, rest, resets = ctx.saved_tensors
        T, N, H = h.shape
        dpre = h.new_empty(T, N, H)
        dbias_parts, drest_parts, dh0, dhs0, di0 = (h.new_empty(N, H) for _ in range(5))
        _sync_numba_threads()
        kernels.src_backward(
            _zeros_if_none(dh, h).numpy(), _zeros_if_none(dhs, h).numpy(), _zeros_if_none(di, h).numpy(),
            h0.numpy(), h.numpy(), x.numpy(), g.numpy(), *ctx.consts, rest.numpy(), resets.numpy(),
            dpre.numpy(), dbias_parts.numpy(), drest_parts.numpy(), dh0.numpy(), dhs0.numpy(), di0.numpy(),
        )
        dstate = torch.cat([dh0, dhs0, di0], dim=-1)
        return dpre, dbias_parts.sum(0), dstate, None, None, drest_parts.sum(0)


def src_scan(
    pre: Tensor, bias: Tensor, state: Tensor, resets: Tensor | None, dyn: SRCDynamics, rest: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Fast SRC recurrence over a whole sequence, same contract as :func:`src_scan_reference`.

    On the CPU (float32, float64): numba kernels forward and backward, elementwise per
    neuron like BRC's. Gradients reach ``pre``, ``bias``, ``state`` and ``rest``.
    """
    if _fast(pre):
        return _SRCScan.apply(pre, bias, state, resets, dyn, pre.new_zeros(pre.shape[-1]) if rest is None else rest)
    return src_scan_reference(pre, bias, state, resets, dyn, rest)
