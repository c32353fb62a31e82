"""Spiking memories with the torch.nn.GRU interface: LSNN (LIF and ALIF neurons) and SRC."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from brc_rl.nn._layout import prepare, set_rnn_arguments
from brc_rl.nn.spiking_functional import LSNNDynamics, SRCDynamics, lsnn_scan, src_rest_state, src_scan

#: Per layer, the monitoring traces of a spiking memory: ``{stat: values}``, each (L, N, H)
#: (or the input's layout), whose mean over the unit-steps is the statistic.
Traces = dict[str, Tensor]


class _SpikingRNN(nn.Module):
    """What LSNN and SRC share: arguments, layout handling, stacking, dropout, forward."""

    #: State blocks of one layer, H entries each, in order.
    state_blocks: tuple[str, ...] = ()

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bias: bool, batch_first: bool,
                 dropout: float) -> None:
        super().__init__()
        set_rnn_arguments(self, input_size, hidden_size, num_layers, bias, batch_first, dropout)

    @property
    def state_size(self) -> int:
        """Size S of the state of one layer (hx is (num_layers, N, S)): len(state_blocks) * H."""
        return len(self.state_blocks) * self.hidden_size

    def _layer_sizes(self):
        return [(k, self.input_size if k == 0 else self.hidden_size) for k in range(self.num_layers)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s + "".join(f", {k}={v}" for k, v in self._dynamics_repr().items())

    def _dynamics_repr(self) -> dict:
        raise NotImplementedError

    def forward(self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        """``output, h_n = rnn(input, hx=None, resets=None)``, shapes as the class docstring."""
        output, h_n, _ = self._run(input, hx, resets, with_traces=False)
        return output, h_n

    def forward_with_gates(self, input: Tensor, hx: Tensor | None = None, resets: Tensor | None = None
                           ) -> tuple[Tensor, Tensor, list[Traces]]:
        """Like :meth:`forward`, also returning each layer's monitoring traces.

        The name is the one the agents and the supervised trainer look for
        (:mod:`brc_rl.nn.stats` turns the traces into ``memory/layer{k}/<stat>``).

        Returns:
            ``(output, h_n, traces)``: traces is a list over layers of ``{stat: values}``,
            each value shaped like ``output``, whose mean is the statistic.
        """
        return self._run(input, hx, resets, with_traces=True)

    def _run(self, input: Tensor, hx: Tensor | None, resets: Tensor | None, with_traces: bool
             ) -> tuple[Tensor, Tensor, list[Traces]]:
        x, hx, resets, layout = prepare(
            input, hx, resets, input_size=self.input_size, num_layers=self.num_layers,
            state_size=self.state_size, batch_first=self.batch_first, dtype=self.weight_ih_l0.dtype,
        )
        h_n, traces = [], []
        for k in range(self.num_layers):
            if k > 0 and self.dropout and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)
            x, last, sequences = self._layer(k, x, hx[k], resets)
            h_n.append(last)
            if with_traces:
                with torch.no_grad():
                    layer_traces = self._traces(k, sequences, hx[k], resets)
                traces.append({name: layout.output(value) for name, value in layer_traces.items()})
        return layout.output(x), layout.state(torch.stack(h_n)), traces

    def _layer(self, k: int, x: Tensor, state: Tensor, resets: Tensor | None
               ) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
        """Layer k on time-major x (L, N, *): its output, its final state (N, S) and the
        sequences :meth:`_traces` reads."""
        raise NotImplementedError

    def _traces(self, k: int, sequences: tuple[Tensor, ...], state: Tensor, resets: Tensor | None) -> Traces:
        """Layer k's monitoring traces (time-major) from what :meth:`_layer` returned."""
        raise NotImplementedError


