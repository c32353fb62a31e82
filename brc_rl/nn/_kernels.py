"""Numba CPU kernels for the BRC / nBRC recurrence over a whole sequence.

The input projections ``pre = x U^T + b`` of a whole sequence are computed beforehand
as one matrix product, so these kernels only run the recurrence. Every batch element
is independent along the whole sequence, so the kernels parallelise over the batch
(``prange``) and run the time loop inside; the innermost loop runs over units and is
vectorised by LLVM.

Layout (all C-contiguous):
    pre:    (T, N, 3H) pre-activations, blocks [p_a | p_c | p_h]
    resets: (T, N) bool; where True the state is zeroed before step t
    h0:     (N, H) initial state
    BRC:    wa, wc (H,)
    nBRC:   w_t (H, 2H) = [W_a; W_c]^T for the forward, w (2H, H) for the backward

Forward, per unit (x = h_{t-1}, or 0 after a reset):
    a = 1 + tanh(p_a + r_a)          r_a = w_a x (BRC) or (W_a x) (nBRC)
    c = sigmoid(p_c + r_c) = (1 + tanh((p_c + r_c) / 2)) / 2
    z = tanh(p_h + a x)
    h = c x + (1 - c) z = z + c (x - z)

Backward, with g = dL/dh_t (from the output and from step t+1):
    dp_h = g (1 - c) (1 - z^2)
    dp_a = dp_h x (1 - (a - 1)^2)
    dp_c = g (x - z) c (1 - c)
    dL/dx = g c + dp_h a + [w_a dp_a + w_c dp_c  (BRC) | W_a^T dp_a + W_c^T dp_c  (nBRC)]
The BRC kernel accumulates dw_a = sum dp_a x and dw_c = sum dp_c x per sequence; for
nBRC, dW = sum_t [dp_a; dp_c] x^T is one matrix product that the caller does.

float32 uses a rational approximation of tanh (Eigen's, max abs error 2.4e-7) that
vectorises; float64 uses ``math.tanh`` so that float64 gradcheck is exact.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

_TANH_CLAMP = 7.90531110763549805


def _tanh(x):  # pragma: no cover - replaced by the overload inside jitted code
    return math.tanh(x)


@overload(_tanh, inline="always")
def _tanh_overload(x):
    if x == types.float32:

        def rational_tanh(x):
            x = min(max(x, np.float32(-_TANH_CLAMP)), np.float32(_TANH_CLAMP))
            x2 = x * x
            p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
            p = p * x2 + np.float32(-8.60467152213735e-11)
            p = p * x2 + np.float32(5.12229709037114e-08)
            p = p * x2 + np.float32(1.48572235717979e-05)
            p = p * x2 + np.float32(6.37261928875436e-04)
            p = p * x2 + np.float32(4.89352455891786e-03)
            q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
            q = q * x2 + np.float32(2.26843463243900e-03)
            q = q * x2 + np.float32(4.89352518554385e-03)
            return p * x / q

        return rational_tanh
    return lambda x: math.tanh(x)


@njit(inline="always", fastmath=True)
def _unit_forward(x, p_a, p_c, p_h):
    # np.float32 constants are exact, so they keep float32 math float32 and do not
    # change float64 results (a plain ``1`` would promote float32 to float64).
    one, half = np.float32(1), np.float32(0.5)
    a = one + _tanh(p_a)
    c = (one + _tanh(p_c * half)) * half
    z = _tanh(p_h + a * x)
    return a, c, z, z + c * (x - z)


@njit(inline="always", fastmath=True)
def _unit_backward(g, x, a, c, z):
    one = np.float32(1)
    dp_h = g * (one - c) * (one - z * z)
    t = a - one
    dp_a = dp_h * x * (one - t * t)
    dp_c = g * (x - z) * c * (one - c)
    return dp_a, dp_c, dp_h, g * c + dp_h * a


@njit(parallel=True, fastmath=True, cache=True)
def brc_forward(pre, wa, wc, h0, resets, h_out, a_out, c_out, z_out):  # pragma: no cover
    T, N, H3 = pre.shape
    H = H3 // 3
    for n in prange(N):
        x = h0[n].copy()
        for t in range(T):
            if resets[t, n]:
                x[:] = 0
            p = pre[t, n]
            for j in range(H):
                a, c, z, h = _unit_forward(
                    x[j], p[j] + wa[j] * x[j], p[H + j] + wc[j] * x[j], p[2 * H + j]
                )
                a_out[t, n, j] = a
                c_out[t, n, j] = c
                z_out[t, n, j] = z
                h_out[t, n, j] = h
                x[j] = h


@njit(parallel=True, fastmath=True, cache=True)
def brc_backward(dh, h0, h, a_all, c_all, z_all, wa, wc, resets, dpre, dh0, dw):  # pragma: no cover
    # dw: (N, 2H) per-sequence partial sums of [dp_a x; dp_c x]; the caller sums over N.
    T, N, H = h.shape
    for n in prange(N):
        carry = np.zeros(H, dtype=h.dtype)
        dw[n] = 0
        for t in range(T - 1, -1, -1):
            reset = resets[t, n]
            prev = h0[n] if t == 0 else h[t - 1, n]
            for j in range(H):
                x = np.float32(0) if reset else prev[j]
                g = dh[t, n, j] + carry[j]
                dp_a, dp_c, dp_h, dx = _unit_backward(
                    g, x, a_all[t, n, j], c_all[t, n, j], z_all[t, n, j]
                )
                dpre[t, n, j] = dp_a
                dpre[t, n, H + j] = dp_c
                dpre[t, n, 2 * H + j] = dp_h
                dw[n, j] += dp_a * x
                dw[n, H + j] += dp_c * x
                carry[j] = np.float32(0) if reset else dx + dp_a * wa[j] + dp_c * wc[j]
        dh0[n] = carry


@njit(parallel=True, fastmath=True, cache=True)
def nbrc_forward(pre, w_t, h0, resets, h_out, a_out, c_out, z_out):  # pragma: no cover
    T, N, H3 = pre.shape
    H = H3 // 3
    for n in prange(N):
        x = h0[n].copy()
        r = np.empty(2 * H, dtype=pre.dtype)
        for t in range(T):
            if resets[t, n]:
                x[:] = 0
            p = pre[t, n]
            r[:] = p[: 2 * H]
            for k in range(H):  # r += [W_a; W_c] x, as rank-1 updates of rows of w_t
                xk = x[k]
                wk = w_t[k]
                for i in range(2 * H):
                    r[i] += wk[i] * xk
            for j in range(H):
                a, c, z, h = _unit_forward(x[j], r[j], r[H + j], p[2 * H + j])
                a_out[t, n, j] = a
                c_out[t, n, j] = c
                z_out[t, n, j] = z
                h_out[t, n, j] = h
                x[j] = h


@njit(parallel=True, fastmath=True, cache=True)
def nbrc_backward(dh, h0, h, a_all, c_all, z_all, w, resets, dpre, dh0):  # pragma: no cover
    T, N, H = h.shape
    for n in prange(N):
        carry = np.zeros(H, dtype=h.dtype)
        for t in range(T - 1, -1, -1):
            reset = resets[t, n]
            prev = h0[n] if t == 0 else h[t - 1, n]
            d = dpre[t, n]
            for j in range(H):
                x = np.float32(0) if reset else prev[j]
                g = dh[t, n, j] + carry[j]
                dp_a, dp_c, dp_h, dx = _unit_backward(
                    g, x, a_all[t, n, j], c_all[t, n, j], z_all[t, n, j]
                )
                d[j] = dp_a
                d[H + j] = dp_c
                d[2 * H + j] = dp_h
                carry[j] = dx
            if reset:
                carry[:] = 0
            else:
                for i in range(2 * H):  # carry += [W_a; W_c]^T [dp_a; dp_c]
                    di = d[i]
                    wi = w[i]
                    for k in range(H):
                        carry[k] += wi[k] * di
        dh0[n] = carry
