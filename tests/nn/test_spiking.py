"""LSNN and SRC against their equations computed by hand, the documented choices, and
the numba fast path against the step-by-step reference."""

import math

import numpy as np
import pytest
import torch

from brc_rl.nn import LSNN, SRC
from brc_rl.nn.spiking_functional import (
    LSNNDynamics,
    SRCDynamics,
    lsnn_scan,
    lsnn_scan_reference,
    src_scan,
    src_scan_reference,
)


# --------------------------------------------------------------------------- by hand (numpy, float64)
def lsnn_by_hand(x, state, w_in, w_rec, bias, beta, tau_m, tau_a, v_th, n_ref, resets=None):
    """One LSNN layer, the equations written out (x: (T, N, D), state: (N, 4H))."""
    H = w_rec.shape[0]
    alpha, rho = math.exp(-1 / tau_m), math.exp(-1 / tau_a)
    w_rec = w_rec * (1 - np.eye(H))  # no self-connections
    z, v, b, r = np.split(state, 4, axis=-1)
    out = []
    for t, x_t in enumerate(x):
        if resets is not None:
            keep = ~resets[t][:, None]
            z, v, b, r = z * keep, v * keep, b * keep, r * keep
        current = x_t @ w_in.T + bias + z @ w_rec.T
        b = rho * b + (1 - rho) * z
        threshold = v_th + beta * b
        v = alpha * v + (1 - alpha) * current - z * threshold
        z = np.where(r > 0, 0.0, ((v - threshold) / threshold > 0).astype(float))
        r = np.where(z > 0, n_ref, np.maximum(r - 1, 0))
        out.append(np.concatenate([z, v, b, r], axis=-1))
    return np.stack(out)


def rest_by_bisection(b_h, r=2.0, r_s=-7.0):
    """h* = tanh((r + r_s) h* + b_h) of each neuron, by bisection."""
    lo, hi = -np.ones_like(b_h), np.ones_like(b_h)
    for _ in range(80):
        mid = (lo + hi) / 2
        up = np.tanh((r + r_s) * mid + b_h) > mid
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return (lo + hi) / 2


def src_by_hand(x, state, w, b_h, dyn, resets=None):
    """One SRC layer, the equations written out; returns absolute (h, h_s, i) sequences.

    ``state`` (N, 3H) is relative to the rest state h*, as the module's hx; a reset puts
    the neuron at rest (h = h_s = h*, i = 0)."""
    alpha, rho, r, r_s, z, z_hyp, z_dep = dyn[:7]
    rest = rest_by_bisection(b_h, r, r_s)
    h, h_s, i = np.split(state, 3, axis=-1)
    h, h_s = h + rest, h_s + rest
    out = []
    for t, x_t in enumerate(x):
        if resets is not None:
            reset = resets[t][:, None]
            h, h_s, i = np.where(reset, rest, h), np.where(reset, rest, h_s), np.where(reset, 0.0, i)
        i = alpha * i + x_t @ w.T
        u = rho * np.tanh(i / rho)
        z_s = np.where(h > 0, z_dep, z_hyp)
        h, h_s = z * h + (1 - z) * np.tanh(u + r * h + r_s * h_s + b_h), z_s * h_s + (1 - z_s) * h
        out.append(np.concatenate([h, h_s, i], axis=-1))
    return np.stack(out)


def _numpy(module):
    return {k: v.detach().numpy() for k, v in module.named_parameters()}


# --------------------------------------------------------------------------- LSNN equations
def test_lsnn_two_layers_equal_equations_with_resets_and_refractoriness():
    kw = dict(n_adaptive=3, tau_m=5.0, tau_a=30.0, beta=1.8, v_th=0.05, n_refractory=2, bias=True)
    rnn = LSNN(3, 5, num_layers=2, **kw).double()
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.randn_like(p) * (0.1 if "bias" in name else 1.0))
    x = torch.randn(40, 4, 3, dtype=torch.float64)
    resets = torch.rand(40, 4) < 0.1
    with torch.no_grad():
        _, hx = rnn(torch.randn(7, 4, 3, dtype=torch.float64))  # a state the network can reach
    out, h_n = rnn(x, hx, resets)

    p = _numpy(rnn)
    beta = np.r_[np.zeros(2), np.full(3, 1.8)]
    args = (5.0, 30.0, 0.05, 2)
    s1 = lsnn_by_hand(x.numpy(), hx[0].numpy(), p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], beta, *args,
                      resets=resets.numpy())
    s2 = lsnn_by_hand(s1[..., :5], hx[1].numpy(), p["weight_ih_l1"], p["weight_hh_l1"], p["bias_ih_l1"], beta, *args,
                      resets=resets.numpy())
    np.testing.assert_array_equal(out.detach().numpy(), s2[..., :5])
    np.testing.assert_allclose(h_n.detach().numpy(), np.stack([s1[-1], s2[-1]]), rtol=1e-10, atol=1e-12)
    assert 0.05 < s2[..., :5].mean() < 0.6, "the test needs spikes and silences"
    assert (s1[..., 15:] > 0).any(), "the test needs refractory steps"


