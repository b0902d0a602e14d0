"""Helpers the side-by-side benchmarks share: find the peers, run a side, write a workload.

The peers live in one folder made by `benchmarks/setup_peers.sh DIR`: `DIR/nsl` (venv with
NSL 1.4.0 and tf-keras), `DIR/pyg` (venv with torch and torch_geometric) and the peer
scripts `DIR/*.py`. A benchmark takes that folder from `--peers_dir`, else from the
environment variable `GRAPHNSL_PEERS_DIR`, else `~/.cache/graphnsl/peers`
(`default_peers_dir`), and finds interpreters and scripts in it with `peer_python` and
`peer_script`, which say how to create them when they are missing.

Each side prints one JSON line on stdout with its own timings; `run_measured` adds the whole
process's wall time and its peak RSS, taken from `os.wait4` for that one child.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

PEERS_DIR_ENV = "GRAPHNSL_PEERS_DIR"
VENVS = {"nsl": "NSL 1.4.0 + tf-keras", "pyg": "torch + torch_geometric"}


def default_peers_dir() -> str:
    """`$GRAPHNSL_PEERS_DIR`, else `~/.cache/graphnsl/peers`: where setup_peers.sh puts them."""
    return os.environ.get(PEERS_DIR_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "graphnsl", "peers"
    )


def _setup_hint(peers_dir: str) -> str:
    return f"run `benchmarks/setup_peers.sh {peers_dir}` first (or pass --peers_dir=DIR)"


def peer_python(peers_dir: str | None, venv: str) -> str:
    """The interpreter of peer venv `venv` ('nsl' or 'pyg') under `peers_dir`.

    Args:
      peers_dir: the folder setup_peers.sh made; None means `default_peers_dir()`.
      venv: 'nsl' or 'pyg'.

    Raises:
      FileNotFoundError: the venv is missing; the message says how to create it.
    """
    if venv not in VENVS:
        raise ValueError(f"venv={venv!r}; expected one of {sorted(VENVS)}")
    peers_dir = peers_dir or default_peers_dir()
    python = os.path.join(peers_dir, venv, "bin", "python")
    if not os.path.exists(python):
        raise FileNotFoundError(
            f"No {VENVS[venv]} environment at {python}: {_setup_hint(peers_dir)}."
        )
    return python


def peer_script(peers_dir: str | None, name: str) -> str:
    """The peer script `name` (e.g. 'pyg_gcn_cora.py') in `peers_dir` (None: the default).

    Raises:
      FileNotFoundError: the script is missing; the message says how to get it.
    """
    peers_dir = peers_dir or default_peers_dir()
    path = os.path.join(peers_dir, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No peer script {path}: {_setup_hint(peers_dir)}.")
    return path


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
