"""Packs graph neighbours into labeled `tf.train.Example`s, exactly as NSL's `pack_nbrs`.

Every labeled example (a "seed") is written once, in input order, with its own features plus

* `NL_num_nbrs`: int64 [1], the number K of neighbours packed;
* for i < K, `NL_nbr_<i>_weight`: float [1], the edge weight, and `NL_nbr_<i>_<name>` for
  every feature `<name>` of the i-th neighbour's example.

A seed's neighbours are the targets of its out-edges in the graph TSV that have an example
(labeled or unlabeled; a labeled one wins if an id is in both inputs), by weight descending,
ties broken by neighbour id in descending order, at most `max_nbrs`. An edge given twice
keeps its largest weight; `add_undirected_edges` adds every edge's reverse first.

Usage: `graphnsl pack-nbrs [--max_nbrs=K] [--add_undirected_edges] [--id_feature_name=id]
[--num_shards=N] [--strict] LABELED UNLABELED GRAPH OUTPUT` (UNLABELED may be ''). Each input
may be one file, a glob (`labeled-*-of-*`) or a comma-separated list of either (sharded
inputs, read in sorted-name order per glob); with `--num_shards=N` the output is
`OUTPUT-00000-of-0000N`, ... (the seeds in input order, split evenly). With
`--runner=DirectRunner` (or any Apache Beam runner) the same packing runs as a Beam pipeline
(`graphnsl.beam.pack_nbrs`).

Memory stays bounded whatever the input size: the examples are scanned once in blocks for
their ids and record positions (their bytes are not kept), the graph is read in blocks (with
`max_nbrs`, each seed's candidate list is cut to its best `max_nbrs` as it goes), and the
output is made a work shard at a time: the records of a shard's seeds and of their
neighbours are read back by position (about `shard_bytes` of them), packed, written and
dropped. Memory is about 30 bytes per example, 24 per kept seed edge, and a few times
`shard_bytes`.

Speed: no TensorFlow and no protobuf objects. Each example stays serialized; the output is
built on the wire format, where concatenating two serialized messages merges them and a
`Features` map is a run of `(key, Feature)` entries. A seed's output is its own bytes
followed by one more `features` field holding the new entries; the entries of every
neighbour in use are re-keyed in bulk, rewriting only their keys and lengths. The graph is
parsed, looked up, deduplicated and ranked with NumPy sorts.

Where NSL's result is not what its docs promise, NSL's behaviour is kept: a self-edge makes
a seed its own neighbour, and a neighbour's own feature named `weight` replaces
`NL_nbr_<i>_weight`. Errors NSL does not raise: a repeated id within an input, a seed that
already has `NL_num_nbrs` or `NL_nbr_<i>_...` features (it was packed already), and an
output path that is one of the inputs. What NSL drops silently is counted and logged: edges
with an end that has no example (a warning when they are more than `_MISSING_WARN_SHARE` of
the graph, an error with `strict`), and a run that packs no neighbour at all.
"""

from __future__ import annotations

import collections
import glob
import itertools
import os
import struct
import time
from collections.abc import Iterator, Sequence

import numpy as np
from absl import logging

from graphnsl.data import examples as _ex
from graphnsl.data.atomic import check_output_path
from graphnsl.data.graph_tsv import locate_tabs

__all__ = ["pack_nbrs", "expand_paths", "shard_names", "define_flags", "main"]

_varint = _ex.encode_varint

# The positional arguments, for `graphnsl pack-nbrs --help`.
ARGUMENTS = [
    ("LABELED", "labeled examples (the seeds): a TFRecord, glob or comma-separated list"),
    ("UNLABELED", "unlabeled examples that may be neighbours, as LABELED; '' for none"),
    ("GRAPH", "graph TSV(s) source<TAB>target[<TAB>weight]: a file, glob or list"),
    ("OUTPUT", "the packed TFRecord (with --num_shards, the prefix of the shards)"),
    ("-- BEAM_OPTIONS", "with --runner only: Beam pipeline options, e.g. --direct_num_workers=2"),
]

_BLOCK_BYTES = 64 << 20  # bytes read at once while scanning examples and the graph
_SHARD_BYTES = 256 << 20  # seed + neighbour record bytes packed at once
_MISSING_WARN_SHARE = 0.5  # share of graph edges with an end without an example: warn above
_READ_GAP = 64 << 10  # records closer than this are read back in one read
_READ_WINDOW = 8 << 20  # at most this many bytes a read
_COMPACT_EDGES = 1 << 23  # seed edges gathered before they are deduplicated and cut


# ---------------------------------------------------------------------------------------
# Inputs: sharded paths, TFRecord blocks, example ids.
# ---------------------------------------------------------------------------------------


def expand_paths(spec, what: str = "input") -> list[str]:
    """Expands an input given as a path, a glob, a comma-separated list or a list of those.

    Args:
      spec: a path or glob (str or PathLike; `a,b` is split at commas), or a list of them.
      what: what the input is, for error messages.

    Returns:
      The files, in order: each glob's matches sorted by name.

    Raises:
      FileNotFoundError: a path that does not exist, or a glob that matches nothing.
    """
    if isinstance(spec, (str, os.PathLike)):
        parts = [p for p in os.fspath(spec).split(",") if p]
    else:
        parts = [os.fspath(p) for p in spec]
    paths: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            matches = sorted(p for p in glob.glob(part) if os.path.isfile(p))
            if not matches:
                raise FileNotFoundError(f"pack_nbrs: no file matches the {what} glob {part!r}")
            paths += matches
        else:
            if not os.path.exists(part):
                raise FileNotFoundError(f"pack_nbrs: no such file: {part!r}")
            if os.path.isdir(part):
                raise IsADirectoryError(f"pack_nbrs: the {what} {part!r} is a folder, not a file")
            paths.append(part)
    return paths


def shard_names(path: str, num_shards: int) -> list[str]:
    """`path-00000-of-0000N` ... for N > 0 (the Beam / TFX convention), else `[path]`."""
    if not num_shards:
        return [path]
    return [f"{path}-{i:05d}-of-{num_shards:05d}" for i in range(num_shards)]


class _Records:
    """Serialized records in one bytes buffer: what `examples.index_features` reads.

    Attributes:
      path: the file they came from (for messages).
      data: the bytes.
      offsets, lengths: int64 [n], each record's payload position in `data`.
      index: the records' `examples.FeatureIndex` (set by `indexed()`).
    """

    def __init__(self, path: str, data: bytes, offsets: np.ndarray, lengths: np.ndarray):
        self.path, self.data = path, data
        self.offsets, self.lengths = offsets, lengths
        self.index = None

    def __len__(self) -> int:
        return len(self.offsets)

    def record(self, i: int) -> bytes:
        start = int(self.offsets[i])
        return self.data[start : start + int(self.lengths[i])]

    def indexed(self) -> _Records:
        self.index = _ex.index_features(self)
        return self


