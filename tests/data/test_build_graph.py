"""Tests for graphnsl.data.build_graph: edges, weights and errors against plain NumPy."""

import itertools

import numpy as np
import pytest
from absl import flags

from graphnsl.data import build_graph as bg
from graphnsl.data import examples as ex


def _write(path, ids, vectors):
    ex.write_examples(
        path,
        [
            {"id": i, "embedding": np.asarray(v, np.float32)}
            for i, v in zip(ids, vectors, strict=True)
        ],
    )


def _read_tsv(path):
    lines = path.read_text().splitlines()
    return {(s, t): w for s, t, w in (line.split("\t") for line in lines)}, len(lines)


def _reference(ids, vectors, threshold):
    """Every pair, one at a time: float32 normalize and dot, compare as NSL (float32)."""
    vectors = np.asarray(vectors, np.float32)
    unit = [v / max(np.linalg.norm(v), np.float64(1e-6)) for v in vectors]
    edges = {}
    for i, j in itertools.combinations(range(len(ids)), 2):
        w = np.dot(unit[i], unit[j])
        if w >= threshold:
            edges[(ids[i], ids[j])] = edges[(ids[j], ids[i])] = f"{float(w):f}"
    return edges


def test_hand_built_graph(tmp_path):
    ids = ["a", "b", "c", "d", "z"]
    vectors = [[1, 0], [2, 0], [1, 1], [0, 1], [0, 0]]  # a,b same direction; c at 45 degrees
    _write(tmp_path / "e.tfr", ids, vectors)
    counts = bg.build_graph([tmp_path / "e.tfr"], tmp_path / "g.tsv", similarity_threshold=0.7)
    edges, lines = _read_tsv(tmp_path / "g.tsv")
    assert edges == {
        ("a", "b"): "1.000000",
        ("b", "a"): "1.000000",
        ("a", "c"): "0.707107",
        ("c", "a"): "0.707107",
        ("b", "c"): "0.707107",
        ("c", "b"): "0.707107",
        ("c", "d"): "0.707107",
        ("d", "c"): "0.707107",
    }
    assert lines == 8  # each edge once per direction, no self-edges
    assert counts["edges"] == 4 and counts["embeddings"] == 5 and counts["dim"] == 2
    # The threshold is inclusive: at exactly 1.0 only a-b remains.
    bg.build_graph(tmp_path / "e.tfr", tmp_path / "g1.tsv", similarity_threshold=1.0)
    assert set(_read_tsv(tmp_path / "g1.tsv")[0]) == {("a", "b"), ("b", "a")}


@pytest.mark.parametrize("block_bytes", [1, 1 << 20])
def test_matches_pairwise_reference_across_files_and_blocks(tmp_path, block_bytes):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 8))
    vectors = centers[rng.integers(0, 3, 40)] + 0.4 * rng.normal(size=(40, 8))
    ids = [f"n{i}" for i in range(40)]
    _write(tmp_path / "a.tfr", ids[:25], vectors[:25])
    _write(tmp_path / "b.tfr", ids[25:], vectors[25:])
    counts = bg.build_graph(
        [tmp_path / "a.tfr", tmp_path / "b.tfr"],
        tmp_path / "g.tsv",
        similarity_threshold=0.8,
        block_bytes=block_bytes,
    )
    edges, lines = _read_tsv(tmp_path / "g.tsv")
    want = _reference(ids, vectors, 0.8)
    assert edges == want
    assert lines == len(want) == 2 * counts["edges"]
    assert counts["edges"] > 50  # the case is not trivial


def test_read_embeddings_general_layout(tmp_path):
    # An Example made of two merged `features` fields goes through the per-record parser.
    first = ex.make_example({"id": "a", "embedding": [1.0, 2.0]}).SerializeToString()
    second = ex.make_example({"id": "b"}).SerializeToString()
    plain = ex.make_example({"id": "c", "embedding": [3.0, 4.0]}).SerializeToString()
    ex.write_records(tmp_path / "e.tfr", [first + second, plain])
    ids, embeddings = bg.read_embeddings([tmp_path / "e.tfr"])
    assert ids == ["b", "c"]
    np.testing.assert_array_equal(embeddings, [[1.0, 2.0], [3.0, 4.0]])


