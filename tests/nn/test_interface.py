"""The torch.nn.GRU contract: layouts, hx, resets, errors, state_dict, registry."""

import io

import numpy as np
import pytest
import torch

from brc_rl.nn import GRU, LSTM, RNN_REGISTRY, BRCCell, NBRCCell, make_rnn

CELLS = sorted(RNN_REGISTRY)


@pytest.mark.parametrize("partial_warmup", [False, True])
@pytest.mark.parametrize("name", CELLS)
def test_resets_equal_splitting_the_sequence(name, partial_warmup):
    rnn = make_rnn(name, 3, 6, num_layers=2, partial_warmup=partial_warmup)
    x = torch.randn(16, 3, 3)
    resets = torch.zeros(16, 3, dtype=torch.bool)
    resets[6, 0] = resets[11, 0] = resets[9, 2] = True
    out, h_n = rnn(x, resets=resets)
    for n, cuts in [(0, [0, 6, 11, 16]), (1, [0, 16]), (2, [0, 9, 16])]:
        for start, stop in zip(cuts[:-1], cuts[1:]):
            piece, h_piece = rnn(x[start:stop, n : n + 1])  # fresh zero state
            torch.testing.assert_close(out[start:stop, n : n + 1], piece, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(h_n[:, n : n + 1], h_piece, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_batch_first_and_unbatched_agree_with_default_layout(name):
    rnn = make_rnn(name, 4, 5, num_layers=2)
    x, resets = torch.randn(7, 3, 4), torch.rand(7, 3) < 0.2
    hx = torch.randn(2, 3, rnn.state_size)
    out, h_n = rnn(x, hx, resets)
    rnn.batch_first = True
    out_bf, h_n_bf = rnn(x.transpose(0, 1), hx, resets.t())
    torch.testing.assert_close(out_bf.transpose(0, 1), out)
    torch.testing.assert_close(h_n_bf, h_n)  # batch_first does not apply to hx
    rnn.batch_first = False
    out_u, h_n_u = rnn(x[:, 1], hx[:, 1], resets[:, 1])
    assert out_u.shape == (7, 5) and h_n_u.shape == (2, rnn.state_size)
    torch.testing.assert_close(out_u, out[:, 1], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h_n_u, h_n[:, 1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_hx_round_trips_two_halves_equal_the_whole(name):
    rnn = make_rnn(name, 2, 8, num_layers=2)
    x = torch.randn(20, 4, 2)
    out, h_n = rnn(x)
    out1, h1 = rnn(x[:9])
    out2, h2 = rnn(x[9:], h1)
    torch.testing.assert_close(torch.cat([out1, out2]), out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h2, h_n, rtol=1e-5, atol=1e-6)


def test_gru_without_resets_is_torch_gru():
    rnn, ref = GRU(3, 5, 2), torch.nn.GRU(3, 5, 2)
    ref.load_state_dict(rnn.state_dict())
    x, hx = torch.randn(9, 2, 3), torch.randn(2, 2, 5)
    for got, want in zip(rnn(x, hx), ref(x, hx)):
        torch.testing.assert_close(got, want)


def test_lstm_state_is_one_tensor_h_then_c():
    rnn, ref = LSTM(3, 5, 2), torch.nn.LSTM(3, 5, 2)
    ref.load_state_dict(rnn.state_dict())
    x, h, c = torch.randn(9, 2, 3), torch.randn(2, 2, 5), torch.randn(2, 2, 5)
    out, state = rnn(x, torch.cat([h, c], -1))
    ref_out, (ref_h, ref_c) = ref(x, (h, c))
    assert rnn.state_size == 10 and state.shape == (2, 2, 10)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(state, torch.cat([ref_h, ref_c], -1))


@pytest.mark.parametrize("name", ["brc", "nbrc"])
def test_bistable_unit_holds_its_sign_and_monostable_unit_decays(name):
    # One unit, zero input: a = 1 + tanh(b_a) (recurrent gate weights 0), c = sigmoid(0).
    rnn = make_rnn(name, 1, 1)
    with torch.no_grad():
        rnn.weight_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
        x = torch.zeros(10_000, 2, 1)
        hx = torch.tensor([[[0.3], [-0.3]]])
        rnn.bias_ih_l0[0] = 1.0  # a = 1.76 > 1: two stable states +-h*
        out, _ = rnn(x, hx)
        assert torch.all(out[:, 0] > 0) and torch.all(out[:, 1] < 0)  # sign held throughout
        assert out[-1, 0] > 0.9 and out[-1, 1] < -0.9  # at the fixed points h* = tanh(a h*)
        rnn.bias_ih_l0[0] = -1.0  # a = 0.24 < 1: the only stable state is 0
        out, _ = rnn(x, hx)
        assert out[-1].abs().max() < 1e-6 and out[0].abs().min() > 0.1


@pytest.mark.parametrize("name", ["brc", "nbrc"])
def test_no_nan_on_100k_steps(name):
    rnn = make_rnn(name, 2, 8)
    with torch.no_grad():
        for p in rnn.parameters():
            p.mul_(3.0)
    x = 10 * torch.randn(100_000, 2, 2)
    out, h_n = rnn(x, resets=torch.rand(100_000, 2) < 1e-3)
    (out[-100:].sum() + h_n.sum()).backward()
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    assert all(torch.isfinite(p.grad).all() for p in rnn.parameters())


@pytest.mark.parametrize("name", CELLS)
def test_bad_shapes_raise_value_error_naming_expected_and_actual(name):
    rnn = make_rnn(name, 3, 4, num_layers=2)
    S = rnn.state_size
    with pytest.raises(ValueError, match=r"expected 3, got 5"):
        rnn(torch.randn(6, 2, 5))
    with pytest.raises(ValueError, match=r"4-D tensor"):
        rnn(torch.randn(6, 2, 1, 3))
    with pytest.raises(ValueError, match=rf"expected hx of shape \(2, 2, {S}\), got \(1, 2, {S}\)"):
        rnn(torch.randn(6, 2, 3), torch.zeros(1, 2, S))
    with pytest.raises(ValueError, match=r"expected resets of shape \(6, 2\).*got \(2, 6\)"):
        rnn(torch.randn(6, 2, 3), resets=torch.zeros(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"dtype torch.bool, got torch.float32"):
        rnn(torch.randn(6, 2, 3), resets=torch.zeros(6, 2))


def test_unknown_cell_lists_known_ones():
    with pytest.raises(ValueError, match="unknown cell 'rnn'; valid cells: brc, gru, lsnn, lstm, nbrc, src"):
        make_rnn("rnn", 3, 4)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        make_rnn("nbrc", 3, 0)


@pytest.mark.parametrize("name", CELLS)
def test_state_dict_round_trip(name):
    rnn, other = make_rnn(name, 3, 4, num_layers=2), make_rnn(name, 3, 4, num_layers=2)
    buffer = io.BytesIO()
    torch.save(rnn.state_dict(), buffer)
    buffer.seek(0)
    other.load_state_dict(torch.load(buffer))
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(other(x)[0], rnn(x)[0], rtol=0, atol=0)


# --------------------------------------------------------------------------- bad input, as torch.nn.GRU refuses it
@pytest.mark.parametrize("name", sorted(RNN_REGISTRY))
def test_other_dtypes_are_refused_naming_the_conversion(name):
    rnn = make_rnn(name, 3, 4)
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"expected input of dtype torch.float32 .* got torch.float64; convert"):
        rnn(x.double())
    with pytest.raises(ValueError, match=r"expected input of dtype torch.float32 .* got torch.bfloat16"):
        rnn(x.bfloat16())
    with pytest.raises(ValueError, match=r"expected hx of dtype torch.float32 .* got torch.float64"):
        rnn(x, torch.zeros(1, 2, rnn.state_size, dtype=torch.float64))
    rnn.double()
    assert rnn(x.double())[0].dtype == torch.float64  # converted module, converted input: fine


@pytest.mark.parametrize("name", sorted(RNN_REGISTRY))
def test_empty_sequence_and_non_tensor_resets_are_refused(name):
    rnn = make_rnn(name, 3, 4)
    with pytest.raises(ValueError, match="sequence length L larger than 0"):
        rnn(torch.randn(0, 2, 3))
    with pytest.raises(ValueError, match="expected resets to be a torch.Tensor of dtype torch.bool, got list"):
        rnn(torch.randn(5, 2, 3), resets=[[False, False]] * 5)
    with pytest.raises(ValueError, match="expected input to be a torch.Tensor, got ndarray"):
        rnn(np.zeros((5, 2, 3), dtype=np.float32))


@pytest.mark.parametrize("cls", [BRCCell, NBRCCell])
def test_cells_refuse_other_dtypes(cls):
    cell = cls(3, 4)
    with pytest.raises(ValueError, match="expected input of dtype torch.float32"):
        cell(torch.randn(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="expected hx of dtype torch.float32"):
        cell(torch.randn(2, 3), torch.zeros(2, 4, dtype=torch.float64))