def _mask(crc: np.ndarray) -> np.ndarray:
    """TFRecord's masked CRC32C of uint32 CRCs."""
    crc = crc.astype(np.uint32)
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


def _frame_blocks(path: str, block_bytes: int) -> Iterator[tuple[int, int, _Records]]:
    """Reads a TFRecord file in blocks of whole records, checking every checksum.

    Yields:
      `(first, base, records)`: the 0-based number of the block's first record, the file
      offset of `records.data[0]`, and the block's records.

    Raises:
      ValueError: a truncated or corrupted record, naming the file, the record (1-based)
        and its byte offset.
    """
    unpack = struct.Struct("<Q").unpack_from
    first = base = 0
    data = b""
    with open(path, "rb") as file:
        while True:
            chunk = file.read(block_bytes)
            data = data + chunk if data else chunk
            heads, pos, size = [], 0, len(data)
            append = heads.append
            while pos + 12 <= size:
                (length,) = unpack(data, pos)
                if pos + 16 + length > size:
                    # Incomplete in this block, or a corrupted length: check it before
                    # reading on (a wrong length must not make us read the whole file).
                    if _ex.crc32c(data[pos : pos + 8]) != _stored_crc(data, pos + 8):
                        raise ValueError(
                            f"{path}: record {first + len(heads) + 1} (byte offset "
                            f"{base + pos}) is corrupted: length checksum mismatch"
                        )
                    break
                append(pos)
                pos += 16 + length
            if not chunk and pos != size:
                raise ValueError(
                    f"{path}: record {first + len(heads) + 1} (byte offset {base + pos}) is "
                    "truncated: the file ends inside it (corrupted or partly written TFRecord "
                    "file)"
                )
            if heads:
                starts = np.array(heads, dtype=np.int64)
                lengths = np.diff(np.append(starts, pos)) - 16
                records = _Records(path, data, starts + 12, lengths)
                _check_data_crcs(records, first, base)
                yield first, base, records
                first += len(heads)
            if not chunk:
                return
            data, base = data[pos:], base + pos


def _stored_crc(data: bytes, pos: int) -> int:
    """The CRC32C that the masked checksum stored at data[pos:pos + 4] stands for."""
    (masked,) = struct.unpack_from("<I", data, pos)
    rotated = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF


def _check_data_crcs(records: _Records, first: int, base: int) -> None:
    """Checks every record's length and data checksums; the error names the first bad one."""
    heads = (records.offsets - 12).tolist()
    got = _mask(np.array(_ex.crc32c_many([records.data[h : h + 8] for h in heads]), np.uint32))
    array = np.frombuffer(records.data, dtype=np.uint8)
    want = array[records.offsets[:, None] - 4 + np.arange(4)].copy().view("<u4").ravel()
    bad = np.flatnonzero(got != want)
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"{records.path}: record {first + i + 1} (byte offset {base + heads[i]}) is "
            "corrupted: length checksum mismatch"
        )
    ends = (records.offsets + records.lengths).tolist()
    payloads = [records.data[s:e] for s, e in zip(records.offsets.tolist(), ends, strict=True)]
    got = _mask(np.array(_ex.crc32c_many(payloads), dtype=np.uint32))
    want = array[np.array(ends)[:, None] + np.arange(4)].copy().view("<u4").ravel()
    bad = np.flatnonzero(got != want)
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"{records.path}: record {first + i + 1} (byte offset "
            f"{base + int(records.offsets[i]) - 12}) is corrupted: data checksum mismatch"
        )


def _block_ids(records: _Records, first: int, id_feature_name: str) -> np.ndarray:
    """The id of every record of an indexed block ('S' array, or object array of bytes)."""
    name = id_feature_name.encode("utf-8")
    start, end, found = _ex.find_single_bytes_feature(records, records.index, name)
    array = np.frombuffer(records.data, dtype=np.uint8)
    ids = _ex.spans_to_array(array, start, end, records.data)
    slow = np.flatnonzero(~found)
    if len(slow):
        ids = ids.astype(object)
        for r in slow.tolist():
            ids[r] = _slow_id(records.path, first + r + 1, records.record(r), id_feature_name)
    return ids


def _slow_id(path: str, number: int, record: bytes, id_feature_name: str) -> bytes:
    """The id of a record the vectorized scan could not read, or a ValueError naming it."""
    name = id_feature_name.encode("utf-8")
    try:
        feature = _ex.find_feature(record, name)
        kind = None if feature is None else _ex.feature_kind(feature)
        values = _ex.bytes_list_values(feature) if kind == "bytes_list" else []
    except _ex.WireFormatError as error:
        raise ValueError(
            f"{path}: record {number} is not a valid serialized tf.train.Example ({error})"
        ) from None
    if feature is None:
        raise ValueError(
            f"{path}: record {number} has no feature {id_feature_name!r} (the id feature; set "
            "--id_feature_name if the ids are stored under another name)"
        )
    if not values:
        raise ValueError(
            f"{path}: record {number}: feature {id_feature_name!r} must be a bytes_list with "
            f"one value (the example's id), got {kind or 'an empty feature'}"
        )
    return values[0]


def _concat_ids(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype="S1")
    if any(p.dtype == object for p in parts):
        return np.concatenate([p.astype(object) for p in parts])
    return np.concatenate(parts)


