"""`build_graph` as an Apache Beam pipeline: the same edges, on any Beam runner.

`BuildGraph` turns a PCollection of `(id, normalized float32 embedding)` into the lines of
NSL's graph TSV (`source<TAB>target<TAB>%f`), the same set of lines as
`graphnsl.data.build_graph.build_graph` writes for the same inputs and settings:

1. Candidate pairs, either
   - blocked (exact): every node goes to block `crc32(id) % num_blocks`; each block is
     grouped, and each pair of blocks (a <= b) is compared by a blocked float32 matrix
     product (the upper triangle within a block), so every pair of nodes is compared once; or
   - LSH (`ann="lsh"`): NSL's hyperplane buckets per round, with the single-process
     tool's hyperplanes for the same `random_seed`; pairs within a bucket are compared and
     a pair found in several rounds counts once.
2. The threshold: each candidate's weight is NSL's float32 `np.dot` of the two normalized
   rows (the kernel the single-process tool uses), kept when >= the threshold.
3. The lines: without a cap both directions of every pair; with `max_nbrs_per_node=k`,
   per source its k best (weight, then the smaller id), grouped by source.

`run` reads the TFRecord inputs (files, globs, comma lists) file by file with graphnsl's
reader (so a bad record fails naming the file and record, as the single-process tool does),
builds the pipeline and writes sharded text `OUTPUT-SSSSS-of-NNNNN`. Beam counters (namespace
`graphnsl.build_graph`) count embeddings read, candidate pairs checked, pairs kept, lines
written and lines the cap left out, and pairs found more than once (LSH rounds); each shuffle
is also counted on both sides (`BALANCES`) and `run()` counts the lines in its shards, and
removes the output and raises when a pair differs (a runner that lost elements; see
`graphnsl.beam.pack_nbrs`).

faiss search needs one index over all nodes, which does not fit a Beam pipeline's data
parallelism, so `ann="faiss"` is refused here: use the single-process tool for it.
Inputs are read with local (or mounted) file paths.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

from graphnsl.data import ann as _ann
from graphnsl.data import build_graph as _bg

__all__ = ["BuildGraph", "read_embedding_file", "run", "import_beam"]  # noqa: F822 (lazy)

_NAMESPACE = "graphnsl.build_graph"
# (what, counted before the shuffle, counted after it): equal unless the runner lost data;
# `run()` checks them (only the pairs of the mode that ran are non-zero).
BALANCES = (
    ("embeddings (ById)", "embeddings_read", "embeddings_received"),
    ("nodes (GroupBlocks)", "block_entries_sent", "block_entries_received"),
    ("blocks (GroupBlockPairs)", "block_parts_sent", "block_parts_received"),
    ("bucket entries (GroupBuckets)", "bucket_entries_sent", "bucket_entries_received"),
    ("per-source candidates (BySource)", "source_parts_sent", "source_parts_received"),
    ("lines (Write)", "lines_written", "lines_in_output"),
)
_INSTALL_BEAM = "Apache Beam is not installed: pip install 'graphnsl[beam]' (apache-beam[tfrecord])"


def import_beam():
    """Imports apache_beam, or raises ImportError saying what to install."""
    try:
        import apache_beam as beam
    except ImportError as error:
        raise ImportError(f"{_INSTALL_BEAM} ({error})") from None
    return beam


def read_embedding_file(
    path: str, id_feature_name: str = "id", embedding_feature_name: str = "embedding"
) -> list[tuple[str, np.ndarray]]:
    """One file's `(id, normalized embedding)` pairs, normalized as NSL does.

    Raises:
      ValueError: a bad record (naming the file and record), as `read_embeddings`.
    """
    ids, embeddings = _bg.read_embeddings([path], id_feature_name, embedding_feature_name)
    normalized = _bg._normalize_like_nsl(embeddings)
    return list(zip(ids, normalized, strict=True))


def _counter(name: str):
    from apache_beam.metrics import Metrics

    return Metrics.counter(_NAMESPACE, name)


def _kept_pairs(left, right, same: bool, threshold: float):
    """Index pairs (left x right; upper triangle when `same`) with NSL weight >= threshold.

    Returns:
      `(rows, cols, weights)`: int [m], int [m], float32 [m].
    """
    dim = left.shape[1]
    if right.shape[1] != dim:
        raise ValueError(
            f"Embeddings of different lengths ({dim} and {right.shape[1]} values) in one input"
        )
    floor = float(np.float32(threshold)) - (1e-6 + 2.0 * dim * 2.0**-24)
    parts = []
    checked = 0
    rows_per_block = max(1, (16 << 20) // max(4 * len(right), 1))
    for lo in range(0, len(left), rows_per_block):
        hi = min(lo + rows_per_block, len(left))
        rows, cols = np.nonzero(left[lo:hi] @ right.T >= floor)
        rows = rows + lo
        if same:
            keep = cols > rows
            rows, cols = rows[keep], cols[keep]
        checked += len(rows)
        weights = np.vecdot(left[rows], right[cols])
        keep = weights >= threshold
        parts.append((rows[keep], cols[keep], weights[keep]))
    _counter("candidate_pairs_checked").inc(checked)
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))


def _emit(left_ids, right_ids, rows, cols, weights, cap):
    """Uncapped: one text element of both-way lines. Capped: (source, best k) per source."""
    if not len(rows):
        return
    _counter("pairs_kept").inc(len(rows))
    texts = [f"{w:f}" for w in weights.tolist()]
    sources = [left_ids[r] for r in rows.tolist()]
    targets = [right_ids[c] for c in cols.tolist()]
    if cap is None:
        _counter("lines_written").inc(2 * len(rows))
        yield "\n".join(
            f"{a}\t{b}\t{w}\n{b}\t{a}\t{w}" for a, b, w in zip(sources, targets, texts, strict=True)
        )
        return
    by_source: dict[str, list] = {}
    for a, b, w in zip(sources, targets, weights.tolist(), strict=True):
        by_source.setdefault(a, []).append((-w, b))
        by_source.setdefault(b, []).append((-w, a))
    for source, candidates in by_source.items():
        candidates.sort()
        if len(candidates) > cap:  # a source's k best overall are among its k best here
            _counter("lines_capped").inc(len(candidates) - cap)
        _counter("source_parts_sent").inc()
        yield source, candidates[:cap]


def _stack(members: Iterable[tuple]) -> tuple[list[str], np.ndarray, list]:
    members = sorted(members, key=lambda m: m[0])
    ids = [m[0] for m in members]
    dims = {len(m[1]) for m in members}
    if len(dims) > 1:
        raise ValueError(f"Embeddings of different lengths {sorted(dims)} (ids {ids[:3]}...)")
    extra = [m[2:] for m in members]
    return ids, np.stack([m[1] for m in members]).astype(np.float32, copy=False), extra


def _make_transform():
    beam = import_beam()

    class _BuildGraph(beam.PTransform):
        """(id, normalized embedding) -> NSL graph TSV text, as `build_graph` writes it.

        The output elements are text holding one or more lines (joined by newlines), ready
        for `WriteToText`; together they are the single-process tool's lines.

        Args:
          similarity_threshold: in [-1, 1].
          max_nbrs_per_node: the per-node cap (see `graphnsl.data.build_graph.build_graph`)
            or None.
          ann: None / "exact" (blocked all pairs) or "lsh".
          lsh_splits, lsh_rounds, random_seed: NSL's LSH settings (for `ann="lsh"`; with
            `random_seed=None` one seed is drawn here and shared by all workers).
          num_blocks: blocks of the exact mode (num_blocks * (num_blocks + 1) / 2 block
            pairs are compared in parallel).
        """

        def __init__(
            self,
            similarity_threshold: float = 0.8,
            max_nbrs_per_node: int | None = None,
            ann: str | None = None,
            lsh_splits: int = 0,
            lsh_rounds: int = 2,
            random_seed: int | None = None,
            num_blocks: int = 16,
        ):
            super().__init__()
            self.threshold = _bg._check_threshold(similarity_threshold)
            self.cap = _bg._check_cap(max_nbrs_per_node)
            ann = None if ann == "exact" else ann
            if ann == "faiss":
                raise ValueError(
                    "ann='faiss' needs one index over all nodes and is not offered as a Beam "
                    "pipeline; use ann='lsh' or the exact (blocked) mode with --runner, or "
                    "faiss without --runner"
                )
            if ann not in (None, "lsh"):
                raise ValueError(f"ann must be None, 'exact' or 'lsh', got {ann!r}")
            _bg._check_lsh(lsh_splits, lsh_rounds, ann)
            if int(num_blocks) < 1:
                raise ValueError(f"num_blocks must be >= 1, got {num_blocks}")
            self.ann = ann
            self.splits, self.rounds = int(lsh_splits), int(lsh_rounds)
            if random_seed is None:
                random_seed = int(np.random.SeedSequence().generate_state(1)[0])
            self.seed = int(random_seed)
            self.num_blocks = int(num_blocks)

        def expand(self, nodes):
            if self.ann is None:
                found = self._blocked(nodes)
            else:
                found = self._lsh(nodes)
            if self.cap is None:
                return found
            cap = self.cap

            def top_k(item):
                source, parts = item
                parts = list(parts)
                _counter("source_parts_received").inc(len(parts))
                candidates = sorted(c for part in parts for c in part)
                _counter("lines_capped").inc(max(0, len(candidates) - cap))
                _counter("lines_written").inc(min(cap, len(candidates)))
                return "\n".join(f"{source}\t{t}\t{-w:f}" for w, t in candidates[:cap])

            return found | "BySource" >> beam.GroupByKey() | "TopK" >> beam.Map(top_k)

        def _blocked(self, nodes):
            blocks, threshold, cap = self.num_blocks, self.threshold, self.cap

            def to_block(node):
                _counter("block_entries_sent").inc()
                return zlib.crc32(node[0].encode("utf-8")) % blocks, node

            def to_block_pairs(item):
                block, members = item
                ids, matrix, _ = _stack(members)
                _counter("block_entries_received").inc(len(ids))
                for other in range(blocks):
                    _counter("block_parts_sent").inc()
                    yield (min(block, other), max(block, other)), (block, ids, matrix)

            def compare(item):
                (a, b), parts = item
                parts = list(parts)
                _counter("block_parts_received").inc(len(parts))
                parts = {p[0]: p for p in parts}
                if a not in parts or b not in parts:
                    return  # an empty block
                _, left_ids, left = parts[a]
                _, right_ids, right = parts[b]
                rows, cols, weights = _kept_pairs(left, right, a == b, threshold)
                yield from _emit(left_ids, right_ids, rows, cols, weights, cap)

            return (
                nodes
                | "ToBlock" >> beam.Map(to_block)
                | "GroupBlocks" >> beam.GroupByKey()
                | "ToBlockPairs" >> beam.FlatMap(to_block_pairs)
                | "GroupBlockPairs" >> beam.GroupByKey()
                | "ComparePairs" >> beam.FlatMap(compare)
            )

        def _lsh(self, nodes):
            seed, splits, rounds = self.seed, self.splits, self.rounds
            threshold, cap = self.threshold, self.cap
            planes_cache = {}

            def to_buckets(node):
                node_id, vector = node
                dim = len(vector)
                if dim not in planes_cache:
                    planes_cache[dim] = _ann.lsh_planes(seed, splits, rounds, dim)
                buckets = _ann.lsh_bucket_ids(vector[None, :], planes_cache[dim])[0]
                for r, bucket in enumerate(buckets.tolist()):
                    _counter("bucket_entries_sent").inc()
                    yield (r, bucket), (node_id, vector, buckets)

            def compare(item):
                (r, _), members = item
                ids, matrix, extra = _stack(members)
                _counter("bucket_entries_received").inc(len(ids))
                if len(ids) < 2:
                    return
                rows, cols, weights = _kept_pairs(matrix, matrix, True, threshold)
                if r:  # a pair that shared a bucket in an earlier round was found there
                    buckets = np.stack([e[0] for e in extra])[:, :r]
                    first = ~np.any(buckets[rows] == buckets[cols], axis=1)
                    _counter("pairs_found_again").inc(int(np.count_nonzero(~first)))
                    rows, cols, weights = rows[first], cols[first], weights[first]
                yield from _emit(ids, ids, rows, cols, weights, cap)

            return (
                nodes
                | "ToBuckets" >> beam.FlatMap(to_buckets)
                | "GroupBuckets" >> beam.GroupByKey()
                | "CompareInBuckets" >> beam.FlatMap(compare)
            )

    return _BuildGraph


def __getattr__(name: str):
    """`BuildGraph`, the Beam `PTransform`, made on first use so importing needs no Beam."""
    if name == "BuildGraph":
        transform = _make_transform()
        globals()["BuildGraph"] = transform
        return transform
    raise AttributeError(name)


def _count_lines(path: str) -> int:
    """The non-empty lines of a text file."""
    count = 0
    with open(path, "rb") as file:
        for line in file:
            count += bool(line.strip())
    return count


def run(
    embedding_files: Sequence[str | os.PathLike] | str | os.PathLike,
    output_graph_path: str | os.PathLike,
    similarity_threshold: float = 0.8,
    id_feature_name: str = "id",
    embedding_feature_name: str = "embedding",
    lsh_splits: int = 0,
    lsh_rounds: int = 2,
    random_seed: int | None = None,
    *,
    max_nbrs_per_node: int | None = None,
    ann: str | None = None,
    faiss_options=None,
    num_shards: int = 0,
    num_blocks: int = 16,
    pipeline_args: Sequence[str] | None = None,
) -> dict:
    """Builds the graph with a Beam pipeline; writes `OUTPUT-SSSSS-of-NNNNN` text shards.

    Args:
      embedding_files, output_graph_path, similarity_threshold, id_feature_name,
        embedding_feature_name, lsh_splits, lsh_rounds, random_seed, max_nbrs_per_node,
        ann: as `graphnsl.data.build_graph.build_graph` (`ann="faiss"` is refused).
      faiss_options: must be None (accepted so the CLI passes one set of settings).
      num_shards: output shards (0: the runner chooses).
      num_blocks: blocks of the exact mode.
      pipeline_args: Beam pipeline options, e.g. `["--runner=DirectRunner",
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"]`.

    Returns:
      A dict: `embeddings`, `lines_written`, `lines_capped`, `pairs_kept`,
      `candidate_pairs_checked`, `pairs_found_again`, the shuffle counters of `BALANCES`
      and `lines_in_output`, `output_pattern`, `seconds`.

    Raises:
      ImportError: Beam is not installed (says what to install).
      ValueError, FileNotFoundError: bad settings, inputs or output path (checked before
        the pipeline starts); bad records fail the pipeline naming file and record.
      RuntimeError: the counters show that the runner lost elements in a shuffle (or the
        shards hold fewer lines than were made); the output is removed first.
    """
    import time

    beam = import_beam()
    from apache_beam.metrics.metric import MetricsFilter

    from graphnsl.beam._pipeline import lost_data_error, make_pipeline, output_shards, unbalanced

    start = time.perf_counter()
    del faiss_options
    if int(num_shards) < 0:
        raise ValueError(f"num_shards must be >= 0, got {num_shards}")
    transform = _make_transform()(
        similarity_threshold=similarity_threshold,
        max_nbrs_per_node=max_nbrs_per_node,
        ann=ann,
        lsh_splits=lsh_splits,
        lsh_rounds=lsh_rounds,
        random_seed=random_seed,
        num_blocks=num_blocks,
    )
    files = _bg.expand_inputs(embedding_files)
    output = os.fspath(output_graph_path)
    from graphnsl.data import examples as _ex

    _ex.check_output_path(output, inputs=files)
    for path in files:
        if not os.path.exists(path):
            raise FileNotFoundError(f"Input file does not exist: {path!r}")

    def read(path):
        rows = read_embedding_file(path, id_feature_name, embedding_feature_name)
        _counter("embeddings_read").inc(len(rows))
        return rows

    def check_unique(item):
        node_id, vectors = item
        vectors = list(vectors)
        _counter("embeddings_received").inc(len(vectors))
        if len(vectors) > 1:
            raise ValueError(f"id {node_id!r} appears {len(vectors)} times; ids must be unique")
        return node_id, vectors[0]

    before = output_shards(output)
    with make_pipeline(pipeline_args) as pipeline:
        lines = (
            pipeline
            | "Files" >> beam.Create(files)
            | "Reshuffle" >> beam.Reshuffle()
            | "Read" >> beam.FlatMap(read)
            | "ById" >> beam.GroupByKey()
            | "UniqueIds" >> beam.Map(check_unique)
            | "BuildGraph" >> transform
        )
        _ = lines | "Write" >> beam.io.WriteToText(
            output, num_shards=int(num_shards), shard_name_template="-SSSSS-of-NNNNN"
        )
    result = pipeline.result
    counts = {
        "embeddings_read": 0,
        "lines_written": 0,
        "lines_capped": 0,
        "pairs_kept": 0,
        "candidate_pairs_checked": 0,
        "pairs_found_again": 0,
    }
    counts.update({name: 0 for _, sent, received in BALANCES for name in (sent, received)})
    for name in counts:
        query = result.metrics().query(MetricsFilter().with_namespace(_NAMESPACE).with_name(name))
        counts[name] = sum(c.committed or 0 for c in query["counters"])
    # This run's shards: new ones, or ones it rewrote (a stale shard set is not counted).
    shards = sorted(p for p, t in output_shards(output).items() if before.get(p) != t)
    counts["lines_in_output"] = sum(_count_lines(p) for p in shards)
    problems = unbalanced(counts, BALANCES)
    if problems:
        raise lost_data_error(problems, output, shards)
    counts["embeddings"] = counts.pop("embeddings_read")
    counts["output_pattern"] = f"{output}-*-of-*"
    counts["seconds"] = round(time.perf_counter() - start, 3)
    return counts
