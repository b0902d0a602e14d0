"""Tests for graphnsl.data.pack_nbrs against a straightforward protobuf implementation."""

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from graphnsl.data import examples as ex
from graphnsl.data import pack_nbrs as pn


def _reference(labeled, unlabeled, edges, add_undirected_edges, max_nbrs):
    """NSL's documented semantics, written plainly with protobuf objects and dicts."""
    seeds = {e.features.feature["id"].bytes_list.value[0].decode(): e for e in labeled}
    others = {e.features.feature["id"].bytes_list.value[0].decode(): e for e in unlabeled}
    graph = {}

    def add(s, t, w):
        out = graph.setdefault(s, {})
        if t not in out or w > out[t]:
            out[t] = w

    for s, t, w in edges:
        add(s, t, w)
    if add_undirected_edges:
        for s, t, w in [(s, t, w) for s, out in graph.items() for t, w in out.items()]:
            add(t, s, w)
    result = []
    for seed_id, seed in seeds.items():
        candidates = [
            (w, t) for t, w in graph.get(seed_id, {}).items() if t in seeds or t in others
        ]
        candidates = sorted(candidates, reverse=True)[:max_nbrs]
        merged = tf.train.Example()
        merged.CopyFrom(seed)
        merged.features.feature["NL_num_nbrs"].int64_list.value.append(len(candidates))
        for i, (w, t) in enumerate(candidates):
            merged.features.feature[f"NL_nbr_{i}_weight"].float_list.value.append(w)
            neighbour = seeds[t] if t in seeds else others[t]
            for name, value in neighbour.features.feature.items():
                merged.features.feature[f"NL_nbr_{i}_{name}"].CopyFrom(value)
        result.append(merged)
    return result


def _example(node_id, **features):
    return ex.make_example({"id": node_id, **features})


def _workload(tmp_path, long_ids=False):
    # "long": 9 to 32 bytes ('S' arrays); "very long": over 32 bytes (object arrays).
    p = {False: "", True: "node-with-a-long-name-", "very long": "x" * 40}[long_ids]
    labeled = [
        _example(f"{p}a", x=[1.0, 2.0], label=0),
        _example(f"{p}b", x=[3.0, 4.0], label=1),
        _example(f"{p}c", x=[5.0, 6.0], label=1),
        _example(f"{p}s", x=[0.0, 0.0], label=2),  # only a self-edge
        _example(f"{p}lonely", x=[9.0, 9.0], label=0),  # no edges
    ]
    unlabeled = [
        _example(f"{p}u1", x=[7.0, 8.0]),
        _example(f"{p}u2", x=[-1.0, -2.0], weight=[42.0]),  # a feature named `weight`
        _example(f"{p}u3", x=[0.5, 0.5]),
        _example(f"{p}b", x=[99.0, 99.0]),  # also labeled: the labeled `b` is used
    ]
    edges = [
        ("a", "b", 0.5),
        ("a", "u1", 0.5),  # ties with b: the larger id (u1) comes first
        ("a", "u2", 0.5),
        ("a", "c", 0.25),
        ("a", "c", 0.75),  # duplicate edge: the larger weight is kept
        ("a", "ghost", 0.9),  # no example: skipped and counted
        ("b", "a", 0.125),
        ("c", "u3", 1.0),
        ("u3", "c", 0.3),
        ("u1", "b", 0.6),  # reverse of nothing: only with add_undirected_edges
        ("s", "s", 0.5),  # a self-edge is kept, as NSL does
        ("ghost", "c", 0.4),
    ] + [("c", f"u{k}", 0.01 * k) for k in (1, 2)]
    edges = [(p + s, p + t, w) for s, t, w in edges]
    paths = {
        "labeled": tmp_path / "labeled.tfr",
        "unlabeled": tmp_path / "unlabeled.tfr",
        "graph": tmp_path / "graph.tsv",
        "output": tmp_path / "out.tfr",
    }
    ex.write_examples(paths["labeled"], labeled)
    ex.write_examples(paths["unlabeled"], unlabeled)
    ex.write_graph_tsv(paths["graph"], edges, float_format="%r")
    return paths, labeled, unlabeled, edges


