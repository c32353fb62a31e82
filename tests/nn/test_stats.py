"""The memory statistics of brc_rl.nn.stats against hand computations, and the key scheme."""

from __future__ import annotations

import pytest
import torch

from brc_rl.nn import (
    LSNN,
    MEMORY_STATS,
    SRC,
    gate_means,
    gate_stats,
    gate_sums,
    memory_key,
    memory_scalars,
    state_abs_mean,
)

# (N=2, T=2, H=2), batch-first as the supervised models return them
A = torch.tensor([[[1.5, 0.5], [1.2, 1.1]], [[0.2, 0.3], [1.9, 0.1]]])
C = torch.tensor([[[0.1, 0.3], [0.5, 0.7]], [[0.2, 0.2], [0.9, 0.9]]])


def test_gate_means_by_hand():
    (stats,) = gate_means(*gate_sums([(A, C)]))
    assert stats == pytest.approx({"bistable_fraction": 4 / 8, "mean_a": 6.8 / 8, "mean_c": 3.8 / 8})
    # with lengths (2, 1): the second sample's second step is padding
    mask = torch.tensor([[True, True], [True, False]])
    (masked,) = gate_means(*gate_sums([(A, C)], mask))
    assert masked == pytest.approx({"bistable_fraction": 3 / 6, "mean_a": 4.8 / 6, "mean_c": 2.0 / 6})


def test_sums_add_up_across_batches_and_layers():
    # Two halves summed give the statistics of the whole; one row per layer.
    gates = [(A, C), (2 - A, 1 - C)]
    first, n_first = gate_sums([(a[:1], c[:1]) for a, c in gates])
    second, n_second = gate_sums([(a[1:], c[1:]) for a, c in gates])
    whole = gate_means(*gate_sums(gates))
    for layer, expected in zip(gate_means(first + second, n_first + n_second), whole):
        assert layer == pytest.approx(expected)
    # 2 - a > 1 where a < 1: 0.5, 0.2, 0.3, 0.1
    assert whole[1] == pytest.approx({"bistable_fraction": 4 / 8, "mean_a": 2 - 6.8 / 8, "mean_c": 1 - 3.8 / 8})


def test_state_abs_mean_per_layer():
    states = torch.tensor([[[1.0, -3.0]], [[0.5, -0.5]]])  # (num_layers=2, N=1, H=2)
    assert state_abs_mean(states) == pytest.approx([2.0, 0.5])


def test_key_scheme():
    assert memory_key(1, "mean_c") == "memory/layer1/mean_c"
    assert MEMORY_STATS == ("bistable_fraction", "mean_a", "mean_c", "firing_rate", "mean_adaptation",
                            "spike_rate", "state_abs_mean")
    assert memory_key(0, "spike_rate") == "memory/layer0/spike_rate"
    assert memory_scalars([{"mean_a": 1.0}, {"state_abs_mean": 0.5}]) == {
        "memory/layer0/mean_a": 1.0, "memory/layer1/state_abs_mean": 0.5,
    }
    with pytest.raises(ValueError, match="unknown memory statistic 'mean_h'; valid: bistable_fraction"):
        memory_key(0, "mean_h")


def test_a_mask_of_the_wrong_shape_raises():
    with pytest.raises(ValueError, match=r"expected a mask of shape \(2, 2\), got \(2,\)"):
        gate_sums([(A, C)], torch.tensor([2, 1]))


# --------------------------------------------------------------------------- spiking memories
def test_spiking_traces_by_hand():
    z = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 1.0]]])  # (N=2, T=2, H=2)
    adaptation = torch.tensor([[[0.1, 0.0], [0.3, 0.0]], [[0.2, 0.0], [0.6, 0.0]]])
    gates = [{"firing_rate": z, "mean_adaptation": adaptation}]
    assert gate_stats(gates) == ("firing_rate", "mean_adaptation")
    assert gate_stats([(A, C)]) == ("bistable_fraction", "mean_a", "mean_c")
    (stats,) = gate_means(*gate_sums(gates), gate_stats(gates))
    assert stats == pytest.approx({"firing_rate": 4 / 8, "mean_adaptation": 1.2 / 8})
    mask = torch.tensor([[True, True], [True, False]])
    (masked,) = gate_means(*gate_sums(gates, mask), gate_stats(gates))
    assert masked == pytest.approx({"firing_rate": 3 / 6, "mean_adaptation": 0.6 / 6})


def test_lsnn_traces_are_its_spikes_and_threshold_rise():
    rnn = LSNN(2, 4, num_layers=2, n_adaptive=2, beta=1.7)
    x = torch.randn(12, 3, 2)
    out, h_n, traces = rnn.forward_with_gates(x)
    assert [set(t) for t in traces] == [{"firing_rate", "mean_adaptation"}] * 2
    torch.testing.assert_close(traces[1]["firing_rate"], out)
    b = h_n[1, :, 8:12]  # [z | v | b | r]: the last step's b
    torch.testing.assert_close(traces[1]["mean_adaptation"][-1], b * torch.tensor([0, 0, 1.7, 1.7]))
    (stats, _) = gate_means(*gate_sums(traces), gate_stats(traces))
    assert 0 < stats["firing_rate"] < 1 and stats["mean_adaptation"] > 0


def test_src_spike_rate_counts_onsets_by_hand():
    # h of one neuron over 6 steps from an initial h = 0.3 (hx = 0.3 - h*), with a reset
    # before step 4: onsets where h > 0 and the previous h <= 0 (the rest h* after the reset).
    h = torch.tensor([0.5, -0.2, 0.1, 0.4, 0.2, -1.0], dtype=torch.float64)
    rnn = SRC(1, 1).double()
    rest = rnn.rest_state().detach()
    resets = torch.tensor([False, False, False, False, True, False])
    hx = torch.tensor([[0.3, 0.0, 0.0]], dtype=torch.float64) - torch.cat([rest, rest, rest * 0])
    traces = rnn._traces(0, (h.view(6, 1, 1), rest), hx, resets.view(6, 1))
    assert traces["spike_rate"].flatten().tolist() == [0, 0, 1, 0, 1, 0]
    x = torch.randn(30, 2, 1, dtype=torch.float64) * 3
    out, _, (layer,) = rnn.forward_with_gates(x)
    onsets = (out > 0) & (torch.cat([torch.zeros_like(out[:1]), out[:-1]]) == 0)
    torch.testing.assert_close(layer["spike_rate"], onsets.double())
