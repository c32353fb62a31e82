"""Measured results next to the paper's tables, as Markdown (``brc-rl supervised-table``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from brc_rl.supervised.paper import CELL_COLUMNS, PAPER_COLUMNS, PAPER_TABLES
from brc_rl.supervised.protocol import BENCHMARKS, departures

# Dataset parameters fixed by a paper table (a measured run with another value is labelled).
FIXED_PARAMS: dict[str, dict[str, int]] = {"denoising": {"seq_len": 400}}
RESULTS_FORMAT = "brc_rl.supervised.results/1"


def load_results(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Read results files written by ``brc-rl supervised``.

    Raises:
        ValueError: a file is not such a results file.
    """
    results = []
    for path in paths:
        payload = json.loads(Path(path).read_text())
        if not isinstance(payload, dict) or payload.get("format") != RESULTS_FORMAT:
            raise ValueError(
                f"{path} is not a brc-rl supervised results file (format {RESULTS_FORMAT})")
        if payload["benchmark"] not in BENCHMARKS:
            raise ValueError(f"{path}: unknown benchmark {payload['benchmark']!r}; "
                             f"expected one of {sorted(BENCHMARKS)}")
        payload["_path"] = str(path)
        results.append(payload)
    return results


def fmt(mean: float, std: float) -> str:
    """``0.010+-0.003``: three decimals, as the paper."""
    return f"{mean:.3f}+-{std:.3f}"


def fmt_summary(summary: dict[str, float]) -> str:
    """``mean+-std`` over the seeds; a single seed has no spread: ``0.409 (1 seed)``.

    Three decimals as the paper, but a mean below 0.01 keeps two significant digits
    (``8.2e-04+-3.0e-04``), so that a measured 0.0008 is not printed as 0.000.
    """
    spec = ".3f" if summary["mean"] == 0 or abs(summary["mean"]) >= 0.01 else ".1e"
    if summary["n"] == 1:
        return f"{summary['mean']:{spec}} (1 seed)"
    return f"{summary['mean']:{spec}}+-{summary['std']:{spec}}"


def protocol_note(protocol: dict[str, Any]) -> str:
    """One line saying what a run did."""
    seeds = protocol["seeds"]
    text = (f"{protocol['epochs']} epochs, {protocol['train_size']} train / "
            f"{protocol['test_size']} test samples, batch {protocol['batch_size']}, "
            f"Adam lr {protocol['lr']:g}, "
            f"{protocol['num_layers']} x {protocol['hidden_size']} units, "
            f"{len(seeds)} seed(s) {seeds}")
    if protocol.get("warmup"):
        text += f", warm-up {protocol['warmup']}"
    if departures(protocol):
        return f"REDUCED ({'; '.join(protocol['reduced_reasons'])}): {text}"
    if protocol["reduced"]:
        return f"the paper's settings, {len(seeds)} of its 3 seeds: {text}"
    return f"full protocol: {text}"


def warmup_tag(protocol: dict[str, Any]) -> str:
    """`` + warm-up`` (`` + partial warm-up``) for a run with a warm-up, else empty: its column's suffix."""
    warmup = protocol.get("warmup")
    return "" if not warmup else " + partial warm-up" if warmup.get("partial") else " + warm-up"


def render_tables(results: Sequence[dict[str, Any]]) -> str:
    """Markdown: for each benchmark measured, the paper's table with measured rows added.

    A measured row gives mean +- std over the run's seeds in the column of its cell
    (cells the paper did not test get their own column); its source label points to a
    note that states the run's protocol, and whether it was reduced.
    """
    blocks, notes = [], []
    for benchmark, table in PAPER_TABLES.items():
        # The paper's settings first, then reduced runs, whatever the order of the files.
        mine = sorted((r for r in results if r["benchmark"] == benchmark),
                      key=lambda r: bool(departures(r["protocol"])))
        if mine:
            blocks.append(_render_one(benchmark, table, mine, notes))
    if notes:
        blocks.append("Notes:\n\n" + "\n".join(f"{i + 1}. {n}" for i, n in enumerate(notes)))
    return "\n\n".join(blocks) + "\n"


def _render_one(benchmark: str, table: dict[str, Any], results: list[dict[str, Any]],
                notes: list[str]) -> str:
    metrics = BENCHMARKS[benchmark].metrics
    key = table["key"]
    columns = list(PAPER_COLUMNS)
    groups: dict[tuple[Any, str], dict[str, dict[str, str]]] = {}
    for r in results:
        params = r["protocol"]["dataset_params"]
        label = _source_label(benchmark, params, r, notes)
        cells = groups.setdefault((params.get(key) if key else None, label), {})
        column = CELL_COLUMNS.get(r["cell"], r["cell"]) + warmup_tag(r["protocol"])
        if column not in columns:
            columns.append(column)
        for m in metrics:
            cells.setdefault(m, {})[column] = fmt_summary(r["summary"][m])
    header = ([table["key_label"]] if key else []) + (["metric"] if len(metrics) > 1 else [])
    header += ["source"] + columns
    lines = [f"### {table['title']}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    keys = sorted(set(table["rows"]) | {k for k, _ in groups}, key=lambda k: (k is None, k or 0))
    for k in keys:
        for m in metrics:
            lead = ([str(k)] if key else []) + ([m] if len(metrics) > 1 else [])
            if k in table["rows"]:
                paper = table["rows"][k][m]
                values = [fmt(*paper[c]) if c in paper else "" for c in columns]
                lines.append("| " + " | ".join(lead + ["paper"] + values) + " |")
            for (gk, label), cells in groups.items():
                if gk == k:
                    values = [cells[m].get(c, "") for c in columns]
                    lines.append("| " + " | ".join(lead + [label] + values) + " |")
    return "\n".join(lines)


def _source_label(benchmark: str, params: dict[str, Any], result: dict[str, Any],
                  notes: list[str]) -> str:
    note = protocol_note(result["protocol"])
    if note not in notes:
        notes.append(note)
    extra = [f"{k}={v}" for k, v in params.items()
             if k in FIXED_PARAMS.get(benchmark, {}) and v != FIXED_PARAMS[benchmark][k]]
    protocol = result["protocol"]
    reduced = (", reduced" if departures(protocol) else
               f", {len(protocol['seeds'])} seed(s)" if protocol["reduced"] else "")
    params = f" ({', '.join(extra)})" if extra else ""
    return f"measured{reduced}{params} [{notes.index(note) + 1}]"
