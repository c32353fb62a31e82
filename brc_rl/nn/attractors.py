r"""Variability amongst attractors (VAA): on how many attractors the reachable states of a memory settle.

From Lambrechts, De Geeter, Vecoven, Ernst, Drion, "Warming up recurrent neural networks to
maximise reachable multistability greatly improves learning", Neural Networks 2023
(arXiv 2106.01001); the authors' code is the repository ``glambrechts/warmup``.

**Reachable states.** Each of n input sequences x^(i) (length T_i) is cut at a random
length c_i ~ U{1..T_i}; the memory, run from zeros on that prefix, reaches h_0^(i): the
state of every layer (for "lstm", [h | c]). All prefixes go through one call of the
memory, aligned on their last step, with ``resets`` where each one starts.

**VAA** (exact). One random constant input u ~ N(0, I), the same for every sample, drives
the whole memory for T_s steps (10,000 by default) from each h_0^(i), to h^(i). With
d_ij = ||h^(i) - h^(j)||,

    VAA = (1 / n) sum_i 1 / |{j : d_ij < eps}|,        eps = 1e-4.

VAA = 1/n: every sample ends on the same attractor (the memory is monostable); VAA = 1:
each ends on its own. ``overall`` uses the states of all layers together; ``layers[k]``
the state of layer k alone, from the same run.

**VAA\*** (differentiable), per layer k: layer k alone is driven from h_0^(i)[k] by a
constant input u_k ~ N(0, I) of its own input size, so that layers are measured (and
warmed up) independently; on the tanh of its final states,
d_ij = ||tanh h^(i) - tanh h^(j)||,

    C_i = sum_j [1 - ReLU(d_ij - eps) / (d_ij + 1e-6)],        VAA* = (1 / n) sum_i 1 / C_i.

A pair closer than eps counts 1 in C_i, as in the exact count; a pair at d >> eps counts
(eps + 1e-6) / d, almost 0: VAA* tends to VAA when final states either coincide or lie
far apart.

Every function takes the inputs as the memory's ``forward`` does: (L, N, H_in), or
(N, L, H_in) for a memory built with ``batch_first=True``. Any memory with the interface of
:func:`brc_rl.nn.make_rnn` works: ``output, h_n = rnn(input, hx, resets)`` and the
attributes ``input_size``, ``hidden_size``, ``num_layers``, ``state_size``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Default tolerance eps under which two final states are one attractor.
EPS = 1e-4
#: Default stabilisation steps T_s of the exact VAA (the authors' measure).
MEASURE_STEPS = 10_000
#: Steps run per call of the memory while stabilising (bounds the memory used).
CHUNK = 100


@dataclass(frozen=True)
class VAA:
    """An exact VAA measure, the mean of ``repeats`` estimates.

    Attributes:
        overall: VAA of the states of all layers together, in [1/samples, 1].
        layers: VAA of each layer's state.
        samples: n, the number of sequences of each estimate.
        steps: T_s, the stabilisation steps.
        repeats: estimates averaged, each with its own sequences, prefixes and constant input.
        std: standard deviation of ``overall`` over the estimates (population; 0 for one).
    """

    overall: float
    layers: tuple[float, ...]
    samples: int
    steps: int
    repeats: int = 1
    std: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"overall": self.overall, "layers": list(self.layers), "samples": self.samples, "steps": self.steps,
                "repeats": self.repeats, "std": self.std}


class WarmupLayer(NamedTuple):
    """A layer as VAA* drives it alone.

    Attributes:
        memory: a one-layer memory (the same interface) that runs the layer with its parameters.
        input_size: the layer's input size.
        state: the part of the layer's state (last dimension of ``hx``) that ``memory`` holds.
    """

    memory: nn.Module
    input_size: int
    state: slice


# --------------------------------------------------------------------------- counts on final states
def vaa_of_states(states: Tensor, eps: float = EPS) -> float:
    """Exact VAA of n final states: (1 / n) sum_i 1 / |{j : ||h_i - h_j|| < eps}|.

    Args:
        states: (n, S).
    """
    d = torch.cdist(states, states, compute_mode="donot_use_mm_for_euclid_dist")
    return float((1.0 / (d < eps).sum(1).clamp(min=1)).mean())


def soft_vaa_of_states(states: Tensor, eps: float = EPS) -> Tensor:
    """VAA* of n final states (differentiable): on tanh h, C_i = sum_j [1 - ReLU(d_ij - eps) / (d_ij + 1e-6)].

    Args:
        states: (n, S).

    Returns:
        A scalar tensor, (1 / n) sum_i 1 / C_i.
    """
    t = torch.tanh(states)
    d = torch.cdist(t, t, compute_mode="donot_use_mm_for_euclid_dist")
    counts = (1.0 - F.relu(d - eps) / (d + 1e-6)).sum(1)
    return (1.0 / counts).mean()


# --------------------------------------------------------------------------- running a memory
def _time_major(rnn: nn.Module, x: Tensor) -> Tensor:
    return x.transpose(0, 1) if getattr(rnn, "batch_first", False) else x


def final_state(rnn: nn.Module, x: Tensor, hx: Tensor | None = None, resets: Tensor | None = None) -> Tensor:
    """``h_n`` of ``rnn`` on time-major ``x`` (L, N, H_in) and ``resets`` (L, N), whatever its batch_first."""
    if getattr(rnn, "batch_first", False):
        x, resets = x.transpose(0, 1), None if resets is None else resets.t()
    return rnn(x, hx, resets)[1]


def _device(rnn: nn.Module) -> torch.device:
    return next(rnn.parameters()).device


def reachable_states(rnn: nn.Module, inputs: Tensor, lengths: Tensor | None = None) -> Tensor:
    """The states the memory reaches on random prefixes of the sequences (with gradients).

    Args:
        rnn: the memory.
        inputs: (L, N, H_in), or (N, L, H_in) if ``rnn.batch_first``.
        lengths: (N,) true lengths (each in 1..L) of padded sequences; None: all L.

    Returns:
        h_0: (num_layers, N, state_size), the state after each sequence's prefix of
        c_i ~ U{1..lengths[i]} steps, from zeros.
    """
    x = _time_major(rnn, inputs).to(_device(rnn))
    L, N = x.shape[:2]
    ends = torch.full((N,), L) if lengths is None else lengths.cpu().long()
    prefix = (torch.rand(N) * ends).long().clamp(max=ends - 1) + 1  # c_i ~ U{1..T_i}
    steps = int(prefix.max())
    start = (steps - prefix).to(x.device)  # prefixes end together at step `steps`
    t = torch.arange(steps, device=x.device).unsqueeze(1)
    source = (t - start).clamp(min=0)  # before its start a sample reads its step 0, then resets
    aligned = x.gather(0, source.unsqueeze(-1).expand(steps, N, x.shape[-1]))
    return final_state(rnn, aligned, None, t == start)


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """``module.eval()`` inside, its mode restored after."""
    training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(training)


def _sample(inputs: Tensor, lengths: Tensor | None, batch_first: bool, samples: int | None):
    """At most ``samples`` of the sequences, drawn without replacement (all of them if None)."""
    n = inputs.shape[0 if batch_first else 1]
    if samples is None or samples >= n:
        return inputs, lengths
    index = torch.randperm(n)[:samples]
    x = inputs[index.to(inputs.device)] if batch_first else inputs[:, index.to(inputs.device)]
    return x, None if lengths is None else lengths[index.to(lengths.device)]


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")


@torch.no_grad()
def vaa(rnn: nn.Module, inputs: Tensor, lengths: Tensor | None = None, *, samples: int | None = None,
        steps: int = MEASURE_STEPS, eps: float = EPS, repeats: int = 1) -> VAA:
    """Exact VAA of a memory (see the module docstring), in eval mode, without gradients.

    The constant input is one draw of N(0, I): on memories whose attractors depend on it,
    an estimate varies; ``repeats`` averages independent ones (the authors average 10).

    Args:
        rnn: the memory.
        inputs: (L, N, H_in), or (N, L, H_in) if ``rnn.batch_first``: real input sequences.
        lengths: (N,) true lengths of padded sequences; None: all L.
        samples: n, the number of sequences drawn (without replacement) per estimate; None: all N.
        steps: T_s, stabilisation steps of the constant input.
        eps: tolerance of the attractor count.
        repeats: estimates averaged, each with new sequences (if samples < N), prefixes and input.

    Returns:
        The :class:`VAA`, overall and per layer.

    Raises:
        ValueError: for steps, eps, repeats or samples not > 0.
    """
    _check_positive(steps=steps, eps=eps, repeats=repeats, **({} if samples is None else {"samples": samples}))
    estimates = []
    for _ in range(repeats):
        x, x_lengths = _sample(inputs, lengths, getattr(rnn, "batch_first", False), samples)
        with eval_mode(rnn):
            h = reachable_states(rnn, x, x_lengths)
            u = torch.randn(rnn.input_size).to(device=h.device, dtype=h.dtype)
            for done in range(0, steps, CHUNK):
                h = final_state(rnn, u.expand(min(CHUNK, steps - done), h.shape[1], -1), h)
        estimates.append([vaa_of_states(h.transpose(0, 1).reshape(h.shape[1], -1), eps),
                          *(vaa_of_states(state, eps) for state in h)])
    table = torch.tensor(estimates, dtype=torch.float64)
    mean = table.mean(0).tolist()
    std = float(table[:, 0].std(unbiased=False))
    return VAA(mean[0], tuple(mean[1:]), int(h.shape[1]), steps, repeats, std)


# --------------------------------------------------------------------------- layers and VAA*
_LAYER_SUFFIX = re.compile(r"_l0(?=$|_)")


def layer_view(rnn: nn.Module, k: int) -> nn.Module:
    """A one-layer memory of ``rnn``'s class running its layer k with layer k's parameters (shared).

    Built with ``type(rnn)(input_size_k, hidden_size, 1, bias=...)``; its parameters and
    buffers named ``*_l0`` are then rnn's ``*_l{k}`` (torch.nn.GRU's naming), its others
    rnn's own, and rnn's public scalar attributes (hyperparameters) are copied. Building it
    leaves the global random state as it was.

    Raises:
        ValueError: if the class cannot be built so or has no such parameter; such a
            memory defines ``warmup_layers()`` itself (see :func:`warmup_layers`).
    """
    size = rnn.input_size if k == 0 else rnn.hidden_size
    factory = {"device": _device(rnn), "dtype": next(rnn.parameters()).dtype}
    try:
        with torch.random.fork_rng(devices=[]):  # its own initialisation, overwritten, draws no caller's number
            view = type(rnn)(size, rnn.hidden_size, 1, bias=getattr(rnn, "bias", True), **factory)
        for kind in ("_parameters", "_buffers"):
            for name in list(getattr(view, kind)):
                setattr(view, name, getattr(rnn, _LAYER_SUFFIX.sub(f"_l{k}", name)))
    except (TypeError, AttributeError) as error:
        raise ValueError(f"cannot run layer {k} of {type(rnn).__name__} alone ({error}); give the class a "
                         "warmup_layers() method returning brc_rl.nn.attractors.WarmupLayer tuples") from None
    for name, value in vars(rnn).items():
        if not name.startswith("_") and name not in ("input_size", "num_layers") and \
                isinstance(value, (bool, int, float, str)):
            setattr(view, name, value)
    return view


def warmup_layers(rnn: nn.Module) -> list[WarmupLayer]:
    """The layers of ``rnn`` that VAA* measures and warm-up trains, each runnable alone.

    ``rnn.warmup_layers()`` if the memory defines it (:class:`brc_rl.nn.PartialWarmup`:
    the warmed half of each layer); else ``rnn`` itself for one layer; else a
    :func:`layer_view` per layer.
    """
    if hasattr(rnn, "warmup_layers"):
        return list(rnn.warmup_layers())
    if rnn.num_layers == 1:
        return [WarmupLayer(rnn, rnn.input_size, slice(None))]
    return [WarmupLayer(layer_view(rnn, k), rnn.input_size if k == 0 else rnn.hidden_size, slice(None))
            for k in range(rnn.num_layers)]


def vaa_star(rnn: nn.Module, inputs: Tensor, lengths: Tensor | None = None, *, steps: int, eps: float = EPS,
             layers: list[WarmupLayer] | None = None) -> Tensor:
    """VAA* of each layer (differentiable; see the module docstring) on all the given sequences.

    Args:
        rnn: the memory.
        inputs: (L, N, H_in), or (N, L, H_in) if ``rnn.batch_first``.
        lengths: (N,) true lengths of padded sequences; None: all L.
        steps: T_s, stabilisation steps of each layer's constant input.
        eps: tolerance of the soft count.
        layers: :func:`warmup_layers` of rnn (built if None; pass them when calling often).

    Returns:
        (number of warm-up layers,) tensor of VAA* values, with gradients.
    """
    _check_positive(steps=steps, eps=eps)
    layers = warmup_layers(rnn) if layers is None else layers
    h0 = reachable_states(rnn, inputs, lengths)
    values = []
    for k, layer in enumerate(layers):
        u = torch.randn(layer.input_size).to(device=h0.device, dtype=h0.dtype)
        h = final_state(layer.memory, u.expand(steps, h0.shape[1], -1), h0[k : k + 1, :, layer.state])
        values.append(soft_vaa_of_states(h[0], eps))
    return torch.stack(values)