def test_lsnn_lif_neuron_refractory_period_and_reset_by_hand():
    # One LIF neuron, I = x = 1: v_0 = (1 - alpha) > v_th, then v stays above v_th.
    rnn = LSNN(1, 1, n_adaptive=0, n_refractory=2).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
    x = torch.ones(9, 1, 1, dtype=torch.float64)
    out, h_n = rnn(x)
    assert out.flatten().tolist() == [1, 0, 0, 1, 0, 0, 1, 0, 0]  # silent 2 steps after each spike
    a = math.exp(-1 / 20)
    v0 = 1 - a
    v1 = a * v0 + (1 - a) - 0.01  # reset by subtracting the threshold once
    _, h1 = rnn(x[:2])
    assert h1[0, 0, 1].item() == pytest.approx(v1, rel=1e-12)
    rho = math.exp(-1 / 200)
    # [z | v | b | r] after step 1: b follows the spikes in LIF neurons too (beta = 0 ignores it)
    assert h1[0, 0].tolist() == [0.0, pytest.approx(v1), pytest.approx(1 - rho), 1.0]
    # a reset before step 4 clears the refractory counter: the neuron spikes at once
    resets = torch.zeros(9, 1, dtype=torch.bool)
    resets[4] = True
    out, _ = rnn(x, resets=resets)
    assert out.flatten().tolist() == [1, 0, 0, 1, 1, 0, 0, 1, 0]
    rnn.dynamics = rnn.dynamics._replace(n_refractory=0)
    assert rnn(x)[0].flatten().tolist() == [1] * 9


def test_lsnn_adaptation_raises_the_threshold():
    x = torch.full((400, 1, 1), 0.5)
    rates, thresholds = {}, {}
    for n_adaptive in (0, 1):
        rnn = LSNN(1, 1, n_adaptive=n_adaptive)
        with torch.no_grad():
            rnn.weight_ih_l0.fill_(1.0)
        out, h_n, (traces,) = rnn.forward_with_gates(x)
        rates[n_adaptive] = out.mean().item()
        thresholds[n_adaptive] = traces["mean_adaptation"][-100:].mean().item()
        b = h_n[0, 0, 2].item()
        assert 0 < b < 1  # b is a low-pass of the spikes
    assert thresholds[0] == 0 and thresholds[1] > 0.05  # beta b: the rise of A above v_th = 0.01
    assert rates[1] < 0.5 * rates[0]


def test_lsnn_pseudo_derivative_by_hand():
    # One step from rest: v = (1 - alpha) p, u = (v - v_th) / v_th; dz/dp = 0.3 max(0, 1 - |u|) (1 - alpha) / v_th.
    rnn = LSNN(1, 1).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
    a = math.exp(-1 / 20)
    for u in (0.5, -0.25, 1.5):
        p = torch.tensor([[[(1 + u) * 0.01 / (1 - a)]]], dtype=torch.float64, requires_grad=True)
        out, _ = rnn(p)
        (grad,) = torch.autograd.grad(out.sum(), p)
        assert out.item() == (1.0 if u > 0 else 0.0)
        assert grad.item() == pytest.approx(0.3 * max(0.0, 1 - abs(u)) * (1 - a) / 0.01, rel=1e-9)


def test_lsnn_no_self_connections():
    rnn = LSNN(2, 4)
    assert torch.all(rnn.weight_hh_l0.diagonal() == 0)
    with torch.no_grad():
        rnn.weight_hh_l0.fill_(5.0)  # a diagonal set by hand is ignored too
    x = torch.randn(30, 3, 2)
    out, _ = rnn(x)
    out.sum().backward()
    assert torch.all(rnn.weight_hh_l0.grad.diagonal() == 0)
    with torch.no_grad():
        rnn.weight_hh_l0.fill_diagonal_(-100.0)
    torch.testing.assert_close(rnn(x)[0], out)


