r"""Warm-up to multistability: raise a memory's VAA* before it is trained, for any memory.

Lambrechts, De Geeter, Vecoven, Ernst, Drion, Neural Networks 2023 (arXiv 2106.01001),
the authors' code in the repository ``glambrechts/warmup``. Most cells are monostable
at initialisation (VAA near 1/n); a few gradient steps on

    loss = (1 / K) sum_k (VAA*_k - target)^2,        target = 0.95,

the mean over the K layers of the squared distance of each layer's VAA*
(:mod:`brc_rl.nn.attractors`) to a target, make the reachable states settle on many attractors,
and long dependencies are then learnt much better. Each step k = 0, 1, ... takes a
minibatch of real input sequences (successive passes over a random permutation), draws
the stabilisation length T_s ~ U{1 .. min(1 + 10 k, 200)} (a curriculum) and takes one
Adam step. Defaults are the paper's: 100 steps, lr 1e-2, batch 32.

Only the parameters of :func:`brc_rl.nn.attractors.warmup_layers` are updated: the whole
memory, or for :class:`brc_rl.nn.PartialWarmup` the warmed half of each layer.

Measured (``results/warmup/vaa.md``): warm-up raises the VAA of GRU, LSTM and nBRC to
near 1; on BRC it does not converge (its VAA* swings with each step's constant input)
and lowers the multistability BRC has at initialisation.

Example:
    >>> rnn = make_rnn("gru", 1, 32)
    >>> record = warmup(rnn, torch.randn(300, 256, 1), steps=20, measure_steps=500)  # doctest: +SKIP
    >>> record.before.overall, record.after.overall  # doctest: +SKIP
    (0.008, 0.62)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from brc_rl.nn.attractors import EPS, MEASURE_STEPS, VAA, vaa, vaa_star, warmup_layers

__all__ = ["VAA", "WarmupRecord", "stabilisation_bound", "vaa", "vaa_star", "warmup", "warmup_layers"]


@dataclass
class WarmupRecord:
    """What :func:`warmup` did.

    Attributes:
        before: exact VAA before the warm-up (None if not measured).
        after: exact VAA after it (None if not measured).
        losses: the loss of every step (NaN where the step was skipped).
        vaa_star: every step's VAA* per layer.
        stabilisation: every step's T_s.
        skipped: steps skipped because the loss or a gradient was not finite.
        seconds: wall time of the warm-up steps (not of the measures).
        settings: the arguments of the warm-up.
    """

    before: VAA | None
    after: VAA | None
    losses: list[float] = field(default_factory=list)
    vaa_star: list[list[float]] = field(default_factory=list)
    stabilisation: list[int] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (NaN losses as None)."""
        return {
            "before": None if self.before is None else self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
            "losses": [None if math.isnan(v) else v for v in self.losses], "vaa_star": self.vaa_star,
            "stabilisation": self.stabilisation, "skipped": self.skipped, "seconds": round(self.seconds, 3),
            "settings": self.settings,
        }


def stabilisation_bound(step: int, increment: int = 10, maximum: int = 200) -> int:
    """The largest T_s of warm-up step ``step`` (from 0): min(1 + increment * step, maximum)."""
    return min(1 + increment * step, maximum)


def _batches(n: int, batch_size: int) -> Iterator[Tensor]:
    """Indices of successive passes over random permutations; incomplete batches dropped if n >= batch_size."""
    while True:
        batches = torch.randperm(n).split(batch_size)
        yield from batches if n < batch_size or n % batch_size == 0 else batches[:-1]


def _check(steps: int, lr: float, batch_size: int, target: float, eps: float, increment: int, maximum: int,
           measure_steps: int, measure_samples: int, measure_repeats: int) -> None:
    rules = [("steps", steps, steps >= 0, ">= 0"), ("lr", lr, lr > 0, "> 0"),
             ("batch_size", batch_size, batch_size >= 2, ">= 2"), ("target", target, 0 < target <= 1, "in (0, 1]"),
             ("eps", eps, eps > 0, "> 0"), ("stabilisation_increment", increment, increment >= 0, ">= 0"),
             ("stabilisation_max", maximum, maximum >= 1, ">= 1"),
             ("measure_steps", measure_steps, measure_steps >= 0, ">= 0"),
             ("measure_samples", measure_samples, measure_samples >= 2, ">= 2"),
             ("measure_repeats", measure_repeats, measure_repeats >= 1, ">= 1")]
    for name, value, ok, rule in rules:
        if not ok:
            raise ValueError(f"warm-up {name} must be {rule}, got {value!r}")


