"""graphnsl._quiet: TensorFlow's start-up lines filtered by level; examples run as written."""

import os
import subprocess
import sys

from graphnsl import _quiet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(_quiet.__file__)))

START_UP = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796172697.573043    8373 port.cc:153] oneDNN custom operations are on.\n"
    b"I0000 00:00:1796172697.573385    8373 cudart_stub.cc:31] Could not find cuda drivers.\n"
    b"W0000 00:00:1796172697.573385    8373 x.cc:1] a warning\n"
    b"E0000 00:00:1796172705.858998    8373 cuda_platform.cc:52] failed call to cuInit\n"
    b"/venv/keras/src/x.py:74: UserWarning: a Python warning\n"
    b"  self.data_adapter = data_adapters.get_data_adapter(\n"
)


def test_start_up_lines_follow_the_log_level():
    python_lines = START_UP.splitlines(keepends=True)[-2:]
    assert _quiet.filter_start_up_lines(START_UP, 0) == START_UP
    kept = _quiet.filter_start_up_lines(START_UP, 2).splitlines(keepends=True)
    assert kept == [START_UP.splitlines(keepends=True)[4], *python_lines]
    assert _quiet.filter_start_up_lines(START_UP, 3).splitlines(keepends=True) == python_lines


def test_quiet_defaults_respect_the_users_level(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    _quiet.quiet_defaults(verbose=True)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    _quiet.quiet_defaults()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    _quiet.quiet_defaults()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_examples_are_executable_as_the_readme_runs_them():
    for name in ("graph_reg_planetoid.py", "gnn_planetoid.py"):
        path = os.path.join(ROOT, "examples", name)
        with open(path, "rb") as file:
            assert file.readline() == b"#!/usr/bin/env python3\n", name
        assert os.access(path, os.X_OK), name
        mode = subprocess.run(
            ["git", "ls-files", "-s", f"examples/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        if mode:  # in a git checkout: the mode git records
            assert mode.startswith("100755 "), mode


def test_example_help_runs_as_written_and_exits_0():
    # `examples/graph_reg_planetoid.py --help` from the repository root, as the README has it.
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(
        ["examples/graph_reg_planetoid.py", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Plain MLP vs graph-regularized MLP")
    assert "--dataset: <cora|citeseer>: Planetoid dataset." in done.stdout
