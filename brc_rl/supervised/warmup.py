"""Warm-up of a benchmark's memory on its training sequences, and the VAA of a trained model.

``brc-rl supervised ... --warmup`` warms the model's memory up (:func:`brc_rl.nn.warmup.warmup`)
on training sequences before the first update; ``brc-rl vaa`` measures the exact VAA of a
run's models on training sequences (:func:`checkpoint_vaa`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from brc_rl.nn import VAA, vaa
from brc_rl.nn.warmup import WarmupRecord, warmup
from brc_rl.supervised.datasets import SequenceData
from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.protocol import SupervisedConfig


def training_sequences(data: SequenceData, n: int) -> tuple[Tensor, Tensor | None]:
    """``n`` sequences drawn without replacement (all if fewer): inputs (n, T, D) and lengths or None."""
    batch = data.batch(torch.randperm(len(data))[:n])
    return batch.x, batch.lengths


def warm_up(config: SupervisedConfig, model: SequenceModel, data: SequenceData) -> WarmupRecord:
    """Warm ``model.rnn`` up with ``config.warmup``'s settings on sequences of ``data``.

    It draws as many sequences as the warm-up steps use (steps x batch_size, at least
    measure_samples), so that no sequence repeats before the whole set would have.
    """
    settings = config.warmup.kwargs()
    x, lengths = training_sequences(data, max(settings["steps"] * settings["batch_size"],
                                              settings["measure_samples"] * settings["measure_repeats"]))
    return warmup(model.rnn, x, lengths, **settings)


def _models(path: Path) -> list[Path]:
    """The model files of a checkpoint file, a seed folder or a run folder (one per seed)."""
    if not path.exists():
        raise ValueError(f"{str(path)!r} does not exist")
    if path.is_file():
        return [path]
    found = []
    for folder in [path, *sorted(p for p in path.glob("seed*") if p.is_dir())]:
        for candidate in (folder / "final_model.pt", folder / "checkpoints" / "checkpoint.pt"):
            if candidate.is_file():
                found.append(candidate)
                break
    if not found:
        raise ValueError(f"{str(path)!r} holds no supervised model (final_model.pt, checkpoints/checkpoint.pt, "
                         "or seed<k>/ folders with them)")
    return found


def checkpoint_vaa(path: str | os.PathLike[str], samples: int = 200, steps: int = 10_000, eps: float = 1e-4,
                   repeats: int = 10, device: str = "cpu") -> dict[str, VAA]:
    """The exact VAA of supervised models, on sequences of their seed's training set.

    Args:
        path: a ``final_model.pt`` or ``checkpoint.pt`` of ``brc-rl supervised``, a seed
            folder ``seed<k>/``, or a run folder (every seed).
        samples: sequences per estimate (:func:`brc_rl.nn.vaa`).
        steps: stabilisation steps.
        eps: tolerance of the attractor count.
        repeats: estimates averaged.
        device: torch device of the model.

    Returns:
        ``{"seed<k>": VAA}``.

    Raises:
        ValueError: if the path holds no such model.
    """
    from brc_rl.supervised.train import build_data, build_model

    results = {}
    for model_path in _models(Path(path)):
        payload: dict[str, Any] = torch.load(model_path, map_location="cpu", weights_only=False)
        if not isinstance(payload, dict) or not {"protocol", "seed", "model"} <= set(payload):
            raise ValueError(f"{model_path} is not a model file of brc-rl supervised")
        protocol = payload["protocol"]
        config = SupervisedConfig.model_validate({k: protocol[k] for k in SupervisedConfig.model_fields
                                                  if k in protocol})
        train_data, _ = build_data(config, payload["seed"])
        model = build_model(config, train_data).to(device)
        model.load_state_dict(payload["model"])
        x, lengths = training_sequences(train_data, samples * repeats)
        results[f"seed{payload['seed']}"] = vaa(model.rnn, x, lengths, samples=samples, steps=steps, eps=eps,
                                                repeats=repeats)
    return results
