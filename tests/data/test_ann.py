"""Tests for build_graph's approximate modes (faiss, NSL's LSH) against the exact graph."""

import itertools
import sys

import numpy as np
import pytest

from graphnsl.data import ann
from graphnsl.data import build_graph as bg
from graphnsl.data import examples as ex


def _clustered(n, dim, seed, clusters=6, noise=0.35):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim))
    return centers[rng.integers(0, clusters, n)] + noise * rng.normal(size=(n, dim))


def _write(path, ids, vectors):
    ex.write_examples(
        path,
        [
            {"id": i, "embedding": np.asarray(v, np.float32)}
            for i, v in zip(ids, vectors, strict=True)
        ],
    )


def _lines(path):
    return {tuple(line.split("\t")[:2]): line.split("\t")[2] for line in open(path)}


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ann")
    vectors = _clustered(600, 16, 0)
    ids = [f"v{i}" for i in range(600)]
    _write(folder / "e.tfr", ids, vectors)
    exact = bg.build_graph(folder / "e.tfr", folder / "exact.tsv", similarity_threshold=0.9)
    assert exact["edges"] > 3000  # about 50 neighbours per node: a real test of recall
    return folder, ids, vectors


@pytest.mark.parametrize(
    "options",
    [{"index": "hnsw"}, {"index": "ivf", "ivf_nlist": 16, "ivf_nprobe": 4}],
    ids=["hnsw", "ivf"],
)
def test_faiss_recall_and_exact_weights(workload, options):
    folder, _, _ = workload
    counts = bg.build_graph(
        folder / "e.tfr",
        folder / "g.tsv",
        similarity_threshold=0.9,
        ann="faiss",
        faiss_options={**options, "k": 128},
    )
    exact, got = _lines(folder / "exact.tsv"), _lines(folder / "g.tsv")
    assert set(got) <= set(exact)  # never an edge the exact graph lacks
    assert all(got[e] == exact[e] for e in got)  # with NSL's weights
    assert len(got) / len(exact) >= 0.95
    assert all((t, s) in got for s, t in got)  # both directions, as NSL
    assert counts["edges"] == len(got) // 2 and counts["saturated_nodes"] == 0


def test_faiss_exhaustive_is_the_exact_file(workload):
    folder, _, _ = workload
    # IVF scanning every list is an exhaustive search: the very file of the exact mode.
    bg.build_graph(
        folder / "e.tfr",
        folder / "ivf.tsv",
        similarity_threshold=0.9,
        ann="faiss",
        faiss_options=ann.FaissOptions(index="ivf", k=599, ivf_nlist=4, ivf_nprobe=4),
    )
    assert (folder / "ivf.tsv").read_bytes() == (folder / "exact.tsv").read_bytes()


@pytest.mark.parametrize("k", [599, 5])
def test_faiss_exhaustive_with_a_cap_is_the_exact_capped_file(workload, caplog, k):
    folder, _, _ = workload
    bg.build_graph(
        folder / "e.tfr", folder / "c.tsv", similarity_threshold=0.9, max_nbrs_per_node=5
    )
    # k = 5 = the cap while nodes have about 50 neighbours: every node is saturated, yet each
    # capped list is its 5 best, so the file is the same and no warning is logged.
    with caplog.at_level("INFO"):
        counts = bg.build_graph(
            folder / "e.tfr",
            folder / f"ivfc{k}.tsv",
            similarity_threshold=0.9,
            max_nbrs_per_node=5,
            ann="faiss",
            faiss_options={"index": "ivf", "k": k, "ivf_nlist": 4, "ivf_nprobe": 4},
        )
    assert (folder / f"ivfc{k}.tsv").read_bytes() == (folder / "c.tsv").read_bytes()
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    if k == 5:
        assert counts["saturated_nodes"] > 500
        assert any("none is cut short" in r.getMessage() for r in caplog.records)


def test_faiss_small_k_is_counted(workload, caplog):
    folder, _, _ = workload
    counts = bg.build_graph(
        folder / "e.tfr",
        folder / "g.tsv",
        similarity_threshold=0.9,
        ann="faiss",
        faiss_options={"k": 4},
    )
    assert counts["saturated_nodes"] > 500  # ~50 neighbours each, 4 searched
    assert counts["edges"] < len(_lines(folder / "exact.tsv")) // 2
    assert any("raise the faiss k" in r.getMessage() for r in caplog.records)


def _nsl_lsh_reference(vectors, splits, rounds, seed, threshold):
    """NSL's LSH, written out plainly: per round, per node a bucket, pairs within buckets."""
    unit = [v / max(np.linalg.norm(v), np.float64(1e-6)) for v in np.float32(vectors)]
    rng = np.random.RandomState(seed)
    edges = set()
    for _ in range(rounds):
        planes = rng.rand(splits, len(unit[0])) * 2 - 1
        buckets = {}
        for i, u in enumerate(unit):
            bucket = sum(1 << b for b, x in enumerate(np.matmul(planes, u)) if x > 0.0)
            buckets.setdefault(bucket, []).append(i)
        for members in buckets.values():
            for i, j in itertools.combinations(members, 2):
                if np.dot(unit[i], unit[j]) >= threshold:
                    edges.add((min(i, j), max(i, j)))
    return edges


