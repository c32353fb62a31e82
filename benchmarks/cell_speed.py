"""Training-step speed of the memories against torch.nn.GRU, measured in one process.

Usage: python benchmarks/cell_speed.py [--repeats 5] [--threads 2] [--cells ...] [--json PATH]

A training step is forward + backward (loss on the last output) + Adam step, the way
the supervised benchmarks train. Cells are timed in interleaved rounds (gru, lstm, brc,
nbrc, lsnn, src, gru, ...) so that a noisy machine slows all of them alike; ratios are
of medians. The spiking memories (lsnn, src) have no target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

import torch

from brc_rl.nn import make_rnn

# (L, N, H_in, H, layers) -> target ratio to torch.nn.GRU per cell.
TARGETS: dict[tuple[int, int, int, int, int], dict[str, float]] = {
    (784, 100, 1, 128, 2): {"brc": 0.2, "nbrc": 0.7},
    (600, 100, 1, 128, 2): {"brc": 0.2, "nbrc": 0.7},
    (128, 16, 64, 128, 1): {"brc": 0.5, "nbrc": 1.0},
}
LENGTH_CHECK = {"lengths": (100, 1000), "N": 32, "H_in": 32, "H": 128, "max_ratio": 15.0}
CELLS = ("gru", "lstm", "brc", "nbrc", "lsnn", "src")


@dataclass
class ShapeResult:
    shape: tuple[int, int, int, int, int]
    seconds: dict[str, list[float]]  # every repeat, per cell
    median: dict[str, float] = field(default_factory=dict)
    ratio_to_gru: dict[str, float] = field(default_factory=dict)
    target: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        self.median = {c: statistics.median(s) for c, s in self.seconds.items()}
        self.ratio_to_gru = {c: m / self.median["gru"] for c, m in self.median.items()}


def _step_timer(cell: str, shape: tuple[int, ...], seed: int = 0):
    L, N, H_in, H, layers = shape
    torch.manual_seed(seed)
    # torch.nn.GRU itself for "gru" (the reference), our modules otherwise.
    rnn = torch.nn.GRU(H_in, H, layers) if cell == "gru" else make_rnn(cell, H_in, H, layers)
    optimizer = torch.optim.Adam(rnn.parameters(), lr=1e-3)
    x = torch.randn(L, N, H_in)

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad()
        output, _ = rnn(x)
        output[-1].pow(2).mean().backward()
        optimizer.step()
        return time.perf_counter() - start

    step()  # warm-up (and numba compilation)
    return step


def time_shape(shape: tuple[int, ...], cells=CELLS, repeats: int = 5) -> ShapeResult:
    """Median training-step time of each cell at one shape, in interleaved rounds."""
    timers = {cell: _step_timer(cell, shape) for cell in cells}
    seconds: dict[str, list[float]] = {cell: [] for cell in cells}
    for _ in range(repeats):
        for cell, step in timers.items():
            seconds[cell].append(step())
    return ShapeResult(tuple(shape), seconds, target=TARGETS.get(tuple(shape), {}))


def length_scaling(cells=("gru", "brc", "nbrc", "lsnn", "src"), repeats: int = 5) -> dict[str, float]:
    """time(L=1000) / time(L=100) per cell at N=32, H=128 (linear in L means about 10)."""
    short, long = LENGTH_CHECK["lengths"]
    n, h_in, h = LENGTH_CHECK["N"], LENGTH_CHECK["H_in"], LENGTH_CHECK["H"]
    r_short = time_shape((short, n, h_in, h, 1), cells, repeats)
    r_long = time_shape((long, n, h_in, h, 1), cells, repeats)
    return {c: r_long.median[c] / r_short.median[c] for c in cells}


def run(repeats: int = 5, threads: int = 2, cells=CELLS, shapes=None) -> dict:
    """Run every shape and the length check; returns a JSON-ready dict."""
    if "gru" not in cells:
        raise ValueError(f"cells must include 'gru' (the reference), got {list(cells)}")
    torch.set_num_threads(threads)
    results = [time_shape(s, cells, repeats) for s in (shapes or TARGETS)]
    scaling = length_scaling(tuple(c for c in cells if c != "lstm"), repeats)
    return {
        "threads": threads,
        "repeats": repeats,
        "torch": torch.__version__,
        "shapes": [asdict(r) for r in results],
        "length_scaling": {"check": LENGTH_CHECK, "ratio": scaling},
    }


def format_table(report: dict) -> str:
    """Markdown table: median seconds per training step and ratios to torch.nn.GRU."""
    cells = list(report["shapes"][0]["median"])
    head = "| shape (L, N, H_in, H, layers) | " + " | ".join(
        f"{c} s" for c in cells
    ) + " | " + " | ".join(f"{c}/GRU (target)" for c in cells if c != "gru") + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(cells) - 1)]
    for r in report["shapes"]:
        times = " | ".join(f"{r['median'][c]:.4f}" for c in cells)
        ratios = " | ".join(
            f"{r['ratio_to_gru'][c]:.3f}" + (f" (<= {r['target'][c]})" if c in r["target"] else "")
            for c in cells if c != "gru"
        )
        lines.append(f"| {', '.join(map(str, r['shape']))} | {times} | {ratios} |")
    scaling = report["length_scaling"]
    check = scaling["check"]
    lines.append("")
    lines.append(
        f"time(L={check['lengths'][1]}) / time(L={check['lengths'][0]}) at N={check['N']}, "
        f"H={check['H']} (target <= {check['max_ratio']}): "
        + ", ".join(f"{c} {v:.1f}" for c, v in scaling["ratio"].items())
    )
    lines.append(
        f"(median of {report['repeats']} interleaved repeats, {report['threads']} threads, "
        f"torch {report['torch']})"
    )
    return "\n".join(lines)


def main(args) -> int:
    report = run(repeats=args.repeats, threads=args.threads, cells=tuple(args.cells))
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.json}")
    return 0


def add_arguments(parser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per cell and shape")
    parser.add_argument("--threads", type=int, default=2, help="torch / numba threads")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--json", metavar="PATH", help="also write the full report as JSON")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
