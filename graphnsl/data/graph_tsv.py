"""NSL's graph TSV files: one edge a line, `source<TAB>target[<TAB>weight]`.

The weight defaults to 1.0 and, when an edge appears more than once, the largest weight is
kept. The reader parses whole files with vectorized NumPy (`read_graph_arrays`); the writer
writes atomically (temporary name, then rename).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from graphnsl.data.atomic import AtomicOutput
from graphnsl.data.tfrecord import _check_exists

__all__ = [
    "write_graph_tsv",
    "read_graph_tsv",
    "read_graph_edges",
    "read_graph_arrays",
    "spans_to_array",
]


# ---------------------------------------------------------------------------------------
# Graph TSV files.
# ---------------------------------------------------------------------------------------


def write_graph_tsv(
    path: str | os.PathLike,
    edges: Iterable[tuple[Any, Any, float]],
    float_format: str = "%f",
) -> int:
    """Writes edges as NSL's graph TSV (`source<TAB>target<TAB>weight`), atomically.

    Args:
      path: the output file; written under a temporary name, renamed when complete.
      edges: `(source, target, weight)` triples; ids are str, bytes or ints.
      float_format: %-format of the weight; NSL writes `%f` (6 decimals).

    Returns:
      The number of edges written.
    """
    path = os.fspath(path)
    count = 0
    with AtomicOutput(path, "w") as file:
        lines = []
        for edge in edges:
            count += 1
            try:
                source, target, weight = edge
            except (TypeError, ValueError):
                raise ValueError(
                    f"write_graph_tsv({path!r}): edge {count} is {edge!r}; expected "
                    "(source, target, weight)"
                ) from None
            source = source.decode("utf-8") if isinstance(source, bytes) else str(source)
            target = target.decode("utf-8") if isinstance(target, bytes) else str(target)
            for node in (source, target):
                if "\t" in node or "\n" in node or "\r" in node:
                    raise ValueError(
                        f"write_graph_tsv({path!r}): edge {count} has node id {node!r} "
                        "containing a tab or newline, which TSV cannot hold"
                    )
            lines.append(f"{source}\t{target}\t{float_format % weight}\n")
            if len(lines) >= 65536:
                file.write("".join(lines))
                lines = []
        file.write("".join(lines))
    return count


def _bad_line(path: str, number: int, line: bytes, why: str) -> ValueError:
    text = line.decode("utf-8", "replace")
    if len(text) > 80:
        text = text[:77] + "..."
    return ValueError(f"{path}:{number}: {why}: {text!r} (expected source<TAB>target[<TAB>weight])")


def spans_to_array(array: np.ndarray, starts: np.ndarray, ends: np.ndarray, data: bytes):
    """Returns the byte strings data[starts[i]:ends[i]] as one NumPy array.

    Args:
      array: `data` as uint8 [len(data)].
      starts, ends: int [n] span bounds.
      data: the bytes.

    Returns:
      An 'S' array [n] when every span is at most 32 bytes and holds no NUL byte (an 'S'
      array drops trailing NULs), else an object array of bytes [n].
    """
    n = len(starts)
    widths = ends - starts
    width = int(widths.max()) if n else 1
    if width > 32:
        return np.array(
            [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)], dtype=object
        )
    width = max(width, 1)
    matrix = np.zeros((n, width), dtype=np.uint8)
    last = max(len(array) - 1, 0)
    for c in range(width):  # one column at a time: few passes over short 1-D arrays
        column = array[np.minimum(starts + c, last)]
        inside = widths > c
        if np.count_nonzero(column[inside] == 0):  # a NUL byte inside a span
            return np.array(
                [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)],
                dtype=object,
            )
        column[~inside] = 0
        matrix[:, c] = column
    return matrix.view(f"S{width}").ravel()


def locate_tabs(array: np.ndarray, line_starts: np.ndarray, line_ends: np.ndarray):
    """Where each line's tab-separated columns start.

    Args:
      array: the text, uint8 [T].
      line_starts, line_ends: int [L], each line's first byte and the byte after its last.

    Returns:
      `(tabs, first_tab, count)`: the tab positions, int [N] (sorted), and for each line the
      index of its first tab in `tabs` and its number of tabs, int [L] each.
    """
    tabs = np.flatnonzero(array == 9)
    lines = len(line_starts)
    # The usual file has the same number of tabs (2 or 1) on every line: check that without
    # a search (tabs are sorted, so c tabs a line means the c*i-th to c*i+c-1-th lie in line i).
    for per_line in (2, 1):
        if len(tabs) == per_line * lines:
            firsts, lasts = tabs[0::per_line], tabs[per_line - 1 :: per_line]
            if (firsts >= line_starts).all() and (lasts < line_ends).all():
                return tabs, np.arange(0, len(tabs), per_line), np.full(lines, per_line)
            break
    first_tab = np.searchsorted(tabs, line_starts)
    return tabs, first_tab, np.searchsorted(tabs, line_ends) - first_tab


def read_graph_arrays(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads an NSL graph TSV into parallel NumPy arrays, in file order, duplicates kept.

    Lines are `source<TAB>target[<TAB>weight]`; the weight defaults to 1.0 and columns after
    the third are ignored (as NSL does). Line ends may be `\\n`, `\\r\\n` or `\\r`.

    Args:
      path: the TSV file.

    Returns:
      `(sources, targets, weights)`: ids as UTF-8 bytes in NumPy 'S' arrays [E] (object
      arrays of bytes when an id is longer than 32 bytes or the file holds NUL bytes), and
      weights float64 [E].

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a line with fewer than 2 columns, or a weight that is not a number, is
        NaN, infinite or negative, naming the file and the line number.
    """
    path = _check_exists(path)
    with open(path, "rb") as file:
        data = file.read()
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data.endswith(b"\n"):
        data = data[:-1]
    elif not data:
        empty = np.zeros(0, dtype="S1")
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == 10)
    line_starts = np.concatenate([[0], newlines + 1])
    line_ends = np.append(newlines, len(array))
    tabs, first_tab, count = locate_tabs(array, line_starts, line_ends)
    bad = np.flatnonzero(count < 1)
    if len(bad):
        line = int(bad[0])
        raise _bad_line(
            path, line + 1, data[line_starts[line] : line_ends[line]], "too few columns"
        )
    padded = np.append(tabs, len(array))
    tab1 = tabs[first_tab]
    tab2 = np.where(count >= 2, padded[np.minimum(first_tab + 1, len(tabs))], line_ends)
    has_weight = count >= 2
    tab3 = np.where(count >= 3, padded[np.minimum(first_tab + 2, len(tabs))], line_ends)
    sources = spans_to_array(array, line_starts, tab1, data)
    targets = spans_to_array(array, tab1 + 1, tab2, data)
    weights = np.ones(len(line_starts), dtype=np.float64)
    rows = np.flatnonzero(has_weight)
    if len(rows):
        text = spans_to_array(array, tab2[rows] + 1, tab3[rows], data)
        try:
            weights[rows] = text.astype(np.float64)
        except (ValueError, TypeError):
            for row, value in zip(rows.tolist(), text.tolist(), strict=True):
                try:
                    float(value)
                except ValueError:
                    raise _bad_line(
                        path,
                        row + 1,
                        data[line_starts[row] : line_ends[row]],
                        "weight is not a number",
                    ) from None
            raise  # pragma: no cover - NumPy and float() disagree
        bad = np.flatnonzero(~(weights >= 0) | np.isinf(weights))
        if len(bad):
            row = int(bad[0])
            raise _bad_line(
                path,
                row + 1,
                data[line_starts[row] : line_ends[row]],
                "weight must be a finite number >= 0",
            )
    return sources, targets, weights


