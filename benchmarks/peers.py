"""Helpers the side-by-side benchmarks share: run a side in its own process, write a workload.

Each side prints one JSON line on stdout with its own timings; `run_measured` adds the whole
process's wall time and its peak RSS, taken from `os.wait4` for that one child.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time


def run_measured(command: list[str], env: dict | None = None) -> dict:
    """Runs `command`; returns its last stdout JSON line plus wall seconds and peak RSS (MB).

    Args:
      command: the argv of one side (its Python and script).
      env: variables added to this process's environment (TF logs are silenced).

    Raises:
      RuntimeError: the command failed or printed no JSON line; the message has its output's end.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=err,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        )
        _, status, usage = os.wait4(process.pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = [x for x in stdout.splitlines() if x.startswith("{")]
    if returncode or not lines:
        raise RuntimeError(
            f"{' '.join(command[:3])} failed (exit {returncode}):\n"
            f"{stdout[-1500:]}\n{stderr[-1500:]}"
        )
    return {
        **json.loads(lines[-1]),
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    }


def make_pack_workload(
    python: str,
    peers_dir: str,
    work_dir: str | os.PathLike,
    nodes: int,
    labeled_fraction: float,
    degree: int,
    dim: int,
) -> None:
    """Writes the peers' synthetic workload (labeled.tfr, unlabeled.tfr, graph.tsv) to work_dir.

    Args:
      python: the interpreter that runs `make_pack_workload.py` (it needs TensorFlow).
      peers_dir: folder of the peer scripts.
      work_dir: output folder.
      nodes, labeled_fraction, degree, dim: the workload's size, as the peer script takes them.
    """
    subprocess.run(
        [
            python,
            f"{peers_dir}/make_pack_workload.py",
            str(work_dir),
            str(nodes),
            str(labeled_fraction),
            str(degree),
            str(dim),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