class _ExampleSet:
    """The examples of one input (one or more TFRecord files): ids and record positions.

    The files are scanned once, in blocks; their bytes are not kept. `load(rows)` reads
    records back by position.

    Attributes:
      paths: the files.
      ids: [n] every record's id, in input order ('S' array, or object array of bytes).
      file, number: int32 [n] / int64 [n], each record's file and 1-based number in it.
      offsets, lengths: int64 [n], each record's payload position in its file.
    """

    def __init__(self, paths: Sequence[str], id_feature_name: str, block_bytes: int):
        self.paths = list(paths)
        ids, files, numbers, offsets, lengths = [], [], [], [], []
        for f, path in enumerate(self.paths):
            for first, base, records in _frame_blocks(path, block_bytes):
                ids.append(_block_ids(records.indexed(), first, id_feature_name))
                files.append(np.full(len(records), f, dtype=np.int32))
                numbers.append(np.arange(first + 1, first + 1 + len(records)))
                offsets.append(records.offsets + base)
                lengths.append(records.lengths)
                del records
        self.ids = _concat_ids(ids)
        empty = np.zeros(0, dtype=np.int64)
        self.file = np.concatenate(files) if files else empty.astype(np.int32)
        self.number = np.concatenate(numbers) if numbers else empty
        self.offsets = np.concatenate(offsets) if offsets else empty
        self.lengths = np.concatenate(lengths) if lengths else empty

    def __len__(self) -> int:
        return len(self.ids)

    def where(self, row: int) -> tuple[str, int]:
        """(file, 1-based record number) of record `row`."""
        return self.paths[int(self.file[row])], int(self.number[row])

    def check_unique(self) -> None:
        """Raises a ValueError naming the first record whose id repeats an earlier one."""
        ids = self.ids
        if ids.dtype != object:
            order = np.argsort(ids, kind="stable")
            ordered = ids[order]
            if not (ordered[1:] == ordered[:-1]).any():
                return
        seen: dict[bytes, int] = {}
        for row, example_id in enumerate(ids.tolist()):
            if example_id in seen:
                path, number = self.where(row)
                first_path, first_number = self.where(seen[example_id])
                where = f"record {first_number}" + (
                    "" if first_path == path else f" of {first_path}"
                )
                raise ValueError(
                    f"{path}: record {number} repeats id "
                    f"{example_id.decode('utf-8', 'replace')!r} of {where}; ids must be unique"
                )
            seen[example_id] = row

    def load(self, rows: np.ndarray) -> _Records:
        """Reads records `rows` back from their files, in that order, into one buffer."""
        rows = np.asarray(rows, dtype=np.int64)
        pieces: list[bytes] = [b""] * len(rows)
        order = np.lexsort((self.offsets[rows], self.file[rows]))
        files = self.file[rows][order].tolist()
        starts = self.offsets[rows][order].tolist()
        ends = (self.offsets[rows] + self.lengths[rows])[order].tolist()
        order = order.tolist()
        i, n = 0, len(order)
        while i < n:
            f = files[i]
            with open(self.paths[f], "rb") as file:
                fd = file.fileno()
                while i < n and files[i] == f:
                    # One read for a run of close records, at most _READ_WINDOW bytes.
                    j, lo = i + 1, starts[i]
                    while (
                        j < n
                        and files[j] == f
                        and starts[j] - ends[j - 1] <= _READ_GAP
                        and ends[j] - lo <= _READ_WINDOW
                    ):
                        j += 1
                    window = os.pread(fd, ends[j - 1] - lo, lo)
                    for k in range(i, j):
                        pieces[order[k]] = window[starts[k] - lo : ends[k] - lo]
                    i = j
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        return _Records("", b"".join(pieces), offsets, lengths.copy())


# ---------------------------------------------------------------------------------------
# The graph: TSV blocks, id lookup, seed edges.
# ---------------------------------------------------------------------------------------


def _graph_blocks(paths: Sequence[str], block_bytes: int):
    """Yields `(sources, targets, weights)` of blocks of graph TSV lines, in file order.

    Each block is parsed by `examples.read_graph_arrays`' rules (see there), so ids are 'S'
    or object arrays of bytes and weights float64; errors name the file and line.
    """
    for path in paths:
        number = 0  # lines before this block
        rest = b""
        with open(path, "rb") as file:
            while True:
                chunk = file.read(block_bytes)
                data = rest + chunk
                if chunk:
                    cut = data.rfind(b"\n") + 1
                    if not cut:  # no \n: lines end in \r (keep a last \r: \r\n may follow)
                        cut = data.rfind(b"\r", 0, len(data) - 1) + 1
                    if not cut:
                        rest = data
                        continue
                    data, rest = data[:cut], data[cut:]
                if data:
                    block = _parse_graph_block(data, path, number)
                    number += len(block[0])
                    yield block
                if not chunk:
                    break


def _parse_graph_block(data: bytes, path: str, number: int):
    """Parses whole graph TSV lines; `number` lines came before them in `path`."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data.endswith(b"\n"):
        data = data[:-1]
    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == 10)
    line_starts = np.concatenate([[0], newlines + 1])
    line_ends = np.append(newlines, len(array))
    del newlines
    tabs, first_tab, count = locate_tabs(array, line_starts, line_ends)

    def bad(row: int, why: str) -> ValueError:
        text = data[line_starts[row] : line_ends[row]].decode("utf-8", "replace")
        text = text if len(text) <= 80 else text[:77] + "..."
        return ValueError(
            f"{path}:{number + row + 1}: {why}: {text!r} (expected source<TAB>target[<TAB>weight])"
        )

    short = np.flatnonzero(count < 1)
    if len(short):
        raise bad(int(short[0]), "too few columns")
    padded = np.append(tabs, len(array))
    tab1 = tabs[first_tab]
    tab2 = np.where(count >= 2, padded[np.minimum(first_tab + 1, len(tabs))], line_ends)
    tab3 = np.where(count >= 3, padded[np.minimum(first_tab + 2, len(tabs))], line_ends)
    sources = _ex.spans_to_array(array, line_starts, tab1, data)
    targets = _ex.spans_to_array(array, tab1 + 1, tab2, data)
    weights = np.ones(len(line_starts), dtype=np.float64)
    rows = np.flatnonzero(count >= 2)
    if len(rows):
        text = _ex.spans_to_array(array, tab2[rows] + 1, tab3[rows], data)
        try:
            weights[rows] = text.astype(np.float64)
        except (ValueError, TypeError):
            for row, value in zip(rows.tolist(), text.tolist(), strict=True):
                try:
                    float(value)
                except ValueError:
                    raise bad(row, "weight is not a number") from None
            raise  # pragma: no cover - NumPy and float() disagree
        wrong = np.flatnonzero(~(weights >= 0) | np.isinf(weights))
        if len(wrong):
            raise bad(int(wrong[0]), "weight must be a finite number >= 0")
    return sources, targets, weights


def _u64(ids: np.ndarray) -> np.ndarray:
    """'S' ids of at most 8 bytes as big-endian uint64s, whose order is the bytes order."""
    return ids.astype("S8").view(">u8").astype(np.uint64)


class _NodeIndex:
    """Node numbering (seeds first, then unlabeled examples not shadowed) and id lookup.

    Attributes:
      num_seeds, num_nodes: seeds, and seeds plus the unlabeled examples used.
      other_rows: int64: node num_seeds + i is row other_rows[i] of the unlabeled input.
      in_both: unlabeled ids that are also labeled (the labeled example is used).
      rank: int64 [num_nodes], each node's place in the byte order of the ids.
    """

    def __init__(self, seed_ids: np.ndarray, other_ids: np.ndarray):
        self.num_seeds = len(seed_ids)
        self._missing: dict[bytes, int] = {}
        self._dict = None
        kinds = {seed_ids.dtype.kind, other_ids.dtype.kind}
        if kinds == {"S"} and max(seed_ids.itemsize, other_ids.itemsize) <= 8:
            self.mode = "u64"
            seed_keys, other_keys = _u64(seed_ids), _u64(other_ids)
        elif kinds == {"S"}:
            self.mode = "S"
            width = max(seed_ids.itemsize, other_ids.itemsize)
            seed_keys, other_keys = seed_ids.astype(f"S{width}"), other_ids.astype(f"S{width}")
        else:
            self.mode = "dict"
        if self.mode != "dict":
            shadowed = np.isin(other_keys, seed_keys)
            self.other_rows = np.flatnonzero(~shadowed)
            node_keys = np.concatenate([seed_keys, other_keys[self.other_rows]])
            self._order = np.argsort(node_keys, kind="stable")
            self._sorted = node_keys[self._order]
            self.rank = np.empty(len(node_keys), dtype=np.int64)
            self.rank[self._order] = np.arange(len(node_keys))
        else:
            seed_list, other_list = seed_ids.tolist(), other_ids.tolist()
            index = {example_id: i for i, example_id in enumerate(seed_list)}
            self.other_rows = np.array(
                [r for r, example_id in enumerate(other_list) if example_id not in index],
                dtype=np.int64,
            )
            for r in self.other_rows.tolist():
                index[other_list[r]] = len(index)
            node_list = list(index)
            self.rank = np.empty(len(node_list), dtype=np.int64)
            self.rank[sorted(range(len(node_list)), key=node_list.__getitem__)] = np.arange(
                len(node_list)
            )
            self._dict = index
        self.in_both = len(other_ids) - len(self.other_rows)
        self.num_nodes = self.num_seeds + len(self.other_rows)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Node numbers of graph ids; an id without an example gets -1 - (its missing code).

        Missing ids are numbered 0, 1, ... in order of first sight, across calls.
        """
        nodes = np.full(len(ids), -1, dtype=np.int64)
        if self.mode == "dict" or ids.dtype == object:
            index = self._node_dict()
            nodes[:] = [index.get(i, -1) for i in ids.tolist()]
        elif len(self._sorted):
            width = 8 if self.mode == "u64" else self._sorted.itemsize
            fits = np.ones(len(ids), dtype=bool)
            if ids.itemsize > width:  # a longer id has no example
                fits = np.char.str_len(ids) <= width
            keys = ids[fits].astype(f"S{width}")
            keys = _u64(keys) if self.mode == "u64" else keys
            pos = np.minimum(np.searchsorted(self._sorted, keys), len(self._sorted) - 1)
            found = self._sorted[pos] == keys
            nodes[np.flatnonzero(fits)[found]] = self._order[pos[found]]
        missing = np.flatnonzero(nodes < 0)
        if len(missing):
            distinct, inverse = np.unique(ids[missing], return_inverse=True)
            setdefault = self._missing.setdefault
            codes = np.array(
                [setdefault(i, len(self._missing)) for i in distinct.tolist()], dtype=np.int64
            )
            nodes[missing] = -1 - codes[inverse.ravel()]
        return nodes

    def _node_dict(self) -> dict:
        if self._dict is None:  # ids of unusual shape in the graph: a dict of the node ids
            ids = self._sorted.tolist()
            if self.mode == "u64":
                ids = [int(k).to_bytes(8, "big").rstrip(b"\0") for k in ids]
            self._dict = dict(zip(ids, self._order.tolist(), strict=True))
        return self._dict


