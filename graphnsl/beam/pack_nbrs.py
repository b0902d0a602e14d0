"""`pack_nbrs` as an Apache Beam pipeline: join seeds, graph and neighbours by id, rank, pack.

`PackNbrs` is a `PTransform` from `{"labeled": records, "unlabeled": records, "edges":
(source, target, weight)}` (serialized `tf.train.Example`s; ids and weights as bytes and
float) to the packed seed records; `run()` reads the files, applies it and writes
`OUTPUT-SSSSS-of-NNNNN` TFRecord shards. The records are those of the single-process tool
(`graphnsl.data.pack_nbrs`), which documents the semantics: NSL's ranking (weight
descending, then neighbour id descending), a repeated edge's largest weight, the labeled
example for an id in both inputs, a neighbour's own `weight` feature replacing
`NL_nbr_<i>_weight`. Only their order differs: Beam writes shards in no set order.

Steps: (1) ids of both example sets; an id in both keeps the labeled example; (2) edges,
reversed too with `add_undirected_edges`, deduplicated per (source, target) with their
largest weight; (3) each edge joined with its target's example by id; (4) the edges and
the seed joined by source id; each seed ranks its candidates, keeps `max_nbrs` and appends
their re-keyed features to its own bytes.

Beam counters (namespace `graphnsl.pack_nbrs`): `seeds_written`, `labeled_examples`,
`unlabeled_examples`, `ids_in_both_files`, `edges_read`, `neighbours_packed`,
`missing_neighbours_skipped` (seed edges whose target has no example),
`edges_to_ids_without_example` (any source), `edges_from_non_seeds` (sources that are
not labeled examples: they get no output, as in NSL).

Every shuffle is also counted at both ends (`*_sent` before it, `*_received` after it; see
`BALANCES`), and `run()` counts the records in the shards it wrote. Counters travel on the
runner's control channel, apart from the data, so a runner that loses elements in a shuffle
is caught: `run()` then removes the output and raises (`check_balances`). This is not
hypothetical: Beam 2.77's stock FnApiRunner with `--direct_num_workers=2` dropped ~10 MB
chunks of the data it sent to its workers (a race in its time-based data-plane flush; the
local runner of `graphnsl.beam._pipeline` now runs without that flush), which left 6,386 of
20,026 packed records of a 100k-node run short of neighbours, silently.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Sequence

from graphnsl.data import examples as _ex
from graphnsl.data import pack_nbrs as _pn
from graphnsl.data.atomic import check_output_path
from graphnsl.data.tfrecord import count_records

__all__ = ["PackNbrs", "run", "parse_graph_line", "example_id"]  # noqa: F822 (lazy)

_NAMESPACE = "graphnsl.pack_nbrs"
# (what, counted before the shuffle, counted after it): equal unless the runner lost data.
BALANCES = (
    ("labeled records (read, then spread)", "labeled_records_sent", "labeled_examples"),
    ("unlabeled records (read, then spread)", "unlabeled_records_sent", "unlabeled_examples"),
    ("graph edges (read, then spread)", "graph_edges_sent", "edges_read"),
    ("examples (ExamplesById)", "examples_sent", "examples_received"),
    ("edge entries (LargestWeight)", "edge_entries_sent", "edge_entries_received"),
    ("node pairs (JoinTargets)", "pairs_sent", "pairs_received"),
    ("nodes (JoinTargets)", "nodes_sent", "nodes_received"),
    ("seeds (JoinSeeds)", "labeled_examples", "seeds_received"),
    ("candidates (JoinSeeds)", "candidates_sent", "candidates_received"),
    ("records written (Write)", "seeds_written", "records_in_output"),
)
_COUNTERS = (
    "seeds_written",
    "labeled_examples",
    "unlabeled_examples",
    "ids_in_both_files",
    "edges_read",
    "neighbours_packed",
    "missing_neighbours_skipped",
    "edges_to_ids_without_example",
    "edges_from_non_seeds",
    "labeled_records_sent",
    "unlabeled_records_sent",
    "graph_edges_sent",
    "examples_sent",
    "examples_received",
    "edge_entries_sent",
    "edge_entries_received",
    "pairs_sent",
    "pairs_received",
    "nodes_sent",
    "nodes_received",
    "seeds_received",
    "candidates_sent",
    "candidates_received",
)
_varint = _ex.encode_varint


def _counter(name: str):
    from apache_beam.metrics import Metrics

    return Metrics.counter(_NAMESPACE, name)


def example_id(record: bytes, id_feature_name: str = "id", where: str = "examples") -> bytes:
    """The id of a serialized Example, or a ValueError naming `where` and the id feature."""
    try:
        feature = _ex.find_feature(record, id_feature_name.encode("utf-8"))
        kind = None if feature is None else _ex.feature_kind(feature)
        values = _ex.bytes_list_values(feature) if kind == "bytes_list" else []
    except _ex.WireFormatError as error:
        raise ValueError(f"{where}: a record is not a valid tf.train.Example ({error})") from None
    if not values:
        raise ValueError(
            f"{where}: a record has no bytes_list feature {id_feature_name!r} with its id "
            f"(got {kind or 'none'}); set --id_feature_name if the ids are stored elsewhere"
        )
    return values[0]


def parse_graph_line(line: bytes, where: str = "graph") -> tuple[bytes, bytes, float]:
    """`source<TAB>target[<TAB>weight]` -> (source, target, weight), as the TSV reader does.

    Raises:
      ValueError: too few columns, or a weight that is not a finite number >= 0.
    """
    line = line.rstrip(b"\r\n")
    parts = line.split(b"\t")
    if len(parts) < 2:
        raise ValueError(f"{where}: too few columns: {line[:80]!r} (expected source<TAB>target)")
    weight = 1.0
    if len(parts) >= 3:
        try:
            weight = float(parts[2])
        except ValueError:
            raise ValueError(f"{where}: weight is not a number: {line[:80]!r}") from None
        if not weight >= 0 or weight == float("inf"):
            raise ValueError(f"{where}: weight must be a finite number >= 0: {line[:80]!r}")
    return parts[0], parts[1], weight


def _rekeyed_entries(index: int, record: bytes) -> tuple[bytes, bool]:
    """A neighbour's features as `NL_nbr_<index>_<key>` map entries; and if it has `weight`."""
    entries = dict(_ex.feature_entries(record))  # a repeated key keeps its last value
    prefix = b"NL_nbr_%d_" % index
    return b"".join(_pn._map_entry(prefix + k, v) for k, v in entries.items()), (
        b"weight" in entries
    )


