"""Builds a cosine-similarity graph over embeddings, with NSL's `build_graph` semantics.

Reads `tf.train.Example`s holding an id (singleton bytes_list) and an embedding
(float_list) from one or more TFRecord files, L2-normalizes each embedding (a norm below
1e-6 counts as 1e-6), and writes an edge for every pair of distinct examples whose cosine
similarity is >= `similarity_threshold`, in both directions, as NSL's TSV
`source<TAB>target<TAB>weight` with the weight as `%f`. No self-edges. This is NSL's exact
(no LSH) graph, bit for bit: NSL 1.4.0 (with today's protobuf and NumPy 2) normalizes and
takes dot products in float32 and compares them with the threshold rounded to float32, so
candidate pairs are found by blocked float32 matrix products over the upper triangle
(memory bounded by `block_bytes` per block of rows), with a margin for summation order,
and each candidate's weight is then recomputed exactly as NSL does (`np.dot` of the two
normalized rows, batched through `np.vecdot`, which runs the same dot kernel).

Beyond NSL: a per-node cap (`max_nbrs_per_node`, each node's k best lines), approximate
candidate pairs (`ann="faiss"`, IVF or HNSW, and `ann="lsh"`, NSL's LSH bucketing; see
`graphnsl.data.ann`), inputs as globs or comma-separated lists (sharded files), and the
same graph as an Apache Beam pipeline (`graphnsl.beam.build_graph`, `--runner`).

Usage: `graphnsl build-graph [--similarity_threshold=0.8] [--id_feature_name=id]
[--embedding_feature_name=embedding] [--max_nbrs_per_node=K] [--ann=exact|faiss|lsh]
[--faiss_index=ivf|hnsw --ann_k=64 --ivf_nlist=0 --ivf_nprobe=16 --hnsw_m=32 ...]
[--lsh_splits=S --lsh_rounds=R --random_seed=N] [--runner=DirectRunner --num_shards=N]
EMB_FILE_OR_GLOB... OUTPUT_TSV [-- BEAM_PIPELINE_OPTIONS]`.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import time
from collections.abc import Sequence

import numpy as np
from absl import logging

from graphnsl.data import ann as _ann
from graphnsl.data import atomic, graph_tsv, tfrecord, wire_format

__all__ = ["build_graph", "read_embeddings", "top_k_lines", "id_ranks", "define_flags", "main"]

_MIN_NORM = 1e-6


def _float_list_spans(file: tfrecord.RecordFile, index: wire_format.FeatureIndex, name: bytes):
    """Per record: (start, end, found) of the packed float bytes of feature `name`."""
    array = np.frombuffer(file.data, dtype=np.uint8)
    n = len(file.offsets)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    found = np.zeros(n, dtype=bool)
    match = np.flatnonzero(wire_format.spans_equal(array, index.key_start, index.key_end, name))
    if not len(match):
        return start, end, found
    records = index.record[match]
    last = np.ones(len(match), dtype=bool)
    last[:-1] = records[1:] != records[:-1]
    match, records = match[last], records[last]
    value_start, entry_end = index.value_start[match], index.entry_end[match]
    top = len(array) - 1
    # Feature = 0x12 len FloatList; FloatList = 0x0a len packed-floats.
    good = array[np.minimum(value_start, top)] == 0x12
    size, list_start, g = wire_format.decode_varints(array, value_start + 1)
    good &= g & (list_start + size == entry_end)
    good &= array[np.minimum(list_start, top)] == 0x0A
    size, floats_start, g = wire_format.decode_varints(array, list_start + 1)
    good &= g & (floats_start + size == entry_end) & (size % 4 == 0)
    start[records] = floats_start
    end[records] = entry_end
    found[records] = good
    return start, end, found


def read_embeddings(
    embedding_files: Sequence[str | os.PathLike],
    id_feature_name: str = "id",
    embedding_feature_name: str = "embedding",
) -> tuple[list[str], np.ndarray]:
    """Reads ids and embeddings from TFRecord files of `tf.train.Example`s.

    Args:
      embedding_files: TFRecord paths.
      id_feature_name: the singleton bytes_list feature holding each example's id.
      embedding_feature_name: the float_list feature holding each example's embedding.

    Returns:
      `(ids, embeddings)`: ids as str [n] in file order, embeddings float32 [n, dim].

    Raises:
      FileNotFoundError: a file does not exist.
      ValueError: a corrupted record, a missing id or embedding, an embedding whose length
        differs from the first one's or that holds NaN or inf, or a repeated id (naming the
        file and record).
    """
    id_name = id_feature_name.encode("utf-8")
    embedding_name = embedding_feature_name.encode("utf-8")
    ids: list[str] = []
    blocks: list[np.ndarray] = []
    where: list[tuple[str, int]] = []  # (file, first record number) of each block
    dim = None
    dim_origin = ""
    for path in embedding_files:
        path = os.fspath(path)
        file = tfrecord.RecordFile(path)
        index = wire_format.index_features(file)
        array = np.frombuffer(file.data, dtype=np.uint8)
        id_start, id_end, id_found = wire_format.find_single_bytes_feature(file, index, id_name)
        emb_start, emb_end, emb_found = _float_list_spans(file, index, embedding_name)
        file_ids = graph_tsv.spans_to_array(array, id_start, id_end, file.data).astype(object)
        sizes = (emb_end - emb_start) // 4
        for r in np.flatnonzero(~id_found).tolist():
            file_ids[r] = _slow_feature(path, r, file.record(r), id_name, "bytes_list")[0]
        slow = {}
        for r in np.flatnonzero(~emb_found).tolist():
            slow[r] = _slow_feature(path, r, file.record(r), embedding_name, "float_list")
            sizes[r] = len(slow[r])
        if len(file):
            if dim is None:
                dim, dim_origin = int(sizes[0]), f"{path} record 1"
            wrong = np.flatnonzero(sizes != dim)
            if len(wrong):
                r = int(wrong[0])
                raise ValueError(
                    f"{path}: record {r + 1}: embedding {embedding_feature_name!r} has "
                    f"{int(sizes[r])} values, expected {dim} (the length in {dim_origin})"
                )
            zeros = bytes(4 * dim)
            spans = zip(emb_start.tolist(), emb_end.tolist(), emb_found.tolist(), strict=True)
            raw = b"".join([file.data[s:e] if ok else zeros for s, e, ok in spans])
            matrix = np.frombuffer(raw, dtype="<f4").reshape(len(file), dim).astype(np.float32)
            for r, values in slow.items():
                matrix[r] = values
            bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
            if len(bad):
                r = int(bad[0])
                column = int(np.flatnonzero(~np.isfinite(matrix[r]))[0])
                raise ValueError(
                    f"{path}: record {r + 1}: embedding {embedding_feature_name!r} has the "
                    f"non-finite value {matrix[r, column]} at position {column} "
                    f"({len(bad)} such record(s) in this file); embeddings must be finite"
                )
            blocks.append(matrix)
            where.append((path, len(ids)))
        for r, raw in enumerate(file_ids.tolist()):
            try:
                ids.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ValueError(f"{path}: record {r + 1}: id {raw!r} is not UTF-8") from None
    _check_unique_ids(ids, where)
    if blocks:
        embeddings = np.concatenate(blocks)
    else:
        embeddings = np.zeros((0, 0), dtype=np.float32)
    return ids, embeddings


def _slow_feature(path: str, r: int, record: bytes, name: bytes, kind: str):
    """Reads one feature of one record with the per-record parser, or raises naming it."""
    label = name.decode("utf-8")
    try:
        feature = wire_format.find_feature(record, name)
        got = None if feature is None else wire_format.feature_kind(feature)
        if feature is not None and got == kind:
            if kind == "bytes_list":
                values = wire_format.bytes_list_values(feature)
            else:
                values = wire_format.float_list_values(feature)
        else:
            values = None
    except wire_format.WireFormatError as error:
        raise ValueError(
            f"{path}: record {r + 1} is not a valid serialized tf.train.Example ({error})"
        ) from None
    if feature is None:
        raise ValueError(f"{path}: record {r + 1} has no feature {label!r}")
    if values is None or (kind == "bytes_list" and not len(values)):
        raise ValueError(
            f"{path}: record {r + 1}: feature {label!r} must be a {kind}"
            + (" with a value" if kind == "bytes_list" else "")
            + f", got {got or 'an empty feature'}"
        )
    return values


def _check_unique_ids(ids: list[str], where: list[tuple[str, int]]) -> None:
    if len(set(ids)) == len(ids):
        return

    def locate(i: int) -> str:
        path, first = max((w for w in where if w[1] <= i), key=lambda w: w[1])
        return f"{path} record {i - first + 1}"

    seen: dict[str, int] = {}
    for i, example_id in enumerate(ids):
        if example_id in seen:
            raise ValueError(
                f"{locate(i)} repeats id {example_id!r} of {locate(seen[example_id])}; ids "
                "must be unique"
            )
        seen[example_id] = i


def _normalize_like_nsl(embeddings: np.ndarray) -> np.ndarray:
    """Each row divided by max(its norm, 1e-6), with NSL's own float32 arithmetic.

    NSL 1.4.0 normalizes the float_list it reads: with today's protobuf, NumPy sees it as a
    float32 array, so the norm (`np.linalg.norm`) and the division are float32; a row is done
    the same way here, one at a time, so that every bit matches.

    Args:
      embeddings: float32 [n, dim].

    Returns:
      float32 [n, dim].
    """
    out = np.empty_like(embeddings, dtype=np.float32)
    norm = np.linalg.norm
    min_norm = np.float64(_MIN_NORM)
    for r, row in enumerate(embeddings):
        out[r] = row / max(norm(row), min_norm)
    return out


def _check_threshold(similarity_threshold: float) -> float:
    threshold = float(similarity_threshold)
    if not -1.0 <= threshold <= 1.0:  # also False for NaN
        raise ValueError(
            f"similarity_threshold must be a cosine similarity in [-1, 1], got {threshold!r}"
        )
    return threshold


def _check_lsh(lsh_splits: int, lsh_rounds: int, ann: str | None) -> None:
    if lsh_splits < 0:
        raise ValueError("lsh_splits < 0")
    if lsh_splits > 0 and lsh_rounds < 1:
        raise ValueError("lsh_splits > 0 but lsh_rounds < 1")
    if ann == "lsh" and not 1 <= lsh_splits <= 62:
        raise ValueError(f"ann='lsh' needs 1 <= lsh_splits <= 62, got {lsh_splits}")


def _check_cap(max_nbrs_per_node: int | None) -> int | None:
    if max_nbrs_per_node is None:
        return None
    if int(max_nbrs_per_node) != max_nbrs_per_node or max_nbrs_per_node < 1:
        raise ValueError(
            f"max_nbrs_per_node must be a positive integer or None, got {max_nbrs_per_node!r}"
        )
    return int(max_nbrs_per_node)


def id_ranks(ids: Sequence[str]) -> np.ndarray:
    """The position of each id in sorted (Python string) order: the cap's tie-break key."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(np.asarray(ids, dtype=object), kind="stable")] = np.arange(len(ids))
    return rank