def _read(path):
    return list(ex.read_examples(path))


@pytest.mark.parametrize("long_ids", [False, True, "very long"])
@pytest.mark.parametrize("add_undirected_edges", [False, True])
@pytest.mark.parametrize("max_nbrs", [None, 0, 2])
def test_matches_reference(tmp_path, long_ids, add_undirected_edges, max_nbrs):
    paths, labeled, unlabeled, edges = _workload(tmp_path, long_ids)
    counts = pn.pack_nbrs(
        paths["labeled"],
        paths["unlabeled"],
        paths["graph"],
        paths["output"],
        add_undirected_edges=add_undirected_edges,
        max_nbrs=max_nbrs,
    )
    got = _read(paths["output"])
    want = _reference(labeled, unlabeled, edges, add_undirected_edges, max_nbrs)
    assert len(got) == len(want) == 5
    for g, w in zip(got, want, strict=True):
        assert g == w
    assert counts["seeds_written"] == 5
    assert counts["edges_read"] == len(edges)
    assert counts["ids_in_both_files"] == 1
    # a -> ghost is the only seed edge without an example (ghost -> c reversed is c -> ghost).
    assert counts["missing_neighbours_skipped"] == (2 if add_undirected_edges else 1)
    assert counts["missing_neighbour_ids"] == 1
    assert counts["neighbours_packed"] == sum(
        w.features.feature["NL_num_nbrs"].int64_list.value[0] for w in want
    )


def test_hand_worked_order_and_values(tmp_path):
    paths, *_ = _workload(tmp_path)
    pn.pack_nbrs(paths["labeled"], paths["unlabeled"], paths["graph"], paths["output"])
    a = _read(paths["output"])[0].features.feature
    # a's neighbours: c 0.75 (max of 0.25, 0.75), then the 0.5 ties by id desc: u2, u1, b.
    assert a["NL_num_nbrs"].int64_list.value == [4]
    assert [a[f"NL_nbr_{i}_id"].bytes_list.value[0] for i in range(4)] == [
        b"c",
        b"u2",
        b"u1",
        b"b",
    ]
    assert a["NL_nbr_0_weight"].float_list.value == [0.75]
    assert a["NL_nbr_1_weight"].float_list.value == [42.0]  # u2's own `weight` feature
    assert a["NL_nbr_2_weight"].float_list.value == [0.5]
    assert a["NL_nbr_3_x"].float_list.value == [3.0, 4.0]  # the labeled b, not the unlabeled
    assert a["NL_nbr_3_label"].int64_list.value == [1]
    assert a["label"].int64_list.value == [0]


def test_output_parses_with_tf_parse_example(tmp_path):
    # TensorFlow's fast Example parser must read the concatenated wire format too.
    paths, *_ = _workload(tmp_path)
    pn.pack_nbrs(paths["labeled"], paths["unlabeled"], paths["graph"], paths["output"], max_nbrs=2)
    spec = {
        "id": tf.io.FixedLenFeature([], tf.string),
        "NL_num_nbrs": tf.io.FixedLenFeature([], tf.int64),
        "NL_nbr_0_x": tf.io.FixedLenFeature([2], tf.float32, default_value=[0.0, 0.0]),
        "NL_nbr_0_weight": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0]),
    }
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(paths["output"]))]
    parsed = tf.io.parse_example(records, spec)
    assert parsed["id"].numpy().tolist() == [b"a", b"b", b"c", b"s", b"lonely"]
    assert parsed["NL_num_nbrs"].numpy().tolist() == [2, 1, 2, 1, 0]
    np.testing.assert_allclose(parsed["NL_nbr_0_x"].numpy()[0], [5.0, 6.0])
    np.testing.assert_allclose(parsed["NL_nbr_0_weight"].numpy()[:, 0], [0.75, 0.125, 1, 0.5, 0])


