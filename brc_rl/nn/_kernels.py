"""Numba CPU kernels for the BRC / nBRC (and GRU, at the end) recurrences over a whole sequence.

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


@njit(inline="always", fastmath=True)
def _add_rows(out, rows, v):
    """out += rows^T v: the rows of ``rows`` (len(v), len(out)) weighted by v, as rank-1 updates."""
    for k in range(v.shape[0]):
        vk = v[k]
        rk = rows[k]
        for i in range(out.shape[0]):
            out[i] += rk[i] * vk


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
            _add_rows(r, w_t, x)  # r += [W_a; W_c] x
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
                _add_rows(carry, w, d[: 2 * H])  # carry += [W_a; W_c]^T [dp_a; dp_c]
        dh0[n] = carry


# ---------------------------------------------------------------------------------------
# GRU (torch.nn.GRU's equations and gate order r, z, n) over a whole sequence.
#
#   pre:  (T, N, 3H) input projections x W_ih^T + b_ih, blocks [p_r | p_z | p_n]
#   w_t:  (H, 3H) W_hh^T for the forward, w (3H, H) = W_hh for the backward, b: (3H,) b_hh
#   q = x W_hh^T + b_hh = [q_r | q_z | q_n]   (x = h_{t-1}, or 0 after a reset)
#   r = sigmoid(p_r + q_r), z = sigmoid(p_z + q_z), n = tanh(p_n + r q_n)
#   h = (1 - z) n + z x = n + z (x - n)
#
# Backward, with g = dL/dh_t (from the output and from step t+1):
#   dp_n = g (1 - z) (1 - n^2),  dp_z = g (x - n) z (1 - z),  dp_r = dp_n q_n r (1 - r)
#   dq = [dp_r | dp_z | dp_n r]
#   dL/dx = g z + W_hh^T dq
# dW_hh = sum_t dq x^T and db_hh = sum_t dq are matrix products / sums the caller does.
# ---------------------------------------------------------------------------------------


@njit(inline="always", fastmath=True)
def _sigmoid(x):
    one, half = np.float32(1), np.float32(0.5)
    return (one + _tanh(x * half)) * half


@njit(parallel=True, fastmath=True, cache=True)
def gru_forward(pre, w_t, b, h0, resets, h_out, r_out, z_out, n_out, qn_out):  # pragma: no cover
    T, N, H3 = pre.shape
    H = H3 // 3
    for s in prange(N):
        x = h0[s].copy()
        q = np.empty(H3, dtype=pre.dtype)
        for t in range(T):
            q[:] = b
            if resets[t, s]:
                x[:] = 0
            else:
                _add_rows(q, w_t, x)  # q += W_hh x
            p = pre[t, s]
            for j in range(H):
                r = _sigmoid(p[j] + q[j])
                z = _sigmoid(p[H + j] + q[H + j])
                qn = q[2 * H + j]
                n = _tanh(p[2 * H + j] + r * qn)
                h = n + z * (x[j] - n)
                r_out[t, s, j] = r
                z_out[t, s, j] = z
                n_out[t, s, j] = n
                qn_out[t, s, j] = qn
                h_out[t, s, j] = h
                x[j] = h


@njit(parallel=True, fastmath=True, cache=True)
def gru_backward(dh, h0, h, r_all, z_all, n_all, qn_all, w, resets, dpre, dq, dh0):  # pragma: no cover
    T, N, H = h.shape
    one = np.float32(1)
    for s in prange(N):
        carry = np.zeros(H, dtype=h.dtype)
        for t in range(T - 1, -1, -1):
            reset = resets[t, s]
            prev = h0[s] if t == 0 else h[t - 1, s]
            dp = dpre[t, s]
            d = dq[t, s]
            for j in range(H):
                x = np.float32(0) if reset else prev[j]
                g = dh[t, s, j] + carry[j]
                r = r_all[t, s, j]
                z = z_all[t, s, j]
                n = n_all[t, s, j]
                dp_n = g * (one - z) * (one - n * n)
                dp_z = g * (x - n) * z * (one - z)
                dp_r = dp_n * qn_all[t, s, j] * r * (one - r)
                dp[j] = dp_r
                dp[H + j] = dp_z
                dp[2 * H + j] = dp_n
                d[j] = dp_r
                d[H + j] = dp_z
                d[2 * H + j] = dp_n * r
                carry[j] = g * z
            if reset:
                carry[:] = 0
            else:
                _add_rows(carry, w, d)  # carry += W_hh^T dq
        dh0[s] = carry


# ---------------------------------------------------------------------------------------
# LSTM (torch.nn.LSTM's equations and gate order i, f, g, o) over a whole sequence.
#
#   pre:  (T, N, 4H) x W_ih^T + b_ih + b_hh, blocks [i | f | g | o]
#   w_t:  (H, 4H) W_hh^T for the forward, w (4H, H) = W_hh for the backward
#   q = pre + W_hh x   (x, y = h_{t-1}, c_{t-1}, or 0 after a reset)
#   i, f, o = sigmoid(q_i, q_f, q_o), g = tanh(q_g)
#   c = f y + i g, h = o tanh(c)
#
# Backward, with gh = dL/dh_t and gc = dL/dc_t (each from the output and from step t+1):
#   gc += gh o (1 - tanh(c)^2)
#   dq = [gc g i (1 - i) | gc y f (1 - f) | gc i (1 - g^2) | gh tanh(c) o (1 - o)]
#   dL/dx = W_hh^T dq, dL/dy = gc f
# dW_hh = sum_t dq x^T is a matrix product the caller does.
# ---------------------------------------------------------------------------------------


@njit(parallel=True, fastmath=True, cache=True)
def lstm_forward(pre, w_t, h0, c0, resets, h_out, c_out, i_out, f_out, g_out, o_out, tc_out):  # pragma: no cover
    T, N, H4 = pre.shape
    H = H4 // 4
    for s in prange(N):
        x = h0[s].copy()
        y = c0[s].copy()
        q = np.empty(H4, dtype=pre.dtype)
        for t in range(T):
            q[:] = pre[t, s]
            if resets[t, s]:
                x[:] = 0
                y[:] = 0
            else:
                _add_rows(q, w_t, x)  # q += W_hh x
            for j in range(H):
                i = _sigmoid(q[j])
                f = _sigmoid(q[H + j])
                g = _tanh(q[2 * H + j])
                o = _sigmoid(q[3 * H + j])
                c = f * y[j] + i * g
                tc = _tanh(c)
                h = o * tc
                i_out[t, s, j] = i
                f_out[t, s, j] = f
                g_out[t, s, j] = g
                o_out[t, s, j] = o
                tc_out[t, s, j] = tc
                c_out[t, s, j] = c
                h_out[t, s, j] = h
                x[j] = h
                y[j] = c


@njit(parallel=True, fastmath=True, cache=True)
def lstm_backward(dh, dc, c0, c_all, i_all, f_all, g_all, o_all, tc_all, w, resets,  # pragma: no cover
                  dpre, dh0, dc0):
    T, N, H = c_all.shape
    one = np.float32(1)
    for s in prange(N):
        carry_h = np.zeros(H, dtype=c_all.dtype)
        carry_c = np.zeros(H, dtype=c_all.dtype)
        for t in range(T - 1, -1, -1):
            reset = resets[t, s]
            prev_c = c0[s] if t == 0 else c_all[t - 1, s]
            d = dpre[t, s]
            for j in range(H):
                y = np.float32(0) if reset else prev_c[j]
                i = i_all[t, s, j]
                f = f_all[t, s, j]
                g = g_all[t, s, j]
                o = o_all[t, s, j]
                tc = tc_all[t, s, j]
                gh = dh[t, s, j] + carry_h[j]
                gc = dc[t, s, j] + carry_c[j] + gh * o * (one - tc * tc)
                d[j] = gc * g * i * (one - i)
                d[H + j] = gc * y * f * (one - f)
                d[2 * H + j] = gc * i * (one - g * g)
                d[3 * H + j] = gh * tc * o * (one - o)
                carry_c[j] = gc * f
            carry_h[:] = 0
            if reset:
                carry_c[:] = 0
            else:
                _add_rows(carry_h, w, d)  # carry_h = W_hh^T dq
        dh0[s] = carry_h
        dc0[s] = carry_c