def top_k_lines(
    sources: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    k: int,
    id_rank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keeps each source's `k` best directed lines: by weight, ties to the smaller id.

    Args:
      sources, targets: int node numbers [m] of directed candidate lines, each line once.
      weights: float32 [m], the lines' weights (already at or above the threshold).
      k: the cap.
      id_rank: int [n], `id_ranks(ids)`.

    Returns:
      `(sources, targets, weights)` of the kept lines, sorted by source number, then by
      weight (largest first), then by target id.
    """
    order = np.lexsort((id_rank[targets], -weights, sources))
    sources, targets, weights = sources[order], targets[order], weights[order]
    if not len(sources):
        return sources, targets, weights
    new_group = np.ones(len(sources), dtype=bool)
    new_group[1:] = sources[1:] != sources[:-1]
    starts = np.flatnonzero(new_group)
    group_start = np.repeat(starts, np.diff(np.append(starts, len(sources))))
    keep = np.arange(len(sources)) - group_start < k
    return sources[keep], targets[keep], weights[keep]


def _format_lines(ids, sources, targets, weights, both_ways: bool) -> str:
    texts = [f"{x:f}" for x in weights.tolist()]
    if both_ways:
        return "".join(
            [
                f"{ids[s]}\t{ids[t]}\t{w}\n{ids[t]}\t{ids[s]}\t{w}\n"
                for s, t, w in zip(sources.tolist(), targets.tolist(), texts, strict=True)
            ]
        )
    return "".join(
        [
            f"{ids[s]}\t{ids[t]}\t{w}\n"
            for s, t, w in zip(sources.tolist(), targets.tolist(), texts, strict=True)
        ]
    )


def expand_inputs(patterns: Sequence[str | os.PathLike] | str | os.PathLike) -> list[str]:
    """Expands input paths: each may be a file, a glob pattern, or a comma-separated list.

    Sharded outputs (`name-00000-of-00004`, ...) are read with a pattern such as
    `name-*-of-*`. Matches of one pattern are taken in sorted order; a file named twice is
    read once.

    Args:
      patterns: path(s), glob pattern(s) or comma-separated lists of them.

    Returns:
      The files, in order.

    Raises:
      FileNotFoundError: a pattern matches no file, or a plain path does not exist.
    """
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    files: list[str] = []
    for item in patterns:
        item = os.fspath(item)
        for part in item.split(",") if "," in item and not os.path.exists(item) else [item]:
            if not part:
                continue
            if glob.has_magic(part) and not os.path.exists(part):
                matches = sorted(glob.glob(part))
                if not matches:
                    raise FileNotFoundError(f"No file matches the input pattern {part!r}")
                files.extend(matches)
            else:
                files.append(part)
    seen: set[str] = set()
    return [f for f in files if not (f in seen or seen.add(f))]


def build_graph(
    embedding_files: Sequence[str | os.PathLike] | str | os.PathLike,
    output_graph_path: str | os.PathLike,
    similarity_threshold: float = 0.8,
    id_feature_name: str = "id",
    embedding_feature_name: str = "embedding",
    lsh_splits: int = 0,
    lsh_rounds: int = 2,
    random_seed: int | None = None,
    block_bytes: int = 64 << 20,
    *,
    max_nbrs_per_node: int | None = None,
    ann: str | None = None,
    faiss_options: _ann.FaissOptions | dict | None = None,
) -> dict:
    """Writes the graph of all example pairs with cosine similarity >= the threshold.

    Without a cap the output is NSL's: every pair at or above the threshold, written in
    both directions (`i j w` then `j i w`), pairs in row-major order of the upper triangle
    (node numbers in input order).

    With `max_nbrs_per_node=k`, each node keeps its `k` most similar neighbours among those
    at or above the threshold, as its own lines: the line `i j w` is written when `j` is
    among `i`'s `k` best. Ranking is by the float32 weight (the value NSL computes, before
    `%f` formatting), largest first; equal weights go to the neighbour whose id sorts first
    (Python string order), so the result does not depend on file order. A pair that each
    end keeps appears in both directions, as in NSL's output; a pair that only one end keeps
    (the other end has k better neighbours) appears once, as that end's line. So every node
    is the source of at most k lines (what pack_nbrs reads as its neighbours), and a node
    may still be the target of more. Lines are grouped by source, in input order, best
    first. With k >= every node's degree the lines are exactly the uncapped ones.

    Candidate pairs come from `ann`:
      - None (default): every pair (exact; blocked matrix products).
      - "faiss": each node's `faiss_options.k` nearest neighbours in a faiss HNSW or IVF
        index (see `graphnsl.data.ann`); pairs found from either end count.
      - "lsh": NSL's LSH bucketing with `lsh_splits` hyperplanes and `lsh_rounds` rounds
        seeded by `random_seed` (NSL's own hyperplanes for the same seed); only pairs that
        share a bucket in some round are compared.
    Every candidate's weight is then computed as in the exact mode and thresholded, so an
    approximate graph is a subset of the exact one, with the same weights; the cap applies
    to the pairs found. In the approximate modes, lines come in the exact mode's order.

    Args:
      embedding_files: TFRecord path(s), glob pattern(s) or comma-separated lists of
        `tf.train.Example`s with an id and an embedding (see `expand_inputs`).
      output_graph_path: the output TSV (written under a temporary name, renamed when
        complete), `source<TAB>target<TAB>%f`.
      similarity_threshold: keep pairs whose cosine similarity is >= this, in [-1, 1].
      id_feature_name: the singleton bytes_list id feature.
      embedding_feature_name: the float_list embedding feature.
      lsh_splits, lsh_rounds, random_seed: NSL's LSH settings, validated as NSL does. They
        are used with `ann="lsh"`; otherwise they do not change the result (the exact graph
        is a superset of NSL's LSH graph; `random_seed` also seeds faiss' IVF k-means).
      block_bytes: memory for one block of the similarity matrix (rows * n * 4 bytes).
      max_nbrs_per_node: the per-node cap k (a positive int), or None for no cap.
      ann: None, "faiss" or "lsh" (see above).
      faiss_options: `graphnsl.data.ann.FaissOptions` (or a dict of its fields) for
        `ann="faiss"`.

    Returns:
      A dict of counts: `embeddings`, `dim`, `edges` (node pairs written, in one direction
      or both), `lines_written`, `lines_capped` (directed lines at or above the threshold
      that the cap left out), `candidates_checked` (pairs whose weight was computed),
      `saturated_nodes` (faiss: nodes whose k candidates were all at or above the
      threshold, so that they may have more neighbours than were found; with a cap, k is
      at least the cap, so their capped lists are whole and no warning is logged),
      `seconds`.

    Raises:
      FileNotFoundError: an input file does not exist.
      ValueError: bad settings or bad input records (see `read_embeddings`).
      ImportError: `ann="faiss"` without faiss installed (says what to install).
    """
    start_time = time.perf_counter()
    threshold = _check_threshold(similarity_threshold)
    cap = _check_cap(max_nbrs_per_node)
    if ann not in (None, "exact", "faiss", "lsh"):
        raise ValueError(f"ann must be None, 'exact', 'faiss' or 'lsh', got {ann!r}")
    ann = None if ann == "exact" else ann
    _check_lsh(lsh_splits, lsh_rounds, ann)
    if lsh_splits > 0 and ann != "lsh":
        logging.info(
            "lsh_splits=%d not used (ann=%s): pass ann='lsh' for NSL's LSH bucketing.",
            lsh_splits,
            ann or "exact",
        )
    options = None
    if ann == "faiss":
        options = _faiss_options(faiss_options, random_seed, cap)
        _ann.import_faiss()
    embedding_files = expand_inputs(embedding_files)
    output_graph_path = os.fspath(output_graph_path)
    atomic.check_output_path(output_graph_path, inputs=embedding_files)
    ids, embeddings = read_embeddings(embedding_files, id_feature_name, embedding_feature_name)
    n, dim = len(ids), int(embeddings.shape[1])
    logging.info("Read %d embeddings of dimension %d.", n, dim)
    read_seconds = time.perf_counter() - start_time

    normalized = _normalize_like_nsl(embeddings)
    del embeddings
    # NSL compares a float32 similarity with a Python float, which NumPy rounds to float32.
    threshold32 = float(np.float32(threshold))
    # Two float32 dot products of unit vectors, summed in any orders, differ by at most
    # 2 * dim * 2**-24 (each is within dim * 2**-24 of the exact value).
    band = 1e-6 + 2.0 * dim * 2.0**-24
    stats = {"lines_written": 0, "lines_capped": 0, "candidates_checked": 0}
    stats["saturated_nodes"] = 0
    id_rank = id_ranks(ids) if cap is not None else None

    with atomic.AtomicOutput(output_graph_path, "w") as out:
        if ann is None:
            edges = _exact(
                out,
                ids,
                normalized,
                threshold,
                threshold32 - band,
                cap,
                id_rank,
                block_bytes,
                stats,
            )
        else:
            if ann == "faiss":
                pairs = _faiss_pairs(normalized, options, threshold, threshold32 - band, stats)
            else:
                pairs = _lsh_pairs(
                    normalized,
                    lsh_splits,
                    lsh_rounds,
                    random_seed,
                    threshold,
                    threshold32 - band,
                    block_bytes,
                    stats,
                )
            edges = write_pairs(out, ids, *pairs, cap, id_rank, stats)
    seconds = time.perf_counter() - start_time
    result = {"embeddings": n, "dim": dim, "edges": edges, **stats}
    result["read_seconds"] = round(read_seconds, 3)
    result["seconds"] = round(seconds, 3)
    if stats["saturated_nodes"] and cap is None:
        logging.warning(
            "build_graph: %d of %d nodes had all %d faiss candidates at or above the "
            "threshold; they may have more neighbours than were found (raise the faiss k).",
            stats["saturated_nodes"],
            n,
            options.k,
        )
    elif stats["saturated_nodes"]:
        # k >= cap (_faiss_options raises k to the cap): a node's cap best neighbours are
        # among its own k candidates, so its capped list is whole however many more it has.
        logging.info(
            "build_graph: %d of %d nodes had all %d faiss candidates at or above the "
            "threshold; their lists keep the best %d, so none is cut short.",
            stats["saturated_nodes"],
            n,
            options.k,
            cap,
        )
    logging.info(
        "build_graph (%s): %d embeddings, %d node pairs in %d lines at similarity >= %g%s to "
        "%s in %.2f s.",
        ann or "exact",
        n,
        edges,
        stats["lines_written"],
        threshold,
        "" if cap is None else f" (cap {cap}: {stats['lines_capped']} lines left out)",
        output_graph_path,
        seconds,
    )
    return result


def _faiss_options(faiss_options, random_seed, cap) -> _ann.FaissOptions:
    if faiss_options is None:
        options = _ann.FaissOptions()
    elif isinstance(faiss_options, dict):
        options = _ann.FaissOptions(**faiss_options)
    else:
        options = dataclasses.replace(faiss_options)
    if random_seed is not None and (
        not isinstance(faiss_options, dict) or "seed" not in faiss_options
    ):
        options.seed = int(random_seed)
    if cap is not None and cap > options.k:
        logging.info("faiss k raised from %d to the cap %d.", options.k, cap)
        options.k = cap
    return options.validate()


def _threshold_pairs(normalized, sources, targets, threshold):
    """The pairs whose NSL weight (np.dot of the normalized rows) is >= the threshold."""
    # NSL's weight is np.dot of the two normalized float32 vectors; a matrix product sums in
    # another order, so each candidate is recomputed that way: np.vecdot runs the very same
    # dot kernel as np.dot, pair by pair (and a product of two floats does not depend on
    # their order, so (i, j) and (j, i) weigh the same).
    weights = np.vecdot(normalized[sources], normalized[targets])
    keep = weights >= threshold
    return sources[keep], targets[keep], weights[keep]


def _exact(out, ids, normalized, threshold, floor, cap, id_rank, block_bytes, stats) -> int:
    """The exact mode, block of rows by block of rows; returns the node pairs written."""
    from tqdm import tqdm

    n = len(ids)
    rows_per_block = max(1, int(block_bytes // max(4 * n, 1)))
    pair_keys = []  # capped mode: min * n + max of each written line, to count node pairs
    blocks = range(0, n, rows_per_block)
    for lo in tqdm(blocks, desc="build_graph", unit="block", leave=False, mininterval=1.0):
        hi = min(lo + rows_per_block, n)
        # Uncapped: the upper triangle (columns lo..n-1), each pair once, written both ways.
        # Capped: whole rows, every line of sources lo..hi-1, so each source's top k is
        # complete within its block.
        first = lo if cap is None else 0
        similarity = normalized[lo:hi] @ normalized[first:].T
        flat = np.flatnonzero(similarity >= floor)
        rows, cols = np.divmod(flat, n - first)
        sources, targets = lo + rows, first + cols
        keep = targets > sources if cap is None else targets != sources
        sources, targets = sources[keep], targets[keep]
        stats["candidates_checked"] += len(sources)
        sources, targets, weights = _threshold_pairs(normalized, sources, targets, threshold)
        if cap is None:
            out.write(_format_lines(ids, sources, targets, weights, both_ways=True))
            stats["lines_written"] += 2 * len(sources)
            continue
        above = len(sources)
        sources, targets, weights = top_k_lines(sources, targets, weights, cap, id_rank)
        stats["lines_capped"] += above - len(sources)
        out.write(_format_lines(ids, sources, targets, weights, both_ways=False))
        stats["lines_written"] += len(sources)
        pair_keys.append(np.minimum(sources, targets) * n + np.maximum(sources, targets))
    if cap is None:
        return stats["lines_written"] // 2
    return len(np.unique(np.concatenate(pair_keys))) if pair_keys else 0


def _unique_pairs(n, key_chunks, weight_chunks):
    """Sorted unique pairs (i < j) from chunks of keys i * n + j and their weights."""
    if not key_chunks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    keys = np.concatenate(key_chunks)
    weights = np.concatenate(weight_chunks)
    keys, first = np.unique(keys, return_index=True)
    sources, targets = np.divmod(keys, max(n, 1))
    return sources, targets, weights[first]


def _faiss_pairs(normalized, options, threshold, floor, stats):
    n = len(normalized)
    key_chunks, weight_chunks = [], []
    from tqdm import tqdm

    batches = _ann.faiss_candidates(normalized, options, floor)
    total = -(-n // int(options.query_batch))
    for queries, found, saturated in tqdm(
        batches, total=total, desc="faiss search", unit="batch", leave=False, mininterval=1.0
    ):
        stats["saturated_nodes"] += saturated
        sources, targets = np.minimum(queries, found), np.maximum(queries, found)
        stats["candidates_checked"] += len(sources)
        sources, targets, weights = _threshold_pairs(normalized, sources, targets, threshold)
        key_chunks.append(sources * n + targets)
        weight_chunks.append(weights)
    return _unique_pairs(n, key_chunks, weight_chunks)


def _lsh_pairs(normalized, splits, rounds, seed, threshold, floor, block_bytes, stats):
    n = len(normalized)
    key_chunks, weight_chunks = [], []
    for _, members in _ann.lsh_buckets(normalized, splits, rounds, seed):
        m = len(members)
        vectors = normalized[members]
        rows_per_block = max(1, int(block_bytes // (4 * m)))
        for lo in range(0, m, rows_per_block):
            hi = min(lo + rows_per_block, m)
            similarity = vectors[lo:hi] @ vectors[lo:].T
            rows, cols = np.divmod(np.flatnonzero(similarity >= floor), m - lo)
            keep = cols > rows
            # members are in increasing order, so these are pairs i < j.
            sources, targets = members[lo + rows[keep]], members[lo + cols[keep]]
            stats["candidates_checked"] += len(sources)
            sources, targets, weights = _threshold_pairs(normalized, sources, targets, threshold)
            key_chunks.append(sources * n + targets)
            weight_chunks.append(weights)
    return _unique_pairs(n, key_chunks, weight_chunks)


def write_pairs(out, ids, sources, targets, weights, cap, id_rank, stats, chunk=1 << 20) -> int:
    """Writes thresholded pairs (i < j, sorted) as NSL lines, capped or not.

    Args:
      out: a text file.
      ids: str [n] node ids.
      sources, targets: int [m] node numbers of the pairs (each pair once, source < target,
        sorted by source then target).
      weights: float32 [m] their weights.
      cap: the per-node cap, or None (every pair, both directions, as NSL).
      id_rank: `id_ranks(ids)` (used with a cap).
      stats: dict whose `lines_written` and `lines_capped` are increased.
      chunk: pairs formatted at a time.

    Returns:
      The node pairs written (in one direction or both).
    """
    if cap is None:
        for lo in range(0, len(sources), chunk):
            sl = slice(lo, lo + chunk)
            out.write(_format_lines(ids, sources[sl], targets[sl], weights[sl], both_ways=True))
        stats["lines_written"] += 2 * len(sources)
        return len(sources)
    both_sources = np.concatenate([sources, targets])
    both_targets = np.concatenate([targets, sources])
    both_weights = np.concatenate([weights, weights])
    kept = top_k_lines(both_sources, both_targets, both_weights, cap, id_rank)
    del both_sources, both_targets, both_weights
    stats["lines_capped"] += 2 * len(sources) - len(kept[0])
    for lo in range(0, len(kept[0]), chunk):
        sl = slice(lo, lo + chunk)
        out.write(_format_lines(ids, kept[0][sl], kept[1][sl], kept[2][sl], both_ways=False))
    stats["lines_written"] += len(kept[0])
    n = len(ids)
    keys = np.minimum(kept[0], kept[1]) * n + np.maximum(kept[0], kept[1])
    return len(np.unique(keys))


def define_flags() -> None:
    """Defines NSL's build_graph flags and graphnsl's (cap, faiss, Beam)."""
    from graphnsl.data.tool_flags import define_id_feature_flag, define_once

    define_id_feature_flag()
    define_once(
        "string", "embedding_feature_name", "embedding", "Float feature with each node's embedding."
    )
    define_once(
        "float",
        "similarity_threshold",
        0.8,
        "Smallest cosine similarity for which two nodes are joined by an edge, in [-1, 1].",
    )
    define_once(
        "integer",
        "lsh_splits",
        0,
        "NSL's LSH: hyperplanes per round, used with --ann=lsh (ignored otherwise: the exact "
        "graph is a superset of NSL's LSH graph).",
    )
    define_once("integer", "lsh_rounds", 2, "NSL's LSH rounds, used with --ann=lsh.")
    define_once(
        "integer",
        "random_seed",
        None,
        "Seed of NSL's LSH hyperplanes (--ann=lsh) and of faiss IVF's k-means.",
    )
    define_once(
        "integer",
        "max_nbrs_per_node",
        None,
        "Keep each node's k most similar neighbours above the threshold as its lines "
        "(ties to the smaller id); default: no cap, every edge both ways as NSL.",
    )
    _define_enum(
        "ann",
        "exact",
        ["exact", "faiss", "lsh"],
        "Candidate pairs: exact (every pair), faiss (HNSW or IVF nearest neighbours; "
        "needs graphnsl[faiss]) or lsh (NSL's LSH buckets, --lsh_splits/--lsh_rounds).",
    )
    defaults = _ann.FaissOptions()
    _define_enum("faiss_index", defaults.index, ["hnsw", "ivf"], "--ann=faiss index.")
    define_once("integer", "ann_k", defaults.k, "--ann=faiss: candidates searched per node.")
    define_once("integer", "hnsw_m", defaults.hnsw_m, "HNSW links per node (M).")
    define_once(
        "integer",
        "hnsw_ef_construction",
        defaults.hnsw_ef_construction,
        "HNSW efConstruction (search width while building).",
    )
    define_once(
        "integer",
        "hnsw_ef_search",
        defaults.hnsw_ef_search,
        "HNSW efSearch (search width while querying; at least --ann_k + 1).",
    )
    define_once("integer", "ivf_nlist", defaults.ivf_nlist, "IVF lists (0: 4 * sqrt(nodes)).")
    define_once("integer", "ivf_nprobe", defaults.ivf_nprobe, "IVF lists scanned per query.")
    define_once(
        "integer",
        "ivf_train_per_list",
        defaults.ivf_train_per_list,
        "IVF k-means training sample per list.",
    )
    define_once(
        "integer", "ann_threads", defaults.threads, "faiss threads (0: faiss' default, all cores)."
    )
    define_once(
        "string",
        "runner",
        None,
        "Run as an Apache Beam pipeline on this runner (DirectRunner, DataflowRunner, "
        "FlinkRunner, SparkRunner, ...); other Beam pipeline options follow the positional "
        "arguments, after `--`. Needs `pip install graphnsl[beam]`.",
    )
    define_once(
        "integer",
        "num_shards",
        0,
        "Write the output as this many shards OUTPUT-00000-of-0000N (0: one file; with "
        "--runner, 0 lets the runner choose).",
    )


def _define_enum(name: str, default: str, values: list[str], help_text: str) -> None:
    from absl import flags

    if name not in flags.FLAGS:
        flags.DEFINE_enum(name, default, values, help_text)


def faiss_options_from_flags(flag) -> _ann.FaissOptions:
    """`FaissOptions` from the parsed `--faiss_index`, `--ann_k`, `--hnsw_*`, `--ivf_*`."""
    return _ann.FaissOptions(
        index=flag.faiss_index,
        k=flag.ann_k,
        hnsw_m=flag.hnsw_m,
        hnsw_ef_construction=flag.hnsw_ef_construction,
        hnsw_ef_search=flag.hnsw_ef_search,
        ivf_nlist=flag.ivf_nlist,
        ivf_nprobe=flag.ivf_nprobe,
        ivf_train_per_list=flag.ivf_train_per_list,
        threads=flag.ann_threads,
    )


def main(argv: list[str]) -> None:
    """`graphnsl build-graph [flags] EMB_FILE... OUTPUT_TSV [-- BEAM_OPTIONS]`."""
    from absl import app, flags

    positional = [a for a in argv[1:] if not a.startswith("--")]
    beam_options = [a for a in argv[1:] if a.startswith("--") and a != "--"]
    flag = flags.FLAGS
    if len(positional) < 2:
        raise app.UsageError(
            f"Expected 2 or more arguments (EMB_FILE... OUTPUT_TSV), got {len(positional)}"
        )
    threshold = flag.similarity_threshold
    if not -1.0 <= threshold <= 1.0:
        raise app.UsageError(
            f"--similarity_threshold must be a cosine similarity in [-1, 1], got {threshold}"
        )
    cap = flag.max_nbrs_per_node
    if cap is not None and cap < 1:
        raise app.UsageError(f"--max_nbrs_per_node must be >= 1, got {cap}")
    if beam_options and not flag.runner:
        raise app.UsageError(
            f"Beam pipeline options {' '.join(beam_options)} need --runner (e.g. "
            "--runner=DirectRunner)."
        )
    if flag.num_shards < 0:
        raise app.UsageError(f"--num_shards must be >= 0, got {flag.num_shards}")
    inputs, output = positional[:-1], positional[-1]
    settings = dict(
        similarity_threshold=threshold,
        id_feature_name=flag.id_feature_name,
        embedding_feature_name=flag.embedding_feature_name,
        lsh_splits=flag.lsh_splits,
        lsh_rounds=flag.lsh_rounds,
        random_seed=flag.random_seed,
        max_nbrs_per_node=cap,
        ann=flag.ann,
        faiss_options=faiss_options_from_flags(flag) if flag.ann == "faiss" else None,
    )
    if flag.runner:
        from graphnsl.beam import build_graph as beam_build

        result = beam_build.run(
            inputs,
            output,
            num_shards=flag.num_shards,
            pipeline_args=[f"--runner={flag.runner}", *beam_options],
            **settings,
        )
        print(
            f"Wrote {result['lines_written']} lines over {result['embeddings']} embeddings "
            f"to {result['output_pattern']} with {flag.runner}: "
            f"{result['pairs_kept']} node pairs kept of "
            f"{result['candidate_pairs_checked']} candidate pairs checked; "
            + (f"{result['lines_capped']} lines over the cap of {cap} left out; " if cap else "")
            + f"{result['pairs_found_again']} pairs found again (LSH rounds) counted once."
        )
        return
    if flag.num_shards:
        raise app.UsageError("--num_shards is for --runner (a Beam pipeline's sharded output)")
    result = build_graph(inputs, output, **settings)
    if cap is None:
        print(
            f"Wrote {result['edges']} edges (both directions) over {result['embeddings']} "
            f"embeddings to {output}."
        )
    else:
        print(
            f"Wrote {result['lines_written']} lines ({result['edges']} node pairs; "
            f"{result['lines_capped']} lines over the cap of {cap} left "
            f"out) over {result['embeddings']} embeddings to {output}."
        )
    if result["saturated_nodes"] and cap is None:  # a capped list is whole (k >= the cap)
        print(
            f"Warning: {result['saturated_nodes']} nodes had all {flag.ann_k} faiss candidates "
            "above the threshold and may miss neighbours; raise --ann_k."
        )