def test_lsnn_parameters_and_init():
    rnn = LSNN(50, 200, num_layers=2)
    assert {k: tuple(v.shape) for k, v in rnn.named_parameters()} == {
        "weight_ih_l0": (200, 50), "weight_hh_l0": (200, 200), "weight_ih_l1": (200, 200), "weight_hh_l1": (200, 200),
    }
    assert rnn.weight_ih_l0.std().item() == pytest.approx(1 / math.sqrt(50), rel=0.05)
    assert rnn.weight_hh_l1.std().item() == pytest.approx(1 / math.sqrt(200), rel=0.05)
    assert rnn.state_size == 800 and rnn.n_adaptive == 200
    assert torch.all(LSNN(2, 4, bias=True).bias_ih_l0 == 0)


# --------------------------------------------------------------------------- SRC equations
def test_src_two_layers_equal_equations_with_resets():
    rnn = SRC(3, 5, num_layers=2, z=0.2, alpha=0.8).double()
    with torch.no_grad():
        rnn.weight_ih_l0.mul_(6.0)
        rnn.weight_ih_l1.mul_(10.0)
    x = torch.randn(60, 4, 3, dtype=torch.float64)
    resets = torch.rand(60, 4) < 0.05
    hx = torch.randn(2, 4, 15, dtype=torch.float64) * 0.5
    out, h_n = rnn(x, hx, resets)

    p = _numpy(rnn)
    s1 = src_by_hand(x.numpy(), hx[0].numpy(), p["weight_ih_l0"], p["bias_ih_l0"], rnn.dynamics, resets.numpy())
    s2 = src_by_hand(np.maximum(s1[..., :5], 0), hx[1].numpy(), p["weight_ih_l1"], p["bias_ih_l1"], rnn.dynamics,
                     resets.numpy())
    np.testing.assert_allclose(out.detach().numpy(), np.maximum(s2[..., :5], 0), rtol=1e-10, atol=1e-12)
    rest = [rest_by_bisection(p[f"bias_ih_l{k}"]) for k in range(2)]
    final = [s[-1] - np.r_[r, r, np.zeros(5)] for s, r in zip((s1, s2), rest)]  # h_n is relative to rest
    np.testing.assert_allclose(h_n.detach().numpy(), np.stack(final), rtol=1e-10, atol=1e-12)
    assert (out > 0).any() and (s1[..., :5] > 0).mean() > 0.02, "the test needs spikes"


def test_src_rests_without_input_and_spikes_under_drive():
    rnn = SRC(1, 1).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
    # the zero state is the rest state h = h_s = h*, h* = tanh(r h* + r_s h* + b_h) = tanh(-5 h* - 6)
    rest = rest_by_bisection(np.array([-6.0]))
    assert rnn.rest_state().item() == pytest.approx(rest[0], abs=1e-12) and -0.91 < rest[0] < -0.9
    out, h_n = rnn(torch.zeros(300, 1, 1, dtype=torch.float64))
    assert torch.all(out == 0) and h_n.abs().max() < 1e-12  # it stays there

    x = torch.full((300, 1, 1), 0.5, dtype=torch.float64)
    _, _, (traces,) = rnn.forward_with_gates(x)
    start = torch.tensor([[rest[0], rest[0], 0.0]], dtype=torch.float64)
    h, h_s, _ = (s[:, 0, 0] for s in src_scan_reference(x, rnn.bias_ih_l0.detach(), start, None, rnn.dynamics))
    onsets = traces["spike_rate"].flatten().nonzero().flatten()
    assert len(onsets) >= 10 and torch.diff(onsets).min() >= 10  # h_s spaces the spikes
    depolarised = (h > 0).nonzero().flatten()
    assert len(depolarised) <= 2 * len(onsets)  # a spike lasts a step or two
    assert torch.all(torch.maximum(h[onsets], h[onsets + 1]) > 0.75)  # and peaks near 1
    # z_dep = 0: the step after a depolarised one, h_s is exactly the previous h
    after = depolarised[depolarised < 299] + 1
    torch.testing.assert_close(h_s[after], h[after - 1], rtol=0, atol=0)