def pack_seed(
    seed: bytes, candidates, max_nbrs: int | None, where: str = "a seed"
) -> tuple[bytes, int]:
    """One seed's packed record from its candidates `(weight, target_id, target_record)`.

    Returns:
      (the record, the number of neighbours packed).
    """
    if b"NL_" in seed:
        _pn._check_not_packed(where, 0, seed)
    ranked = sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True)
    if max_nbrs is not None:
        ranked = ranked[:max_nbrs]
    count = _varint(len(ranked))
    parts = [
        _pn._map_entry(
            b"NL_num_nbrs",
            b"\x1a" + _varint(len(count) + 2) + b"\x0a" + _varint(len(count)) + count,
        )
    ]
    for i, (weight, _, record) in enumerate(ranked):
        entries, has_weight = _rekeyed_entries(i, record)
        if not has_weight:
            value = struct.pack("<f", weight)
            parts.append(_pn._map_entry(b"NL_nbr_%d_weight" % i, b"\x12\x06\x0a\x04" + value))
        parts.append(entries)
    extra = b"".join(parts)
    return seed + b"\x0a" + _varint(len(extra)) + extra, len(ranked)


def _make_transform():
    import apache_beam as beam

    class PackNbrs(beam.PTransform):
        """Packs neighbours into seeds: `{"labeled", "unlabeled", "edges"}` -> records.

        Args:
          add_undirected_edges: also use every edge reversed.
          max_nbrs: the most neighbours per seed; None for all.
          id_feature_name: the id feature's name.

        Input: a dict of PCollections: `labeled` and `unlabeled` (serialized Examples;
        `unlabeled` may be absent) and `edges` (`(source: bytes, target: bytes, weight:
        float)`). Output: a PCollection of the packed seed records (bytes), one per seed.
        """

        def __init__(
            self,
            add_undirected_edges: bool = False,
            max_nbrs: int | None = None,
            id_feature_name: str = "id",
        ):
            super().__init__()
            if max_nbrs is not None and (isinstance(max_nbrs, bool) or max_nbrs < 0):
                raise ValueError(f"max_nbrs must be None or an int >= 0, got {max_nbrs!r}")
            self.add_undirected_edges = add_undirected_edges
            self.max_nbrs = max_nbrs
            self.id_feature_name = id_feature_name

        def expand(self, inputs):
            name = self.id_feature_name
            pipeline = inputs["labeled"].pipeline
            unlabeled = inputs.get("unlabeled")
            if unlabeled is None:
                unlabeled = pipeline | "NoUnlabeled" >> beam.Create([])

            def keyed(what: str, counter: str):
                count = _counter(counter)

                def key(record: bytes):
                    count.inc()
                    return example_id(record, name, f"{what} examples"), record

                return key

            seeds = inputs["labeled"] | "KeySeeds" >> beam.Map(keyed("labeled", "labeled_examples"))
            others = unlabeled | "KeyOthers" >> beam.Map(keyed("unlabeled", "unlabeled_examples"))
            # Every shuffle is counted on both sides ("*_sent", "*_received"; see BALANCES).
            sent = seeds | "CountSeedsSent" >> beam.Map(_counted("examples_sent"))
            sent_others = others | "CountOthersSent" >> beam.Map(_counted("examples_sent"))
            nodes = (
                {"labeled": sent, "unlabeled": sent_others}
                | "ExamplesById" >> beam.CoGroupByKey()
                | "OneExampleAnId" >> beam.FlatMap(_one_example)
                | "CountNodesSent" >> beam.Map(_counted("nodes_sent"))
            )
            edges = inputs["edges"] | "CountEdges" >> beam.Map(_counted("edges_read"))
            if self.add_undirected_edges:
                edges = edges | "BothWays" >> beam.FlatMap(lambda e: [e, (e[1], e[0], e[2])])
            by_target = (
                edges
                | "ByPair" >> beam.Map(lambda e: ((e[0], e[1]), e[2]))
                | "CountEntriesSent" >> beam.Map(_counted("edge_entries_sent"))
                | "GroupPairs" >> beam.GroupByKey()
                | "LargestWeight" >> beam.Map(_largest_weight)
                | "ByTarget" >> beam.Map(lambda kv: (kv[0][1], (kv[0][0], kv[1])))
                | "CountPairsSent" >> beam.Map(_counted("pairs_sent"))
            )
            by_source = (
                {"edges": by_target, "example": nodes}
                | "JoinTargets" >> beam.CoGroupByKey()
                | "WithTarget" >> beam.FlatMap(_with_target)
                | "CountCandidatesSent" >> beam.Map(_counted("candidates_sent"))
            )
            max_nbrs = self.max_nbrs
            return (
                {"seed": seeds, "candidates": by_source}
                | "JoinSeeds" >> beam.CoGroupByKey()
                | "Pack" >> beam.FlatMap(_pack, max_nbrs)
            )

    return PackNbrs


