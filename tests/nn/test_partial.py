"""The partial warm-up memory: the interface contract (resets: tests/nn/test_interface.py), and only its
warm halves warmed up."""

import io

import pytest
import torch

from brc_rl.nn import RNN_REGISTRY, GatedPartialWarmup, PartialWarmup, make_rnn, warmup_layers
from brc_rl.nn.warmup import warmup

CELLS = sorted(RNN_REGISTRY)


@pytest.mark.parametrize("name", CELLS)
def test_shapes_layouts_and_halves(name):
    rnn = make_rnn(name, 3, 8, num_layers=2, partial_warmup=True)
    assert isinstance(rnn, PartialWarmup) and len(rnn.warm) == len(rnn.cold) == 2
    assert isinstance(rnn, GatedPartialWarmup) == hasattr(RNN_REGISTRY[name], "forward_with_gates")
    half = rnn.warm[0].state_size
    assert rnn.state_size == 2 * half and rnn.warm[0].hidden_size == 4
    x, hx = torch.randn(6, 5, 3), torch.randn(2, 5, rnn.state_size)
    out, h_n = rnn(x, hx)
    assert out.shape == (6, 5, 8) and h_n.shape == (2, 5, rnn.state_size)
    # layer 0 is the two halves side by side on the same input
    out_w, h_w = rnn.warm[0](x, hx[:1, :, :half])
    out_c, h_c = rnn.cold[0](x, hx[:1, :, half:])
    out0 = torch.cat([out_w, out_c], -1)
    _, h_1 = rnn.warm[1](out0, hx[1:, :, :half])
    torch.testing.assert_close(h_n[0], torch.cat([h_w[0], h_c[0]], -1))
    torch.testing.assert_close(h_n[1, :, :half], h_1[0])
    rnn.batch_first = True
    out_bf, h_bf = rnn(x.transpose(0, 1), hx)
    torch.testing.assert_close(out_bf.transpose(0, 1), out)
    torch.testing.assert_close(h_bf, h_n)
    rnn.batch_first = False
    out_u, h_u = rnn(x[:, 2], hx[:, 2])
    torch.testing.assert_close(out_u, out[:, 2], rtol=1e-5, atol=1e-6)
    assert h_u.shape == (2, rnn.state_size)


def test_gates_are_both_halves():
    rnn = make_rnn("nbrc", 2, 6, num_layers=2, partial_warmup=True, batch_first=True)
    x = torch.randn(4, 5, 2)
    out, h_n, gates = rnn.forward_with_gates(x)
    torch.testing.assert_close(out, rnn(x)[0])
    assert len(gates) == 2 and all(a.shape == c.shape == (4, 5, 6) for a, c in gates)


@pytest.mark.parametrize(("name", "stats"), [("lsnn", {"firing_rate", "mean_adaptation"}), ("src", {"spike_rate"})])
def test_spiking_traces_are_both_halves(name, stats):
    rnn = make_rnn(name, 2, 6, partial_warmup=True)
    x = torch.randn(5, 4, 2)
    out, _, traces = rnn.forward_with_gates(x)
    torch.testing.assert_close(out, rnn(x)[0])
    warm = rnn.warm[0].forward_with_gates(x)[2][0]
    assert set(traces[0]) == stats
    for stat in stats:
        assert traces[0][stat].shape == (5, 4, 6)
        torch.testing.assert_close(traces[0][stat][..., :3], warm[stat])


def test_save_and_load():
    rnn = make_rnn("lstm", 3, 6, num_layers=2, partial_warmup=True)
    buffer = io.BytesIO()
    torch.save(rnn.state_dict(), buffer)
    buffer.seek(0)
    other = make_rnn("lstm", 3, 6, num_layers=2, partial_warmup=True)
    other.load_state_dict(torch.load(buffer))
    x = torch.randn(5, 2, 3)
    for got, want in zip(other(x), rnn(x)):
        torch.testing.assert_close(got, want)
    assert "warm.1.weight_hh_l0" in rnn.state_dict()
    assert "'lstm', 3, 6, num_layers=2" in repr(rnn)


def test_warmup_trains_the_warm_halves_only():
    torch.manual_seed(0)
    rnn = make_rnn("gru", 1, 16, num_layers=2, partial_warmup=True)
    layers = warmup_layers(rnn)
    assert [layer.memory for layer in layers] == list(rnn.warm) and layers[0].state == slice(0, 8)
    cold = {k: v.clone() for k, v in rnn.cold.state_dict().items()}
    warm = {k: v.clone() for k, v in rnn.warm.state_dict().items()}
    warmup(rnn, torch.randn(20, 64, 1), steps=5, batch_size=8, measure_steps=0)
    assert all(torch.equal(v, cold[k]) for k, v in rnn.cold.state_dict().items())
    assert all(not torch.equal(v, warm[k]) for k, v in rnn.warm.state_dict().items() if "weight" in k)


def test_odd_hidden_size_is_refused():
    with pytest.raises(ValueError, match="hidden_size must be even, got 5"):
        make_rnn("gru", 2, 5, partial_warmup=True)