def test_many_neighbours_two_digit_indices(tmp_path):
    labeled = [_example("seed", v=[1])]
    unlabeled = [_example(f"n{i:02d}", v=[i]) for i in range(13)]
    edges = [("seed", f"n{i:02d}", 1.0 - 0.01 * i) for i in range(13)]
    ex.write_examples(tmp_path / "l.tfr", labeled)
    ex.write_examples(tmp_path / "u.tfr", unlabeled)
    ex.write_graph_tsv(tmp_path / "g.tsv", edges, float_format="%r")
    pn.pack_nbrs(tmp_path / "l.tfr", tmp_path / "u.tfr", tmp_path / "g.tsv", tmp_path / "o.tfr")
    (got,) = _read(tmp_path / "o.tfr")
    (want,) = _reference(labeled, unlabeled, edges, False, None)
    assert got == want
    assert got.features.feature["NL_nbr_12_v"].int64_list.value == [12]


def test_unusual_layouts_use_the_general_parser(tmp_path):
    # Records made of two merged `features` fields, as both seeds and neighbours.
    def merged(node_id, value):
        return (
            _example(node_id, x=[value]).SerializeToString()
            + ex.make_example({"extra": [value]}).SerializeToString()
        )

    ex.write_records(tmp_path / "l.tfr", [merged("a", 1.0), merged("b", 2.0)])
    ex.write_records(tmp_path / "u.tfr", [merged("c", 3.0)])
    edges = [("a", "b", 0.5), ("a", "c", 0.7), ("b", "c", 0.1)]
    ex.write_graph_tsv(tmp_path / "g.tsv", edges, float_format="%r")
    pn.pack_nbrs(tmp_path / "l.tfr", tmp_path / "u.tfr", tmp_path / "g.tsv", tmp_path / "o.tfr")
    labeled = _read(tmp_path / "l.tfr")
    unlabeled = _read(tmp_path / "u.tfr")
    assert _read(tmp_path / "o.tfr") == _reference(labeled, unlabeled, edges, False, None)


@pytest.mark.parametrize("unlabeled", ["", None])
def test_no_unlabeled_file(tmp_path, unlabeled):
    paths, labeled, _, edges = _workload(tmp_path)
    counts = pn.pack_nbrs(paths["labeled"], unlabeled, paths["graph"], paths["output"])
    assert _read(paths["output"]) == _reference(labeled, [], edges, False, None)
    assert counts["unlabeled_examples"] == 0
    # a->u1, a->u2, a->ghost, c->u3, c->u1, c->u2 lack examples: 6 edges, 4 distinct ids.
    assert counts["missing_neighbours_skipped"] == 6
    assert counts["missing_neighbour_ids"] == 4


def test_errors_name_file_and_record(tmp_path):
    paths, *_ = _workload(tmp_path)
    args = (paths["graph"], paths["output"])
    dup = tmp_path / "dup.tfr"
    ex.write_examples(dup, [_example("a"), _example("b"), _example("a")])
    with pytest.raises(ValueError, match=r"dup\.tfr: record 3 repeats id 'a' of record 1"):
        pn.pack_nbrs(dup, "", *args)
    no_id = tmp_path / "noid.tfr"
    ex.write_examples(no_id, [_example("a"), {"x": [1.0]}])
    with pytest.raises(ValueError, match=r"noid\.tfr: record 2 has no feature 'id'"):
        pn.pack_nbrs(paths["labeled"], no_id, *args)
    int_id = tmp_path / "intid.tfr"
    ex.write_examples(int_id, [{"id": 7}])
    with pytest.raises(ValueError, match=r"intid\.tfr: record 1: .*bytes_list.*int64_list"):
        pn.pack_nbrs(int_id, "", *args)
    corrupt = tmp_path / "corrupt.tfr"
    data = bytearray(paths["labeled"].read_bytes())
    data[-6] ^= 1  # inside the last record's payload
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt\.tfr: record 5 .*checksum"):
        pn.pack_nbrs(corrupt, "", *args)
    garbage = tmp_path / "garbage.tfr"
    ex.write_records(garbage, [_example("a").SerializeToString(), b"\x0a\x09oops"])
    with pytest.raises(ValueError, match=r"garbage\.tfr: record 2 is not a valid"):
        pn.pack_nbrs(garbage, "", *args)
    with pytest.raises(FileNotFoundError, match="missing.tfr"):
        pn.pack_nbrs(tmp_path / "missing.tfr", "", *args)
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        pn.pack_nbrs(paths["labeled"], "", tmp_path / "missing.tsv", paths["output"])
    with pytest.raises(ValueError, match="max_nbrs"):
        pn.pack_nbrs(paths["labeled"], "", *args, max_nbrs=-1)
    assert not paths["output"].exists()


