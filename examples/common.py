"""Helpers shared by the examples: result rows, a printed table, and the JSON result file.

The JSON schema, with accuracies as fractions:
`{"results": [{"model", "dataset", "seeds", "test_accuracy_mean", "test_accuracy_std",
"train_seconds"}, ...], "environment": environment()}`.
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


# Installed distributions whose versions a result file records: seeded figures are reproducible
# to the digit within one environment and can move by a few tenths between versions.
PACKAGES = (
    "tensorflow",
    "keras",
    "numpy",
    "scipy",
    "scikit-learn",
    "graph-nets",
    "dm-sonnet",
    "faiss-cpu",
)


def environment(packages: Sequence[str] = PACKAGES) -> dict:
    """Python, platform, CPU count and the installed version of each of `packages` (None if absent)."""
    import platform
    from importlib import metadata

    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }


def run(main, define_flags) -> None:
    """Defines the flags and runs `main` with absl; `--help`, `-h`, `--helpshort` exit 0.

    absl's own `--help` exits 1 and it rejects `-h`; here both print the script's docstring
    and its own flags (absl's: `--helpfull`).
    """
    import sys

    from absl import app, flags

    define_flags()
    args = sys.argv[1:]
    args = args[: args.index("--")] if "--" in args else args
    if any(arg in ("-h", "-help", "--help", "-helpshort", "--helpshort") for arg in args):
        main_module = sys.modules["__main__"]
        print((main_module.__doc__ or "").strip())
        print()
        print(flags.FLAGS.main_module_help())
        print("\n(--helpfull also lists absl's own flags.)")
        sys.exit(0)
    app.run(main)


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
    """Writes `{"results": rows, "environment": environment()}` to `path` (temporary file, rename).

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
        payload = {"results": [dict(row) for row in rows], "environment": environment()}
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