def test_errors_name_file_and_record(tmp_path):
    _write(tmp_path / "ok.tfr", ["a", "b"], [[1, 0, 0], [0, 1, 0]])
    _write(tmp_path / "short.tfr", ["c", "d"], [[1, 0, 0], [0, 1]])
    with pytest.raises(ValueError, match=r"short\.tfr: record 2: .*has 2 values, expected 3"):
        bg.build_graph([tmp_path / "ok.tfr", tmp_path / "short.tfr"], tmp_path / "g.tsv")
    _write(tmp_path / "dup.tfr", ["x", "a"], [[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"dup\.tfr record 2 repeats id 'a' of .*ok\.tfr record 1"):
        bg.build_graph([tmp_path / "ok.tfr", tmp_path / "dup.tfr"], tmp_path / "g.tsv")
    ex.write_examples(tmp_path / "noid.tfr", [{"embedding": [1.0]}])
    with pytest.raises(ValueError, match=r"noid\.tfr: record 1 has no feature 'id'"):
        bg.build_graph([tmp_path / "noid.tfr"], tmp_path / "g.tsv")
    ex.write_examples(tmp_path / "noemb.tfr", [{"id": "a", "other": [1.0]}])
    with pytest.raises(ValueError, match=r"noemb\.tfr: record 1 has no feature 'embedding'"):
        bg.build_graph([tmp_path / "noemb.tfr"], tmp_path / "g.tsv")
    ex.write_examples(tmp_path / "intemb.tfr", [{"id": "a", "embedding": [1, 2]}])
    with pytest.raises(ValueError, match=r"intemb\.tfr: record 1: .*float_list, got int64_list"):
        bg.build_graph([tmp_path / "intemb.tfr"], tmp_path / "g.tsv")
    with pytest.raises(FileNotFoundError, match="absent.tfr"):
        bg.build_graph([tmp_path / "absent.tfr"], tmp_path / "g.tsv")
    with pytest.raises(ValueError, match="lsh_splits < 0"):
        bg.build_graph([tmp_path / "ok.tfr"], tmp_path / "g.tsv", lsh_splits=-1)
    with pytest.raises(ValueError, match="lsh_rounds < 1"):
        bg.build_graph([tmp_path / "ok.tfr"], tmp_path / "g.tsv", lsh_splits=2, lsh_rounds=0)
    assert not (tmp_path / "g.tsv").exists()


def test_other_feature_names(tmp_path):
    ex.write_examples(
        tmp_path / "e.tfr",
        [{"key": "p", "vec": [1.0, 1.0]}, {"key": "q", "vec": [1.0, 0.9]}],
    )
    bg.build_graph(
        [tmp_path / "e.tfr"],
        tmp_path / "g.tsv",
        similarity_threshold=0.99,
        id_feature_name="key",
        embedding_feature_name="vec",
    )
    assert set(_read_tsv(tmp_path / "g.tsv")[0]) == {("p", "q"), ("q", "p")}


def test_cli_main(tmp_path, capsys):
    _write(tmp_path / "a.tfr", ["a", "b"], [[1, 0], [1, 0.1]])
    _write(tmp_path / "b.tfr", ["c"], [[0, 1]])
    bg.define_flags()
    bg.define_flags()  # idempotent
    argv = [
        "build-graph",
        "--similarity_threshold=0.9",
        str(tmp_path / "a.tfr"),
        str(tmp_path / "b.tfr"),
        str(tmp_path / "g.tsv"),
    ]
    rest = flags.FLAGS(argv)
    try:
        bg.main(rest)
    finally:
        flags.FLAGS.unparse_flags()
    assert set(_read_tsv(tmp_path / "g.tsv")[0]) == {("a", "b"), ("b", "a")}
    assert "Wrote 1 edges" in capsys.readouterr().out
    rest = flags.FLAGS(argv[:1] + ["--max_nbrs_per_node=1", "--similarity_threshold=-1"] + argv[2:])
    try:
        bg.main(rest)
    finally:
        flags.FLAGS.unparse_flags()
    # Each node's one best: a and b each other, c (orthogonal to a, b) takes b (0.0995 > 0).
    lines = (tmp_path / "g.tsv").read_text().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["a", "b"], ["b", "a"], ["c", "b"]]
    assert "Wrote 3 lines (2 node pairs; 3 lines over the cap of 1 left out)" in (
        capsys.readouterr().out
    )


def _capped_reference(ids, vectors, threshold, k):
    """Per node, one at a time: its neighbours >= threshold sorted by (-weight, id), first k."""
    vectors = np.asarray(vectors, np.float32)
    unit = [v / max(np.linalg.norm(v), np.float64(1e-6)) for v in vectors]
    lines = {}
    for i in range(len(ids)):
        nbrs = []
        for j in range(len(ids)):
            w = np.dot(unit[i], unit[j])
            if j != i and w >= threshold:
                nbrs.append((-float(w), ids[j], f"{float(w):f}"))
        for _, target, text in sorted(nbrs)[:k]:
            lines[(ids[i], target)] = text
    return lines


def test_cap_hand_built_ties_and_one_way_lines(tmp_path):
    # a's neighbours b, c, d are at the same angle (weight 0.8 each), e is at 0.6; with k=2
    # a keeps the two smallest ids b and c. d keeps a (its best), so a-d appears as d's line
    # only.
    ids = ["a", "d", "c", "b", "e"]
    vectors = [[1, 0, 0], [0.8, 0, 0.6], [0.8, 0.6, 0], [0.8, -0.6, 0], [0.6, 0, -0.8]]
    _write(tmp_path / "e.tfr", ids, vectors)
    counts = bg.build_graph(
        tmp_path / "e.tfr", tmp_path / "g.tsv", similarity_threshold=0.5, max_nbrs_per_node=2
    )
    lines = (tmp_path / "g.tsv").read_text().splitlines()
    by_source = {}
    for line in lines:
        s, t, w = line.split("\t")
        by_source.setdefault(s, []).append((t, w))
    assert by_source["a"] == [("b", "0.800000"), ("c", "0.800000")]
    # d: a at 0.8, then c and b tie at 0.64: b goes first; d-e is 0.
    assert by_source["d"] == [("a", "0.800000"), ("b", "0.640000")]
    assert by_source["c"] == [("a", "0.800000"), ("d", "0.640000")]  # c-b is 0.28
    assert by_source["e"] == [("a", "0.600000")]  # e-b and e-c are 0.48 < 0.5
    assert all(len(v) <= 2 for v in by_source.values())
    assert counts["lines_written"] == len(lines) == 9
    assert counts["lines_capped"] == len(_reference(ids, vectors, 0.5)) - 9
    want = _capped_reference(ids, vectors, 0.5, 2)
    got = {(s, t): w for s, t, w in (line.split("\t") for line in lines)}
    assert got == want
    pairs = {frozenset(p) for p in got}
    assert counts["edges"] == len(pairs)


@pytest.mark.parametrize("k,block_bytes", [(1, 1), (3, 1 << 20), (1000, 1 << 20)])
def test_cap_matches_reference(tmp_path, k, block_bytes):
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 8))
    vectors = centers[rng.integers(0, 3, 40)] + 0.4 * rng.normal(size=(40, 8))
    vectors[5] = vectors[6]  # an exact tie in every row
    ids = [f"n{i}" for i in range(40)]
    _write(tmp_path / "a.tfr", ids[:25], vectors[:25])
    _write(tmp_path / "b.tfr", ids[25:], vectors[25:])
    counts = bg.build_graph(
        [tmp_path / "a.tfr", tmp_path / "b.tfr"],
        tmp_path / "g.tsv",
        similarity_threshold=0.8,
        block_bytes=block_bytes,
        max_nbrs_per_node=k,
    )
    got, lines = _read_tsv(tmp_path / "g.tsv")
    assert got == _capped_reference(ids, vectors, 0.8, k)
    assert lines == counts["lines_written"]
    if k == 1000:  # no node has that many: the uncapped graph, line for line as a set
        assert got == _reference(ids, vectors, 0.8) and counts["lines_capped"] == 0
    else:
        assert counts["lines_capped"] > 0