def warmup(
    rnn: nn.Module,
    inputs: Tensor,
    lengths: Tensor | None = None,
    *,
    steps: int = 100,
    lr: float = 1e-2,
    batch_size: int = 32,
    target: float = 0.95,
    eps: float = EPS,
    stabilisation_increment: int = 10,
    stabilisation_max: int = 200,
    measure_steps: int = MEASURE_STEPS,
    measure_samples: int = 200,
    measure_repeats: int = 10,
    callback: Callable[[int, float, list[float]], None] | None = None,
) -> WarmupRecord:
    """Warm ``rnn`` up in place (see the module docstring); measure the exact VAA before and after.

    Args:
        rnn: the memory (any of :func:`brc_rl.nn.make_rnn`, or the same interface).
        inputs: real input sequences, (L, N, H_in), or (N, L, H_in) if ``rnn.batch_first``;
            on any device (minibatches are moved to rnn's).
        lengths: (N,) true lengths of padded sequences; None: all L.
        steps: warm-up steps (Adam updates); 0 only measures.
        lr: Adam's learning rate.
        batch_size: sequences per step (n of VAA*), >= 2.
        target: the VAA* each layer is pulled to, in (0, 1].
        eps: tolerance of the attractor counts.
        stabilisation_increment: the curriculum's growth of the largest T_s per step.
        stabilisation_max: the largest T_s.
        measure_steps: T_s of the exact VAA before and after; 0: not measured.
        measure_samples: sequences of each estimate of those measures.
        measure_repeats: estimates averaged in each measure (the authors' 10).
        callback: called after every step with (step from 1, loss, VAA* per layer).

    Returns:
        The :class:`WarmupRecord`.

    Raises:
        ValueError: for a setting out of its range, naming it.
    """
    _check(steps, lr, batch_size, target, eps, stabilisation_increment, stabilisation_max,
           measure_steps, measure_samples, measure_repeats)
    settings = dict(steps=steps, lr=lr, batch_size=batch_size, target=target, eps=eps,
                    stabilisation_increment=stabilisation_increment, stabilisation_max=stabilisation_max,
                    measure_steps=measure_steps, measure_samples=measure_samples, measure_repeats=measure_repeats)

    def measure() -> VAA | None:
        return vaa(rnn, inputs, lengths, samples=measure_samples, steps=measure_steps, eps=eps,
                   repeats=measure_repeats) if measure_steps else None

    record = WarmupRecord(before=measure(), after=None, settings=settings)
    layers = warmup_layers(rnn)
    params = list({id(p): p for layer in layers for p in layer.memory.parameters()}.values())
    optimizer = torch.optim.Adam(params, lr=lr)
    batch_first = getattr(rnn, "batch_first", False)
    batches = _batches(inputs.shape[0 if batch_first else 1], batch_size)
    started = time.perf_counter()
    for k in range(steps):
        index = next(batches).to(inputs.device)
        x = inputs[index] if batch_first else inputs[:, index]
        t_s = int(torch.randint(1, stabilisation_bound(k, stabilisation_increment, stabilisation_max) + 1, ()))
        values = vaa_star(rnn, x, None if lengths is None else lengths[index.to(lengths.device)],
                          steps=t_s, eps=eps, layers=layers)
        loss = F.mse_loss(values, torch.full_like(values, target))
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        finite = bool(torch.isfinite(loss)) and all(g is None or bool(torch.isfinite(g).all()) for g in grads)
        if finite:
            for p, g in zip(params, grads):
                p.grad = g
            optimizer.step()
        else:
            record.skipped += 1
        record.losses.append(float(loss.detach()) if finite else float("nan"))
        record.vaa_star.append(values.detach().tolist())
        record.stabilisation.append(t_s)
        if callback is not None:
            callback(k + 1, record.losses[-1], record.vaa_star[-1])
    for p in params:
        p.grad = None
    record.seconds = time.perf_counter() - started
    record.after = measure()
    return record
