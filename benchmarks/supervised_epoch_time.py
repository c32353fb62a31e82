"""Estimate one epoch of a supervised benchmark at the paper's sizes from a few batches.

    PYTHONPATH=. python benchmarks/supervised_epoch_time.py copy-first --seq-len 300 \
        --cells nbrc gru --batches 5

Times ``--batches`` training updates (forward, backward, Adam) and as many test
forward passes, after one warm-up of each, then extrapolates to the protocol's
400 updates (40,000 samples / 100) and 50,000 test samples (MNIST: 600 and 10,000).
The figures are an EXTRAPOLATION, not a measured epoch.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from brc_rl.supervised.protocol import SupervisedConfig
from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.train import EVAL_BATCH, build_data, to_device, train_step


def seconds_per_call(fn, calls: int) -> float:
    fn()  # warm-up (numba compilation, allocator)
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def estimate(config: SupervisedConfig, batches: int) -> dict[str, float]:
    train_n, test_n = config.sizes()
    probe = dataclasses.replace(config, train_size=config.batch_size, test_size=EVAL_BATCH)
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
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for cell in args.cells:
        config = SupervisedConfig(args.benchmark, cell, seq_len=args.seq_len, forget=args.forget,
                                  black_lines=args.black_lines)
        r = estimate(config, args.batches)
        print(f"{config.run_name()}: {r['s_per_update']:.3f} s/update, "
              f"{r['s_per_test_batch']:.3f} s per {EVAL_BATCH} test samples -> extrapolated epoch "
              f"{r['train_epoch_s'] / 60:.1f} min training + {r['test_pass_s'] / 60:.1f} min test "
              f"({args.batches} updates timed)")


if __name__ == "__main__":
    main()