_KEY_LIMIT = 1 << 62


def _dedupe(src, dst, weight):
    """Keeps one edge per (src, dst) pair, with its largest weight; sorted by (src, dst)."""
    if not len(src):
        return src, dst, weight
    shift = -min(int(dst.min()), 0)  # missing targets are negative
    width = int(dst.max()) + shift + 1
    if (int(src.max()) + 1) * width < _KEY_LIMIT:
        order = np.argsort(src * width + (dst + shift), kind="stable")
    else:  # pragma: no cover - more than 2**31 nodes
        order = np.lexsort((dst, src))
    src, dst, weight = src[order], dst[order], weight[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    starts = np.flatnonzero(first)
    return src[starts], dst[starts], np.maximum.reduceat(weight, starts)


def _sorted_neighbours(src, dst, weight, rank, num_seeds: int, max_nbrs: int | None):
    """Sorts deduped seed edges (weight desc, id desc) and keeps each seed's top max_nbrs.

    Returns (dst, weight, starts): seed s's neighbours are dst[starts[s]:starts[s+1]].
    """
    if len(src):
        # One sort on (seed, weight rank descending, id rank descending) packed in an int64.
        distinct, weight_rank = np.unique(weight, return_inverse=True)
        weight_rank = weight_rank.ravel()
        u, r = len(distinct), len(rank)
        if (int(src.max()) + 1) * u * r < _KEY_LIMIT:
            key = (src * u + (u - 1 - weight_rank)) * r + (r - 1 - rank[dst])
            order = np.argsort(key)
        else:
            order = np.lexsort((-rank[dst], -weight, src))
        src, dst, weight = src[order], dst[order], weight[order]
    counts = np.bincount(src, minlength=num_seeds)
    starts = np.zeros(num_seeds + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    if max_nbrs is not None:
        position = np.arange(len(src)) - starts[src]
        keep = position < max_nbrs
        dst, weight = dst[keep], weight[keep]
        np.cumsum(np.minimum(counts, max_nbrs), out=starts[1:])
    return dst, weight, starts


class _SeedEdges:
    """Seed out-edges gathered block by block, deduplicated, ranked and cut to max_nbrs.

    Cutting to each seed's best `max_nbrs` as blocks arrive gives the same result as cutting
    once at the end: a later copy of an edge can only raise its weight (the largest is
    kept), and an edge cut early was beaten by `max_nbrs` others whose weights only grow.
    Edges to ids without an example are kept apart, as distinct (seed, id) pairs, to count.
    """

    def __init__(self, nodes: _NodeIndex, max_nbrs: int | None, compact_edges: int | None = None):
        self.nodes, self.max_nbrs = nodes, max_nbrs
        self.compact_edges = _COMPACT_EDGES if compact_edges is None else compact_edges
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.missing: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending = self.kept = 0

    def add(self, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> None:
        seed = (src >= 0) & (src < self.nodes.num_seeds)
        src, dst, weight = src[seed], dst[seed], weight[seed]
        miss = dst < 0
        if miss.any():
            self.missing.append((src[miss], -1 - dst[miss]))
            src, dst, weight = src[~miss], dst[~miss], weight[~miss]
        self.parts.append((src, dst, weight))
        self.pending += len(src)
        if self.pending > max(self.compact_edges, 2 * self.kept):
            self._compact()

    def _compact(self) -> None:
        src, dst, weight = (np.concatenate(c) for c in zip(*self.parts, strict=True))
        self.parts = []
        src, dst, weight = _dedupe(src, dst, weight)
        if self.max_nbrs is not None:
            n = self.nodes.num_seeds
            dst, weight, starts = _sorted_neighbours(
                src, dst, weight, self.nodes.rank, n, self.max_nbrs
            )
            src = np.repeat(np.arange(n), np.diff(starts))
        self.parts = [(src, dst, weight)]
        self.kept, self.pending = len(src), 0

    def missing_counts(self) -> tuple[int, int]:
        """(distinct seed edges to ids without an example, distinct such ids)."""
        if not self.missing:
            return 0, 0
        src, code = (np.concatenate(c) for c in zip(*self.missing, strict=True))
        width = int(code.max()) + 1
        pairs = np.unique(src * width + code)
        return len(pairs), len(np.unique(pairs % width))

    def neighbours(self):
        """(dst, weight, starts) of every seed, as `_sorted_neighbours` returns them."""
        if self.parts:
            self._compact()
            src, dst, weight = self.parts[0]
        else:
            src = dst = np.zeros(0, dtype=np.int64)
            weight = np.zeros(0)
        if self.max_nbrs is None:
            return _sorted_neighbours(src, dst, weight, self.nodes.rank, self.nodes.num_seeds, None)
        counts = np.bincount(src, minlength=self.nodes.num_seeds)
        starts = np.zeros(self.nodes.num_seeds + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        return dst, weight, starts  # compacted: already sorted and cut


# ---------------------------------------------------------------------------------------
# The tool.
# ---------------------------------------------------------------------------------------


def pack_nbrs(
    labeled_examples_path,
    unlabeled_examples_path,
    graph_path,
    output_training_data_path: str | os.PathLike,
    add_undirected_edges: bool = False,
    max_nbrs: int | None = None,
    id_feature_name: str = "id",
    num_shards: int = 0,
    strict: bool = False,
    shard_bytes: int = _SHARD_BYTES,
    block_bytes: int = _BLOCK_BYTES,
) -> dict:
    """Merges each labeled example with its graph neighbours' features; writes TFRecords.

    Args:
      labeled_examples_path: TFRecord(s) of labeled `tf.train.Example`s (the seeds), each
        with a singleton bytes_list id feature: a path, a glob, a comma-separated list of
        them or a list (sharded inputs are read in order).
      unlabeled_examples_path: TFRecord(s) of unlabeled examples that may be neighbours
        (as above), or '' or None for none.
      graph_path: NSL graph TSV(s), `source<TAB>target[<TAB>weight]` a line (as above).
      output_training_data_path: the output TFRecord, or with `num_shards` the prefix of
        the shards `PATH-00000-of-0000N`; written under temporary names and renamed when
        all are complete.
      add_undirected_edges: treat every edge as bi-directional (the pair keeps the larger
        weight).
      max_nbrs: the most neighbours packed into a seed; None for all.
      id_feature_name: the name of the id feature.
      num_shards: 0 for one output file, else the number of output shards (seeds in input
        order, split evenly).
      strict: raise instead of warning when more than half the graph's edges have an end
        without an example, or when no neighbour at all is packed.
      shard_bytes: about how many bytes of seed and neighbour records are packed at once
        (bounds memory).
      block_bytes: bytes read at once when scanning the examples and the graph.

    Returns:
      A dict of counts: `seeds_written`, `labeled_examples`, `unlabeled_examples`,
      `ids_in_both_files` (the labeled example is used), `edges_read` (TSV lines),
      `edges_with_missing_end` (TSV lines with an end that has no example),
      `neighbours_packed`, `missing_neighbours_skipped` (distinct seed out-edges whose
      target has no example, skipped as NSL does), `missing_neighbour_ids` (distinct such
      targets), `out_degree_histogram` ({K: seeds}), `output_files`, `work_shards`,
      `seconds`.

    Raises:
      FileNotFoundError: an input path does not exist (or a glob matches nothing), or the
        output folder does not exist.
      IsADirectoryError: the output is a folder.
      ValueError: the output is an input; a corrupted TFRecord, a record that is not an
        Example or lacks the id feature, a repeated id within an input, a malformed graph
        line, or a seed that already holds packed-neighbour features (each naming the file
        and record or line); with `strict`, a graph that mostly misses the examples or
        packs no neighbour.
    """
    start_time = time.perf_counter()
    if max_nbrs is not None and (
        isinstance(max_nbrs, bool) or not isinstance(max_nbrs, (int, np.integer)) or max_nbrs < 0
    ):
        raise ValueError(f"max_nbrs must be None or an int >= 0, got {max_nbrs!r}")
    if isinstance(num_shards, bool) or not isinstance(num_shards, (int, np.integer)):
        raise ValueError(f"num_shards must be an int >= 0, got {num_shards!r}")
    if num_shards < 0:
        raise ValueError(f"num_shards must be an int >= 0, got {num_shards!r}")
    labeled_paths = expand_paths(labeled_examples_path, "labeled examples")
    unlabeled_paths = (
        expand_paths(unlabeled_examples_path, "unlabeled examples")
        if unlabeled_examples_path
        else []
    )
    graph_paths = expand_paths(graph_path, "graph")
    output_path = os.fspath(output_training_data_path)
    outputs = shard_names(output_path, num_shards)
    for path in outputs:
        check_output_path(path, inputs=labeled_paths + unlabeled_paths + graph_paths)

    seeds = _ExampleSet(labeled_paths, id_feature_name, block_bytes)
    seeds.check_unique()
    others = _ExampleSet(unlabeled_paths, id_feature_name, block_bytes)
    others.check_unique()
    nodes = _NodeIndex(seeds.ids, others.ids)
    num_seeds = nodes.num_seeds
    if nodes.in_both:
        logging.info(
            "%d ids are in both example inputs; the labeled example is used.", nodes.in_both
        )
    logging.info(
        "pack_nbrs: scanned %d labeled and %d unlabeled examples in %.1f s",
        num_seeds,
        len(others),
        time.perf_counter() - start_time,
    )

    edges = _SeedEdges(nodes, max_nbrs)
    edges_read = edges_with_missing_end = edges_matching_nothing = 0
    for sources, targets, weights in _graph_blocks(graph_paths, block_bytes):
        src, dst = nodes.lookup(sources), nodes.lookup(targets)
        del sources, targets
        edges_read += len(src)
        edges_with_missing_end += int(np.count_nonzero((src < 0) | (dst < 0)))
        edges_matching_nothing += int(np.count_nonzero((src < 0) & (dst < 0)))
        edges.add(src, dst, weights)
        if add_undirected_edges:
            edges.add(dst, src, weights)
    missing_skipped, missing_ids = edges.missing_counts()
    dst, weights, starts = edges.neighbours()
    del edges
    counts = np.diff(starts)
    neighbours_packed = int(counts.sum())
    _report_drops(
        edges_read, edges_with_missing_end, edges_matching_nothing, missing_skipped,
        missing_ids, neighbours_packed, num_seeds, strict, graph_paths,
    )  # fmt: skip

    # Work shards: runs of seeds whose own and neighbour record bytes are about shard_bytes.
    node_lengths = np.concatenate([seeds.lengths, others.lengths[nodes.other_rows]])
    cost = seeds.lengths.astype(np.float64)
    if len(dst):
        cost += np.bincount(
            np.repeat(np.arange(num_seeds), counts), weights=node_lengths[dst], minlength=num_seeds
        )
    del node_lengths
    bounds = _work_bounds(cost, shard_bytes)
    del cost
    per_output = shard_names(output_path, num_shards)
    output_bounds = np.linspace(0, num_seeds, len(per_output) + 1).round().astype(np.int64)
    shards = [
        _Shard(seeds, others, nodes, dst, weights, starts, lo, hi)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    written = _write_outputs(per_output, output_bounds, shards, num_seeds)
    histogram = collections.Counter(counts.tolist())
    seconds = time.perf_counter() - start_time
    result = {
        "seeds_written": written,
        "labeled_examples": num_seeds,
        "unlabeled_examples": len(others),
        "ids_in_both_files": nodes.in_both,
        "edges_read": edges_read,
        "edges_with_missing_end": edges_with_missing_end,
        "neighbours_packed": neighbours_packed,
        "missing_neighbours_skipped": missing_skipped,
        "missing_neighbour_ids": missing_ids,
        "out_degree_histogram": dict(sorted(histogram.items())),
        "output_files": per_output,
        "work_shards": len(shards),
        "seconds": round(seconds, 3),
    }
    logging.info(
        "pack_nbrs wrote %d seeds to %s (%d edges read, %d with an end without an example; "
        "%d neighbours packed, %d missing neighbours skipped) in %.2f s over %d work shards; "
        "out-degree histogram %s",
        written,
        output_path if not num_shards else f"{output_path}-*-of-{num_shards:05d}",
        edges_read,
        edges_with_missing_end,
        neighbours_packed,
        missing_skipped,
        seconds,
        len(shards),
        result["out_degree_histogram"],
    )
    return result


def _report_drops(
    edges_read: int,
    edges_with_missing_end: int,
    edges_matching_nothing: int,
    missing_skipped: int,
    missing_ids: int,
    neighbours_packed: int,
    num_seeds: int,
    strict: bool,
    graph_paths: Sequence[str],
) -> None:
    """Logs what the graph lost to ids without examples; raises on the worst with `strict`."""
    graph = ",".join(graph_paths)
    problems = []
    if edges_read and edges_with_missing_end > _MISSING_WARN_SHARE * edges_read:
        share = edges_with_missing_end / edges_read
        what = (
            "no graph id matches any example id"
            if edges_matching_nothing == edges_read
            else f"{share:.0%} of the graph's edges have an end without an example"
        )
        problems.append(
            f"{what} ({edges_with_missing_end} of {edges_read} edges of {graph} skipped): "
            "check that the graph and the examples use the same ids (--id_feature_name)"
        )
    elif edges_with_missing_end:
        logging.warning(
            "%d of %d graph edges have an end without an example; they were skipped.",
            edges_with_missing_end,
            edges_read,
        )
    if missing_skipped:
        logging.warning(
            "%d seed out-edges point at %d ids with no example; they were skipped.",
            missing_skipped,
            missing_ids,
        )
    if not edges_read:
        problems.append(f"the graph {graph} has no edges: no neighbours were packed")
    elif not neighbours_packed and num_seeds:
        problems.append(f"no neighbours were packed: no seed has an out-edge in {graph}")
    for problem in problems:
        if strict:
            raise ValueError(f"pack_nbrs (--strict): {problem}")
        logging.warning("pack_nbrs: %s", problem)


def _work_bounds(cost: np.ndarray, shard_bytes: int) -> np.ndarray:
    """Seed boundaries 0 = b0 < b1 < ... < bm = n so each run costs about shard_bytes."""
    n = len(cost)
    if not n:
        return np.zeros(1, dtype=np.int64)
    total = np.cumsum(cost)
    cuts = np.searchsorted(total, np.arange(shard_bytes, total[-1], shard_bytes), "right")
    return np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]])).astype(np.int64)


class _Shard:
    """One work shard: seeds lo..hi-1 with their neighbours, packed once its records are read."""

    def __init__(self, seeds, others, nodes, dst, weights, starts, lo: int, hi: int):
        self.seeds, self.others, self.nodes = seeds, others, nodes
        self.lo, self.hi = lo, hi
        a, b = int(starts[lo]), int(starts[hi])
        self.dst, self.weights = dst[a:b], weights[a:b]
        self.starts = starts[lo : hi + 1] - a

    def records(self) -> Iterator[bytes]:
        """Yields the packed record of each of the shard's seeds, in order."""
        num_seeds = self.nodes.num_seeds
        used, local = np.unique(self.dst, return_inverse=True)
        local = local.ravel()
        sources = []
        is_seed = used < num_seeds
        if is_seed.any():
            loaded = self.seeds.load(used[is_seed]).indexed()
            sources.append((loaded, np.flatnonzero(is_seed), np.arange(len(loaded))))
        if (~is_seed).any():
            rows = self.nodes.other_rows[used[~is_seed] - num_seeds]
            loaded = self.others.load(rows).indexed()
            sources.append((loaded, np.flatnonzero(~is_seed), np.arange(len(loaded))))
        own = self.seeds.load(np.arange(self.lo, self.hi))
        yield from _packed_records(self, own, sources, local, len(used))


def _write_outputs(paths: list[str], bounds: np.ndarray, shards: list[_Shard], n: int) -> int:
    """Writes seeds bounds[i]..bounds[i+1]-1 to paths[i]; several are renamed at the end."""
    from tqdm import tqdm

    def all_records() -> Iterator[bytes]:
        with tqdm(total=n, desc="pack_nbrs", unit="seed", mininterval=1.0, leave=False) as bar:
            for shard in shards:
                yield from shard.records()
                bar.update(shard.hi - shard.lo)

    stream = all_records()
    if len(paths) == 1:
        return _ex.write_records(paths[0], stream)
    # Several outputs: each goes to a hidden temporary; all are renamed once complete.
    temporaries: list[str] = []
    written = 0
    try:
        for i, path in enumerate(paths):
            folder, name = os.path.split(os.path.abspath(path))
            temporaries.append(os.path.join(folder, f".{name}.{os.getpid()}.part"))
            count = int(bounds[i + 1] - bounds[i])
            written += _ex.write_records(temporaries[-1], itertools.islice(stream, count))
        for temporary, path in zip(temporaries, paths, strict=True):
            os.replace(temporary, path)
        temporaries = []
        return written
    finally:
        stream.close()
        for temporary in temporaries:
            if os.path.exists(temporary):
                os.unlink(temporary)


class _Rekeyed:
    """Every used neighbour's map entries re-keyed to `NL_nbr_<i>_<key>`, built in bulk.

    A map entry is `0x0a len (0x0a len key) (0x12 len Feature)`; re-keying rewrites only the
    two lengths and the key, so each re-keyed entry is a new head (ending in `NL_nbr_`), the
    index digits and `_`, then the original key-and-value bytes. For a node at neighbour
    index i, `(digits(i) + b"_").join(chunks[width][lo[node]:hi[node]])` is the run of its
    re-keyed entries, width = len(digits(i)).
    """

    def __init__(self, sources, widths, num_nodes: int):
        self.lo = np.zeros(num_nodes, dtype=np.int64)
        self.hi = np.zeros(num_nodes, dtype=np.int64)
        self.has_weight = np.zeros(num_nodes, dtype=bool)
        self.chunks = {width: [] for width in widths}
        for records, nodes, rows in sources:
            ok = records.index.ok[rows]
            self._add_scanned(records, nodes[ok], rows[ok])
            for node, row in zip(nodes[~ok].tolist(), rows[~ok].tolist(), strict=True):
                pairs = [
                    (key, b"\x12" + _varint(len(feature)) + feature)
                    for key, feature in _ex.feature_entries(records.record(row))
                ]
                self._add_pairs(node, list(dict(pairs).items()))

    def _add_pairs(self, node: int, pairs: list[tuple[bytes, bytes]]) -> None:
        self.has_weight[node] = any(key == b"weight" for key, _ in pairs)
        for width, chunks in self.chunks.items():
            self.lo[node] = len(chunks)
            previous = b""
            for key, value in pairs:
                chunks.append(previous + _head(len(key), len(value), width))
                previous = key + value
            chunks.append(previous)
            self.hi[node] = len(chunks)

    def _add_scanned(self, records: _Records, nodes: np.ndarray, rows: np.ndarray):
        if not len(rows):
            return
        index = records.index
        data = records.data
        counts = index.first[rows + 1] - index.first[rows]
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(rows)), counts)
        entry = np.repeat(index.first[rows] - np.cumsum(counts) + counts, counts) + np.arange(total)
        key_start, key_end = index.key_start[entry], index.key_end[entry]
        entry_end = index.entry_end[entry]
        array = np.frombuffer(data, dtype=np.uint8)
        keys = _ex.spans_to_array(array, key_start, key_end, data)
        keep = np.ones(total, dtype=bool)
        if keys.dtype != object:
            # A key repeated within a record keeps its last entry, as protobuf parsing does.
            order = np.lexsort((np.arange(total), keys, owner))
            same = (owner[order][1:] == owner[order][:-1]) & (keys[order][1:] == keys[order][:-1])
            keep[order[:-1][same]] = False
        else:
            seen: dict[tuple[int, bytes], int] = {}
            for e, (o, key) in enumerate(zip(owner.tolist(), keys.tolist(), strict=True)):
                if (o, key) in seen:
                    keep[seen[(o, key)]] = False
                seen[(o, key)] = e
        if not keep.all():
            owner, keys = owner[keep], keys[keep]
            key_start, key_end, entry_end = key_start[keep], key_end[keep], entry_end[keep]
            counts = np.bincount(owner, minlength=len(rows))
            total = len(owner)
        self.has_weight[nodes[np.unique(owner[keys == b"weight"])]] = True
        first_of = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=first_of[1:])
        # Node o's chunks fill slots first_of[o] + o .. first_of[o + 1] + o: one per entry
        # (the previous entry's key-and-value, then this entry's head), then a last one.
        entry_slot = np.arange(total) + owner
        last_slot = first_of[1:] + np.arange(len(rows))
        is_first = np.zeros(total, dtype=bool)
        is_first[first_of[:-1][counts > 0]] = True
        pieces = np.empty(total + 1, dtype=object)
        pieces[0] = b""
        pieces[1:] = [
            data[s:e] for s, e in zip(key_start.tolist(), entry_end.tolist(), strict=True)
        ]
        previous = pieces[:-1].copy()
        previous[is_first] = b""
        last_piece = np.where(counts > 0, pieces[np.maximum(first_of[1:], 1)], b"")
        shape = (key_end - key_start) * (1 << 32) + (entry_end - key_end)
        unique_shapes, shape_of = np.unique(shape, return_inverse=True)
        for width, chunks in self.chunks.items():
            heads = np.empty(len(unique_shapes), dtype=object)
            heads[:] = [_head(s >> 32, s & 0xFFFFFFFF, width) for s in unique_shapes.tolist()]
            slots = np.empty(total + len(rows), dtype=object)
            slots[entry_slot] = previous + heads[shape_of.ravel()]
            slots[last_slot] = last_piece
            base = len(chunks)
            chunks.extend(slots.tolist())
            self.lo[nodes] = base + first_of[:-1] + np.arange(len(rows))
            self.hi[nodes] = base + last_slot + 1


