"""VAA, VAA* and warm-up to multistability (brc_rl.nn.attractors, brc_rl.nn.warmup)."""

import pytest
import torch

from brc_rl.nn import BRC, RNN_REGISTRY, make_rnn, soft_vaa_of_states, vaa, vaa_of_states, vaa_star, warmup_layers
from brc_rl.nn.attractors import layer_view, reachable_states
from brc_rl.nn.warmup import stabilisation_bound, warmup

CELLS = sorted(RNN_REGISTRY)


def bistable_brc(input_size: int = 8, hidden_size: int = 16) -> BRC:
    """A BRC whose every neuron keeps its sign: a ~ 2 (b_a = 10), c = 1/2, weak input."""
    rnn = BRC(input_size, hidden_size)
    with torch.no_grad():
        rnn.weight_ih_l0.mul_(0.1)
        rnn.weight_hh_l0.zero_()
        rnn.bias_ih_l0[:hidden_size] = 10.0
    return rnn


def test_fresh_gru_is_monostable():
    torch.manual_seed(0)
    result = vaa(make_rnn("gru", 1, 16, num_layers=2), torch.randn(30, 80, 1), samples=64, steps=2000, repeats=2)
    assert result.samples == 64 and result.steps == 2000 and result.repeats == 2 and len(result.layers) == 2
    assert result.std == 0.0
    assert result.overall <= 2 / 64 and max(result.layers) <= 2 / 64


def test_bistable_brc_has_high_vaa():
    torch.manual_seed(0)
    result = vaa(bistable_brc(), torch.randn(20, 64, 8), steps=1000)
    assert result.overall > 0.8, result


def test_counts_agree_when_states_coincide_or_lie_far_apart():
    centres = torch.tensor([[-0.8, 0.1], [0.0, 0.9], [0.7, -0.5]])
    states = centres[torch.tensor([0, 1, 1, 2, 2, 2])]  # clusters of 1, 2 and 3
    exact = (1 + 2 * (1 / 2) + 3 * (1 / 3)) / 6
    assert vaa_of_states(states) == pytest.approx(exact)
    assert float(soft_vaa_of_states(states)) == pytest.approx(exact, abs=1e-3)
    assert float(soft_vaa_of_states(states + 1e-6 * torch.randn(6, 2))) == pytest.approx(exact, abs=1e-3)


@pytest.mark.parametrize(("make", "expected"), [(lambda: make_rnn("gru", 8, 16), "low"), (bistable_brc, "high")])
def test_vaa_star_agrees_with_vaa_in_the_limit(make, expected):
    torch.manual_seed(1)
    rnn, x = make(), torch.randn(20, 32, 8)
    torch.manual_seed(2)
    exact = vaa(rnn, x, steps=1500)
    torch.manual_seed(2)  # same prefixes and the same constant input
    star = vaa_star(rnn, x, steps=1500)
    assert star.shape == (1,)
    assert float(star[0].detach()) == pytest.approx(exact.overall, abs=0.02)
    assert (exact.overall > 0.8) if expected == "high" else (exact.overall <= 2 / 32)


def test_vaa_star_of_the_first_layer_is_its_vaa():
    torch.manual_seed(0)
    rnn, x = make_rnn("brc", 1, 16, num_layers=2), torch.randn(30, 32, 1)
    torch.manual_seed(1)
    exact = vaa(rnn, x, steps=300)
    torch.manual_seed(1)  # building the layer views draws no random number: same prefixes, same input
    star = vaa_star(rnn, x, steps=300)
    assert float(star[0].detach()) == pytest.approx(exact.layers[0], abs=0.02)


def test_reachable_states_follow_prefixes_and_lengths():
    torch.manual_seed(0)
    rnn = make_rnn("nbrc", 2, 4, num_layers=2, batch_first=True)
    x, lengths = torch.randn(5, 9, 2), torch.tensor([9, 1, 4, 2, 7])
    torch.manual_seed(3)
    h0 = reachable_states(rnn, x, lengths)
    torch.manual_seed(3)
    prefix = (torch.rand(5) * lengths).long().clamp(max=lengths - 1) + 1
    assert prefix[1] == 1 and bool((prefix <= lengths).all())
    for i in range(5):
        _, h = rnn(x[i : i + 1, : int(prefix[i])])
        torch.testing.assert_close(h0[:, i : i + 1], h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_layer_views_run_each_layer_with_its_parameters(name):
    torch.manual_seed(0)
    rnn = make_rnn(name, 3, 5, num_layers=2)
    x = torch.randn(7, 2, 3)
    out, h_n = rnn(x)
    out0, h0 = layer_view(rnn, 0)(x)
    out1, h1 = layer_view(rnn, 1)(out0)
    torch.testing.assert_close(out1, out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.cat([h0, h1]), h_n, rtol=1e-5, atol=1e-6)
    layers = warmup_layers(rnn)
    assert [layer.input_size for layer in layers] == [3, 5]
    shared = {id(p) for layer in layers for p in layer.memory.parameters()}
    assert shared == {id(p) for p in rnn.parameters()}


def test_a_class_that_cannot_be_split_is_named():
    class Odd(torch.nn.Module):
        input_size, hidden_size, num_layers = 2, 3, 2

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

    with pytest.raises(ValueError, match="cannot run layer 0 of Odd alone.*warmup_layers"):
        warmup_layers(Odd())


def test_warmup_raises_gru_vaa():
    torch.manual_seed(0)
    rnn = make_rnn("gru", 1, 32)
    seen = []
    record = warmup(rnn, torch.randn(60, 512, 1), steps=60, measure_steps=500, measure_samples=64,
                    callback=lambda step, loss, values: seen.append(step))
    assert seen == list(range(1, 61)) and len(record.losses) == len(record.vaa_star) == 60
    assert record.before.overall <= 2 / 64 < 0.5 < record.after.overall, record.to_dict()
    assert all(1 <= t <= stabilisation_bound(k) for k, t in enumerate(record.stabilisation))
    assert all(p.grad is None for p in rnn.parameters())
    assert record.to_dict()["settings"]["lr"] == 1e-2


def test_stabilisation_curriculum():
    assert [stabilisation_bound(k) for k in (0, 1, 2, 19, 20, 100)] == [1, 11, 21, 191, 200, 200]


@pytest.mark.parametrize(("setting", "message"), [
    ({"steps": -1}, "warm-up steps must be >= 0, got -1"),
    ({"batch_size": 1}, "warm-up batch_size must be >= 2"),
    ({"target": 1.5}, r"warm-up target must be in \(0, 1\]"),
    ({"lr": 0.0}, "warm-up lr must be > 0"),
])
def test_bad_settings_are_refused(setting, message):
    with pytest.raises(ValueError, match=message):
        warmup(make_rnn("gru", 1, 4), torch.randn(5, 4, 1), **setting)
    with pytest.raises(ValueError, match="steps must be > 0, got 0"):
        vaa(make_rnn("gru", 1, 4), torch.randn(5, 4, 1), steps=0)