def test_already_packed_seeds_are_rejected(tmp_path):
    paths, *_ = _workload(tmp_path)
    pn.pack_nbrs(paths["labeled"], paths["unlabeled"], paths["graph"], paths["output"])
    with pytest.raises(ValueError, match=r"out\.tfr: record 1 already has feature 'NL_"):
        pn.pack_nbrs(paths["output"], "", paths["graph"], tmp_path / "again.tfr")


def test_cli_main(tmp_path, capsys):
    paths, labeled, unlabeled, edges = _workload(tmp_path)
    pn.define_flags()
    pn.define_flags()  # idempotent
    argv = [
        "pack-nbrs",
        "--max_nbrs=1",
        "--add_undirected_edges",
        str(paths["labeled"]),
        str(paths["unlabeled"]),
        str(paths["graph"]),
        str(paths["output"]),
    ]
    rest = flags.FLAGS(argv)
    try:
        pn.main(rest)
    finally:
        flags.FLAGS.unparse_flags()
    assert _read(paths["output"]) == _reference(labeled, unlabeled, edges, True, 1)
    assert "Wrote 5 examples" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# Bounded memory: tiny blocks and work shards give the same output.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("long_ids", [False, "very long"])
@pytest.mark.parametrize("add_undirected_edges", [False, True])
@pytest.mark.parametrize("max_nbrs", [None, 2])
def test_tiny_blocks_and_work_shards_match_reference(
    tmp_path, monkeypatch, long_ids, add_undirected_edges, max_nbrs
):
    paths, labeled, unlabeled, edges = _workload(tmp_path, long_ids)
    # \r\n line ends: a block may end between \r and \n.
    paths["graph"].write_bytes(paths["graph"].read_bytes().replace(b"\n", b"\r\n"))
    monkeypatch.setattr(pn, "_COMPACT_EDGES", 1)  # dedupe and cut after every graph block
    monkeypatch.setattr(pn, "_READ_GAP", 0)  # one read per record
    counts = pn.pack_nbrs(
        paths["labeled"],
        paths["unlabeled"],
        paths["graph"],
        paths["output"],
        add_undirected_edges=add_undirected_edges,
        max_nbrs=max_nbrs,
        block_bytes=7,  # smaller than a record and than a graph line
        shard_bytes=1,  # one seed a work shard
    )
    assert counts["work_shards"] == 5
    assert _read(paths["output"]) == _reference(
        labeled, unlabeled, edges, add_undirected_edges, max_nbrs
    )
    assert counts["missing_neighbours_skipped"] == (2 if add_undirected_edges else 1)
    assert counts["edges_with_missing_end"] == 2  # a -> ghost and ghost -> c


def test_max_nbrs_cut_while_reading_equals_cut_at_the_end(tmp_path, monkeypatch):
    # Random graph with repeated edges whose later copies are lighter or heavier.
    rng = np.random.default_rng(3)
    labeled = [_example(f"s{i}", v=[i]) for i in range(20)]
    unlabeled = [_example(f"u{i}", v=[100 + i]) for i in range(30)]
    names = [f"s{i}" for i in range(20)] + [f"u{i}" for i in range(30)] + ["ghost"]
    edges = [
        (names[a], names[b], float(w))
        for a, b, w in zip(
            rng.integers(0, 51, 600),
            rng.integers(0, 51, 600),
            rng.integers(0, 8, 600) / 8,
            strict=True,
        )
    ]
    ex.write_examples(tmp_path / "l.tfr", labeled)
    ex.write_examples(tmp_path / "u.tfr", unlabeled)
    ex.write_graph_tsv(tmp_path / "g.tsv", edges, float_format="%r")
    monkeypatch.setattr(pn, "_COMPACT_EDGES", 1)
    pn.pack_nbrs(
        tmp_path / "l.tfr",
        tmp_path / "u.tfr",
        tmp_path / "g.tsv",
        tmp_path / "o.tfr",
        add_undirected_edges=True,
        max_nbrs=3,
        block_bytes=64,
        shard_bytes=200,
    )
    assert _read(tmp_path / "o.tfr") == _reference(labeled, unlabeled, edges, True, 3)