def _head(key_length: int, value_length: int, width: int) -> bytes:
    """The bytes of a re-keyed entry before its index digits: lengths and `NL_nbr_`."""
    new_key_length = 8 + width + key_length  # "NL_nbr_" + digits + "_" + key
    inner = 1 + len(_varint(new_key_length)) + new_key_length + value_length
    return b"\x0a" + _varint(inner) + b"\x0a" + _varint(new_key_length) + b"NL_nbr_"


def _head(key_length: int, value_length: int, width: int) -> bytes:
    """The bytes of a re-keyed entry before its index digits: lengths and `NL_nbr_`."""
    new_key_length = 8 + width + key_length  # "NL_nbr_" + digits + "_" + key
    inner = 1 + len(_varint(new_key_length)) + new_key_length + value_length
    return b"\x0a" + _varint(inner) + b"\x0a" + _varint(new_key_length) + b"NL_nbr_"


def _packed_records(shard: _Shard, own: _Records, sources, dst, num_nodes: int):
    """Yields each of a shard's seeds' output records: its bytes plus one `features` field.

    Args:
      shard: the work shard (its seeds' neighbour weights and starts).
      own: the seeds' records, in order.
      sources: `(records, nodes, rows)`: the used neighbours' records (indexed), and which
        local node each row is.
      dst: int64, the shard's neighbours as local node numbers (0 .. num_nodes - 1).
      num_nodes: local nodes.
    """
    starts, weights = shard.starts, shard.weights
    n = len(own)
    counts = np.diff(starts)
    max_k = int(counts.max()) if n else 0
    num_entries = []
    for k in range(max_k + 1):
        value = _varint(k)
        feature = b"\x1a" + _varint(len(value) + 2) + b"\x0a" + _varint(len(value)) + value
        num_entries.append(_map_entry(b"NL_num_nbrs", feature))
    # NL_nbr_<i>_weight entry = weight_heads[i] + 4 float32 bytes.
    weight_heads = [
        _map_entry(b"NL_nbr_%d_weight" % i, b"\x12\x06\x0a\x04" + b"\0\0\0\0")[:-4]
        for i in range(max_k)
    ]
    separators = [b"%d_" % i for i in range(max_k)]
    rekeyed = _Rekeyed(sources, {len(s) - 1 for s in separators}, num_nodes)
    chunks = [rekeyed.chunks[len(s) - 1] for s in separators]
    position = (np.arange(len(dst)) - np.repeat(starts[:-1], counts)).tolist()
    weight_bytes = weights.astype("<f4").tobytes()
    # A neighbour's own `weight` feature replaces NL_nbr_<i>_weight, as in NSL.
    own_weight = rekeyed.has_weight[dst].tolist()
    edge_bytes = [
        (b"" if has else weight_heads[p] + weight_bytes[4 * e : 4 * e + 4])
        + separators[p].join(chunks[p][lo:hi])
        for e, (p, lo, hi, has) in enumerate(
            zip(
                position,
                rekeyed.lo[dst].tolist(),
                rekeyed.hi[dst].tolist(),
                own_weight,
                strict=True,
            )
        )
    ]
    del rekeyed, chunks
    data, offsets = own.data, own.offsets.tolist()
    ends = (own.offsets + own.lengths).tolist()
    starts = starts.tolist()
    counts = counts.tolist()
    varint = _varint
    for lo in range(0, n, 4096):
        hi = min(lo + 4096, n)
        records = [data[offsets[s] : ends[s]] for s in range(lo, hi)]
        for s, record in enumerate(records, start=lo):
            if b"NL_" in record:
                _check_not_packed(*shard.seeds.where(shard.lo + s), record)
        extras = [
            num_entries[counts[s]] + b"".join(edge_bytes[starts[s] : starts[s + 1]])
            for s in range(lo, hi)
        ]
        yield from [
            record + b"\x0a" + varint(len(extra)) + extra
            for record, extra in zip(records, extras, strict=True)
        ]


