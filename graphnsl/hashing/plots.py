"""PNG plots of hashing results: mAP against code length, precision against recall.

Both take result rows as written by the examples (`method`, `bits`, `map`,
`pr_curve_recall`, `pr_curve_precision`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["map_vs_bits", "precision_recall"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, ".tmp-" + os.path.basename(path))
    fig.savefig(temporary, dpi=120, bbox_inches="tight", format="png")
    os.replace(temporary, path)


def map_vs_bits(results: Sequence[dict], bits: Sequence[int], path: str, title: str = "") -> None:
    """One line per method: mAP at each code length in `bits`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    methods = list(dict.fromkeys(r["method"] for r in results))
    for method in methods:
        points = sorted(
            (r["bits"], r["map"]) for r in results if r["method"] == method and r["bits"] in bits
        )
        if len(points) < 2:
            continue
        ax.plot(*zip(*points, strict=True), marker="o", label=method)
    ax.set_xticks(list(bits))
    ax.set_xlabel("code length (bits)")
    ax.set_ylabel("mAP (Hamming ranking)")
    ax.set_title(title or "mAP vs code length")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)


def precision_recall(results: Sequence[dict], path: str, title: str = "") -> None:
    """One precision-recall curve (Hamming ranking) per result row."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for row in results:
        ax.plot(
            row["pr_curve_recall"],
            row["pr_curve_precision"],
            label=f"{row['method']} ({row['map']:.3f})",
        )
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title or "precision-recall")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)
