"""Forward + backward of one PPO training minibatch with resets inside its sequences.

The shape of benchmarks/rl_throughput.py's update on brc_rl/TMaze-v0: sequences of
L = 128 steps x N = 2, hidden 128, input 4 (the T-maze's observation), an episode start
at a step with probability 1/40 (episodes of at most 48 steps). Memories are timed in
interleaved rounds in one process; reported: the median milliseconds per minibatch and
the ratio to nbrc's median. ``gru-packed`` is brc_rl.nn.GRU forced onto its packed
native path (what the CPU ran before gru_scan), ``lstm-segments`` the LSTM's per-segment
oneDNN path.

Usage: python benchmarks/minibatch_resets.py [--repeats 25] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from brc_rl.nn import make_rnn


def make(name: str, args: argparse.Namespace) -> torch.nn.Module:
    cell, _, path = name.partition("-")
    rnn = make_rnn(cell, args.input, args.hidden, 1)
    if path:  # force one path for resets inside (instance attributes shadow the methods)
        rnn._scans = lambda x: path == "scan"
        rnn._packs = lambda x: path == "packed"
    return rnn


def step(rnn: torch.nn.Module, x: torch.Tensor, hx: torch.Tensor, resets: torch.Tensor) -> None:
    out, _ = rnn(x, hx, resets)
    out.sum().backward()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", nargs="+",
                        default=["nbrc", "gru-packed", "gru-scan", "lstm-segments", "lstm-scan"])
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--input", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.length, args.batch, args.input)
    resets = torch.rand(args.length, args.batch) < 1 / 40
    resets[0] = True
    rnns, states = {}, {}
    for name in args.memories:
        try:
            rnns[name] = make(name, args)
        except (KeyError, ValueError) as error:
            print(f"skip {name}: {error}")
            continue
        size = getattr(rnns[name], "state_size", args.hidden)
        states[name] = torch.randn(1, args.batch, size)
        for _ in range(3):  # warm-up: numba compilation, allocations
            step(rnns[name], x, states[name], resets)
    times: dict[str, list[float]] = {name: [] for name in rnns}
    for _ in range(args.repeats):
        for name, rnn in rnns.items():
            start = time.perf_counter()
            step(rnn, x, states[name], resets)
            times[name].append(time.perf_counter() - start)
    ref = statistics.median(times["nbrc"]) if "nbrc" in times else None
    print(f"L={args.length} N={args.batch} H_in={args.input} H={args.hidden} threads={args.threads} "
          f"repeats={args.repeats}, resets at {int(resets[1:].sum())} steps inside")
    for name, values in times.items():
        median = statistics.median(values)
        ratio = f"  {median / ref:.2f}x nbrc's time" if ref else ""
        print(f"{name:>14}: {1e3 * median:7.2f} ms (min {1e3 * min(values):.2f}){ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