def test_src_stack_spikes_at_initialisation():
    rnn = SRC(3, 64, num_layers=3)
    _, _, traces = rnn.forward_with_gates(torch.randn(200, 8, 3))
    rates = [layer["spike_rate"].mean().item() for layer in traces]
    assert all(0.01 < rate < 0.06 for rate in rates), rates


def test_src_one_step_by_hand_gate_reads_previous_h():
    rnn = SRC(1, 1).double()
    rest = rnn.rest_state().item()
    offset = torch.tensor([rest, rest, 0.0], dtype=torch.float64)
    for h0, hs0 in ((0.5, 0.2), (-0.5, 0.2)):
        state = torch.tensor([[[h0, hs0, 0.0]]], dtype=torch.float64) - offset  # hx is relative to rest
        out, h_n = rnn(torch.zeros(1, 1, 1, dtype=torch.float64), state)
        z_s = 0.0 if h0 > 0 else 0.9
        h1 = math.tanh(2 * h0 - 7 * hs0 - 6)
        assert (h_n + offset).flatten().tolist() == pytest.approx([h1, z_s * hs0 + (1 - z_s) * h0, 0.0], rel=1e-12)
        assert out.item() == max(h1, 0.0)


def test_src_spikes_right_after_a_reset():
    # The zero state is at rest, so one input pulse makes a spike at once, at the first
    # step and right after a reset (from absolute zeros, h_s = 0 would silence it ~20 steps).
    rnn = SRC(1, 1).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
    x = torch.zeros(12, 1, 1, dtype=torch.float64)
    x[0] = x[6] = 0.7
    resets = torch.zeros(12, 1, dtype=torch.bool)
    resets[6] = True
    out, _ = rnn(x, resets=resets)
    assert (out.flatten() > 0).nonzero().flatten().tolist() == [3, 4, 9, 10]
    out_abs, _ = src_scan(x * 1.0, rnn.bias_ih_l0.detach(), torch.zeros(1, 3, dtype=torch.float64), None,
                          rnn.dynamics)[:2]
    assert torch.all(out_abs[:6] < 0), "from absolute zeros it would not spike"


def test_src_rest_state_solve_and_gradient():
    bias = torch.linspace(-12, 4, 33, dtype=torch.float64, requires_grad=True)
    rest = SRC(1, 33).double()
    with torch.no_grad():
        rest.bias_ih_l0.copy_(bias)
    h = rest.rest_state()
    np.testing.assert_allclose(h.detach().numpy(), rest_by_bisection(bias.detach().numpy()), rtol=0, atol=1e-12)
    (grad,) = torch.autograd.grad(h.sum(), rest.bias_ih_l0)
    b, eps = bias.detach().numpy(), 1e-6
    numeric = (rest_by_bisection(b + eps) - rest_by_bisection(b - eps)) / (2 * eps)
    np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-6, atol=1e-9)
    with torch.no_grad():
        rest.bias_ih_l0.add_(1.0)  # an optimizer step: the cached solve is redone
    np.testing.assert_allclose(rest.rest_state().detach().numpy(), rest_by_bisection(b + 1), atol=1e-12)
    with torch.inference_mode():
        rest(torch.zeros(3, 1, 1, dtype=torch.float64))
    rest(torch.zeros(3, 1, 1, dtype=torch.float64))[0].sum().backward()  # no inference tensor reused


def test_src_straight_through_output_gradient():
    # At rest (h < 0 throughout) the true ReLU derivative gives no gradient; the default does.
    x = torch.zeros(20, 1, 2, dtype=torch.float64, requires_grad=True)
    grads = {}
    for straight_through in (False, True):
        torch.manual_seed(0)
        rnn = SRC(2, 3, straight_through=straight_through).double()
        out, _ = rnn(x)
        assert torch.all(out == 0)
        (grads[straight_through],) = torch.autograd.grad(out.sum(), x)
    assert torch.all(grads[False] == 0) and torch.all(grads[True] != 0)