def test_bad_settings_and_values(tmp_path):
    _write(tmp_path / "ok.tfr", ["a", "b"], [[1, 0, 0], [0, 1, 0]])
    for bad in [1.5, -1.01, float("nan")]:
        with pytest.raises(ValueError, match=r"similarity_threshold must be .*\[-1, 1\]"):
            bg.build_graph(tmp_path / "ok.tfr", tmp_path / "g.tsv", similarity_threshold=bad)
    for bad in [0, -3, 2.5]:
        with pytest.raises(ValueError, match="max_nbrs_per_node must be a positive integer"):
            bg.build_graph(tmp_path / "ok.tfr", tmp_path / "g.tsv", max_nbrs_per_node=bad)
    _write(tmp_path / "nan.tfr", ["c", "d", "e"], [[1, 0, 0], [0, np.inf, 0], [np.nan, 0, 0]])
    with pytest.raises(
        ValueError, match=r"nan\.tfr: record 2: .*non-finite value inf at position 1"
    ):
        bg.build_graph([tmp_path / "ok.tfr", tmp_path / "nan.tfr"], tmp_path / "g.tsv")
    assert not (tmp_path / "g.tsv").exists()


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--similarity_threshold=1.5", r"--similarity_threshold must be .*\[-1, 1\], got 1.5"),
        ("--similarity_threshold=nan", r"--similarity_threshold must be .*got nan"),
        ("--max_nbrs_per_node=0", r"--max_nbrs_per_node must be >= 1, got 0"),
        ("--num_shards=2", r"--num_shards is for --runner"),
    ],
)
def test_cli_usage_errors(tmp_path, flag, message):
    from absl import app

    _write(tmp_path / "a.tfr", ["a", "b"], [[1, 0], [1, 0.1]])
    bg.define_flags()
    rest = flags.FLAGS(["build-graph", flag, str(tmp_path / "a.tfr"), str(tmp_path / "g.tsv")])
    try:
        with pytest.raises(app.UsageError, match=message):
            bg.main(rest)
    finally:
        flags.FLAGS.unparse_flags()
    assert not (tmp_path / "g.tsv").exists()
