"""Output files that appear whole or not at all: up-front checks and atomic writes.

`check_output_path` is what a tool calls before it reads any input, so that a missing
output folder, an output that is a folder, or an output that would overwrite one of the
inputs fails at once, naming the path. `AtomicOutput` writes beside the output under a
hidden temporary name and renames it into place only once complete; the temporary is
removed on every failure path: an exception (KeyboardInterrupt included) in the `with`
block, a failed rename, and SIGTERM while the block runs (see `_TerminationCleanup`).
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterable

__all__ = ["check_output_path", "AtomicOutput"]


def check_output_path(
    path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = ()
) -> str:
    """Fails clearly, before anything is read or written, when `path` cannot be an output.

    Args:
      path: the output file to write.
      inputs: the input files of the same run (empty or None entries are skipped); the
        output must not be one of them, by path or as the same file through a link.

    Returns:
      `path` as a str.

    Raises:
      FileNotFoundError: the output's folder does not exist.
      IsADirectoryError: `path` is a folder.
      ValueError: `path` is one of `inputs` (writing it would destroy that input).
    """
    path = os.fspath(path)
    if not path:
        raise ValueError("The output path is empty; give a file name to write.")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Output {path!r} is a folder, not a file; pass the path of the file to write."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Output folder {folder!r} does not exist (for output {path!r}); create it first."
        )
    for source in inputs or ():
        if source is None or not os.fspath(source):
            continue
        source = os.fspath(source)
        same = os.path.realpath(source) == os.path.realpath(path)
        if not same and os.path.exists(source) and os.path.exists(path):
            same = os.path.samefile(source, path)
        if same:
            raise ValueError(
                f"Output {path!r} is the input {source!r}: writing it would destroy that "
                "input; choose another output path."
            )
    return path


class _TerminationCleanup:
    """Removes live temporaries on SIGTERM, then dies of SIGTERM as the process would have.

    The handler is installed while at least one `AtomicOutput` is open, and only where that
    is safe: in the main thread (Python delivers signals there only) and when SIGTERM has
    its default action, so a handler someone else installed is never replaced. A forked
    child never removes its parent's files.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._paths: dict[str, int] = {}  # temporary path -> pid that created it
        self._installed = False

    def add(self, path: str) -> None:
        with self._lock:
            self._paths[path] = os.getpid()
            if not self._installed and threading.current_thread() is threading.main_thread():
                try:
                    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                        signal.signal(signal.SIGTERM, self._handle)
                        self._installed = True
                except (ValueError, OSError):  # no signals here (embedded interpreter)
                    pass

    def discard(self, path: str) -> None:
        with self._lock:
            self._paths.pop(path, None)
            if self._installed and not self._paths:
                if threading.current_thread() is threading.main_thread():
                    if signal.getsignal(signal.SIGTERM) == self._handle:
                        signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    self._installed = False

    def _handle(self, signum, frame) -> None:
        pid = os.getpid()
        for path, owner in list(self._paths.items()):
            if owner == pid:
                _remove(path)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self._installed = False
        os.kill(pid, signal.SIGTERM)


_CLEANUP = _TerminationCleanup()


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class AtomicOutput:
    """Opens a temporary file beside `path`; renames it to `path` on success only.

    Use as `with AtomicOutput(path, "w") as file: ...`. The checks of `check_output_path`
    (folder exists, `path` is not a folder) run on entry, before the temporary is created.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "wb"):
        self.path = os.fspath(path)
        self.mode = mode
        self.tmp: str | None = None

    def __enter__(self):
        check_output_path(self.path)
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, self.tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(self.path)}.", suffix=".tmp", dir=folder
        )
        _CLEANUP.add(self.tmp)
        try:
            self.file = os.fdopen(fd, self.mode)
        except BaseException:
            os.close(fd)
            self._abandon()
            raise
        return self.file

    def __exit__(self, exc_type, exc, tb):
        try:
            self.file.close()
            if exc_type is None:
                os.chmod(self.tmp, 0o644)
                os.replace(self.tmp, self.path)
        finally:
            # After a successful rename the temporary is gone and removing it is a no-op.
            self._abandon()
        return False

    def _abandon(self) -> None:
        _remove(self.tmp)
        _CLEANUP.discard(self.tmp)