def test_lsh_matches_nsl_bucketing(workload):
    folder, ids, vectors = workload
    counts = bg.build_graph(
        folder / "e.tfr",
        folder / "lsh.tsv",
        similarity_threshold=0.9,
        ann="lsh",
        lsh_splits=3,
        lsh_rounds=2,
        random_seed=7,
    )
    got = _lines(folder / "lsh.tsv")
    exact = _lines(folder / "exact.tsv")
    index = {x: i for i, x in enumerate(ids)}
    want = _nsl_lsh_reference(vectors, 3, 2, 7, 0.9)
    assert {(index[s], index[t]) for s, t in got if index[s] < index[t]} == want
    assert set(got) <= set(exact) and all(got[e] == exact[e] for e in got)
    assert 0 < counts["edges"] < len(exact) // 2  # some pairs fall in different buckets
    with pytest.raises(ValueError, match="ann=.lsh. needs 1 <= lsh_splits <= 62"):
        bg.build_graph(folder / "e.tfr", folder / "x.tsv", ann="lsh")


def test_bad_ann_settings(tmp_path, monkeypatch):
    _write(tmp_path / "e.tfr", ["a", "b"], [[1, 0], [1, 1]])
    with pytest.raises(ValueError, match="ann must be"):
        bg.build_graph(tmp_path / "e.tfr", tmp_path / "g.tsv", ann="annoy")
    with pytest.raises(ValueError, match="faiss index must be 'hnsw' or 'ivf'"):
        bg.build_graph(
            tmp_path / "e.tfr", tmp_path / "g.tsv", ann="faiss", faiss_options={"index": "pq"}
        )
    with pytest.raises(ValueError, match="k must be >= 1"):
        bg.build_graph(tmp_path / "e.tfr", tmp_path / "g.tsv", ann="faiss", faiss_options={"k": 0})
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match=r"pip install 'graphnsl\[faiss\]'"):
        bg.build_graph(tmp_path / "e.tfr", tmp_path / "g.tsv", ann="faiss")
    assert not (tmp_path / "g.tsv").exists()


def test_glob_and_list_inputs(tmp_path):
    for s in range(3):
        _write(tmp_path / f"e-{s:05d}-of-00003", [f"a{s}", f"b{s}"], [[1, s], [1, s + 0.01]])
    files = bg.expand_inputs([str(tmp_path / "e-*-of-00003")])
    assert files == [str(tmp_path / f"e-{s:05d}-of-00003") for s in range(3)]
    both = bg.expand_inputs(f"{files[2]},{files[0]}")
    assert both == [files[2], files[0]]
    counts = bg.build_graph(tmp_path / "e-*-of-*", tmp_path / "g.tsv", similarity_threshold=0.99)
    assert counts["embeddings"] == 6
    with pytest.raises(FileNotFoundError, match="No file matches the input pattern"):
        bg.build_graph(tmp_path / "nothing-*", tmp_path / "g.tsv")


def test_output_checked_before_inputs_are_read(tmp_path):
    (tmp_path / "junk.tfr").write_bytes(b"not a tfrecord at all")
    (tmp_path / "folder").mkdir()
    # The input is garbage: each error names the output, so nothing was parsed first.
    with pytest.raises(FileNotFoundError, match="Output folder .*absent.* does not exist"):
        bg.build_graph(tmp_path / "junk.tfr", tmp_path / "absent" / "g.tsv")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        bg.build_graph(tmp_path / "junk.tfr", tmp_path / "folder")
    with pytest.raises(ValueError, match="is the input"):
        bg.build_graph(tmp_path / "junk.tfr", tmp_path / "junk.tfr")
    assert (tmp_path / "junk.tfr").read_bytes() == b"not a tfrecord at all"
    with pytest.raises(ValueError, match="junk.tfr"):  # and the input's own error otherwise
        bg.build_graph(tmp_path / "junk.tfr", tmp_path / "g.tsv")


def test_lsh_buckets_same_alone_and_in_bulk():
    rows = np.float32(_clustered(300, 16, 2))
    planes = ann.lsh_planes(3, 5, 2, 16)
    bulk = ann.lsh_bucket_ids(rows, planes)
    alone = np.concatenate([ann.lsh_bucket_ids(rows[i : i + 1], planes) for i in range(300)])
    np.testing.assert_array_equal(bulk, alone)  # what lets Beam bucket node by node
    want = [
        [sum(1 << b for b, x in enumerate(p @ np.float64(r)) if x > 0) for p in planes]
        for r in rows
    ]
    np.testing.assert_array_equal(bulk, want)
    assert len(np.unique(bulk[:, 0])) > 8  # the buckets do split the nodes
