"""Which of the five values a denoising run recalls: test MSE per answer step.

The denoising target is the data value seen at each of the five relevant steps
t1 < ... < t5, output in that order on the last five steps; the benchmark's metric is
their mean. A cell that holds k of the five values and guesses 0 for the rest scores
about (5 - k) / 5, so the per-step errors say how many values the memory keeps.
A cell that keeps only the sum of the five (unit-variance) values and answers their
mean m = (x_t1 + ... + x_t5) / 5 at every step scores 1 - 1/5 = 0.8 at each one; the
second row, the mean squared distance of each answer to m, tells that case apart.

    PYTHONPATH=. python scripts/denoising_recall.py \
        results/supervised/denoising-seq_len400-forget200-brc --seed 0

Reads the seed's ``final_model.pt`` (or, for a run still training, its checkpoint) and
rebuilds that seed's test set from the protocol stored with it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.protocol import SupervisedConfig
from brc_rl.supervised.train import EVAL_BATCH, build_data, checkpoint_path, seed_dir


def answer_errors(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed squared errors per answer step, to the target and to the targets' mean.

    Args:
        output, target: (N, 5) answers and data values at t1..t5.

    Returns:
        Two (5,) float64 tensors: sum_n (o_nk - y_nk)^2 and sum_n (o_nk - mean_j y_nj)^2.
    """
    if output.shape != target.shape or output.dim() != 2 or output.shape[1] != 5:
        raise ValueError(f"expected output and target of shape (N, 5), got "
                         f"{tuple(output.shape)} and {tuple(target.shape)}")
    mean = target.mean(1, keepdim=True)
    return (((output - target) ** 2).sum(0).double(),
            ((output - mean) ** 2).sum(0).double())


@torch.no_grad()
def per_step_mse(run_dir: Path, seed: int,
                 test_size: int | None) -> tuple[dict, int, list[float], list[float]]:
    """(protocol, epochs trained, test MSE of each answer step t1..t5, mean squared
    distance of each answer to the mean of the five values) of ``run_dir``'s seed."""
    final, checkpoint = seed_dir(run_dir, seed).final_model(".pt"), checkpoint_path(run_dir, seed)
    path = final if final.exists() else checkpoint
    if not path.exists():
        raise FileNotFoundError(f"neither {final} nor {checkpoint} exists: expected a brc-rl supervised run folder")
    payload = torch.load(path, map_location="cpu", weights_only=False)
    protocol = payload["protocol"]
    if protocol["benchmark"] != "denoising":
        raise ValueError(f"{run_dir} is a {protocol['benchmark']!r} run, expected 'denoising'")
    config = SupervisedConfig(**{name: protocol[name] for name in SupervisedConfig.model_fields})
    n = config.sizes()[1] if test_size is None else test_size
    # the seed's test set as training drew it (a 1-sample training set spares the rest)
    _, test = build_data(config.model_copy(update={"train_size": 1, "test_size": n}), seed)
    model = SequenceModel(config.cell, test.input_size, test.output_size, config.spec.readout,
                          config.hidden_size, config.num_layers)
    model.load_state_dict(payload["model"])
    model.eval()
    squared = to_mean = torch.zeros(5, dtype=torch.float64)
    for index in torch.arange(n).split(EVAL_BATCH):
        batch = test.batch(index)
        errors = answer_errors(model(batch.x), batch.y)
        squared, to_mean = squared + errors[0], to_mean + errors[1]
    epochs = payload["state"]["epoch"] if "state" in payload else protocol["epochs"]
    return (protocol, epochs, (squared / n).tolist(),
            (to_mean / n).tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a denoising run folder of brc-rl supervised")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=int, default=None,
                        help="test sequences (default: the run's test size)")
    args = parser.parse_args()
    protocol, epochs, mse, to_mean = per_step_mse(args.run, args.seed, args.test_size)
    print(f"{args.run} seed {args.seed} ({protocol['cell']}, {epochs} epochs done)")
    print("| answer step | " + " | ".join(f"t{k + 1}" for k in range(5)) + " | mean |")
    print("|---|" + "---|" * 6)
    for name, row in (("test MSE", mse), ("distance to the mean of the five", to_mean)):
        print(f"| {name} | " + " | ".join(f"{m:.4f}" for m in row) + f" | {sum(row) / 5:.4f} |")


if __name__ == "__main__":
    main()
