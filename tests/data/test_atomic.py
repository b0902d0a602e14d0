"""Tests for graphnsl.data.atomic: up-front output checks and temporaries never left behind."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from graphnsl.data import atomic
from graphnsl.data import examples as ex


def test_output_that_is_a_folder_fails_before_writing(tmp_path):
    folder = tmp_path / "out.tfr"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"out\.tfr' is a folder"):
        atomic.check_output_path(folder)
    written = []

    def records():
        written.append(1)
        yield b"x"

    with pytest.raises(IsADirectoryError, match="is a folder"):
        ex.write_records(folder, records())
    assert written == []  # failed before the records were even asked for
    assert sorted(os.listdir(tmp_path)) == ["out.tfr"] and os.listdir(folder) == []
    with pytest.raises(IsADirectoryError):
        ex.write_graph_tsv(folder, [("a", "b", 1.0)])
    assert sorted(os.listdir(tmp_path)) == ["out.tfr"]


def test_missing_output_folder(tmp_path):
    path = tmp_path / "missing" / "out.tsv"
    with pytest.raises(FileNotFoundError, match=r"Output folder .*missing' does not exist"):
        atomic.check_output_path(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ex.write_graph_tsv(path, [("a", "b", 1.0)])
    assert os.listdir(tmp_path) == []


def test_output_equal_to_an_input_by_path_link_or_hard_link(tmp_path):
    source = tmp_path / "in.tfr"
    ex.write_records(source, [b"keep"])
    (tmp_path / "sub").mkdir()
    alias = tmp_path / "sub" / ".." / "in.tfr"
    symlink = tmp_path / "link.tfr"
    symlink.symlink_to(source)
    hard = tmp_path / "hard.tfr"
    os.link(source, hard)
    for output in (source, str(source), alias, symlink, hard):
        with pytest.raises(ValueError, match=r"is the input .*in\.tfr'.*destroy"):
            atomic.check_output_path(output, inputs=[None, "", tmp_path / "other", source])
    # Unrelated inputs, missing or present, pass; the path comes back as a str.
    assert atomic.check_output_path(tmp_path / "new.tfr", [source, tmp_path / "x"]) == str(
        tmp_path / "new.tfr"
    )
    assert list(ex.read_records(source)) == [b"keep"]


def test_existing_output_file_may_be_replaced(tmp_path):
    path = tmp_path / "o.tfr"
    path.write_bytes(b"old")
    atomic.check_output_path(path, inputs=[tmp_path / "i.tfr"])
    assert ex.write_records(path, [b"new"]) == 1
    assert list(ex.read_records(path)) == [b"new"]
    assert os.listdir(tmp_path) == ["o.tfr"]


def test_temporary_removed_when_the_rename_fails(tmp_path, monkeypatch):
    def fail(src, dst):
        raise PermissionError(f"cannot rename to {dst}")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(PermissionError):
        with atomic.AtomicOutput(tmp_path / "o.txt", "w") as file:
            file.write("data")
    assert os.listdir(tmp_path) == []


def test_temporary_removed_after_keyboard_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic.AtomicOutput(tmp_path / "o.txt", "w") as file:
            file.write("data")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler gone with the file


def test_sigterm_handler_only_while_open_and_never_replaces_anothers(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    assert before == signal.SIG_DFL
    with atomic.AtomicOutput(tmp_path / "a", "w"):
        assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
        with atomic.AtomicOutput(tmp_path / "b", "w"):
            pass
        assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL  # "a" still open
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    def own(signum, frame):
        pass

    signal.signal(signal.SIGTERM, own)
    try:
        with atomic.AtomicOutput(tmp_path / "c", "w"):
            assert signal.getsignal(signal.SIGTERM) is own
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "c"]


def test_sigterm_while_writing_removes_the_temporary(tmp_path):
    # A child writes records from a generator that blocks after the first record; SIGTERM
    # must remove the hidden temporary and still end the child by SIGTERM.
    script = textwrap.dedent(
        f"""
        import sys, time
        from graphnsl.data import examples as ex

        def records():
            yield b"first"
            print("writing", flush=True)
            time.sleep(60)
            yield b"never"

        ex.write_records({str(tmp_path / "out.tfr")!r}, records())
        """
    )
    root = os.path.dirname(os.path.dirname(atomic.__file__.rsplit(os.sep, 1)[0]))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # temporary exists
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
    assert os.listdir(tmp_path) == []
