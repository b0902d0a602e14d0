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
    p = "node-with-a-long-name-" if long_ids else ""
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


@pytest.mark.parametrize("long_ids", [False, True])
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
