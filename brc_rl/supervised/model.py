"""The benchmarks' network: a stack of recurrent layers from ``make_rnn``, then a linear
read-out applied at the answer step(s)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from brc_rl.nn import make_rnn
from brc_rl.nn.stats import LayerGates

# Where each benchmark reads its prediction: the number of final steps, or "length".
READOUTS: dict[str, int | str] = {
    "last": 1,  # copy first input, (p/pl)MNIST: the last step
    "last5": 5,  # denoising: the last five steps, one output each
    "length": "length",  # pvlmnist: each sample's own last step, lengths[i] - 1
}


class SequenceModel(nn.Module):
    """``make_rnn(cell, D, hidden_size, num_layers, batch_first=True)`` then ``nn.Linear``.

    Args:
        cell: a name known to ``brc_rl.nn.make_rnn`` ("brc", "nbrc", "gru", "lstm", ...).
        input_size: D.
        output_size: outputs per answer step (regression) or classes.
        readout: a key of :data:`READOUTS`.
        hidden_size: units per layer (the paper: 128).
        num_layers: recurrent layers (the paper: 2).
        partial_warmup: every layer two memories of hidden_size / 2, the first one to be warmed
            up (``make_rnn(..., partial_warmup=True)``).

    Inputs: x, lengths
        x: (N, T, D).
        lengths: (N,) int64, needed by readout "length" (each in 1..T).

    Outputs:
        (N, output_size), or (N, 5 * output_size) for readout "last5" (step-major).

    Raises:
        ValueError: unknown readout (or cell, from ``make_rnn``).
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        output_size: int,
        readout: str = "last",
        hidden_size: int = 128,
        num_layers: int = 2,
        partial_warmup: bool = False,
    ):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"unknown readout {readout!r}; expected one of {sorted(READOUTS)}")
        self.readout = readout
        self.rnn = make_rnn(cell, input_size, hidden_size, num_layers=num_layers, batch_first=True,
                            partial_warmup=partial_warmup)
        self.head = nn.Linear(hidden_size, output_size)

    @property
    def has_gates(self) -> bool:
        """Whether the cell exposes its gates (a, c), or spiking traces, through ``forward_with_gates``."""
        return hasattr(self.rnn, "forward_with_gates")

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        output, _ = self.rnn(x)
        return self._read(output, lengths)

    def forward_with_gates(
        self, x: Tensor, lengths: Tensor | None = None
    ) -> tuple[Tensor, list[LayerGates]]:
        """The prediction and the gates of every layer: (a, c) or a spiking memory's
        ``{stat: values}``, each (N, T, hidden_size)."""
        output, _, gates = self.rnn.forward_with_gates(x)
        return self._read(output, lengths), gates

    def _read(self, output: Tensor, lengths: Tensor | None) -> Tensor:
        steps = READOUTS[self.readout]
        if steps == "length":
            if lengths is None:
                raise ValueError("readout 'length' needs the lengths of the sequences")
            rows = torch.arange(output.shape[0], device=output.device)
            last = output[rows, lengths.to(output.device) - 1]
            return self.head(last)
        return self.head(output[:, -int(steps):]).flatten(1)