def _counted(name: str):
    count = _counter(name)

    def identity(item):
        count.inc()
        return item

    return identity


def _largest_weight(item):
    """((source, target), [weights]) -> ((source, target), the largest weight)."""
    pair, weights = item
    weights = list(weights)
    _counter("edge_entries_received").inc(len(weights))
    return pair, max(weights)


def _one_example(item):
    """(id, {"labeled": [...], "unlabeled": [...]}) -> (id, record); labeled wins; unique."""
    node_id, groups = item
    labeled, unlabeled = list(groups["labeled"]), list(groups["unlabeled"])
    _counter("examples_received").inc(len(labeled) + len(unlabeled))
    for what, records in (("labeled", labeled), ("unlabeled", unlabeled)):
        if len(records) > 1:
            raise ValueError(
                f"the {what} examples repeat id {node_id.decode('utf-8', 'replace')!r} "
                f"({len(records)} records); ids must be unique"
            )
    if labeled and unlabeled:
        _counter("ids_in_both_files").inc()
    yield node_id, (labeled or unlabeled)[0]


def _with_target(item):
    """(target, {"edges": [(source, w)], "example": [record]}) -> (source, (w, target, rec))."""
    target, groups = item
    examples = list(groups["example"])
    edges = list(groups["edges"])
    _counter("nodes_received").inc(len(examples))
    _counter("pairs_received").inc(len(edges))
    if not examples:
        _counter("edges_to_ids_without_example").inc(len(edges))
        for source, _ in edges:
            yield source, None  # the seed counts it as a missing neighbour
        return
    for source, weight in edges:
        yield source, (weight, target, examples[0])


def _pack(item, max_nbrs):
    source, groups = item
    seeds = list(groups["seed"])
    candidates = list(groups["candidates"])
    _counter("seeds_received").inc(len(seeds))
    _counter("candidates_received").inc(len(candidates))
    if not seeds:
        _counter("edges_from_non_seeds").inc(len(candidates))
        return
    if len(seeds) > 1:
        raise ValueError(
            f"the labeled examples repeat id {source.decode('utf-8', 'replace')!r} "
            f"({len(seeds)} records); ids must be unique"
        )
    found = [c for c in candidates if c is not None]
    if len(found) < len(candidates):
        _counter("missing_neighbours_skipped").inc(len(candidates) - len(found))
    where = f"labeled example {source.decode('utf-8', 'replace')!r}"
    record, packed = pack_seed(seeds[0], found, max_nbrs, where)
    _counter("seeds_written").inc()
    _counter("neighbours_packed").inc(packed)
    yield record


