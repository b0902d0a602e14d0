"""Tests of examples/common.py (result rows, table, JSON) used by every example."""

import json
import os
import pathlib
import platform
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))

import common  # noqa: E402


def test_result_row_mean_and_std():
    row = common.result_row("MLP", "cora", [0.5, 0.6, 0.7], [1.0, 2.0, 3.5])
    assert row == {
        "model": "MLP",
        "dataset": "cora",
        "seeds": 3,
        "test_accuracy_mean": 0.6,
        "test_accuracy_std": 0.0816,  # population std of 0.5, 0.6, 0.7
        "train_seconds": 6.5,
    }
    assert common.result_row("MLP", "cora", [0.8], 4.0)["train_seconds"] == 4.0


def test_result_row_rejects_percentages_and_empty():
    with pytest.raises(ValueError, match="fractions"):
        common.result_row("MLP", "cora", [78.0], 1.0)
    with pytest.raises(ValueError, match="empty"):
        common.result_row("MLP", "cora", [], 1.0)


def test_table_and_json(tmp_path, capsys):
    rows = [
        common.result_row("MLP", "cora", [0.55, 0.57], 2.0),
        common.result_row("MLP + graph regularization", "cora", [0.79, 0.8], 30.0),
    ]
    common.print_table(rows)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["dataset", "model", "seeds"]
    assert "79.5 ± 0.5 %" in lines[3] and lines[3].rstrip().endswith("30.0")
    path = tmp_path / "out" / "results.json"
    common.write_results_json(path, rows)
    saved = json.loads(path.read_text())
    assert saved["results"] == rows
    assert saved["environment"]["packages"]["numpy"] == np.__version__
    with pytest.raises(ValueError, match="train_seconds"):
        common.write_results_json(path, [{"model": "x", "dataset": "y"}])


def test_environment_names_installed_versions_and_absent_packages():
    env = common.environment(("numpy", "graphnsl-no-such-distribution"))
    assert env["packages"] == {"numpy": np.__version__, "graphnsl-no-such-distribution": None}
    assert env["python"] == platform.python_version()
    assert env["cpu_count"] == os.cpu_count()