def read_graph_edges(path: str | os.PathLike) -> tuple[list[bytes], list[bytes], np.ndarray]:
    """Reads an NSL graph TSV into parallel edge lists, in file order, duplicates kept.

    Args:
      path: the TSV file (see `read_graph_arrays`).

    Returns:
      `(sources, targets, weights)`: two lists of UTF-8 id bytes and a float64 array [E].

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a malformed line, naming the file and the line number.
    """
    sources, targets, weights = read_graph_arrays(path)
    return sources.tolist(), targets.tolist(), weights


def read_graph_tsv(
    path: str | os.PathLike, add_undirected_edges: bool = False
) -> dict[str, dict[str, float]]:
    """Reads an NSL graph TSV as `source -> {target -> weight}`, with NSL's semantics.

    Each line is `source<TAB>target[<TAB>weight]` (weight 1.0 when absent). An edge given
    more than once keeps its largest weight. With `add_undirected_edges`, every edge also
    gets its reverse, and the pair keeps the larger of the two weights.

    Args:
      path: the TSV file.
      add_undirected_edges: make every edge bi-directional.

    Returns:
      A dict: source id -> (target id -> weight), ids as str.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a malformed line, naming the file and the line number.
    """
    path = os.fspath(path)
    sources, targets, weights = read_graph_edges(path)
    try:
        sources = [s.decode("utf-8") for s in sources]
        targets = [t.decode("utf-8") for t in targets]
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: node ids are not valid UTF-8 ({error})") from None
    graph: dict[str, dict[str, float]] = {}
    _add_edges(graph, sources, targets, weights.tolist())
    if add_undirected_edges:
        pairs = [(s, t, w) for s, out in graph.items() for t, w in out.items()]
        if pairs:
            s, t, w = zip(*pairs, strict=True)
            _add_edges(graph, t, s, w)
    return graph


def _add_edges(graph, sources, targets, weights) -> None:
    setdefault = graph.setdefault
    for source, target, weight in zip(sources, targets, weights, strict=True):
        out = setdefault(source, {})
        old = out.get(target)
        if old is None or weight > old:
            out[target] = weight
