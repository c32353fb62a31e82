"""VAA of freshly initialised memories before and after warm-up, on copy-first-input sequences.

For every cell and seed: the memory of ``brc-rl supervised copy-first`` (``--num-layers``
x ``--hidden-size``, input size 1, as the supervised benchmarks build it), warmed up by
:func:`brc_rl.nn.warmup.warmup` with the paper's defaults (100 steps, lr 1e-2, batch 32,
target 0.95) on training sequences x_t ~ N(0, 1) of length ``--seq-len``; the exact
VAA (``--measure-steps`` stabilisation steps, the mean of ``--repeats`` estimates on
``--samples`` sequences each, +- their std) before and after.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/warmup_vaa.py --json results/warmup/vaa.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from brc_rl.nn import make_rnn
from brc_rl.nn.warmup import warmup
from brc_rl.supervised import make_dataset


def measure(cell: str, seed: int, args: argparse.Namespace) -> dict:
    torch.manual_seed(seed)
    rnn = make_rnn(cell, 1, args.hidden_size, args.num_layers, batch_first=True)
    x, _ = make_dataset("copy_first", args.sequences, seed=2 * seed, seq_len=args.seq_len)
    started = time.perf_counter()
    record = warmup(rnn, x, steps=args.steps, lr=args.lr, stabilisation_max=args.stabilisation_max,
                    measure_steps=args.measure_steps, measure_samples=args.samples, measure_repeats=args.repeats)
    return {"cell": cell, "seed": seed, "before": record.before.to_dict(), "after": record.after.to_dict(),
            "warmup_seconds": round(record.seconds, 2), "total_seconds": round(time.perf_counter() - started, 2),
            "final_loss": record.losses[-1] if record.losses else None,
            "mean_loss_last10": sum(record.losses[-10:]) / len(record.losses[-10:]) if record.losses else None,
            "vaa_star_last10": record.vaa_star[-10:]}


def table(rows: list[dict]) -> str:
    lines = ["| cell | seed | VAA before (layers) | VAA after (layers) | loss, last 10 steps | warm-up s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        def fmt(v: dict) -> str:
            return f"{v['overall']:.3f} +- {v['std']:.3f} ({', '.join(f'{x:.3f}' for x in v['layers'])})"

        lines.append(f"| {r['cell']} | {r['seed']} | {fmt(r['before'])} | {fmt(r['after'])} | "
                     f"{r['mean_loss_last10']:.4f} | {r['warmup_seconds']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["gru", "lstm", "brc", "nbrc"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=300)
    parser.add_argument("--sequences", type=int, default=3200, help="training sequences drawn (default 3200)")
    parser.add_argument("--steps", type=int, default=100, help="warm-up steps (default 100)")
    parser.add_argument("--lr", type=float, default=1e-2, help="warm-up learning rate (default 1e-2)")
    parser.add_argument("--stabilisation-max", type=int, default=200, help="largest T_s of the warm-up (default 200)")
    parser.add_argument("--measure-steps", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200, help="sequences per VAA estimate (default 200)")
    parser.add_argument("--repeats", type=int, default=10, help="VAA estimates averaged (default 10)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for cell in args.cells:
        for seed in args.seeds:
            rows.append(measure(cell, seed, args))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        args.json.write_text(json.dumps({"settings": settings, "torch": torch.__version__, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