def _map_entry(key: bytes, feature: bytes) -> bytes:
    inner = b"\x0a" + _varint(len(key)) + key + b"\x12" + _varint(len(feature)) + feature
    return b"\x0a" + _varint(len(inner)) + inner


def _check_not_packed(path: str, number: int, record: bytes) -> None:
    for key, _ in _ex.feature_entries(record):
        if key == b"NL_num_nbrs" or (
            key.startswith(b"NL_nbr_") and key[7:].split(b"_", 1)[0].isdigit()
        ):
            raise ValueError(
                f"{path}: record {number} already has feature "
                f"{key.decode('utf-8', 'replace')!r}; its neighbours look packed already "
                "(pack the unpacked examples)"
            )


def define_flags() -> None:
    """Defines pack_nbrs' flags: NSL's (`--max_nbrs`, `--add_undirected_edges`,
    `--id_feature_name`) and graphnsl's (`--num_shards`, `--strict`, `--runner`)."""
    from graphnsl.data.tool_flags import define_id_feature_flag, define_once

    define_once(
        "integer", "max_nbrs", None, "Most neighbours packed into each seed (all if unset)."
    )
    define_id_feature_flag()
    define_once(
        "bool",
        "add_undirected_edges",
        False,
        "Make every edge of the graph bi-directional before choosing neighbours (a pair with "
        "edges both ways keeps the larger weight).",
    )
    define_once(
        "integer",
        "num_shards",
        0,
        "Write the output as this many shards OUTPUT-00000-of-0000N (0: one file).",
    )
    define_once(
        "bool",
        "strict",
        False,
        "Fail (exit 1) instead of warning when most graph edges have an end without an "
        "example, or when no neighbour is packed.",
    )
    define_once(
        "string",
        "runner",
        None,
        "Run as an Apache Beam pipeline on this runner (DirectRunner, DataflowRunner, "
        "FlinkRunner, SparkRunner, ...); other Beam pipeline options follow the positional "
        "arguments, after `--`. Needs `pip install graphnsl[beam]`.",
    )