def test_src_detached_recurrence_by_hand():
    # One neuron, z = 0: h_T = tanh(x_T + const), x_T = rho tanh(i_T / rho), i_T = sum_t alpha^(T-t) pre_t;
    # with h and h_s detached, dh_T/dpre_t = (1 - h_T^2) (1 - (x_T / rho)^2) alpha^(T-t).
    pre = (torch.rand(6, 1, 1, dtype=torch.float64) * 0.4).requires_grad_()
    bias = torch.tensor([-6.0], dtype=torch.float64)
    h, _, i = src_scan(pre, bias, torch.zeros(1, 3, dtype=torch.float64), None, SRCDynamics())
    (grad,) = torch.autograd.grad(h[-1].sum(), pre)
    x_T = 3 * torch.tanh(i[-1] / 3)
    expected = (1 - h[-1] ** 2) * (1 - (x_T / 3) ** 2) * 0.9 ** torch.arange(5, -1, -1, dtype=torch.float64)
    torch.testing.assert_close(grad.flatten(), expected.flatten().detach(), rtol=1e-12, atol=0)


def test_src_full_recurrence_gradient_is_the_true_derivative():
    pre = torch.randn(15, 2, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.full((3,), -2.0, dtype=torch.float64, requires_grad=True)
    state = (torch.randn(2, 9, dtype=torch.float64) * 0.5).requires_grad_()
    resets = torch.zeros(15, 2, dtype=torch.bool)
    resets[7, 1] = True
    dyn = SRCDynamics(detach_recurrence=False)
    assert torch.autograd.gradcheck(lambda p, b, s: src_scan(p, b, s, resets, dyn), (pre, bias, state))


def test_src_parameters_and_fixed_bias():
    rnn = SRC(4, 6, num_layers=2)
    assert {k: tuple(v.shape) for k, v in rnn.named_parameters()} == {
        "weight_ih_l0": (6, 4), "bias_ih_l0": (6,), "weight_ih_l1": (6, 6), "bias_ih_l1": (6,),
    }
    assert torch.all(rnn.bias_ih_l0 == -6) and 1.8 < rnn.weight_ih_l0.abs().max() <= 2  # 4 / sqrt(4)
    fixed = SRC(4, 6, bias=False, bias_init=-4.0)
    assert [k for k, _ in fixed.named_parameters()] == ["weight_ih_l0"]
    assert torch.all(fixed.bias_ih_l0 == -4) and "bias_ih_l0" not in fixed.state_dict()
    assert fixed.state_size == 18


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs, message", [
    (dict(n_adaptive=5), r"n_adaptive must be an int in \[0, hidden_size=4\], got 5"),
    (dict(n_adaptive=1.5), "n_adaptive must be an int"),
    (dict(n_refractory=-1), "n_refractory must be a non-negative int, got -1"),
    (dict(tau_m=0.0), "tau_m must be positive, got 0.0"),
    (dict(v_th=-0.01), "v_th must be positive"),
    (dict(dropout=2.0), r"dropout must be a number in \[0, 1\]"),
])
def test_lsnn_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSNN(3, 4, **kwargs)


def test_src_bad_arguments_and_state_size_in_errors():
    with pytest.raises(ValueError, match="rho must be positive"):
        SRC(3, 4, rho=0.0)
    with pytest.raises(ValueError, match=r"expected hx of shape \(1, 2, 12\), got \(1, 2, 4\)"):
        SRC(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"expected hx of shape \(1, 2, 16\), got \(1, 2, 4\)"):
        LSNN(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 2, 4))


# --------------------------------------------------------------------------- fast path against the reference
def _lsnn_inputs(dtype=torch.float64, T=40, N=5, H=8):
    pre = (torch.randn(T, N, H, dtype=dtype) * 0.2).requires_grad_()
    w = (torch.randn(H, H, dtype=dtype) * 0.05 * (1 - torch.eye(H, dtype=dtype))).requires_grad_()
    beta = torch.cat([torch.zeros(3), torch.full((H - 3,), 1.6)]).to(dtype)
    z0 = (torch.rand(N, H) < 0.3).to(dtype)
    r0 = torch.randint(0, 3, (N, H)).to(dtype)
    state = torch.cat([z0, torch.randn(N, H, dtype=dtype) * 0.02, torch.rand(N, H, dtype=dtype) * 0.1, r0], -1)
    resets = torch.rand(T, N) < 0.1
    resets[0, 0] = True
    return pre, w, beta, state.requires_grad_(), resets


def _grads(outputs, inputs, seed=1):
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in outputs]
    loss = sum((o * w).sum() for o, w in zip(outputs, weights) if o.requires_grad)
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