# ---------------------------------------------------------------------------------------
# Sharded inputs and outputs.
# ---------------------------------------------------------------------------------------


def test_sharded_inputs_and_outputs(tmp_path):
    paths, labeled, unlabeled, edges = _workload(tmp_path)
    ex.write_examples(tmp_path / "lab-00000-of-00002", labeled[:2])
    ex.write_examples(tmp_path / "lab-00001-of-00002", labeled[2:])
    ex.write_examples(tmp_path / "unl-a.tfr", unlabeled[:1])
    ex.write_examples(tmp_path / "unl-b.tfr", unlabeled[1:])
    ex.write_graph_tsv(tmp_path / "g1.tsv", edges[:5], float_format="%r")
    ex.write_graph_tsv(tmp_path / "g2.tsv", edges[5:], float_format="%r")
    counts = pn.pack_nbrs(
        str(tmp_path / "lab-*-of-00002"),
        [tmp_path / "unl-a.tfr", tmp_path / "unl-b.tfr"],
        f"{tmp_path / 'g1.tsv'},{tmp_path / 'g2.tsv'}",
        tmp_path / "packed",
        max_nbrs=2,
        num_shards=3,
    )
    names = [tmp_path / f"packed-{i:05d}-of-00003" for i in range(3)]
    assert counts["output_files"] == [str(n) for n in names]
    assert [len(_read(n)) for n in names] == [2, 1, 2]  # 5 seeds split evenly, in order
    got = [e for n in names for e in _read(n)]
    assert got == _reference(labeled, unlabeled, edges, False, 2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_sharded_output_readable_by_make_dataset(tmp_path):
    from graphnsl.configs import GraphNeighborConfig
    from graphnsl.data import make_dataset

    paths, labeled, unlabeled, edges = _workload(tmp_path)
    pn.pack_nbrs(paths["labeled"], paths["unlabeled"], paths["graph"], tmp_path / "p", num_shards=2)
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32)}
    config = GraphNeighborConfig(max_neighbors=2)
    dataset = make_dataset(str(tmp_path / "p-*-of-00002"), spec, "label", config, batch_size=8)
    features, labels = next(iter(dataset))
    assert labels.numpy().tolist() == [0, 1, 1, 2, 0]
    # a's first neighbour is c (x = [5, 6], weight 0.75); lonely has none (zeros, weight 0).
    np.testing.assert_allclose(features["NL_nbr_0_x"].numpy()[0], [5.0, 6.0])
    np.testing.assert_allclose(features["NL_nbr_0_weight"].numpy()[:, 0], [0.75, 0.125, 1, 0.5, 0])
    listed = make_dataset(
        [str(tmp_path / "p-00000-of-00002"), str(tmp_path / "p-00001-of-00002")],
        spec,
        "label",
        config,
        batch_size=8,
    )
    assert next(iter(listed))[1].numpy().tolist() == [0, 1, 1, 2, 0]


