"""Estimate one epoch of a supervised benchmark at the paper's sizes from a few batches.

    PYTHONPATH=. python benchmarks/supervised_epoch_time.py copy-first --seq-len 300 \
        --cells nbrc gru --batches 5

Times ``--batches`` training updates (forward, backward, Adam) and half as many test
forward passes of 500 samples, after one warm-up of each (median per call), then
extrapolates to the protocol's 400 updates (40,000 samples / 100) and 50,000 test
samples (MNIST: 600 updates and 10,000 test samples). The figures are an EXTRAPOLATION,
not a measured epoch. Each cell is timed in its own
process, as a training run is: no cell inherits another's thread or allocator state.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.protocol import SupervisedConfig
from brc_rl.supervised.train import EVAL_BATCH, build_data, to_device, train_step


def seconds_per_call(fn, calls: int) -> float:
    """Median seconds of ``calls`` calls after one warm-up (numba compilation, allocator).

    The median, not the mean: on a shared machine a few calls stall on other jobs."""
    fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def estimate(config: SupervisedConfig, batches: int) -> dict[str, float]:
    train_n, test_n = config.sizes()
    probe = config.model_copy(update={"train_size": config.batch_size, "test_size": EVAL_BATCH})
    train, test = build_data(probe, 0)
    torch.manual_seed(0)
    model = SequenceModel(config.cell, train.input_size, train.output_size, config.spec.readout,
                          config.hidden_size, config.num_layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    train_batch = train.batch(torch.arange(config.batch_size))
    test_x, _, test_len = to_device(test.batch(torch.arange(EVAL_BATCH)), "cpu")

    def update():
        train_step(config, model, optimizer, train_batch, "cpu")

    @torch.no_grad()
    def forward():
        model(test_x, test_len)

    step = seconds_per_call(update, batches)
    evaluation = seconds_per_call(forward, max(1, batches // 2))
    updates = -(-train_n // config.batch_size)
    test_batches = -(-test_n // EVAL_BATCH)
    return {"s_per_update": step, "s_per_test_batch": evaluation,
            "train_epoch_s": step * updates, "test_pass_s": evaluation * test_batches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark")
    parser.add_argument("--cells", nargs="+", default=["nbrc", "gru"])
    parser.add_argument("--seq-len", type=int)
    parser.add_argument("--forget", type=int)
    parser.add_argument("--black-lines", type=int)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    if len(args.cells) > 1:
        for cell in args.cells:
            argv = [args.benchmark, "--cells", cell, "--batches", str(args.batches)]
            for option in ("seq_len", "forget", "black_lines"):
                if getattr(args, option) is not None:
                    argv += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
            subprocess.run([sys.executable, __file__, *argv], check=True)
        return
    config = SupervisedConfig(benchmark=args.benchmark, cell=args.cells[0], seq_len=args.seq_len,
                              forget=args.forget, black_lines=args.black_lines)
    r = estimate(config, args.batches)
    print(f"{config.run_name()} (torch {torch.__version__}, {torch.get_num_threads()} threads): "
          f"{r['s_per_update']:.3f} s/update, {r['s_per_test_batch']:.3f} s per {EVAL_BATCH} "
          f"test samples -> extrapolated epoch {r['train_epoch_s'] / 60:.1f} min training + "
          f"{r['test_pass_s'] / 60:.1f} min test ({args.batches} updates timed)")


if __name__ == "__main__":
    main()
