"""BRC / nBRC against the paper's equations computed by hand (numpy, float64)."""

import numpy as np
import pytest
import torch

from brc_rl.nn import BRC, NBRC, BRCCell, NBRCCell


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _by_hand(x, h0, w_ih, w_hh, b, neuromodulated):
    """Each layer's equations, written out step by step (x: (T, N, D), h0: (N, H))."""
    H = h0.shape[-1]
    U_a, U_c, U_h = w_ih[:H], w_ih[H : 2 * H], w_ih[2 * H :]
    b_a, b_c, b_h = b[:H], b[H : 2 * H], b[2 * H :]
    h, hs, As, Cs = h0, [], [], []
    for x_t in x:
        if neuromodulated:
            W_a, W_c = w_hh[:H], w_hh[H:]
            a = 1 + np.tanh(x_t @ U_a.T + h @ W_a.T + b_a)
            c = _sigmoid(x_t @ U_c.T + h @ W_c.T + b_c)
        else:
            w_a, w_c = w_hh[:H], w_hh[H:]
            a = 1 + np.tanh(x_t @ U_a.T + w_a * h + b_a)
            c = _sigmoid(x_t @ U_c.T + w_c * h + b_c)
        h = c * h + (1 - c) * np.tanh(x_t @ U_h.T + a * h + b_h)
        hs.append(h), As.append(a), Cs.append(c)
    return np.stack(hs), np.stack(As), np.stack(Cs)


def _randomise(module):
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.7)


@pytest.mark.parametrize("cls", [BRC, NBRC])
def test_two_layers_equal_equations(cls):
    rnn = cls(3, 4, num_layers=2).double()
    _randomise(rnn)
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    hx = torch.randn(2, 2, 4, dtype=torch.float64)
    out, h_n, gates = rnn.forward_with_gates(x, hx)

    p = {k: v.detach().numpy() for k, v in rnn.named_parameters()}
    h1, a1, c1 = _by_hand(x.numpy(), hx[0].numpy(), p["weight_ih_l0"], p["weight_hh_l0"],
                          p["bias_ih_l0"], cls is NBRC)
    h2, a2, c2 = _by_hand(h1, hx[1].numpy(), p["weight_ih_l1"], p["weight_hh_l1"],
                          p["bias_ih_l1"], cls is NBRC)
    np.testing.assert_allclose(out.detach().numpy(), h2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n[0].detach().numpy(), h1[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n[1].detach().numpy(), h2[-1], rtol=1e-10, atol=1e-12)
    for (a, c), (a_ref, c_ref) in zip(gates, [(a1, c1), (a2, c2)]):
        np.testing.assert_allclose(a.numpy(), a_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls, layer_cls", [(BRCCell, BRC), (NBRCCell, NBRC)])
def test_cell_is_one_step_of_the_layer(cls, layer_cls):
    cell, layer = cls(3, 5), layer_cls(3, 5)
    _randomise(cell)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x, hx = torch.randn(4, 3), torch.randn(4, 5)
    out, _ = layer(x.unsqueeze(0), hx.unsqueeze(0))
    torch.testing.assert_close(cell(x, hx), out[0], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(cell(x[0], hx[0]), out[0, 0], rtol=1e-6, atol=1e-6)


def test_parameter_names_shapes_and_init():
    brc, nbrc = BRC(7, 16, num_layers=2), NBRC(7, 16, num_layers=2)
    assert {k: tuple(v.shape) for k, v in brc.named_parameters()} == {
        "weight_ih_l0": (48, 7), "weight_hh_l0": (32,), "bias_ih_l0": (48,),
        "weight_ih_l1": (48, 16), "weight_hh_l1": (32,), "bias_ih_l1": (48,),
    }
    assert tuple(nbrc.weight_hh_l1.shape) == (32, 16)
    assert torch.all(brc.weight_hh_l0 == 1) and torch.all(brc.bias_ih_l1 == 0)
    # Glorot uniform per (H, H_in) block: bound sqrt(6 / (H + H_in)).
    for block in nbrc.weight_ih_l1.chunk(3) + nbrc.weight_hh_l0.chunk(2):
        bound = (6 / sum(block.shape)) ** 0.5
        assert block.abs().max() <= bound and block.abs().max() > 0.8 * bound
    assert "bias_ih_l0" not in dict(BRC(3, 4, bias=False).named_parameters())


def test_orthogonal_recurrent_init():
    rnn = NBRC(3, 8, recurrent_init="orthogonal")
    for block in rnn.weight_hh_l0.detach().chunk(2):
        torch.testing.assert_close(block @ block.T, torch.eye(8), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="glorot, orthogonal"):
        NBRC(3, 8, recurrent_init="he")
    with pytest.raises(ValueError, match="nBRC only"):
        BRC(3, 8, recurrent_init="orthogonal")
