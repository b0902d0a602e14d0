"""The `graphnsl` dispatcher: usage, per-subcommand help, one-line errors and exit codes."""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from graphnsl import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(cli.__file__)))

# A subcommand module of our own, so the dispatcher's handling of absl validators, usage
# errors, data errors and unexpected errors is tested apart from the real tools.
FAKE_MODULE = '''
"""A fake subcommand for the dispatcher's tests."""

from absl import app, flags

ARGUMENTS = (("INPUT", "File to read."), ("OUTPUT", "File to write."))


def define_flags():
    flags.DEFINE_float("fake_threshold", 0.5, "A threshold in [0, 1].")
    flags.register_validator(
        "fake_threshold", lambda v: 0 <= v <= 1, message="--fake_threshold must be in [0, 1]"
    )
    flags.DEFINE_enum("fake_fail", "none", ["none", "value", "os", "bug", "key"], "What fails.")


def main(argv):
    if len(argv) != 3:
        raise app.UsageError(f"Expected 2 arguments (INPUT OUTPUT), got {len(argv) - 1}")
    fail = flags.FLAGS.fake_fail
    if fail == "value":
        raise ValueError(f"{argv[1]}: line 3: bad weight 'x'")
    if fail == "os":
        open(argv[1])
    if fail == "bug":
        raise RuntimeError("internal\\nstate")
    if fail == "key":
        {}["gone"]
    print(f"ran {argv[1:]} at {flags.FLAGS.fake_threshold}")
'''


@pytest.fixture
def fake(tmp_path, monkeypatch):
    (tmp_path / "fake_subcommand.py").write_text(FAKE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.SUBCOMMANDS, "fake", ("fake_subcommand", "A fake for tests."))
    monkeypatch.delenv("GRAPHNSL_VERBOSE", raising=False)
    return tmp_path


