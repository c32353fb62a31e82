"""``make_rnn``: the one way the library builds a memory."""

from __future__ import annotations

from typing import Any

from torch import nn

from brc_rl.nn.baselines import GRU, LSTM
from brc_rl.nn.modules import BRC, NBRC
from brc_rl.nn.partial import GatedPartialWarmup, PartialWarmup
from brc_rl.nn.spiking import LSNN, SRC

RNN_REGISTRY: dict[str, type[nn.Module]] = {
    "brc": BRC, "nbrc": NBRC, "gru": GRU, "lstm": LSTM, "lsnn": LSNN, "src": SRC,
}


def make_rnn(name: str, input_size: int, hidden_size: int, num_layers: int = 1, partial_warmup: bool = False,
             **kwargs: Any) -> nn.Module:
    """Build a recurrent memory by name.

    Every memory has the interface of :class:`brc_rl.nn.BRC`:
    ``output, h_n = rnn(input, hx=None, resets=None)`` and a ``state_size`` attribute
    (hx is (num_layers, N, state_size); 2 * hidden_size for "lstm", 4 * hidden_size for
    "lsnn", 3 * hidden_size for "src").

    Args:
        name: one of ``RNN_REGISTRY``: "brc", "nbrc", "gru", "lstm", "lsnn", "src".
        input_size: as torch.nn.GRU.
        hidden_size: as torch.nn.GRU.
        num_layers: as torch.nn.GRU.
        partial_warmup: if True, a :class:`brc_rl.nn.PartialWarmup` of the cell: every
            layer is two memories of hidden_size / 2 on the same input, of which warm-up
            (:func:`brc_rl.nn.warmup.warmup`) trains only the first.
        **kwargs: passed to the class (bias, batch_first, dropout, device, dtype, ...).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        cls = RNN_REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown cell {name!r}; valid cells: {', '.join(sorted(RNN_REGISTRY))}"
        ) from None
    if partial_warmup:
        partial = GatedPartialWarmup if hasattr(cls, "forward_with_gates") else PartialWarmup
        return partial(name, input_size, hidden_size, num_layers, **kwargs)
    return cls(input_size, hidden_size, num_layers, **kwargs)
