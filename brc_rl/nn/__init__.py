"""Recurrent memories: BRC and nBRC as drop-in replacements for torch.nn.GRU, GRU and LSTM
behind the same interface (with ``resets``), and the ``make_rnn`` registry."""

from brc_rl.nn.baselines import GRU, LSTM
from brc_rl.nn.functional import bistable_scan, bistable_scan_reference, bistable_step
from brc_rl.nn.modules import BRC, NBRC, BRCCell, NBRCCell
from brc_rl.nn.registry import RNN_REGISTRY, make_rnn

__all__ = [
    "BRC", "NBRC", "BRCCell", "NBRCCell", "GRU", "LSTM", "RNN_REGISTRY", "make_rnn",
    "bistable_scan", "bistable_scan_reference", "bistable_step",
]