@pytest.mark.parametrize("n_refractory", [0, 2])
def test_lsnn_fast_equals_reference_float64(n_refractory):
    pre, w, beta, state, resets = _lsnn_inputs()
    dyn = LSNNDynamics(tau_m=10.0, tau_a=50.0, n_refractory=n_refractory)
    fast = lsnn_scan(pre, w, beta, state, resets, dyn)
    ref = lsnn_scan_reference(pre, w, beta, state, resets, dyn)
    assert 0.05 < fast[0].mean() < 0.7
    for x, y in zip(fast, ref):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-14)
    grads = _grads(fast, (pre, w, state))
    for x, y in zip(grads, _grads(ref, (pre, w, state))):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)
    d_state = grads[2]
    assert torch.all(d_state[0] == 0), "the state of a sequence reset at t=0 gets no gradient"
    assert torch.all(d_state[:, -8:] == 0), "the refractory counters are constants"


@pytest.mark.parametrize("detach", [True, False])
def test_src_fast_equals_reference_float64(detach):
    T, N, H = 50, 4, 6
    pre = (torch.randn(T, N, H, dtype=torch.float64) * 1.5).requires_grad_()
    bias = (torch.full((H,), -6.0, dtype=torch.float64) + torch.randn(H, dtype=torch.float64)).requires_grad_()
    state = (torch.randn(N, 3 * H, dtype=torch.float64) * 0.5).requires_grad_()
    rest = (torch.rand(H, dtype=torch.float64) - 0.9).requires_grad_()
    resets = torch.rand(T, N) < 0.1
    dyn = SRCDynamics(z=0.1, detach_recurrence=detach)
    fast, ref = src_scan(pre, bias, state, resets, dyn, rest), src_scan_reference(pre, bias, state, resets, dyn, rest)
    assert (fast[0] > 0).float().mean() > 0.02
    for x, y in zip(fast, ref):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-13)
    grads = _grads(fast, (pre, bias, state, rest))
    for x, y in zip(grads, _grads(ref, (pre, bias, state, rest))):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)
    assert (grads[3].abs().sum() > 0) != detach  # rest matters to the gradient only through h, h_s


def test_fast_equals_reference_float32():
    pre, w, beta, state, resets = _lsnn_inputs(torch.float32, T=30)
    fast = lsnn_scan(pre, w, beta, state, resets, LSNNDynamics(n_refractory=1))
    ref = lsnn_scan_reference(pre, w, beta, state, resets, LSNNDynamics(n_refractory=1))
    torch.testing.assert_close(fast[0], ref[0], rtol=0, atol=0)  # same spikes
    for x, y in zip(fast[1:], ref[1:]):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)
    pre = torch.randn(30, 3, 8) * 2
    state = torch.zeros(3, 24)
    bias = torch.full((8,), -6.0)
    for x, y in zip(src_scan(pre, bias, state, resets[:, :3], SRCDynamics()),
                    src_scan_reference(pre, bias, state, resets[:, :3], SRCDynamics())):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, scan, reference", [
    (LSNN, "lsnn_scan", lsnn_scan_reference), (SRC, "src_scan", src_scan_reference),
])
def test_module_gradients_match_reference(cls, scan, reference, monkeypatch):
    kwargs = dict(n_refractory=1, bias=True) if cls is LSNN else {}
    rnn = cls(3, 8, num_layers=2, **kwargs).double()
    x = torch.randn(25, 4, 3, dtype=torch.float64) * 3
    resets = torch.rand(25, 4) < 0.15

    def grads():
        rnn.zero_grad()
        out, h_n = rnn(x, resets=resets)
        (out.sum() + h_n[..., 8:16].pow(2).sum()).backward()
        return out.detach(), [p.grad.clone() for p in rnn.parameters()]

    out, fast = grads()
    monkeypatch.setattr(f"brc_rl.nn.spiking.{scan}", reference)
    out_ref, slow = grads()
    torch.testing.assert_close(out, out_ref)
    for g, g_ref in zip(fast, slow):
        assert g.abs().sum() > 0
        torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls", [LSNN, SRC])
def test_no_nan_on_long_sequences(cls):
    rnn = cls(2, 8, n_refractory=3) if cls is LSNN else cls(2, 8)
    x = 10 * torch.randn(20_000, 2, 2)
    out, h_n = rnn(x, resets=torch.rand(20_000, 2) < 1e-3)
    (out[-100:].sum() + h_n.sum()).backward()
    assert torch.isfinite(out).all() and torch.isfinite(h_n).all() and 0 <= out.min() and out.max() <= 1
    assert all(torch.isfinite(p.grad).all() for p in rnn.parameters())
