"""Input checks and layout handling shared by every memory module.

All modules compute in the time-major layout (L, N, *). These helpers validate what the
user passed (torch.nn.GRU's shapes, plus ``resets``) and convert to and from that layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass(frozen=True)
class Layout:
    """How the caller laid out its tensors, so outputs can be returned the same way."""

    batched: bool
    batch_first: bool

    def output(self, out: Tensor) -> Tensor:
        """(L, N, H) -> the caller's layout."""
        if not self.batched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out

    def state(self, h_n: Tensor) -> Tensor:
        """(num_layers, N, S) -> (num_layers, S) for unbatched input."""
        return h_n if self.batched else h_n.squeeze(1)


def check_tensors(dtype: torch.dtype, **tensors: Tensor | None) -> None:
    """Raise ValueError unless each given tensor (None skipped) is a Tensor of ``dtype``.

    ``dtype`` is the module's parameter dtype: as torch.nn.GRU, a memory refuses input of
    another dtype rather than failing in a matrix product.
    """
    for name, value in tensors.items():
        if value is None:
            continue
        if not isinstance(value, Tensor):
            raise ValueError(f"expected {name} to be a torch.Tensor, got {type(value).__name__}")
        if value.dtype != dtype:
            raise ValueError(
                f"expected {name} of dtype {dtype} (the module's parameters), got {value.dtype}; "
                f"convert it with .to({dtype}) or the module with .to({value.dtype})"
            )


def prepare(
    input: Tensor,
    hx: Tensor | None,
    resets: Tensor | None,
    *,
    input_size: int,
    num_layers: int,
    state_size: int,
    batch_first: bool,
    dtype: torch.dtype,
) -> tuple[Tensor, Tensor, Tensor | None, Layout]:
    """Validate the arguments of a memory's forward and bring them to time-major layout.

    Args:
        input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        hx: None (zeros), or (num_layers, N, S), or (num_layers, S) unbatched.
        resets: None, or bool (L, N), (N, L) with batch_first, or (L,) unbatched.
        dtype: the module's parameter dtype, which input and hx must have (as torch.nn.GRU
            asks: convert with ``input.to(dtype)`` or the module with ``.to(dtype)``).

    Returns:
        ``(x, hx, resets, layout)`` with x (L, N, H_in), hx (num_layers, N, S), resets
        (L, N) or None.

    Raises:
        ValueError: naming the expected and the actual type, shape or dtype.
    """
    check_tensors(dtype, input=input, hx=hx)
    if resets is not None and not isinstance(resets, Tensor):
        raise ValueError(f"expected resets to be a torch.Tensor of dtype torch.bool, got {type(resets).__name__}")
    if input.dim() not in (2, 3):
        raise ValueError(
            f"expected input of shape (L, N, H_in), (N, L, H_in) with batch_first, or "
            f"unbatched (L, H_in); got a {input.dim()}-D tensor of shape {tuple(input.shape)}"
        )
    if input.shape[-1] != input_size:
        raise ValueError(
            f"input.size(-1) must be equal to input_size: expected {input_size}, "
            f"got {input.shape[-1]} (input shape {tuple(input.shape)})"
        )
    layout = Layout(batched=input.dim() == 3, batch_first=batch_first)
    if not layout.batched:
        x = input.unsqueeze(1)
    else:
        x = input.transpose(0, 1) if batch_first else input
    L, N = x.shape[:2]
    if L == 0:
        raise ValueError(f"expected a sequence length L larger than 0, got input of shape {tuple(input.shape)}")

    expected_hx = (num_layers, N, state_size) if layout.batched else (num_layers, state_size)
    if hx is None:
        hx = x.new_zeros(num_layers, N, state_size)
    else:
        if tuple(hx.shape) != expected_hx:
            raise ValueError(f"expected hx of shape {expected_hx}, got {tuple(hx.shape)}")
        if not layout.batched:
            hx = hx.unsqueeze(1)

    if resets is not None:
        if layout.batched:
            expected = (N, L) if batch_first else (L, N)
        else:
            expected = (L,)
        if tuple(resets.shape) != expected:
            raise ValueError(
                f"expected resets of shape {expected} (bool, True where the state is zeroed "
                f"before that step), got {tuple(resets.shape)}"
            )
        if resets.dtype != torch.bool:
            raise ValueError(f"expected resets of dtype torch.bool, got {resets.dtype}")
        if not layout.batched:
            resets = resets.unsqueeze(1)
        elif batch_first:
            resets = resets.t()
    return x, hx, resets, layout


def set_rnn_arguments(module: Any, input_size: int, hidden_size: int, num_layers: int, bias: bool,
                      batch_first: bool, dropout: float) -> None:
    """Check the torch.nn.GRU-style arguments and set them as attributes of ``module``.

    Raises:
        ValueError: if a size is not a positive int or ``dropout`` is not in [0, 1].
    """
    check_sizes(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
    module.input_size, module.hidden_size, module.num_layers = input_size, hidden_size, num_layers
    module.bias, module.batch_first, module.dropout = bias, batch_first, float(dropout)


def check_sizes(**sizes: int) -> None:
    """Raise ValueError unless every given size is a positive int."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
