"""Keeps TensorFlow's start-up chatter off stderr for the command line and the examples.

`TF_CPP_MIN_LOG_LEVEL` filters TensorFlow's C++ log once its logging is initialized, but
importing TensorFlow loads two libraries that each print a banner before that (oneDNN's
notice, "Could not find cuda drivers" and absl's "All log messages before
absl::InitializeLog() ..."), whatever the level. `import_tensorflow` imports it with file
descriptor 2 redirected to a temporary file, then writes back every line the level would
have let through (Python warnings and errors included), so nothing but those banners is lost.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# A C++ log line: severity letter, MMDD, time, thread, file:line].
_CPP_LOG_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] ")
_PRE_INIT_NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def quiet_defaults(verbose: bool = False) -> None:
    """Sets `TF_CPP_MIN_LOG_LEVEL=3` (only fatal C++ messages) unless the user set it.

    Level 3 drops TensorFlow's C++ error lines too; in practice those are environment notes
    ("failed call to cuInit" without a GPU, oneDNN's int32 fallback), while real failures
    reach Python as exceptions. With `verbose` nothing is set, so TensorFlow shows all.
    """
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _min_level() -> int:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def filter_start_up_lines(text: bytes, min_level: int) -> bytes:
    """The lines of `text` that `TF_CPP_MIN_LOG_LEVEL=min_level` would keep."""
    kept = []
    for line in text.splitlines(keepends=True):
        match = _CPP_LOG_LINE.match(line)
        if match and _SEVERITY[match.group(1)] < min_level:
            continue
        if line.startswith(_PRE_INIT_NOTICE) and min_level > 0:
            continue
        kept.append(line)
    return b"".join(kept)


def import_tensorflow():
    """Imports and returns `tensorflow`, dropping the start-up lines the log level hides."""
    if "tensorflow" in sys.modules or _min_level() == 0:
        import tensorflow

        return tensorflow
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = filter_start_up_lines(capture.read(), _min_level())
            if kept:
                os.write(2, kept)
    return tensorflow