class LSNN(_SpikingRNN):
    r"""Long short-term memory spiking network (LSNN): LIF and adaptive (ALIF) neurons.

    Bellec, Salaj, Subramoney, Legenstein, Maass, "Long short-term memory and
    learning-to-learn in networks of spiking neurons", NeurIPS 2018; the equations and
    defaults of the authors' code (repository IGITUGraz/LSNN-official, class ``ALIF`` of
    ``lsnn/spiking_models.py``). Each layer is H neurons recurrently connected (no
    self-connections); per step t, neuron j, dt = 1:

        b_t = \rho b_{t-1} + (1 - \rho) z_{t-1}                       adaptation, \rho = e^{-1/\tau_a}
        A_t = v_{th} + \beta_j b_t                                    threshold
        I_t = W_{in} x_t + W_{rec} z_{t-1} (+ b_{in})                 input current
        v_t = \alpha v_{t-1} + (1 - \alpha) I_t - z_{t-1} A_t         membrane, \alpha = e^{-1/\tau_m}
        z_t = H((v_t - A_t) / A_t)  if r_{t-1} = 0, else 0            spike
        r_t = n_{ref} if z_t else \max(r_{t-1} - 1, 0)                refractory counter

    The membrane is reset by subtracting the threshold; a neuron is silent for
    ``n_refractory`` steps after a spike. The first ``H - n_adaptive`` neurons are LIF
    (\beta_j = 0), the last ``n_adaptive`` ALIF (\beta_j = beta), as in the authors'
    tutorials. Backward uses the authors' pseudo-derivative
    dz/du = dampening * max(0, 1 - |u|), u = (v - A) / A, through v and A (hence b).

    One choice differs from LSNN-official: there, z_t is computed from v_{t-1}, so the
    input x_t reaches the output one step late; here z_t is computed from v_t, as in
    the authors' later e-prop code (IGITUGraz/eligibility_propagation), so the output
    at step t sees x_t (an agent acts on the current observation). LSNN-official's
    input weights have no bias: ``bias`` defaults to False.

    Fast path: on the CPU (float32, float64) numba kernels run the whole sequence forward
    (the recurrent input adds the weights of the neurons that spiked only) and a
    hand-written backward; time is linear in L. They were kept because they beat the
    plain torch loop (``lsnn_scan_reference``, which CUDA runs) on a training step
    (forward, backward, Adam; one thread): 7.2 ms against 35 ms at L=128, N=16,
    H_in=64, H=128 (an RL minibatch), 0.55 s against 1.10 s at L=784, N=100, H=128,
    two layers.

    Args:
        input_size: H_in, features of the input.
        hidden_size: H, neurons per layer.
        num_layers: stacked layers; layer k > 0 reads the spikes of layer k - 1. Default 1.
        bias: add a learnable bias to the input current (not in the authors' code). Default False.
        batch_first: input and output as (N, L, *) instead of (L, N, *); not hx. Default False.
        dropout: dropout on the spikes of every layer but the last, in training. Default 0.
        device: factory kwarg of the parameters.
        dtype: factory kwarg of the parameters.
        n_adaptive: ALIF neurons per layer (the last ones); None: all H (the class
            default of the authors' ``ALIF``). Default None.
        tau_m: membrane time constant tau_m, in steps. Default 20.
        tau_a: adaptation time constant tau_a, in steps. Default 200.
        beta: adaptation strength of the ALIF neurons. Default 1.6.
        v_th: baseline threshold v_th. Default 0.01.
        dampening: height of the pseudo-derivative. Default 0.3.
        n_refractory: silent steps after a spike. Default 0.

    Inputs: ``input, hx, resets``
        - input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        - hx: (num_layers, N, 4H) or (num_layers, 4H); None means zeros. Each layer's
          state is ``[z | v | b | r]``: spikes, membrane potentials, adaptations,
          refractory counters (use states the module returned: b >= 0, z in {0, 1}).
        - resets: optional bool (L, N) ((N, L) with batch_first, (L,) unbatched): where
          True, every layer's state is zeroed before step t (episode starts).

    Outputs: ``output, h_n``
        - output: (L, N, H) (or the layout of the input): the last layer's spikes z_t
          in {0, 1}.
        - h_n: (num_layers, N, 4H) (or (num_layers, 4H)): each layer's final state.

    Attributes:
        weight_ih_l{k}: (H, H_in or H) W_in, N(0, 1 / H_in) as the authors'.
        weight_hh_l{k}: (H, H) W_rec, N(0, 1 / H) as the authors'; its diagonal is
            ignored (zeroed at init, masked in the forward: no self-connections).
        bias_ih_l{k}: (H,) b_in, zeros (only with bias=True).

    Example:
        >>> rnn = LSNN(10, 20, num_layers=2, n_adaptive=8, n_refractory=2)
        >>> output, h_n = rnn(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 80]))
    """

    state_blocks = ("z", "v", "b", "r")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        n_adaptive: int | None = None,
        tau_m: float = 20.0,
        tau_a: float = 200.0,
        beta: float = 1.6,
        v_th: float = 0.01,
        dampening: float = 0.3,
        n_refractory: int = 0,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout)
        n_adaptive = hidden_size if n_adaptive is None else n_adaptive
        if isinstance(n_adaptive, bool) or not isinstance(n_adaptive, int) or not 0 <= n_adaptive <= hidden_size:
            raise ValueError(f"n_adaptive must be an int in [0, hidden_size={hidden_size}], got {n_adaptive!r}")
        if isinstance(n_refractory, bool) or not isinstance(n_refractory, int) or n_refractory < 0:
            raise ValueError(f"n_refractory must be a non-negative int, got {n_refractory!r}")
        for name, value in (("tau_m", tau_m), ("tau_a", tau_a), ("v_th", v_th)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        self.n_adaptive = n_adaptive
        self.beta = float(beta)
        self.dynamics = LSNNDynamics(float(tau_m), float(tau_a), float(v_th), float(dampening), n_refractory)
        factory = {"device": device, "dtype": dtype}
        H = hidden_size
        for k, size_in in self._layer_sizes():
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(H, size_in, **factory)))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(H, H, **factory)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(H, **factory)) if bias else None)
        self.register_buffer("_off_diagonal", (1 - torch.eye(H)).to(**factory), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The authors' init: W_in ~ N(0, 1/H_in), W_rec ~ N(0, 1/H) with a zero diagonal, b_in = 0."""
        with torch.no_grad():
            for k, size_in in self._layer_sizes():
                getattr(self, f"weight_ih_l{k}").normal_(0, 1 / math.sqrt(size_in))
                weight_hh = getattr(self, f"weight_hh_l{k}")
                weight_hh.normal_(0, 1 / math.sqrt(self.hidden_size)).fill_diagonal_(0)
                if self.bias:
                    getattr(self, f"bias_ih_l{k}").zero_()

    def _dynamics_repr(self) -> dict:
        return {"n_adaptive": self.n_adaptive, "beta": self.beta, **self.dynamics._asdict()}

    def _beta_j(self, like: Tensor) -> Tensor:
        """(H,) beta_j: 0 for the LIF neurons, then ``beta`` for the ALIF ones (made in the dtype of ``like``)."""
        beta_j = like.new_zeros(self.hidden_size)
        beta_j[self.hidden_size - self.n_adaptive:] = self.beta
        return beta_j

    def _layer(self, k, x, state, resets):
        pre = nn.functional.linear(x, getattr(self, f"weight_ih_l{k}"), getattr(self, f"bias_ih_l{k}"))
        weight_hh = getattr(self, f"weight_hh_l{k}") * self._off_diagonal
        z, v, b, r = lsnn_scan(pre, weight_hh, self._beta_j(pre), state, resets, self.dynamics)
        return z, torch.cat([z[-1], v[-1], b[-1], r[-1]], dim=-1), (z, b)

    def _traces(self, k, sequences, state, resets):
        z, b = sequences
        return {"firing_rate": z, "mean_adaptation": self._beta_j(b) * b}


class SRC(_SpikingRNN):
    r"""Spiking recurrent cell (SRC): a GRU made to spike, trained by backpropagation.

    De Geeter, Ernst, Drion, "Spike-based computation using classical recurrent neural
    networks", arXiv 2306.03623. Each neuron has only cellular (self) feedback and fixed
    gates: a fast variable h with positive feedback r (bistable), a slow variable h_s
    with negative feedback r_s whose gate depends on the voltage, and an input current i
    that integrates the incoming spikes with a leak and is saturated. Per step t:

        i_t   = \alpha i_{t-1} + W s_t                                     s_t: the layer's input
        x_t   = \rho \tanh(i_t / \rho)
        h_t   = z h_{t-1} + (1 - z) \tanh(x_t + r h_{t-1} + r_s h^s_{t-1} + b_h)
        z^s_t = z_{dep} if h_{t-1} > 0 else z_{hyp}
        h^s_t = z^s_t h^s_{t-1} + (1 - z^s_t) h_{t-1}
        o_t   = \max(h_t, 0)                                               output spikes

    At rest (b_h = -6) h sits near -0.9; enough input makes h jump to about 1 (the
    positive feedback), h_s then catches up at once (z_dep = 0) and its negative
    feedback brings h down within a step or two: a spike; h_s recovers slowly
    (z_hyp = 0.9), which spaces the spikes.

    No code of the authors was found and the paper's text was not at hand: the
    equations follow its description; the defaults, and the two gradient options
    below, are those of a third-party reimplementation, which attributes them to the
    paper (alpha 0.9, rho 3, r 2, r_s -7, z 0, z_hyp 0.9, z_dep 0, b_h around -6).
    Choices where that leaves details open (each tested):

    - h and h_s update together from the previous step (h_s_t reads h_{t-1}), and the
      gate of h_s switches on the sign of h_{t-1} (depolarised: h > 0, i.e. while the
      neuron emits a spike), as a step: z_s carries no gradient;
    - ``detach_recurrence`` (default True): backpropagation through time goes through
      the input current i only; h_{t-1} and h_s_{t-1} enter step t as constants of the
      gradient. Through the full spiking recurrence the gradient exploded: over 500
      steps with 8% of the unit-steps spiking, the gradient reaching step 0 was 10^6
      times the one at the last step;
    - ``straight_through`` (default True): the output's gradient passes through the
      ReLU as if it were the identity. With the true derivative a neuron at rest
      (h < 0 throughout) gets no gradient at all; at the default init no neuron of a
      small agent's memory spiked, so nothing learned;
    - b_h is the learnable ``bias_ih_l{k}``, initialised to ``bias_init`` and not
      clamped; with bias=False it stays fixed at ``bias_init`` (a neuron needs it to
      rest);
    - W ~ U(-4/sqrt(H_in), 4/sqrt(H_in)), 4 times torch.nn.Linear's scale, so that a
      stack spikes at initialisation: fed with Gaussian noise, three layers of 128
      spiked 0.024, 0.0015 and 0 times per neuron and step at the Linear scale, 0.035,
      0.025 and 0.021 at this one (at most about 0.05: one spike every 20 steps);
    - the state is stored relative to the rest state: hx and h_n hold
      ``[h - h* | h_s - h* | i]``, h* the rest state of the neuron without input
      (h = h_s = h* = tanh((r + r_s) h* + b_h), about -0.9 at b_h = -6; see
      :meth:`rest_state`). So the zero state (hx=None, a reset, an agent's initial state)
      is a neuron at rest. Absolute zeros would be a deeply refractory state (h_s = 0
      cancels none of b_h): a neuron could not spike for some 20 steps after each
      episode start.

    Fast path: on the CPU (float32, float64) numba kernels forward and backward,
    elementwise per neuron like BRC's (the recurrence has no matrix product); time is
    linear in L. Against the plain torch loop (``src_scan_reference``, which CUDA runs),
    a training step (forward, backward, Adam; one thread) took 6.1 ms against 27 ms at
    L=128, N=16, H_in=64, H=128, 0.38 s against 0.80 s at L=784, N=100, H=128, two layers.

    Args:
        input_size: H_in, features of the input.
        hidden_size: H, neurons per layer.
        num_layers: stacked layers; layer k > 0 reads the spikes of layer k - 1. Default 1.
        bias: learn b_h (else fixed at ``bias_init``). Default True.
        batch_first: input and output as (N, L, *) instead of (L, N, *); not hx. Default False.
        dropout: dropout on the spikes of every layer but the last, in training. Default 0.
        device: factory kwarg of the parameters.
        dtype: factory kwarg of the parameters.
        alpha: leak of the input current. Default 0.9.
        rho: saturation of the input. Default 3.
        r: fast positive feedback. Default 2.
        r_s: slow negative feedback. Default -7.
        z: update gate of h. Default 0.
        z_hyp: update gate of h_s when h_{t-1} <= 0. Default 0.9.
        z_dep: update gate of h_s when h_{t-1} > 0. Default 0.
        bias_init: initial (or, with bias=False, fixed) b_h. Default -6.
        detach_recurrence: backpropagate through time through i only. Default True.
        straight_through: the output's gradient ignores the ReLU. Default True.

    Inputs: ``input, hx, resets``
        - input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        - hx: (num_layers, N, 3H) or (num_layers, 3H); None means zeros (at rest). Each
          layer's state is ``[h - h* | h_s - h* | i]``.
        - resets: optional bool (L, N) ((N, L) with batch_first, (L,) unbatched): where
          True, every layer's state is zeroed (put at rest) before step t (episode starts).

    Outputs: ``output, h_n``
        - output: (L, N, H) (or the layout of the input): the last layer's spikes
          max(h_t, 0).
        - h_n: (num_layers, N, 3H) (or (num_layers, 3H)): each layer's final state,
          relative to the rest state as hx.

    Attributes:
        weight_ih_l{k}: (H, H_in or H) W, U(-4/sqrt(H_in), 4/sqrt(H_in)).
        bias_ih_l{k}: (H,) b_h, ``bias_init`` (a buffer, not learned, with bias=False).

    Example:
        >>> rnn = SRC(10, 20, num_layers=2)
        >>> output, h_n = rnn(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 60]))
    """

    state_blocks = ("h", "h_s", "i")

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
        alpha: float = 0.9,
        rho: float = 3.0,
        r: float = 2.0,
        r_s: float = -7.0,
        z: float = 0.0,
        z_hyp: float = 0.9,
        z_dep: float = 0.0,
        bias_init: float = -6.0,
        detach_recurrence: bool = True,
        straight_through: bool = True,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout)
        if not rho > 0:
            raise ValueError(f"rho must be positive, got {rho!r}")
        constants = (float(v) for v in (alpha, rho, r, r_s, z, z_hyp, z_dep))
        self.dynamics = SRCDynamics(*constants, detach_recurrence=bool(detach_recurrence))
        if not r + r_s < 0:
            raise ValueError(f"r + r_s must be negative (one rest state), got r={r!r}, r_s={r_s!r}")
        self.bias_init = float(bias_init)
        self.straight_through = bool(straight_through)
        self._rest_cache: dict[int, tuple] = {}
        factory = {"device": device, "dtype": dtype}
        for k, size_in in self._layer_sizes():
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, size_in, **factory)))
            b_h = torch.empty(hidden_size, **factory)
            if bias:
                self.register_parameter(f"bias_ih_l{k}", nn.Parameter(b_h))
            else:
                self.register_buffer(f"bias_ih_l{k}", b_h, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W ~ U(-4/sqrt(H_in), 4/sqrt(H_in)), b_h = bias_init."""
        with torch.no_grad():
            for k, size_in in self._layer_sizes():
                bound = 4 / math.sqrt(size_in)
                getattr(self, f"weight_ih_l{k}").uniform_(-bound, bound)
                getattr(self, f"bias_ih_l{k}").fill_(self.bias_init)

    def _dynamics_repr(self) -> dict:
        return {**self.dynamics._asdict(), "bias_init": self.bias_init, "straight_through": self.straight_through}

    def rest_state(self, k: int = 0) -> Tensor:
        """(H,) the rest state h* of layer k's neurons (h = h_s = h*, i = 0 without input),
        which the zero state stands for; recomputed when b_h changes."""
        bias = getattr(self, f"bias_ih_l{k}")
        key = (bias.data_ptr(), bias._version, bias.dtype)
        cached = self._rest_cache.get(k)
        if cached is None or cached[0] != key:
            cached = (key, src_rest_state(bias.detach(), self.dynamics))
            self._rest_cache[k] = cached
        return src_rest_state(bias, self.dynamics, solved=cached[1])

    def _layer(self, k, x, state, resets):
        pre = nn.functional.linear(x, getattr(self, f"weight_ih_l{k}"))
        rest = self.rest_state(k)
        offset = torch.cat([rest, rest, torch.zeros_like(rest)])
        h, h_s, i = src_scan(pre, getattr(self, f"bias_ih_l{k}"), state + offset, resets, self.dynamics, rest)
        # relu(h); the straight-through form is exactly relu(h) forward, the identity backward
        out = h + (h.clamp(min=0) - h).detach() if self.straight_through else torch.relu(h)
        return out, torch.cat([h[-1], h_s[-1], i[-1]], dim=-1) - offset, (h, rest)

    def _traces(self, k, sequences, state, resets):
        h, rest = sequences
        h_prev = torch.cat([state[None, :, : self.hidden_size] + rest, h[:-1]])
        if resets is not None:
            h_prev = torch.where(resets.unsqueeze(-1), rest, h_prev)
        return {"spike_rate": ((h > 0) & (h_prev <= 0)).to(h.dtype)}  # spike onsets


__all__ = ["LSNN", "SRC"]
