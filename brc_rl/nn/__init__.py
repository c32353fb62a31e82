"""Recurrent memories: BRC and nBRC as drop-in replacements for torch.nn.GRU, GRU and LSTM
behind the same interface (with ``resets``), the spiking memories LSNN and SRC behind it
too, the ``make_rnn`` registry, the memory statistics logged as ``memory/layer{k}/<stat>``
(:mod:`brc_rl.nn.stats`), and warm-up to multistability: the VAA measures
(:mod:`brc_rl.nn.attractors`), the warm-up loop (:func:`brc_rl.nn.warmup.warmup`) and the
partial warm-up memory (:class:`PartialWarmup`)."""

from brc_rl.nn.attractors import VAA, WarmupLayer, soft_vaa_of_states, vaa, vaa_of_states, vaa_star, warmup_layers
from brc_rl.nn.baselines import GRU, LSTM
from brc_rl.nn.functional import (
    bistable_scan,
    bistable_scan_reference,
    bistable_step,
    gru_scan,
    gru_scan_reference,
    lstm_scan,
    lstm_scan_reference,
)
from brc_rl.nn.modules import BRC, NBRC, BRCCell, NBRCCell
from brc_rl.nn.partial import GatedPartialWarmup, PartialWarmup
from brc_rl.nn.registry import RNN_REGISTRY, make_rnn
from brc_rl.nn.spiking import LSNN, SRC
from brc_rl.nn.stats import (
    GATE_STATS,
    MEMORY_STATS,
    SPIKE_STATS,
    gate_means,
    gate_stats,
    gate_sums,
    memory_key,
    memory_scalars,
    state_abs_mean,
)

__all__ = [
    "BRC", "NBRC", "BRCCell", "NBRCCell", "GRU", "LSTM", "LSNN", "SRC", "RNN_REGISTRY", "make_rnn",
    "bistable_scan", "bistable_scan_reference", "bistable_step", "gru_scan", "gru_scan_reference",
    "lstm_scan", "lstm_scan_reference",
    "GATE_STATS", "MEMORY_STATS", "SPIKE_STATS", "gate_means", "gate_stats", "gate_sums", "memory_key",
    "memory_scalars", "state_abs_mean",
    "GatedPartialWarmup", "PartialWarmup", "VAA", "WarmupLayer", "soft_vaa_of_states", "vaa", "vaa_of_states",
    "vaa_star", "warmup_layers",
]
