"""Numba CPU kernels for the LSNN and SRC recurrences over a whole sequence.

Same layout and parallelism as :mod:`brc_rl.nn._kernels`: all arrays C-contiguous,
``pre`` (T, N, H) the input projections of the whole sequence, ``resets`` (T, N) bool
(the state is zeroed before step t where True), one sequence per ``prange`` iteration
with the time loop inside. The scalar constants arrive as numpy scalars of the arrays'
dtype (float32 math stays float32).

LSNN forward, per unit j (z, v, b, r the previous step's, 0 after a reset):
    b' = rho b + (1 - rho) z
    A  = v_th + beta_j b'
    v' = alpha v + (1 - alpha) (pre_j + sum_i W_ji z_i) - z A
    z' = 1[(v' - A) / A > 0] if r <= 0 else 0
    r' = n_ref if z' else max(r - 1, 0)
Spikes are sparse, so the recurrent input adds the columns of W of the neurons that
spiked (``w_t`` = W^T, one row per source neuron).

LSNN backward, with u = (v' - A) / A, psi = gamma max(0, 1 - |u|) (0 while refractory),
and the carries cz, cv, cb (dL/dz, dL/dv, dL/db of this step's outputs from step t+1):
    gz = dz + cz,  gu = gz psi
    gv = dv + cv + gu / A
    gA = -gu v' / A^2 - z gv
    gb = db + cb + beta_j gA
    dpre = (1 - alpha) gv
    carries to step t-1:  cv = alpha gv,  cb = rho gb,  cz = (1 - rho) gb - A gv + (W^T dpre)
dW = sum_t dpre_t z_{t-1}^T is one matrix product the caller does (BLAS; a sparse sum over
the spikes inside the kernel was no faster at a firing rate of 3%).

SRC forward, per unit j (h, h_s, i the previous step's; after a reset h = h_s = rest_j, i = 0):
    i'   = alpha i + pre_j
    x    = rho tanh(i' / rho)
    g    = tanh(x + r h + r_s h_s + b_j)
    h'   = z h + (1 - z) g
    z_s  = z_dep if h > 0 else z_hyp
    h_s' = z_s h_s + (1 - z_s) h

SRC backward, with carries ch, chs, ci (from step t+1) and keep = 1, or 0 where h_{t-1}
and h_s_{t-1} are detached (``detach_recurrence``); at a reset the carries ch + chs go to
rest_j (per-sequence partial sums, the caller sums over N):
    gh = dh + ch,  ghs = dhs + chs
    gq = (1 - z) gh (1 - g^2)
    gi = di + ci + gq (1 - (x / rho)^2)
    dpre = gi,  db_j += gq
    carries:  ci = alpha gi,  ch = keep (z gh + r gq + (1 - z_s) ghs),  chs = keep (r_s gq + z_s ghs)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from brc_rl.nn._kernels import _add_rows, _tanh


@njit(parallel=True, fastmath=True, cache=True)
def lsnn_forward(pre, w_t, beta, alpha, one_minus_alpha, rho, one_minus_rho, v_th, n_ref,  # pragma: no cover
                 z0, v0, b0, r0, resets, z_out, v_out, b_out, r_out):
    T, N, H = pre.shape
    zero, one = np.float32(0), np.float32(1)
    for n in prange(N):
        z, v, b, r = z0[n].copy(), v0[n].copy(), b0[n].copy(), r0[n].copy()
        cur = np.empty(H, dtype=pre.dtype)
        for t in range(T):
            if resets[t, n]:
                z[:] = 0
                v[:] = 0
                b[:] = 0
                r[:] = 0
            cur[:] = pre[t, n]
            for i in range(H):  # cur += W z, over the neurons that spiked
                if z[i] != 0:
                    zi = z[i]
                    row = w_t[i]
                    for j in range(H):
                        cur[j] += row[j] * zi
            for j in range(H):  # branch-free, so that LLVM vectorises it
                zp = z[j]
                bj = rho * b[j] + one_minus_rho * zp
                threshold = v_th + beta[j] * bj
                vj = alpha * v[j] + one_minus_alpha * cur[j] - zp * threshold
                # (v - A) / A > 0 without the division: same sign as (v - A) A
                spike = (r[j] <= zero) & ((vj - threshold) * threshold > zero)
                z[j] = one if spike else zero
                r[j] = n_ref if spike else max(r[j] - one, zero)
                v[j] = vj
                b[j] = bj
                z_out[t, n, j] = z[j]
                v_out[t, n, j] = vj
                b_out[t, n, j] = bj
                r_out[t, n, j] = r[j]


@njit(parallel=True, fastmath=True, cache=True)
def lsnn_backward(dz, dv, db, z0, r0, z_all, v_all, b_all, r_all, w, beta,  # pragma: no cover
                  alpha, one_minus_alpha, rho, one_minus_rho, v_th, gamma, resets, dpre, dz0, dv0, db0):
    T, N, H = z_all.shape
    zero, one = np.float32(0), np.float32(1)
    for n in prange(N):
        cz = np.zeros(H, dtype=z_all.dtype)
        cv = np.zeros(H, dtype=z_all.dtype)
        cb = np.zeros(H, dtype=z_all.dtype)
        zeros = np.zeros(H, dtype=z_all.dtype)
        for t in range(T - 1, -1, -1):
            reset = resets[t, n]
            z_prev = zeros if reset else (z0[n] if t == 0 else z_all[t - 1, n])
            r_prev = zeros if reset else (r0[n] if t == 0 else r_all[t - 1, n])
            d = dpre[t, n]
            for j in range(H):  # branch-free, so that LLVM vectorises it
                vj = v_all[t, n, j]
                inv = one / (v_th + beta[j] * b_all[t, n, j])  # 1 / A
                u = vj * inv - one
                psi = gamma * max(one - abs(u), zero) if r_prev[j] <= zero else zero
                gu = (dz[t, n, j] + cz[j]) * psi
                gv = dv[t, n, j] + cv[j] + gu * inv
                threshold = v_th + beta[j] * b_all[t, n, j]
                g_threshold = -gu * vj * inv * inv - z_prev[j] * gv
                gb = db[t, n, j] + cb[j] + beta[j] * g_threshold
                d[j] = one_minus_alpha * gv
                cv[j] = alpha * gv
                cb[j] = rho * gb
                cz[j] = one_minus_rho * gb - threshold * gv
            if reset:
                cz[:] = 0
                cv[:] = 0
                cb[:] = 0
            else:
                _add_rows(cz, w, d)  # cz += W^T dpre
        dz0[n] = cz
        dv0[n] = cv
        db0[n] = cb


@njit(parallel=True, fastmath=True, cache=True)
def src_forward(pre, bias, alpha, rho, r, r_s, z, one_minus_z, z_hyp, one_minus_z_hyp,  # pragma: no cover
                z_dep, one_minus_z_dep, rest, h0, hs0, i0, resets, h_out, hs_out, i_out, x_out, g_out):
    T, N, H = pre.shape
    zero = np.float32(0)
    for n in prange(N):
        h, hs, cur = h0[n].copy(), hs0[n].copy(), i0[n].copy()
        for t in range(T):
            if resets[t, n]:
                h[:] = rest
                hs[:] = rest
                cur[:] = 0
            p = pre[t, n]
            for j in range(H):
                ij = alpha * cur[j] + p[j]
                x = rho * _tanh(ij / rho)
                g = _tanh(x + r * h[j] + r_s * hs[j] + bias[j])
                hj = h[j]
                if hj > zero:
                    hs[j] = z_dep * hs[j] + one_minus_z_dep * hj
                else:
                    hs[j] = z_hyp * hs[j] + one_minus_z_hyp * hj
                h[j] = z * hj + one_minus_z * g
                cur[j] = ij
                h_out[t, n, j] = h[j]
                hs_out[t, n, j] = hs[j]
                i_out[t, n, j] = ij
                x_out[t, n, j] = x
                g_out[t, n, j] = g


@njit(parallel=True, fastmath=True, cache=True)
def src_backward(dh, dhs, di, h0, h_all, x_all, g_all, alpha, rho, r, r_s, z, one_minus_z,  # pragma: no cover
                 z_hyp, one_minus_z_hyp, z_dep, one_minus_z_dep, keep, rest, resets,
                 dpre, dbias, drest, dh0, dhs0, di0):
    T, N, H = h_all.shape
    zero, one = np.float32(0), np.float32(1)
    for n in prange(N):
        ch = np.zeros(H, dtype=h_all.dtype)
        chs = np.zeros(H, dtype=h_all.dtype)
        ci = np.zeros(H, dtype=h_all.dtype)
        dbias[n] = 0
        drest[n] = 0
        for t in range(T - 1, -1, -1):
            reset = resets[t, n]
            h_prev = rest if reset else (h0[n] if t == 0 else h_all[t - 1, n])
            for j in range(H):
                gh = dh[t, n, j] + ch[j]
                ghs = dhs[t, n, j] + chs[j]
                g = g_all[t, n, j]
                s = x_all[t, n, j] / rho
                gq = one_minus_z * gh * (one - g * g)
                gi = di[t, n, j] + ci[j] + gq * (one - s * s)
                dpre[t, n, j] = gi
                dbias[n, j] += gq
                if h_prev[j] > zero:
                    gh_prev = keep * (z * gh + r * gq + one_minus_z_dep * ghs)
                    ghs_prev = keep * (r_s * gq + z_dep * ghs)
                else:
                    gh_prev = keep * (z * gh + r * gq + one_minus_z_hyp * ghs)
                    ghs_prev = keep * (r_s * gq + z_hyp * ghs)
                if reset:  # the state before step t was (rest, rest, 0)
                    drest[n, j] += gh_prev + ghs_prev
                    ci[j] = zero
                    ch[j] = zero
                    chs[j] = zero
                else:
                    ci[j] = alpha * gi
                    ch[j] = gh_prev
                    chs[j] = ghs_prev
        dh0[n] = ch
        dhs0[n] = chs
        di0[n] = ci
