"""Which of the five values a denoising run recalls: test MSE per answer step.

The denoising target is the data value seen at each of the five relevant steps
t1 < ... < t5, output in that order on the last five steps; the benchmark's metric is
their mean. A cell that holds k of the five values and guesses 0 for the rest scores
about (5 - k) / 5, so the per-step errors say how many values the memory keeps.

    PYTHONPATH=. python benchmarks/denoising_recall.py \
        results/supervised/denoising-seq_len400-forget200-brc --seed 0

Reads ``<run>/seed<k>/checkpoint.pt`` (the last state of the seed's training) and
rebuilds that seed's test set from the protocol stored with it.
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace
from pathlib import Path

import torch

from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.protocol import SupervisedConfig
from brc_rl.supervised.train import CHECKPOINT, EVAL_BATCH, build_data


@torch.no_grad()
def per_step_mse(run_dir: Path, seed: int, test_size: int | None) -> tuple[dict, int, list[float]]:
    """(protocol, epochs trained, test MSE of each answer step t1..t5) of ``run_dir``'s seed."""
    path = run_dir / f"seed{seed}" / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: expected a brc-rl supervised run folder")
    payload = torch.load(path, map_location="cpu", weights_only=False)
    protocol = payload["protocol"]
    if protocol["benchmark"] != "denoising":
        raise ValueError(f"{run_dir} is a {protocol['benchmark']!r} run, expected 'denoising'")
    config = SupervisedConfig(**{f.name: protocol[f.name] for f in fields(SupervisedConfig)})
    n = config.sizes()[1] if test_size is None else test_size
    # the seed's test set as training drew it (a 1-sample training set spares the rest)
    _, test = build_data(replace(config, train_size=1, test_size=n), seed)
    model = SequenceModel(config.cell, test.input_size, test.output_size, config.spec.readout,
                          config.hidden_size, config.num_layers)
    model.load_state_dict(payload["model"])
    model.eval()
    squared = torch.zeros(5, dtype=torch.float64)
    for index in torch.arange(n).split(EVAL_BATCH):
        batch = test.batch(index)
        squared += ((model(batch.x) - batch.y) ** 2).sum(0).double()
    history = payload["state"]["history"]
    return protocol, history[-1]["epoch"] if history else 0, (squared / n).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a denoising run folder of brc-rl supervised")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=int, default=None,
                        help="test sequences (default: the run's test size)")
    args = parser.parse_args()
    protocol, epochs, mse = per_step_mse(args.run, args.seed, args.test_size)
    print(f"{args.run} seed {args.seed} ({protocol['cell']}, {epochs} epochs done)")
    print("| answer step | " + " | ".join(f"t{k + 1}" for k in range(5)) + " | mean |")
    print("|---|" + "---|" * 6)
    print("| test MSE | " + " | ".join(f"{m:.4f}" for m in mse) + f" | {sum(mse) / 5:.4f} |")


if __name__ == "__main__":
    main()
