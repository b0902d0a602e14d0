"""Tests for graphnsl.data.graph_tsv: NSL's graph TSV reader and writer."""

import pytest

from graphnsl.data import graph_tsv as gt


def test_read_graph_tsv_nsl_semantics(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("a\tb\t0.5\na\tb\t0.25\nb\tc\nc\ta\t2\textra\nb\ta\t0.75\r\n")
    graph = gt.read_graph_tsv(path)
    assert graph == {"a": {"b": 0.5}, "b": {"c": 1.0, "a": 0.75}, "c": {"a": 2.0}}
    undirected = gt.read_graph_tsv(path, add_undirected_edges=True)
    assert undirected == {
        "a": {"b": 0.75, "c": 2.0},
        "b": {"c": 1.0, "a": 0.75},
        "c": {"a": 2.0, "b": 1.0},
    }
    sources, targets, weights = gt.read_graph_edges(path)
    assert sources == [b"a", b"a", b"b", b"c", b"b"]
    assert targets == [b"b", b"b", b"c", b"a", b"a"]
    assert weights.tolist() == [0.5, 0.25, 1.0, 2.0, 0.75]


def test_read_graph_long_and_odd_ids(tmp_path):
    path = tmp_path / "g.tsv"
    long_id = "x" * 50
    path.write_bytes(f"{long_id}\tb\t1\nn\x00\tb\n".encode())
    sources, targets, weights = gt.read_graph_edges(path)
    assert sources == [long_id.encode(), b"n\x00"]
    assert weights.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "text, line, why",
    [
        ("a\tb\t1\nc\n", 2, "too few columns"),
        ("a\tb\t1\n\n", 2, "too few columns"),
        ("a\tb\tx1\n", 1, "not a number"),
        ("a\tb\t1\nb\tc\tnan\n", 2, "finite number >= 0"),
        ("a\tb\t-0.5\n", 1, "finite number >= 0"),
        ("a\tb\t1\na\tc\tinf\n", 2, "finite number >= 0"),
    ],
)
def test_read_graph_tsv_malformed_lines(tmp_path, text, line, why):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.tsv:{line}: .*{why}"):
        gt.read_graph_tsv(path)


def test_write_graph_tsv_round_trip(tmp_path):
    path = tmp_path / "w.tsv"
    count = gt.write_graph_tsv(path, [("a", "b", 0.5), (b"b", 3, 1)])
    assert count == 2
    assert path.read_text() == "a\tb\t0.500000\nb\t3\t1.000000\n"
    assert gt.read_graph_tsv(path) == {"a": {"b": 0.5}, "b": {"3": 1.0}}
    with pytest.raises(ValueError, match="edge 1 .*tab or newline"):
        gt.write_graph_tsv(tmp_path / "x.tsv", [("a\tb", "c", 1.0)])
    assert not (tmp_path / "x.tsv").exists()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        gt.read_graph_tsv(tmp_path / "nope.tsv")
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        gt.read_graph_arrays(tmp_path / "nope.tsv")


def test_locate_tabs_uniform_and_ragged_lines():
    import numpy as np

    from graphnsl.data.graph_tsv import locate_tabs

    def columns(text):
        array = np.frombuffer(text, dtype=np.uint8)
        newlines = np.flatnonzero(array == 10)
        starts = np.concatenate([[0], newlines + 1])
        ends = np.append(newlines, len(array))
        tabs, first, count = locate_tabs(array, starts, ends)
        return tabs.tolist(), first.tolist(), count.tolist()

    # Two tabs on every line (the fast path) and a mix of 2, 1 and 0 (the searched path).
    assert columns(b"a\tb\t1\ncc\td\t2") == ([1, 3, 8, 10], [0, 2], [2, 2])
    assert columns(b"a\tb\t1\nc\td\nnone") == ([1, 3, 7], [0, 2, 3], [2, 1, 0])
    # As many tabs as two a line, but not two on each line: must not take the fast path.
    assert columns(b"a\t\t\tb\nc") == ([1, 2, 3], [0, 3], [3, 0])
