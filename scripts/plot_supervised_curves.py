"""Plot the test metric per epoch of ``brc-rl supervised`` runs, with the paper's figures.

One panel per (benchmark, dataset parameters); one line per results file (mean over its
seeds, each seed faint); the paper's 50-epoch value of the same cell dashed, same colour.
A run still in progress is plotted from its seed's ``checkpoint.pt`` (labelled with the
epochs done so far).

    PYTHONPATH=. python scripts/plot_supervised_curves.py \
        results/supervised/*/results.json --output results/supervised_curves.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from brc_rl.supervised.paper import CELL_COLUMNS, PAPER_TABLES  # noqa: E402
from brc_rl.supervised.protocol import BENCHMARKS, departures  # noqa: E402
from brc_rl.supervised.table import load_results  # noqa: E402

COLOURS = {"nbrc": "tab:blue", "brc": "tab:orange", "gru": "tab:green", "lstm": "tab:red"}


def panel_key(result: dict) -> tuple[str, str]:
    """(benchmark, "T=300"-style parameter text) of a results file."""
    params = ", ".join(f"{k}={v}" for k, v in result["protocol"]["dataset_params"].items())
    return result["benchmark"], params


def paper_value(result: dict, metric: str) -> float | None:
    """The paper's mean for this run's benchmark, parameter and cell, if it has one."""
    table = PAPER_TABLES.get(result["benchmark"])
    column = CELL_COLUMNS.get(result["cell"])
    if table is None or column is None:
        return None
    key = table["key"]
    row = table["rows"].get(result["protocol"]["dataset_params"].get(key) if key else None)
    if row is None or column not in row.get(metric, {}):
        return None
    return row[metric][column][0]


def from_checkpoint(path: Path) -> dict:
    """A results-like dict of the one seed a ``checkpoint.pt`` holds, epochs so far."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    protocol = {**payload["protocol"], "seeds": [payload["seed"]]}
    history = payload["state"]["history"]
    if not any("test" in h for h in history):
        raise SystemExit(f"{path}: no tested epoch yet")
    return {"benchmark": protocol["benchmark"], "cell": protocol["cell"], "protocol": protocol,
            "metrics": list(BENCHMARKS[protocol["benchmark"]].metrics),
            "history": {str(payload["seed"]): history}, "in_progress": len(history)}


def plot(results: list[dict], output: Path) -> None:
    """Write the figure to ``output``."""
    panels: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        panels.setdefault(panel_key(r), []).append(r)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    for ax, ((benchmark, params), runs) in zip(axes[0], sorted(panels.items())):
        metric = runs[0]["metrics"][0]
        seen: dict[str, int] = {}
        for r in sorted(runs, key=lambda r: (r["cell"], r["protocol"]["train_size"])):
            colour = COLOURS.get(r["cell"])
            style = ("o-", "s:", "^-.")[seen.get(r["cell"], 0) % 3]
            seen[r["cell"]] = seen.get(r["cell"], 0) + 1
            curves = []
            for history in r["history"].values():
                tested = [h for h in history if "test" in h]
                epochs = [h["epoch"] for h in tested]
                values = [h["test"][metric] for h in tested]
                curves.append(values)
                if len(r["history"]) > 1:
                    ax.plot(epochs, values, color=colour, alpha=0.3, lw=0.8)
            mean = np.mean(curves, axis=0)
            p = r["protocol"]
            done = r.get("in_progress", p["epochs"])
            reduced = bool(departures(p))
            label = (f"{r['cell']} ({'REDUCED: ' if reduced else ''}{done}/{p['epochs']} epochs, "
                     f"{p['train_size']}/{p['test_size']}, "
                     f"seed{'s' if len(p['seeds']) > 1 else ''} "
                     f"{', '.join(map(str, p['seeds']))})")
            ax.plot(epochs, mean, style, color=colour, ms=3, label=label)
            paper = paper_value(r, metric)
            if paper is not None:
                ax.axhline(paper, color=colour, ls="--", lw=1)
        ax.set_title(f"{benchmark} ({params})" if params else benchmark, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"test {metric}")
        if metric == "mse":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("measured runs (with markers; REDUCED: shorter than the paper's protocol);\n"
                 "dashed: the paper, same cell, after 50 full epochs, 3 seeds", fontsize=9)
    fig.tight_layout()
    fig.savefig(output, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, default=Path("supervised_curves.png"))
    args = parser.parse_args(argv)
    results = [from_checkpoint(p) for p in args.results if p.suffix == ".pt"]
    results += load_results([p for p in args.results if p.suffix != ".pt"])
    plot(results, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