def test_globs_that_match_nothing_are_named(tmp_path):
    paths, *_ = _workload(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no file matches the graph glob .*nope-\*"):
        pn.pack_nbrs(paths["labeled"], "", str(tmp_path / "nope-*"), paths["output"])


# ---------------------------------------------------------------------------------------
# Silent drops and unsafe outputs (issue 12).
# ---------------------------------------------------------------------------------------


def _messages(caplog):
    return "\n".join(r.getMessage() for r in caplog.records)


def test_no_graph_id_matches_is_counted_and_warned(tmp_path, caplog):
    paths, *_ = _workload(tmp_path)
    other = tmp_path / "other.tsv"
    ex.write_graph_tsv(other, [("x1", "x2", 1.0), ("x2", "x3", 1.0), ("x3", "a", 1.0)])
    with caplog.at_level("WARNING"):
        counts = pn.pack_nbrs(paths["labeled"], paths["unlabeled"], other, paths["output"])
    assert counts["edges_read"] == 3
    assert counts["edges_with_missing_end"] == 3
    assert counts["neighbours_packed"] == 0
    text = _messages(caplog)
    assert "100% of the graph's edges have an end without an example (3 of 3 edges" in text
    assert "no neighbours were packed" in text
    ex.write_graph_tsv(other, [("x1", "x2", 1.0), ("y", "z", 1.0)])
    caplog.clear()
    with caplog.at_level("WARNING"):
        counts = pn.pack_nbrs(paths["labeled"], paths["unlabeled"], other, paths["output"])
    assert "no graph id matches any example id (2 of 2 edges" in _messages(caplog)
    with pytest.raises(ValueError, match=r"--strict.*no graph id matches any example id"):
        pn.pack_nbrs(paths["labeled"], "", other, tmp_path / "strict.tfr", strict=True)
    assert not (tmp_path / "strict.tfr").exists()


def test_some_missing_ends_are_counted_without_a_loud_warning(tmp_path, caplog):
    paths, *_ = _workload(tmp_path)
    with caplog.at_level("WARNING"):
        counts = pn.pack_nbrs(
            paths["labeled"], paths["unlabeled"], paths["graph"], paths["output"], strict=True
        )
    assert counts["edges_with_missing_end"] == 2
    assert "2 of 14 graph edges have an end without an example" in _messages(caplog)
    assert "check that the graph and the examples use the same ids" not in _messages(caplog)


def test_empty_graph_warns_no_neighbours_packed(tmp_path, caplog):
    paths, labeled, *_ = _workload(tmp_path)
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    with caplog.at_level("WARNING"):
        counts = pn.pack_nbrs(paths["labeled"], paths["unlabeled"], empty, paths["output"])
    assert counts["neighbours_packed"] == 0 and counts["seeds_written"] == 5
    assert "has no edges: no neighbours were packed" in _messages(caplog)
    assert [
        e.features.feature["NL_num_nbrs"].int64_list.value[0] for e in _read(paths["output"])
    ] == [0] * 5
    with pytest.raises(ValueError, match=r"--strict.*has no edges: no neighbours were packed"):
        pn.pack_nbrs(paths["labeled"], "", empty, tmp_path / "strict.tfr", strict=True)


def test_output_that_is_an_input_is_refused_before_writing(tmp_path):
    paths, *_ = _workload(tmp_path)
    before = {k: p.read_bytes() for k, p in paths.items() if k != "output"}
    for key in ("labeled", "unlabeled", "graph"):
        with pytest.raises(ValueError, match="is the input"):
            pn.pack_nbrs(paths["labeled"], paths["unlabeled"], paths["graph"], paths[key])
    (tmp_path / "sub").mkdir()
    alias = tmp_path / "sub" / ".." / "labeled.tfr"  # the same file by another name
    with pytest.raises(ValueError, match="is the input"):
        pn.pack_nbrs(paths["labeled"], paths["unlabeled"], paths["graph"], alias)
    assert {k: p.read_bytes() for k, p in paths.items() if k != "output"} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "graph.tsv",
        "labeled.tfr",
        "sub",
        "unlabeled.tfr",
    ]


