"""The memory statistics of brc_rl.nn.stats against hand computations, and the key scheme."""

from __future__ import annotations

import pytest
import torch

from brc_rl.nn import (
    MEMORY_STATS,
    gate_means,
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
    assert MEMORY_STATS == ("bistable_fraction", "mean_a", "mean_c", "state_abs_mean")
    assert memory_scalars([{"mean_a": 1.0}, {"state_abs_mean": 0.5}]) == {
        "memory/layer0/mean_a": 1.0, "memory/layer1/state_abs_mean": 0.5,
    }
    with pytest.raises(ValueError, match="unknown memory statistic 'mean_h'; valid: bistable_fraction"):
        memory_key(0, "mean_h")


def test_a_mask_of_the_wrong_shape_raises():
    with pytest.raises(ValueError, match=r"expected a mask of shape \(2, 2\), got \(2,\)"):
        gate_sums([(A, C)], torch.tensor([2, 1]))
