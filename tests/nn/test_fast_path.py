"""The numba fast path against the plain step-by-step reference."""

import pytest
import torch

from brc_rl.nn import BRC, LSNN, NBRC, SRC
from brc_rl.nn.functional import bistable_scan, bistable_scan_reference


def _inputs(neuromodulated, T=30, N=5, H=6, dtype=torch.float64, with_resets=True):
    pre = torch.randn(T, N, 3 * H, dtype=dtype, requires_grad=True)
    w_shape = (2 * H, H) if neuromodulated else (2 * H,)
    w = (torch.randn(w_shape, dtype=dtype) * 0.8).requires_grad_()
    h0 = torch.randn(N, H, dtype=dtype, requires_grad=True)
    resets = torch.rand(T, N) < 0.1 if with_resets else None
    if with_resets:
        resets[0, 0] = True  # a reset at the very first step: h0 of that sequence unused
    return pre, w, h0, resets


def _run(fn, pre, w, h0, resets, seed=1):
    h, a, c = fn(pre, w, h0, resets)
    g = torch.Generator().manual_seed(seed)
    loss = (h * torch.randn(h.shape, generator=g, dtype=h.dtype)).sum()
    grads = torch.autograd.grad(loss, (pre, w, h0))
    return (h, a, c), grads


@pytest.mark.parametrize("neuromodulated", [False, True])
@pytest.mark.parametrize("with_resets", [False, True])
def test_fast_equals_reference_float64(neuromodulated, with_resets):
    args = _inputs(neuromodulated, with_resets=with_resets)
    outs, grads = _run(bistable_scan, *args)
    ref_outs, ref_grads = _run(bistable_scan_reference, *args)
    for x, y in zip(outs + grads, ref_outs + ref_grads):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)
    if with_resets:
        assert torch.all(grads[2][0] == 0), "h0 of a sequence reset at t=0 gets no gradient"


@pytest.mark.parametrize("neuromodulated", [False, True])
def test_fast_equals_reference_float32(neuromodulated):
    # float32 uses a rational tanh (abs error < 3e-7); gradients agree to float32 accuracy.
    args = _inputs(neuromodulated, T=40, H=16, dtype=torch.float32)
    outs, grads = _run(bistable_scan, *args)
    ref_outs, ref_grads = _run(bistable_scan_reference, *args)
    for x, y in zip(outs + grads, ref_outs + ref_grads):
        scale = y.abs().max().item()
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-4 * max(scale, 1.0))


@pytest.mark.parametrize("neuromodulated", [False, True])
def test_gradcheck_float64(neuromodulated):
    pre, w, h0, resets = _inputs(neuromodulated, T=12, N=3, H=4)
    assert torch.autograd.gradcheck(
        lambda p, w, h: bistable_scan(p, w, h, resets)[0], (pre, w, h0)
    )


@pytest.mark.parametrize("cls", [BRC, NBRC])
def test_module_gradients_match_reference(cls, monkeypatch):
    rnn = cls(3, 8, num_layers=2).double()
    x = torch.randn(25, 4, 3, dtype=torch.float64)
    resets = torch.rand(25, 4) < 0.15

    def grads():
        rnn.zero_grad()
        out, h_n = rnn(x, resets=resets)
        (out.sum() + h_n.pow(2).sum()).backward()
        return [p.grad.clone() for p in rnn.parameters()]

    fast = grads()
    monkeypatch.setattr("brc_rl.nn.modules.bistable_scan", bistable_scan_reference)
    for g, g_ref in zip(fast, grads()):
        torch.testing.assert_close(g, g_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize("cls", [BRC, NBRC, LSNN, SRC])
def test_cuda_matches_cpu(cls):
    rnn = cls(3, 8, num_layers=2)
    x, resets = torch.randn(20, 4, 3), torch.rand(20, 4) < 0.1
    out, h_n = rnn(x, resets=resets)
    out.sum().backward()
    cpu_grads = [p.grad.clone() for p in rnn.parameters()]
    rnn.zero_grad()
    rnn.cuda()
    out_c, h_n_c = rnn(x.cuda(), resets=resets.cuda())
    out_c.sum().backward()
    torch.testing.assert_close(out_c.cpu(), out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(h_n_c.cpu(), h_n, rtol=1e-4, atol=1e-5)
    for p, g in zip(rnn.parameters(), cpu_grads):
        torch.testing.assert_close(p.grad.cpu(), g, rtol=1e-3, atol=1e-4)


def test_kernels_follow_and_keep_torch_thread_count():
    import numba

    previous = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            BRC(2, 4)(torch.randn(3, 2, 2))
            assert torch.get_num_threads() == threads
            assert numba.get_num_threads() == min(threads, numba.config.NUMBA_NUM_THREADS)
    finally:
        torch.set_num_threads(previous)