def main(argv: list[str]) -> None:
    """`graphnsl pack-nbrs [flags] LABELED UNLABELED GRAPH OUTPUT [-- BEAM_OPTIONS]`."""
    from absl import app, flags

    positional = [a for a in argv[1:] if not a.startswith("--")]
    beam_options = [a for a in argv[1:] if a.startswith("--") and a != "--"]
    flag = flags.FLAGS
    if len(positional) != 4:
        raise app.UsageError(
            f"Expected 4 arguments (labeled.tfr unlabeled.tfr graph.tsv output.tfr), got "
            f"{len(positional)}; pass '' for no unlabeled examples."
        )
    if beam_options and not flag.runner:
        raise app.UsageError(
            f"Beam pipeline options {' '.join(beam_options)} need --runner (e.g. "
            "--runner=DirectRunner)."
        )
    labeled, unlabeled, graph, output = positional
    if flag.runner:
        from graphnsl.beam import pack_nbrs as beam_pack

        result = beam_pack.run(
            labeled,
            unlabeled,
            graph,
            output,
            add_undirected_edges=flag.add_undirected_edges,
            max_nbrs=flag.max_nbrs,
            id_feature_name=flag.id_feature_name,
            num_shards=flag.num_shards,
            pipeline_args=[f"--runner={flag.runner}", *beam_options],
        )
        print(
            f"Wrote {result['seeds_written']} examples to {output}-*-of-* with "
            f"{flag.runner}: {result['neighbours_packed']} neighbours packed, "
            f"{result['edges_read']} edges read; skipped: "
            f"{result['missing_neighbours_skipped']} seed edges to ids without an example "
            f"({result['edges_to_ids_without_example']} edges of any source), "
            f"{result['edges_from_non_seeds']} edges from ids that are not labeled examples; "
            f"{result['ids_in_both_files']} ids in both example files kept their labeled one."
        )
        return
    result = pack_nbrs(
        labeled_examples_path=labeled,
        unlabeled_examples_path=unlabeled,
        graph_path=graph,
        output_training_data_path=output,
        add_undirected_edges=flag.add_undirected_edges,
        max_nbrs=flag.max_nbrs,
        id_feature_name=flag.id_feature_name,
        num_shards=flag.num_shards,
        strict=flag.strict,
    )
    missing = result["edges_with_missing_end"]
    share = f" ({missing / result['edges_read']:.1%})" if result["edges_read"] else ""
    where = output if not flag.num_shards else f"{output}-*-of-{flag.num_shards:05d}"
    print(
        f"Wrote {result['seeds_written']} examples to {where}: "
        f"{result['neighbours_packed']} neighbours packed, {result['edges_read']} edges read, "
        f"{missing} edges with an end that has no example{share} skipped."
    )
