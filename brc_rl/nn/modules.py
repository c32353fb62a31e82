"""BRC and nBRC layers and cells with the torch.nn.GRU / torch.nn.GRUCell interface."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from brc_rl.nn._layout import check_sizes, check_tensors, prepare, set_rnn_arguments
from brc_rl.nn.functional import bistable_scan, bistable_step

RECURRENT_INITS = ("glorot", "orthogonal")


def _init_layer(
    weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None, recurrent_init: str
) -> None:
    """The authors' initialisation (their final code): Glorot-uniform input kernels (per block),
    w_a = w_c = 1 (BRC) or Glorot-uniform / orthogonal W_a, W_c (nBRC), zero biases."""
    with torch.no_grad():
        for block in weight_ih.chunk(3):
            nn.init.xavier_uniform_(block)
        if weight_hh.dim() == 1:
            weight_hh.fill_(1.0)
        else:
            init = nn.init.orthogonal_ if recurrent_init == "orthogonal" else nn.init.xavier_uniform_
            for block in weight_hh.chunk(2):
                init(block)
        if bias_ih is not None:
            bias_ih.zero_()


class _BistableBase(nn.Module):
    """Shared constructor for the bistable layers and cells."""

    neuromodulated: bool = False

    def _make_params(self, prefix: str, input_size: int, hidden_size: int, bias: bool, factory):
        H = hidden_size
        hh_shape = (2 * H, H) if self.neuromodulated else (2 * H,)
        setattr(self, f"weight_ih{prefix}", nn.Parameter(torch.empty(3 * H, input_size, **factory)))
        setattr(self, f"weight_hh{prefix}", nn.Parameter(torch.empty(hh_shape, **factory)))
        bias_param = nn.Parameter(torch.empty(3 * H, **factory)) if bias else None
        self.register_parameter(f"bias_ih{prefix}", bias_param)

    def _check_init(self, recurrent_init: str) -> None:
        if recurrent_init not in RECURRENT_INITS:
            raise ValueError(
                f"unknown recurrent_init {recurrent_init!r}; valid: {', '.join(RECURRENT_INITS)}"
            )
        if not self.neuromodulated and recurrent_init != "glorot":
            raise ValueError(
                "recurrent_init applies to nBRC only (BRC's recurrent vectors start at 1)"
            )


class _BistableRNN(_BistableBase):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        recurrent_init: str = "glorot",
    ) -> None:
        super().__init__()
        set_rnn_arguments(self, input_size, hidden_size, num_layers, bias, batch_first, dropout)
        self._check_init(recurrent_init)
        self.recurrent_init = recurrent_init
        factory = {"device": device, "dtype": dtype}
        for k in range(num_layers):
            self._make_params(f"_l{k}", input_size if k == 0 else hidden_size, hidden_size, bias, factory)
        self.reset_parameters()

    @property
    def state_size(self) -> int:
        """Size S of the state of one layer (hx is (num_layers, N, S))."""
        return self.hidden_size

    def reset_parameters(self) -> None:
        for k in range(self.num_layers):
            _init_layer(*self._layer(k), self.recurrent_init)

    def _layer(self, k: int) -> tuple[Tensor, Tensor, Tensor | None]:
        return (
            getattr(self, f"weight_ih_l{k}"),
            getattr(self, f"weight_hh_l{k}"),
            getattr(self, f"bias_ih_l{k}"),
        )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.neuromodulated and self.recurrent_init != "glorot":
            s += f", recurrent_init={self.recurrent_init!r}"
        return s

    def forward(
        self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        output, h_n, _ = self.forward_with_gates(input, hx, resets)
        return output, h_n

    def forward_with_gates(
        self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
    ) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor]]]:
        """Like :meth:`forward`, also returning each layer's gate traces.

        Returns:
            ``(output, h_n, gates)``: gates is a list over layers of ``(a, c)``, each
            shaped like ``output``; a unit is bistable at a step where a > 1.
        """
        x, hx, resets, layout = prepare(
            input, hx, resets, input_size=self.input_size, num_layers=self.num_layers,
            state_size=self.hidden_size, batch_first=self.batch_first, dtype=self.weight_ih_l0.dtype,
        )
        h_n, gates = [], []
        for k in range(self.num_layers):
            weight_ih, weight_hh, bias_ih = self._layer(k)
            if k > 0 and self.dropout and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)
            pre = nn.functional.linear(x, weight_ih, bias_ih)
            x, a, c = bistable_scan(pre, weight_hh, hx[k], resets)
            h_n.append(x[-1])
            gates.append((layout.output(a), layout.output(c)))
        return layout.output(x), layout.state(torch.stack(h_n)), gates


class BRC(_BistableRNN):
    r"""Multi-layer bistable recurrent cell (BRC), a drop-in replacement for torch.nn.GRU.

    For each element of the input sequence, each layer computes


        a_t = 1 + \tanh(U_a x_t + w_a \odot h_{t-1} + b_a) \\
        c_t = \sigma(U_c x_t + w_c \odot h_{t-1} + b_c) \\
        h_t = c_t \odot h_{t-1} + (1 - c_t) \odot \tanh(U_h x_t + a_t \odot h_{t-1} + b_h)

    Every neuron sees only its own past state (cellular memory); it is bistable where
    a_t > 1. (Vecoven, Ernst, Drion, PLoS One 2021.)

    Args:
        input_size: H_in, features of the input.
        hidden_size: H, features of the state.
        num_layers: stacked layers. Default 1.
        bias: if False, no ``bias_ih_l{k}``. Default True.
        batch_first: input and output as (N, L, H) instead of (L, N, H); not hx. Default False.
        dropout: dropout on the outputs of every layer but the last. Default 0.
        device: factory kwarg of the parameters.
        dtype: factory kwarg of the parameters.

    Inputs: ``input, hx, resets``
        - input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        - hx: (num_layers, N, H) or (num_layers, H); None means zeros.
        - resets: optional bool (L, N) ((N, L) with batch_first, (L,) unbatched): where
          True, every layer's state is zeroed before step t (episode starts).

    Outputs: ``output, h_n``
        - output: (L, N, H) (or the layout of the input): the last layer's h_t.
        - h_n: (num_layers, N, H) (or (num_layers, H)): each layer's final state.

    Attributes:
        weight_ih_l{k}: (3H, H_in or H) = [U_a; U_c; U_h], Glorot uniform per block.
        weight_hh_l{k}: (2H,) = [w_a; w_c], initialised to 1.
        bias_ih_l{k}: (3H,) = [b_a; b_c; b_h], initialised to 0.

    Example:
        >>> rnn = BRC(10, 20, num_layers=2)
        >>> output, h_n = rnn(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    neuromodulated = False


class NBRC(_BistableRNN):
    r"""Multi-layer recurrently neuromodulated BRC (nBRC), a drop-in for torch.nn.GRU.

    As :class:`BRC`, with full recurrent matrices in the gates:


        a_t = 1 + \tanh(U_a x_t + W_a h_{t-1} + b_a) \\
        c_t = \sigma(U_c x_t + W_c h_{t-1} + b_c) \\
        h_t = c_t \odot h_{t-1} + (1 - c_t) \odot \tanh(U_h x_t + a_t \odot h_{t-1} + b_h)

    The candidate's ``a_t * h_{t-1}`` stays elementwise, so the memory stays cellular.

    The arguments are :class:`BRC`'s, and one more.

    Args:
        recurrent_init: "glorot" (authors' final code, default) or "orthogonal" (their
            2020 code) for W_a and W_c.

    Attributes:
        weight_ih_l{k}: (3H, H_in or H) = [U_a; U_c; U_h], Glorot uniform per block.
        weight_hh_l{k}: (2H, H) = [W_a; W_c], Glorot uniform (or orthogonal) per block.
        bias_ih_l{k}: (3H,) = [b_a; b_c; b_h], initialised to 0.

    Example:
        >>> rnn = NBRC(10, 20, batch_first=True)
        >>> output, h_n = rnn(torch.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        (torch.Size([3, 5, 20]), torch.Size([1, 3, 20]))
    """

    neuromodulated = True


class _BistableCell(_BistableBase):
    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        device: torch.device | str | None = None, dtype: torch.dtype | None = None,
        recurrent_init: str = "glorot",
    ) -> None:
        super().__init__()
        check_sizes(input_size=input_size, hidden_size=hidden_size)
        self._check_init(recurrent_init)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.recurrent_init = recurrent_init
        self._make_params("", input_size, hidden_size, bias, {"device": device, "dtype": dtype})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_layer(self.weight_ih, self.weight_hh, self.bias_ih, self.recurrent_init)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step.

        Args:
            input: (N, H_in) or unbatched (H_in,).
            hx: (N, H) or (H,); None means zeros.

        Returns:
            h': (N, H) or (H,).
        """
        check_tensors(self.weight_ih.dtype, input=input, hx=hx)
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"expected input of shape (N, {self.input_size}) or ({self.input_size},), "
                f"got {tuple(input.shape)}"
            )
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size)
        if hx is None:
            hx = x.new_zeros(expected)
        elif tuple(hx.shape) != (expected if batched else expected[1:]):
            raise ValueError(
                f"expected hx of shape {expected if batched else expected[1:]}, got {tuple(hx.shape)}"
            )
        h = hx if batched else hx.unsqueeze(0)
        pre = nn.functional.linear(x, self.weight_ih, self.bias_ih)
        h, _, _ = bistable_step(pre, self.weight_hh, h)
        return h if batched else h.squeeze(0)


class BRCCell(_BistableCell):
    """One step of :class:`BRC`, like torch.nn.GRUCell.

    Parameters ``weight_ih`` (3H, H_in), ``weight_hh`` (2H,), ``bias_ih`` (3H,), with the
    block order and initialisation of :class:`BRC`.
    """

    neuromodulated = False


class NBRCCell(_BistableCell):
    """One step of :class:`NBRC`, like torch.nn.GRUCell.

    Parameters ``weight_ih`` (3H, H_in), ``weight_hh`` (2H, H), ``bias_ih`` (3H,), with the
    block order and initialisation of :class:`NBRC`.
    """

    neuromodulated = True


__all__ = ["BRC", "NBRC", "BRCCell", "NBRCCell", "RECURRENT_INITS"]