def test_usage_lists_subcommands(capsys):
    assert cli.main(["graphnsl", "--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.SUBCOMMANDS:
        assert name in out


def test_unknown_subcommand(capsys):
    assert cli.main(["graphnsl", "frobnicate"]) == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err


def test_each_subcommand_module_has_flags_and_main():
    for module_name, _ in cli.SUBCOMMANDS.values():
        module = importlib.import_module(module_name)
        assert callable(module.define_flags) and callable(module.main), module_name


def test_fake_help_lists_its_flags_and_arguments(fake, capsys):
    for option in ("--help", "-h", "--helpshort"):
        assert cli.main(["graphnsl", "fake", option]) == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: graphnsl fake [flags] INPUT OUTPUT\n")
        assert "  INPUT\n      File to read." in out and "  OUTPUT\n      File to write." in out
        assert "--fake_threshold=FLOAT\n      A threshold in [0, 1]. (default: 0.5)" in out
        assert "--fake_fail={none,value,os,bug,key}" in out and "--[no]verbose" in out
        assert "--verbosity" not in out  # absl's own flags only with --helpfull
    assert cli.main(["graphnsl", "fake", "--helpfull"]) == 0
    assert "--verbosity" in capsys.readouterr().out


def test_fake_runs_and_reruns_from_defaults(fake, capsys):
    assert cli.main(["graphnsl", "fake", "--fake_threshold=0.25", "a", "b"]) == 0
    assert capsys.readouterr().out == "ran ['a', 'b'] at 0.25\n"
    assert cli.main(["graphnsl", "fake", "a", "b"]) == 0  # second run: back to the default
    assert capsys.readouterr().out == "ran ['a', 'b'] at 0.5\n"


@pytest.mark.parametrize(
    "args, code, line",
    [
        (["a"], 2, "Expected 2 arguments (INPUT OUTPUT), got 1 (see `graphnsl fake --help`)"),
        (["--fake_threshold=2", "a", "b"], 2, "--fake_threshold must be in [0, 1]"),
        (["--fake_threshold=abc", "a", "b"], 2, "could not convert string to float: 'abc'"),
        (["--nosuch", "a", "b"], 2, "Unknown command line flag 'nosuch'"),
        (["--fake_fail=value", "a", "b"], 1, "error: a: line 3: bad weight 'x'"),
        (["--fake_fail=os", "missing.tfr", "b"], 1, "No such file or directory: 'missing.tfr'"),
        (["--fake_fail=bug", "a", "b"], 1, "RuntimeError: internal state (rerun with --verbose"),
        (["--fake_fail=key", "a", "b"], 1, "KeyError: missing key 'gone'"),
    ],
)
def test_fake_errors_are_one_line_with_exit_codes(fake, capsys, args, code, line):
    assert cli.main(["graphnsl", "fake", *args]) == code
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphnsl fake: error: "), captured.err
    assert line in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""


def test_verbose_adds_the_traceback(fake, capsys, monkeypatch):
    assert cli.main(["graphnsl", "fake", "--verbose", "--fake_fail=value", "a", "b"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and 'raise ValueError(f"{argv[1]}' in err
    assert err.splitlines()[-1] == "graphnsl fake: error: a: line 3: bad weight 'x'"
    monkeypatch.setenv("GRAPHNSL_VERBOSE", "1")
    assert cli.main(["graphnsl", "fake", "--fake_fail=bug", "a", "b"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1].endswith("RuntimeError: internal state")


def test_positional_arguments_fallback_to_the_main_docstring():
    class WithDoc:
        @staticmethod
        def main(argv):
            """`graphnsl tool [flags] EMB_FILE... OUTPUT_TSV` (two or more)."""

    assert cli.positional_arguments(WithDoc) == ("EMB_FILE... OUTPUT_TSV", [("", "(two or more)")])

    class Named:
        ARGUMENTS = "A B"

        @staticmethod
        def main(argv):
            """No usage here."""

    assert cli.positional_arguments(Named) == ("A B", [])
    Named.ARGUMENTS = None
    assert cli.positional_arguments(Named) == ("", [])


# The real subcommands, each in a child process (their flags would clash in one process).
_CHILD = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from graphnsl import cli

    results = []
    for args in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["graphnsl", *args])
        results.append([code, out.getvalue(), err.getvalue()])
    print(json.dumps(results))
    """
)


def _in_child(runs, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("GRAPHNSL_VERBOSE", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(runs)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "name, flags_shown, usage",
    [
        ("pack-nbrs", ["--max_nbrs=INT", "--[no]add_undirected_edges"], "LABELED UNLABELED"),
        ("build-graph", ["--similarity_threshold=FLOAT", "--id_feature_name"], "OUTPUT_TSV"),
        ("prepare-planetoid", ["--dataset={cora,citeseer,pubmed}", "--output_dir"], ""),
        ("demo", ["--epochs=INT", "--output_dir=STRING"], ""),
    ],
)
def test_real_subcommand_help_and_errors(tmp_path, name, flags_shown, usage):
    runs = [[name, "--help"], [name, "-h"], [name, "--helpshort"], [name, "--nosuchflag"]]
    if name == "pack-nbrs":
        runs += [[name, "a.tfr"], [name, "missing.tfr", "", "g.tsv", "out.tfr"]]
    results = _in_child(runs, tmp_path)
    for code, out, err in results[:3]:
        assert code == 0 and err == ""
        assert out.startswith(f"usage: graphnsl {name} [flags]") and usage in out.splitlines()[0]
        assert cli.SUBCOMMANDS[name][1] in out
        for shown in flags_shown:
            assert shown in out
    code, out, err = results[3]
    assert code == 2
    assert err == f"graphnsl {name}: error: Unknown command line flag 'nosuchflag' " + (
        f"(see `graphnsl {name} --help`)\n"
    )
    if name == "pack-nbrs":
        code, _, err = results[4]
        assert code == 2 and err.startswith("graphnsl pack-nbrs: error: Expected 4 arguments")
        code, _, err = results[5]
        assert code == 1 and err == "graphnsl pack-nbrs: error: pack_nbrs: no such file: " + (
            "'missing.tfr'\n"
        )
    assert os.listdir(tmp_path) == []
