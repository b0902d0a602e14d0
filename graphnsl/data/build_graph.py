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

Usage: `graphnsl build-graph [--similarity_threshold=0.8] [--id_feature_name=id]
[--embedding_feature_name=embedding] EMB_FILE... OUTPUT_TSV`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
from absl import logging

from graphnsl.data import examples as _ex

__all__ = ["build_graph", "read_embeddings", "top_k_lines", "id_ranks", "define_flags", "main"]

_MIN_NORM = 1e-6


def _float_list_spans(file: _ex.RecordFile, index: _ex.FeatureIndex, name: bytes):
    """Per record: (start, end, found) of the packed float bytes of feature `name`."""
    array = np.frombuffer(file.data, dtype=np.uint8)
    n = len(file.offsets)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    found = np.zeros(n, dtype=bool)
    match = np.flatnonzero(_ex.spans_equal(array, index.key_start, index.key_end, name))
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
    size, list_start, g = _ex.decode_varints(array, value_start + 1)
    good &= g & (list_start + size == entry_end)
    good &= array[np.minimum(list_start, top)] == 0x0A
    size, floats_start, g = _ex.decode_varints(array, list_start + 1)
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
        file = _ex.RecordFile(path)
        index = _ex.index_features(file)
        array = np.frombuffer(file.data, dtype=np.uint8)
        id_start, id_end, id_found = _ex.find_single_bytes_feature(file, index, id_name)
        emb_start, emb_end, emb_found = _float_list_spans(file, index, embedding_name)
        file_ids = _ex.spans_to_array(array, id_start, id_end, file.data).astype(object)
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
        feature = _ex.find_feature(record, name)
        got = None if feature is None else _ex.feature_kind(feature)
        if feature is not None and got == kind:
            if kind == "bytes_list":
                values = _ex.bytes_list_values(feature)
            else:
                values = _ex.float_list_values(feature)
        else:
            values = None
    except _ex.WireFormatError as error:
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
) -> dict:
    """Writes the graph of all example pairs with cosine similarity >= the threshold.

    Without a cap the output is NSL's: every pair at or above the threshold, written in
    both directions (`i j w` then `j i w`), pairs in row-major order of the upper triangle.

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

    Args:
      embedding_files: TFRecord path(s) of `tf.train.Example`s with an id and an embedding.
      output_graph_path: the output TSV (written under a temporary name, renamed when
        complete), `source<TAB>target<TAB>%f`.
      similarity_threshold: keep pairs whose cosine similarity is >= this, in [-1, 1].
      id_feature_name: the singleton bytes_list id feature.
      embedding_feature_name: the float_list embedding feature.
      lsh_splits, lsh_rounds, random_seed: NSL's LSH settings, validated as NSL does. The
        graph here is always the exact one (exact search is faster than NSL's LSH and finds
        every edge LSH would), so they do not change the result.
      block_bytes: memory for one block of the similarity matrix (rows * n * 8 bytes).
      max_nbrs_per_node: the per-node cap k (a positive int), or None for no cap.

    Returns:
      A dict of counts: `embeddings`, `dim`, `edges` (node pairs written, in one direction
      or both), `lines_written`, `lines_capped` (directed lines at or above the threshold
      that the cap left out), `candidates_checked`, `seconds`.

    Raises:
      FileNotFoundError: an input file does not exist.
      ValueError: bad settings or bad input records (see `read_embeddings`).
    """
    start_time = time.perf_counter()
    threshold = _check_threshold(similarity_threshold)
    cap = _check_cap(max_nbrs_per_node)
    if lsh_splits < 0:
        raise ValueError("lsh_splits < 0")
    if lsh_splits > 0 and lsh_rounds < 1:
        raise ValueError("lsh_splits > 0 but lsh_rounds < 1")
    if lsh_splits > 0:
        logging.info(
            "lsh_splits=%d ignored: computing the exact graph (a superset of NSL's LSH graph).",
            lsh_splits,
        )
    del random_seed
    if isinstance(embedding_files, (str, os.PathLike)):
        embedding_files = [embedding_files]
    output_graph_path = os.fspath(output_graph_path)
    ids, embeddings = read_embeddings(embedding_files, id_feature_name, embedding_feature_name)
    n = len(ids)
    logging.info("Read %d embeddings of dimension %d.", n, embeddings.shape[1])
    read_seconds = time.perf_counter() - start_time

    normalized = _normalize_like_nsl(embeddings)
    rows_per_block = max(1, int(block_bytes // max(4 * n, 1)))
    # NSL compares a float32 similarity with a Python float, which NumPy rounds to float32.
    threshold32 = float(np.float32(threshold))
    # Two float32 dot products of unit vectors, summed in any orders, differ by at most
    # 2 * dim * 2**-24 (each is within dim * 2**-24 of the exact value).
    band = 1e-6 + 2.0 * embeddings.shape[1] * 2.0**-24
    lines_written = 0
    lines_capped = 0
    candidates = 0
    pair_keys = []  # capped mode: min * n + max of each written line, to count node pairs
    id_rank = id_ranks(ids) if cap is not None else None

    from tqdm import tqdm

    with _ex.AtomicOutput(output_graph_path, "w") as out:
        blocks = range(0, n, rows_per_block)
        for lo in tqdm(blocks, desc="build_graph", unit="block", leave=False, mininterval=1.0):
            hi = min(lo + rows_per_block, n)
            # Uncapped: the upper triangle (columns lo..n-1), each pair once, written both
            # ways. Capped: whole rows, every line of sources lo..hi-1, so each source's
            # top k is complete within its block.
            first = lo if cap is None else 0
            similarity = normalized[lo:hi] @ normalized[first:].T
            flat = np.flatnonzero(similarity >= threshold32 - band)
            rows, cols = np.divmod(flat, n - first)
            sources, targets = lo + rows, first + cols
            keep = targets > sources if cap is None else targets != sources
            sources, targets = sources[keep], targets[keep]
            candidates += len(sources)
            # NSL's weight is np.dot of the two normalized float32 vectors; a matrix product
            # sums in another order, so each candidate is recomputed that way: np.vecdot
            # runs the very same dot kernel as np.dot, pair by pair (and a product of two
            # floats does not depend on their order, so (i, j) and (j, i) weigh the same).
            weights = np.vecdot(normalized[sources], normalized[targets])
            keep = weights >= threshold
            sources, targets, weights = sources[keep], targets[keep], weights[keep]
            if cap is None:
                out.write(_format_lines(ids, sources, targets, weights, both_ways=True))
                lines_written += 2 * len(sources)
                continue
            above = len(sources)
            sources, targets, weights = top_k_lines(sources, targets, weights, cap, id_rank)
            lines_capped += above - len(sources)
            out.write(_format_lines(ids, sources, targets, weights, both_ways=False))
            lines_written += len(sources)
            pair_keys.append(np.minimum(sources, targets) * n + np.maximum(sources, targets))
    if cap is None:
        edges = lines_written // 2
    else:
        edges = len(np.unique(np.concatenate(pair_keys))) if pair_keys else 0
    seconds = time.perf_counter() - start_time
    result = {
        "embeddings": n,
        "dim": int(embeddings.shape[1]),
        "edges": edges,
        "lines_written": lines_written,
        "lines_capped": lines_capped,
        "candidates_checked": candidates,
        "read_seconds": round(read_seconds, 3),
        "seconds": round(seconds, 3),
    }
    logging.info(
        "build_graph: %d embeddings, %d node pairs in %d lines at similarity >= %g%s to %s "
        "in %.2f s.",
        n,
        edges,
        lines_written,
        threshold,
        "" if cap is None else f" (cap {cap}: {lines_capped} lines left out)",
        output_graph_path,
        seconds,
    )
    return result


def define_flags() -> None:
    """Defines NSL's build_graph flags."""
    from graphnsl.data.tool_flags import define_id_feature_flag, define_once

    define_id_feature_flag()
    define_once(
        "string", "embedding_feature_name", "embedding", "Float feature with each node's embedding."
    )
    define_once(
        "float",
        "similarity_threshold",
        0.8,
        "Smallest cosine similarity for which two nodes are joined by an edge.",
    )
    define_once(
        "integer",
        "lsh_splits",
        0,
        "NSL's LSH splits (validated; graphnsl always computes the exact graph).",
    )
    define_once("integer", "lsh_rounds", 2, "NSL's LSH rounds (validated; see --lsh_splits).")
    define_once("integer", "random_seed", None, "NSL's LSH seed (unused: the graph is exact).")
    define_once(
        "integer",
        "max_nbrs_per_node",
        None,
        "Keep each node's k most similar neighbours above the threshold as its lines "
        "(ties to the smaller id); default: no cap, every edge both ways as NSL.",
    )


def main(argv: list[str]) -> None:
    """`graphnsl build-graph [flags] EMB_FILE... OUTPUT_TSV`."""
    from absl import app, flags

    if len(argv) < 3:
        raise app.UsageError(
            f"Expected 2 or more arguments (EMB_FILE... OUTPUT_TSV), got {len(argv) - 1}"
        )
    flag = flags.FLAGS
    result = build_graph(
        argv[1:-1],
        argv[-1],
        similarity_threshold=flag.similarity_threshold,
        id_feature_name=flag.id_feature_name,
        embedding_feature_name=flag.embedding_feature_name,
        lsh_splits=flag.lsh_splits,
        lsh_rounds=flag.lsh_rounds,
        random_seed=flag.random_seed,
        max_nbrs_per_node=flag.max_nbrs_per_node,
    )
    if flag.max_nbrs_per_node is None:
        print(
            f"Wrote {result['edges']} edges (both directions) over {result['embeddings']} "
            f"embeddings to {argv[-1]}."
        )
    else:
        print(
            f"Wrote {result['lines_written']} lines ({result['edges']} node pairs; "
            f"{result['lines_capped']} lines over the cap of {flag.max_nbrs_per_node} left "
            f"out) over {result['embeddings']} embeddings to {argv[-1]}."
        )
