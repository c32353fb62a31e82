"""Plot success rate against corridor length from ``brc-rl horizon --json`` files.

    python scripts/tmaze_horizon_plot.py OUT.png "panel:TITLE" LABEL=FILE.json [...] ["panel:TITLE" ...]

Each ``panel:TITLE`` starts a new panel (side by side) holding the files that follow it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv: list[str]) -> None:
    panels: list[tuple[str, list[tuple[str, str]]]] = []
    for arg in argv[1:]:
        if arg.startswith("panel:"):
            panels.append((arg.removeprefix("panel:"), []))
        elif "=" in arg and panels:
            label, path = arg.split("=", 1)
            panels[-1][1].append((label, path))
        else:
            raise SystemExit(__doc__)
    if not panels:
        raise SystemExit(__doc__)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 5.0), squeeze=False, sharey=True)
    markers = "osD^v<>P"
    for ax, (title, series) in zip(axes[0], panels):
        for i, (label, path) in enumerate(series):
            results = json.loads(Path(path).read_text())["results"]
            ax.plot([r["corridor_length"] for r in results], [r["success_rate"] for r in results],
                    marker=markers[i % len(markers)], label=label, alpha=0.75,
                    markersize=9 - i, linestyle="-" if i % 2 == 0 else "--")
        ax.axhline(0.5, color="grey", linestyle=":", label="chance (no memory)")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("corridor length L at evaluation")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    axes[0][0].set_ylabel("success rate (100 episodes)")
    fig.tight_layout()
    fig.savefig(argv[0], dpi=120)

if __name__ == "__main__":
    main(sys.argv[1:])
