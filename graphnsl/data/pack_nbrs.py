"""Packs graph neighbours into labeled `tf.train.Example`s, exactly as NSL's `pack_nbrs`.

Every labeled example (a "seed") is written once, in input order, with its own features plus

* `NL_num_nbrs`: int64 [1], the number K of neighbours packed;
* for i < K, `NL_nbr_<i>_weight`: float [1], the edge weight, and `NL_nbr_<i>_<name>` for
  every feature `<name>` of the i-th neighbour's example.

A seed's neighbours are the targets of its out-edges in the graph TSV that have an example
(labeled or unlabeled; a labeled one wins if an id is in both files), by weight descending,
ties broken by neighbour id in descending order, at most `max_nbrs`. An edge given twice
keeps its largest weight; `add_undirected_edges` adds every edge's reverse first.

Usage: `graphnsl pack-nbrs [--max_nbrs=K] [--add_undirected_edges] [--id_feature_name=id]
LABELED.tfr UNLABELED.tfr GRAPH.tsv OUTPUT.tfr` (UNLABELED may be '').

Speed: no TensorFlow and no protobuf objects. Each example stays serialized; the output is
built on the wire format, where concatenating two serialized messages merges them and a
`Features` map is a run of `(key, Feature)` entries. A seed's output is its own bytes
followed by one more `features` field holding the new entries; the entries of every
neighbour in use are re-keyed in bulk, rewriting only their keys and lengths. The graph is
parsed, looked up, deduplicated and ranked with NumPy sorts.

Where NSL's result is not what its docs promise, NSL's behaviour is kept: a self-edge makes
a seed its own neighbour, and a neighbour's own feature named `weight` replaces
`NL_nbr_<i>_weight`. Errors NSL does not raise: a repeated id within a file, and a seed that
already has `NL_num_nbrs` or `NL_nbr_<i>_...` features (it was packed already).
"""

from __future__ import annotations

import collections
import os
import time

import numpy as np
from absl import logging

from graphnsl.data import examples as _ex

__all__ = ["pack_nbrs", "define_flags", "main"]

_varint = _ex.encode_varint


class _ExampleFile:
    """A TFRecord file of examples, scanned once: ids, entry positions, records on demand."""

    def __init__(self, path: str, id_feature_name: str):
        self.path = path
        self.file = _ex.RecordFile(path)
        self.index = _ex.index_features(self.file)
        name = id_feature_name.encode("utf-8")
        start, end, found = _ex.find_single_bytes_feature(self.file, self.index, name)
        array = np.frombuffer(self.file.data, dtype=np.uint8)
        self.ids = _ex.spans_to_array(array, start, end, self.file.data)
        slow = np.flatnonzero(~found)
        if len(slow):
            self.ids = self.ids.astype(object)
            for r in slow.tolist():
                self.ids[r] = _slow_id(path, r + 1, self.file.record(r), id_feature_name)

    def __len__(self) -> int:
        return len(self.file)

    def entries(self, r: int) -> list[tuple[bytes, bytes]]:
        """(key, value field bytes `0x12 len Feature`) of record r's entries; last key wins."""
        data = self.file.data
        if self.index.ok[r]:
            lo, hi = self.index.first[r], self.index.first[r + 1]
            key_start = self.index.key_start[lo:hi].tolist()
            key_end = self.index.key_end[lo:hi].tolist()
            entry_end = self.index.entry_end[lo:hi].tolist()
            pairs = [
                (data[ks:ke], data[ke:ee])
                for ks, ke, ee in zip(key_start, key_end, entry_end, strict=True)
            ]
        else:
            pairs = [
                (key, b"\x12" + _varint(len(feature)) + feature)
                for key, feature in _ex.feature_entries(self.file.record(r))
            ]
        if len({key for key, _ in pairs}) < len(pairs):
            pairs = list(dict(pairs).items())  # a repeated key keeps its last value
        return pairs


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


def _first_duplicate(path: str, ids: np.ndarray) -> None:
    """Raises a ValueError naming the first record whose id repeats an earlier one."""
    if ids.dtype != object:
        order = np.argsort(ids, kind="stable")
        ordered = ids[order]
        repeats = np.flatnonzero(ordered[1:] == ordered[:-1])
        if not len(repeats):
            return
    seen: dict[bytes, int] = {}
    for number, example_id in enumerate(ids.tolist(), start=1):
        if example_id in seen:
            raise ValueError(
                f"{path}: record {number} repeats id {example_id.decode('utf-8', 'replace')!r} "
                f"of record {seen[example_id]}; ids must be unique"
            )
        seen[example_id] = number