def __getattr__(name: str):
    if name == "PackNbrs":  # built on first use: the class needs apache_beam's PTransform
        globals()["PackNbrs"] = _make_transform()
        return globals()["PackNbrs"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_records(path: str):
    """Yields the records of one TFRecord file, checksums verified, a block at a time."""
    for _, _, records in _pn._frame_blocks(path, _pn._BLOCK_BYTES):
        ends = (records.offsets + records.lengths).tolist()
        data = records.data
        yield from (data[s:e] for s, e in zip(records.offsets.tolist(), ends, strict=True))


def _read_edges(path: str):
    """Yields `(source, target, weight)` of one graph TSV, parsed as the single tool does."""
    for sources, targets, weights in _pn._graph_blocks([path], _pn._BLOCK_BYTES):
        yield from zip(sources.tolist(), targets.tolist(), weights.tolist(), strict=True)


def check_balances(counts: dict) -> list[str]:
    """What the counters say was lost in a shuffle: one line per unequal pair in BALANCES.

    `counts` maps counter names to their totals (as `run()` returns them). A pair with a name
    missing from `counts` is skipped, so a pipeline that applies `PackNbrs` to inputs of its
    own (no `*_records_sent`, `graph_edges_sent`, `records_in_output`) can pass the
    transform's counters alone.
    """
    from graphnsl.beam._pipeline import unbalanced

    return unbalanced(counts, BALANCES)


def run(
    labeled_examples_path,
    unlabeled_examples_path,
    graph_path,
    output_training_data_path: str | os.PathLike,
    add_undirected_edges: bool = False,
    max_nbrs: int | None = None,
    id_feature_name: str = "id",
    num_shards: int = 0,
    pipeline_args: Sequence[str] | None = None,
) -> dict:
    """Runs `PackNbrs` on files; writes `OUTPUT-SSSSS-of-NNNNN`; returns the counters.

    Args:
      labeled_examples_path, unlabeled_examples_path, graph_path: as for
        `graphnsl.data.pack_nbrs.pack_nbrs` (a path, glob, comma-separated list or list;
        unlabeled may be '' or None).
      output_training_data_path: the prefix of the output shards.
      add_undirected_edges, max_nbrs, id_feature_name: as for `pack_nbrs`.
      num_shards: output shards; 0 lets the runner choose.
      pipeline_args: Beam pipeline options, e.g. `["--runner=DirectRunner",
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"]`.

    Returns:
      The counters (see the module docstring), `records_in_output`, `output_pattern` and
      `seconds`.

    Raises:
      RuntimeError: the counters show that the runner lost elements in a shuffle (or the
        shards hold fewer records than were packed); the output is removed first.
    """
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter

    from graphnsl.beam._pipeline import lost_data_error, make_pipeline, output_shards

    start = time.perf_counter()
    labeled = _pn.expand_paths(labeled_examples_path, "labeled examples")
    unlabeled = (
        _pn.expand_paths(unlabeled_examples_path, "unlabeled examples")
        if unlabeled_examples_path
        else []
    )
    graphs = _pn.expand_paths(graph_path, "graph")
    output = os.fspath(output_training_data_path)
    check_output_path(output, inputs=labeled + unlabeled + graphs)
    transform = __getattr__("PackNbrs")(add_undirected_edges, max_nbrs, id_feature_name)
    before = output_shards(output)
    with make_pipeline(pipeline_args) as pipeline:
        # Files are read whole by one worker each, with the single-process tool's readers
        # (its checksums and its errors naming file and record or line), then spread out.
        def read(paths, label, reader, counter):
            return (
                pipeline
                | f"{label}Files" >> beam.Create(paths)
                | f"{label}Read" >> beam.FlatMap(reader)
                | f"{label}CountSent" >> beam.Map(_counted(counter))
                | f"{label}Spread" >> beam.Reshuffle()
            )

        inputs = {"labeled": read(labeled, "Labeled", _read_records, "labeled_records_sent")}
        if unlabeled:
            inputs["unlabeled"] = read(
                unlabeled, "Unlabeled", _read_records, "unlabeled_records_sent"
            )
        inputs["edges"] = read(graphs, "Graph", _read_edges, "graph_edges_sent")
        packed = inputs | "PackNbrs" >> transform
        _ = packed | "Write" >> beam.io.WriteToTFRecord(
            output, num_shards=int(num_shards), shard_name_template="-SSSSS-of-NNNNN"
        )
    result = pipeline.result
    counts = {}
    for name in _COUNTERS:
        query = result.metrics().query(MetricsFilter().with_namespace(_NAMESPACE).with_name(name))
        counts[name] = sum((c.committed or 0) for c in query["counters"])
    # This run's shards: new ones, or ones it rewrote (a stale shard set is not counted).
    shards = sorted(p for p, t in output_shards(output).items() if before.get(p) != t)
    counts["records_in_output"] = sum(count_records(p) for p in shards)
    problems = check_balances(counts)
    if problems:
        raise lost_data_error(problems, output, shards)
    counts["output_pattern"] = f"{output}-*-of-*"
    counts["seconds"] = round(time.perf_counter() - start, 3)
    return counts