def test_output_folder_checked_before_the_inputs_are_parsed(tmp_path):
    paths, *_ = _workload(tmp_path)
    corrupt = tmp_path / "corrupt.tfr"
    corrupt.write_bytes(paths["labeled"].read_bytes()[:-3])  # would fail when parsed
    with pytest.raises(FileNotFoundError, match="Output folder .* does not exist"):
        pn.pack_nbrs(corrupt, "", paths["graph"], tmp_path / "no" / "out.tfr")
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        pn.pack_nbrs(corrupt, "", paths["graph"], tmp_path / "folder")
    assert list((tmp_path / "folder").iterdir()) == []
    with pytest.raises(ValueError, match=r"corrupt\.tfr: record 5 .*truncated"):
        pn.pack_nbrs(corrupt, "", paths["graph"], paths["output"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_strict_and_usage_errors(tmp_path):
    from absl import app

    paths, *_ = _workload(tmp_path)
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    pn.define_flags()
    for argv, error, message in [
        (["--strict", paths["labeled"], "", empty, paths["output"]], ValueError, "no edges"),
        ([paths["labeled"], "", empty], app.UsageError, "Expected 4 arguments"),
        (
            [paths["labeled"], "", empty, paths["output"], "--", "--direct_num_workers=2"],
            app.UsageError,
            "need --runner",
        ),
    ]:
        rest = flags.FLAGS(["pack-nbrs", *map(str, argv)])
        try:
            with pytest.raises(error, match=message):
                pn.main(rest)
        finally:
            flags.FLAGS.unparse_flags()
    assert not paths["output"].exists()


def test_command_line_exit_codes_and_one_line_errors(tmp_path, capsys):
    from graphnsl import cli

    paths, *_ = _workload(tmp_path)
    other = tmp_path / "other.tsv"
    ex.write_graph_tsv(other, [("x1", "x2", 1.0)])
    base = ["graphnsl", "pack-nbrs"]
    code = cli.main([*base, str(paths["labeled"]), "", str(other), str(paths["output"])])
    out, err = capsys.readouterr()
    assert code == 0
    assert "1 edges with an end that has no example (100.0%) skipped" in out
    code = cli.main(
        [*base, "--strict", str(paths["labeled"]), "", str(other), str(tmp_path / "s.tfr")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "no graph id matches any example id" in err
    assert len(err.strip().splitlines()) == 1
    code = cli.main([*base, *(str(paths[k]) for k in ("labeled", "unlabeled", "graph", "graph"))])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("graphnsl pack-nbrs: error: Output ")
    assert "is the input" in err
    code = cli.main([*base, "--help"])
    out = capsys.readouterr().out
    # (its flags are listed only when cli defines them first in the process: not asserted here)
    assert code == 0 and "LABELED UNLABELED GRAPH OUTPUT -- BEAM_OPTIONS" in out
    assert "'' for none" in out


@pytest.mark.parametrize("flip", [0x01, 0x40])  # a length a little off, or far past the end
def test_corrupted_length_is_named(tmp_path, flip):
    paths, *_ = _workload(tmp_path)
    data = bytearray(paths["labeled"].read_bytes())
    second = 16 + int.from_bytes(data[:8], "little")  # the second record's frame
    data[second + (0 if flip == 0x01 else 5)] ^= flip
    bad = tmp_path / "badlength.tfr"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"badlength\.tfr: record 2 \(byte offset \d+\) is corr"):
        pn.pack_nbrs(bad, "", paths["graph"], paths["output"], block_bytes=64)


def test_graph_ids_longer_than_every_example_id_are_missing(tmp_path):
    # Example ids fit 8 bytes (uint64 keys); graph ids of 9+ bytes, even sharing a prefix.
    labeled = [_example("a", v=[1]), _example("b", v=[2])]
    edges = [("a", "b", 0.5), ("a", "bbbbbbbbbb", 0.9), ("a" * 12, "b", 0.3)]
    ex.write_examples(tmp_path / "l.tfr", labeled)
    ex.write_graph_tsv(tmp_path / "g.tsv", edges, float_format="%r")
    counts = pn.pack_nbrs(tmp_path / "l.tfr", "", tmp_path / "g.tsv", tmp_path / "o.tfr")
    assert _read(tmp_path / "o.tfr") == _reference(labeled, [], edges, False, None)
    assert counts["edges_with_missing_end"] == 2 and counts["missing_neighbours_skipped"] == 1