def _as_keys(arrays: list[np.ndarray]) -> list[np.ndarray] | None:
    """Ids of at most 8 bytes (no NULs) as big-endian uint64s, whose order is bytes order."""
    if any(a.dtype == object or a.dtype.itemsize > 8 for a in arrays):
        return None
    return [a.astype("S8").view(">u8").astype(np.uint64) for a in arrays]


class _NodeIndex:
    """Node numbering (seeds first, then unlabeled examples) and graph id lookup."""

    def __init__(self, seed_ids: np.ndarray, other_ids: np.ndarray, graph_ids: list[np.ndarray]):
        keys = _as_keys([seed_ids, other_ids, *graph_ids])
        self.num_seeds = len(seed_ids)
        if keys is not None:
            seed_keys, other_keys, *graph_keys = keys
            shadowed = np.isin(other_keys, seed_keys)
            self.other_rows = np.flatnonzero(~shadowed)
            node_keys = np.concatenate([seed_keys, other_keys[self.other_rows]])
            order = np.argsort(node_keys, kind="stable")
            sorted_keys = node_keys[order]
            self.rank = np.empty(len(node_keys), dtype=np.int64)
            self.rank[order] = np.arange(len(node_keys))
            # Look each distinct graph id up once (cheaper than searching every edge end).
            distinct, inverse = np.unique(np.concatenate(graph_keys), return_inverse=True)
            if len(sorted_keys):
                pos = np.minimum(np.searchsorted(sorted_keys, distinct), len(sorted_keys) - 1)
                found = sorted_keys[pos] == distinct
                distinct_nodes = np.where(found, order[pos], -1)
            else:
                found = np.zeros(len(distinct), dtype=bool)
                distinct_nodes = np.full(len(distinct), -1, dtype=np.int64)
            # Distinct missing ids get distinct negative numbers -1, -2, ...
            distinct_nodes[~found] = -1 - np.arange(int((~found).sum()))
            all_nodes = distinct_nodes[inverse.ravel()]
            bounds = np.cumsum([0] + [len(g) for g in graph_keys])
            self.lookups = [
                all_nodes[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            ]
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
            missing: dict[bytes, int] = {}

            def lookup(node_id):
                node = index.get(node_id)
                if node is None:
                    node = missing.setdefault(node_id, -1 - len(missing))
                return node

            self.lookups = [
                np.fromiter(map(lookup, g.tolist()), dtype=np.int64, count=len(g))
                for g in graph_ids
            ]
        self.in_both = len(other_ids) - len(self.other_rows)
        self.num_nodes = self.num_seeds + len(self.other_rows)


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
        else:  # pragma: no cover - very large graphs
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


def pack_nbrs(
    labeled_examples_path: str | os.PathLike,
    unlabeled_examples_path: str | os.PathLike | None,
    graph_path: str | os.PathLike,
    output_training_data_path: str | os.PathLike,
    add_undirected_edges: bool = False,
    max_nbrs: int | None = None,
    id_feature_name: str = "id",
) -> dict:
    """Merges each labeled example with its graph neighbours' features; writes a TFRecord.

    Args:
      labeled_examples_path: TFRecord of labeled `tf.train.Example`s (the seeds), each with
        a singleton bytes_list id feature.
      unlabeled_examples_path: TFRecord of unlabeled examples that may be neighbours, or ''
        or None for none.
      graph_path: NSL graph TSV, `source<TAB>target[<TAB>weight]` a line.
      output_training_data_path: the output TFRecord (written under a temporary name and
        renamed when complete).
      add_undirected_edges: treat every edge as bi-directional (the pair keeps the larger
        weight).
      max_nbrs: the most neighbours packed into a seed; None for all.
      id_feature_name: the name of the id feature.

    Returns:
      A dict of counts: `seeds_written`, `labeled_examples`, `unlabeled_examples`,
      `ids_in_both_files` (the labeled example is used), `edges_read` (TSV lines),
      `neighbours_packed`, `missing_neighbours_skipped` (seed out-edges whose target has no
      example, skipped as NSL does), `missing_neighbour_ids` (distinct such targets),
      `out_degree_histogram` ({K: seeds}), `seconds`.

    Raises:
      FileNotFoundError: an input path does not exist.
      ValueError: a corrupted TFRecord, a record that is not an Example or lacks the id
        feature, a repeated id within a file, a malformed graph line, or a seed that already
        holds packed-neighbour features (each naming the file and record or line).
    """
    start_time = time.perf_counter()
    if max_nbrs is not None and (
        isinstance(max_nbrs, bool) or not isinstance(max_nbrs, (int, np.integer)) or max_nbrs < 0
    ):
        raise ValueError(f"max_nbrs must be None or an int >= 0, got {max_nbrs!r}")
    labeled_path = os.fspath(labeled_examples_path)
    unlabeled_path = os.fspath(unlabeled_examples_path) if unlabeled_examples_path else ""
    graph_path = os.fspath(graph_path)
    output_path = os.fspath(output_training_data_path)
    for path in (labeled_path, unlabeled_path, graph_path):
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"pack_nbrs: no such file: {path!r}")

    seeds = _ExampleFile(labeled_path, id_feature_name)
    _first_duplicate(labeled_path, seeds.ids)
    others = _ExampleFile(unlabeled_path, id_feature_name) if unlabeled_path else None
    other_ids = others.ids if others is not None else np.zeros(0, dtype="S1")
    if others is not None:
        _first_duplicate(unlabeled_path, other_ids)
    sources, targets, weights = _ex.read_graph_arrays(graph_path)
    edges_read = len(sources)
    nodes = _NodeIndex(seeds.ids, other_ids, [sources, targets])
    src, dst = nodes.lookups
    del sources, targets, nodes.lookups
    num_seeds = nodes.num_seeds
    if nodes.in_both:
        logging.info(
            "%d ids are in both example files; the labeled example is used.", nodes.in_both
        )

    if add_undirected_edges:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
        weights = np.concatenate([weights, weights])
    seed_edges = (src >= 0) & (src < num_seeds)
    src, dst, weights = src[seed_edges], dst[seed_edges], weights[seed_edges]
    src, dst, weights = _dedupe(src, dst, weights)  # a repeated edge keeps its largest weight
    missing = dst < 0
    missing_skipped = int(missing.sum())
    missing_ids = int(len(np.unique(dst[missing])))
    src, dst, weights = src[~missing], dst[~missing], weights[~missing]
    dst, weights, starts = _sorted_neighbours(src, dst, weights, nodes.rank, num_seeds, max_nbrs)
    del src
    if missing_skipped:
        logging.warning(
            "%d seed out-edges point at %d ids with no example; they were skipped.",
            missing_skipped,
            missing_ids,
        )

    used = np.unique(dst)
    sources = [(seeds, used[used < num_seeds], used[used < num_seeds])]
    if others is not None:
        other_nodes = used[used >= num_seeds]
        sources.append((others, other_nodes, nodes.other_rows[other_nodes - num_seeds]))
    records = _packed_records(seeds, sources, dst, weights, starts, nodes.num_nodes)
    written = _ex.write_records(output_path, records)
    counts = np.diff(starts)
    histogram = collections.Counter(counts.tolist())
    seconds = time.perf_counter() - start_time
    result = {
        "seeds_written": written,
        "labeled_examples": num_seeds,
        "unlabeled_examples": len(other_ids),
        "ids_in_both_files": nodes.in_both,
        "edges_read": edges_read,
        "neighbours_packed": int(counts.sum()),
        "missing_neighbours_skipped": missing_skipped,
        "missing_neighbour_ids": missing_ids,
        "out_degree_histogram": dict(sorted(histogram.items())),
        "seconds": round(seconds, 3),
    }
    logging.info(
        "pack_nbrs wrote %d seeds to %s (%d edges read, %d neighbours packed, %d missing "
        "neighbours skipped) in %.2f s; out-degree histogram %s",
        written,
        output_path,
        edges_read,
        result["neighbours_packed"],
        missing_skipped,
        seconds,
        result["out_degree_histogram"],
    )
    return result


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
        for example_file, nodes, rows in sources:
            ok = example_file.index.ok[rows]
            self._add_scanned(example_file, nodes[ok], rows[ok])
            for node, row in zip(nodes[~ok].tolist(), rows[~ok].tolist(), strict=True):
                pairs = [
                    (key, b"\x12" + _varint(len(feature)) + feature)
                    for key, feature in _ex.feature_entries(example_file.file.record(row))
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

    def _add_scanned(self, example_file: _ExampleFile, nodes: np.ndarray, rows: np.ndarray):
        if not len(rows):
            return
        index = example_file.index
        data = example_file.file.data
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


def _packed_records(seeds: _ExampleFile, rekeyed_sources, dst, weights, starts, num_nodes):
    """Yields each seed's output record: its bytes plus one more `features` field."""
    from tqdm import tqdm

    n = len(seeds)
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
    rekeyed = _Rekeyed(rekeyed_sources, {len(s) - 1 for s in separators}, num_nodes)
    chunks = [rekeyed.chunks[len(s) - 1] for s in separators]
    position = (np.arange(len(dst)) - np.repeat(starts[:-1], counts)).tolist()
    weight_bytes = weights.astype("<f4").tobytes()
    # A neighbour's own `weight` feature replaces NL_nbr_<i>_weight, as in NSL.
    own_weight = rekeyed.has_weight[dst].tolist()
    edge_bytes = [
        (b"" if own else weight_heads[p] + weight_bytes[4 * e : 4 * e + 4])
        + separators[p].join(chunks[p][lo:hi])
        for e, (p, lo, hi, own) in enumerate(
            zip(
                position,
                rekeyed.lo[dst].tolist(),
                rekeyed.hi[dst].tolist(),
                own_weight,
                strict=True,
            )
        )
    ]
    del rekeyed
    data, offsets = seeds.file.data, seeds.file.offsets.tolist()
    ends = (seeds.file.offsets + seeds.file.lengths).tolist()
    starts = starts.tolist()
    counts = counts.tolist()
    varint = _varint
    progress = tqdm(total=n, desc="pack_nbrs", unit="seed", mininterval=1.0, leave=False)
    try:
        for lo in range(0, n, 4096):
            hi = min(lo + 4096, n)
            records = [data[offsets[s] : ends[s]] for s in range(lo, hi)]
            for s, record in enumerate(records, start=lo):
                if b"NL_" in record:
                    _check_not_packed(seeds.path, s, record)
            extras = [
                num_entries[counts[s]] + b"".join(edge_bytes[starts[s] : starts[s + 1]])
                for s in range(lo, hi)
            ]
            yield from [
                record + b"\x0a" + varint(len(extra)) + extra
                for record, extra in zip(records, extras, strict=True)
            ]
            progress.update(hi - lo)
    finally:
        progress.close()


def _map_entry(key: bytes, feature: bytes) -> bytes:
    inner = b"\x0a" + _varint(len(key)) + key + b"\x12" + _varint(len(feature)) + feature
    return b"\x0a" + _varint(len(inner)) + inner


def _check_not_packed(path: str, seed: int, record: bytes) -> None:
    for key, _ in _ex.feature_entries(record):
        if key == b"NL_num_nbrs" or (
            key.startswith(b"NL_nbr_") and key[7:].split(b"_", 1)[0].isdigit()
        ):
            raise ValueError(
                f"{path}: record {seed + 1} already has feature "
                f"{key.decode('utf-8', 'replace')!r}; its neighbours look packed already "
                "(pack the unpacked examples)"
            )


def define_flags() -> None:
    """Defines NSL's pack_nbrs flags (`--max_nbrs`, `--add_undirected_edges`, `--id_feature_name`)."""
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


def main(argv: list[str]) -> None:
    """`graphnsl pack-nbrs [flags] LABELED UNLABELED GRAPH OUTPUT` (UNLABELED may be '')."""
    from absl import app, flags

    if len(argv) != 5:
        raise app.UsageError(
            f"Expected 4 arguments (labeled.tfr unlabeled.tfr graph.tsv output.tfr), got "
            f"{len(argv) - 1}; pass '' for no unlabeled examples."
        )
    flag = flags.FLAGS
    result = pack_nbrs(
        labeled_examples_path=argv[1],
        unlabeled_examples_path=argv[2],
        graph_path=argv[3],
        output_training_data_path=argv[4],
        add_undirected_edges=flag.add_undirected_edges,
        max_nbrs=flag.max_nbrs,
        id_feature_name=flag.id_feature_name,
    )
    print(
        f"Wrote {result['seeds_written']} examples to {argv[4]}: "
        f"{result['neighbours_packed']} neighbours packed, {result['edges_read']} edges read, "
        f"{result['missing_neighbours_skipped']} edges to ids without an example skipped."
    )
