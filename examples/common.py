"""Helpers shared by the examples: result rows, a printed table, and the JSON result file.

The JSON schema, with accuracies as fractions:
`{"results": [{"model", "dataset", "seeds", "test_accuracy_mean", "test_accuracy_std",
"train_seconds"}, ...]}`.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Sequence

import numpy as np

FIELDS = (
    "model",
    "dataset",
    "seeds",
    "test_accuracy_mean",
    "test_accuracy_std",
    "train_seconds",
)


def import_tensorflow():
    """Imports TensorFlow without its start-up banners (see `graphnsl._quiet`)."""
    from graphnsl import _quiet

    return _quiet.import_tensorflow()


def result_row(
    model: str, dataset: str, accuracies: Sequence[float], seconds: float | Sequence[float]
) -> dict:
    """One result: the mean and (population) std of per-seed test accuracies.

    Args:
      model: the model's name, e.g. 'MLP' or 'MLP + graph reg'.
      dataset: e.g. 'cora' or 'cora (random80)'.
      accuracies: test accuracy of each seed, fractions in [0, 1].
      seconds: training seconds, total over seeds, or one value per seed (summed).

    Returns:
      A dict with the `FIELDS` keys.
    """
    values = np.asarray(list(accuracies), dtype=np.float64)
    if values.size == 0:
        raise ValueError(f"accuracies for {model!r} on {dataset!r} is empty.")
    if np.any(values < 0) or np.any(values > 1):
        raise ValueError(f"accuracies {values.tolist()} must be fractions in [0, 1].")
    total = float(np.sum(seconds)) if not np.isscalar(seconds) else float(seconds)
    return {
        "model": str(model),
        "dataset": str(dataset),
        "seeds": int(values.size),
        "test_accuracy_mean": round(float(values.mean()), 4),
        "test_accuracy_std": round(float(values.std()), 4),
        "train_seconds": round(total, 2),
    }


def format_table(rows: Sequence[dict]) -> str:
    """The rows as an aligned text table: dataset, model, seeds, accuracy (mean ± std), seconds."""
    header = ("dataset", "model", "seeds", "test accuracy", "train s")
    lines = [
        (
            row["dataset"],
            row["model"],
            str(row["seeds"]),
            f"{100 * row['test_accuracy_mean']:.1f} ± {100 * row['test_accuracy_std']:.1f} %",
            f"{row['train_seconds']:.1f}",
        )
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells):
        return "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def print_table(rows: Sequence[dict]) -> None:
    """Prints `format_table(rows)`."""
    print(format_table(rows), flush=True)


def write_results_json(path: str | os.PathLike, rows: Sequence[dict]) -> None:
    """Writes `{"results": rows}` to `path` (through a temporary file, then a rename).

    Raises:
      ValueError: a row lacks one of `FIELDS`; the message names the row and the field.
    """
    for index, row in enumerate(rows):
        missing = [field for field in FIELDS if field not in row]
        if missing:
            raise ValueError(f"result row {index} ({row.get('model')!r}) lacks {missing}.")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump({"results": [dict(row) for row in rows]}, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
