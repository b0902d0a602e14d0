"""graphnsl.beam.pack_nbrs on the DirectRunner equals the single-process pack_nbrs."""

import sys

import pytest

pytest.importorskip("apache_beam")

from graphnsl.data import examples as ex  # noqa: E402
from graphnsl.data import pack_nbrs as pn  # noqa: E402


def _workload(tmp_path):
    labeled = [
        ex.make_example({"id": "a", "x": [1.0, 2.0], "label": 0}),
        ex.make_example({"id": "b", "x": [3.0, 4.0], "label": 1}),
        ex.make_example({"id": "c", "x": [5.0, 6.0], "label": 1}),
        ex.make_example({"id": "s", "x": [0.0, 0.0], "label": 2}),
        ex.make_example({"id": "lonely", "x": [9.0, 9.0], "label": 0}),
    ]
    unlabeled = [
        ex.make_example({"id": "u1", "x": [7.0, 8.0]}),
        ex.make_example({"id": "u2", "x": [-1.0, -2.0], "weight": [42.0]}),
        ex.make_example({"id": "u3", "x": [0.5, 0.5]}),
        ex.make_example({"id": "b", "x": [99.0, 99.0]}),
    ]
    edges = [
        ("a", "b", 0.5),
        ("a", "u1", 0.5),
        ("a", "u2", 0.5),
        ("a", "c", 0.25),
        ("a", "c", 0.75),
        ("a", "ghost", 0.9),
        ("b", "a", 0.125),
        ("c", "u3", 1.0),
        ("u3", "c", 0.3),
        ("u1", "b", 0.6),
        ("s", "s", 0.5),
        ("ghost", "c", 0.4),
        ("c", "u1", 0.01),
        ("c", "u2", 0.02),
    ]
    ex.write_examples(tmp_path / "lab-00000-of-00002", labeled[:3])
    ex.write_examples(tmp_path / "lab-00001-of-00002", labeled[3:])
    ex.write_examples(tmp_path / "unl.tfr", unlabeled)
    ex.write_graph_tsv(tmp_path / "g1.tsv", edges[:7], float_format="%r")
    ex.write_graph_tsv(tmp_path / "g2.tsv", edges[7:], float_format="%r")
    return (
        str(tmp_path / "lab-*-of-00002"),
        str(tmp_path / "unl.tfr"),
        [
            tmp_path / "g1.tsv",
            tmp_path / "g2.tsv",
        ],
    )


def _by_id(paths):
    records = [e for p in paths for e in ex.read_examples(p)]
    return {e.features.feature["id"].bytes_list.value[0]: e for e in records}


@pytest.mark.parametrize("add_undirected_edges, max_nbrs", [(False, None), (True, 2)])
def test_direct_runner_equals_single_process(tmp_path, add_undirected_edges, max_nbrs):
    from graphnsl.beam import pack_nbrs as beam_pack

    labeled, unlabeled, graph = _workload(tmp_path)
    want = pn.pack_nbrs(
        labeled,
        unlabeled,
        graph,
        tmp_path / "single.tfr",
        add_undirected_edges=add_undirected_edges,
        max_nbrs=max_nbrs,
    )
    got = beam_pack.run(
        labeled,
        unlabeled,
        graph,
        tmp_path / "beam",
        add_undirected_edges=add_undirected_edges,
        max_nbrs=max_nbrs,
        num_shards=2,
        pipeline_args=["--runner=DirectRunner"],
    )
    shards = sorted(tmp_path.glob("beam-*-of-00002"))
    assert [p.name for p in shards] == ["beam-00000-of-00002", "beam-00001-of-00002"]
    single = _by_id([tmp_path / "single.tfr"])
    beam = _by_id(shards)
    assert sorted(beam) == sorted(single) == [b"a", b"b", b"c", b"lonely", b"s"]
    for key, example in single.items():
        assert beam[key] == example, key  # parsed Examples equal, feature by feature
    assert got["seeds_written"] == want["seeds_written"] == 5
    assert got["neighbours_packed"] == want["neighbours_packed"]
    assert got["missing_neighbours_skipped"] == want["missing_neighbours_skipped"]
    assert got["edges_read"] == 14
    assert got["ids_in_both_files"] == 1
    assert got["labeled_examples"] == 5 and got["unlabeled_examples"] == 4
    # a -> ghost (and c -> ghost reversed): targets without an example.
    assert got["edges_to_ids_without_example"] == (2 if add_undirected_edges else 1)


def test_transform_in_a_pipeline_and_duplicate_ids(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from graphnsl.beam import pack_nbrs as beam_pack

    seed = ex.make_example({"id": "a", "v": [1]}).SerializeToString()
    nbr = ex.make_example({"id": "n", "v": [2]}).SerializeToString()
    want, _ = beam_pack.pack_seed(seed, [(0.5, b"n", nbr)], None)
    with beam.Pipeline() as pipeline:
        inputs = {
            "labeled": pipeline | "L" >> beam.Create([seed]),
            "unlabeled": pipeline | "U" >> beam.Create([nbr]),
            "edges": pipeline | "E" >> beam.Create([(b"a", b"n", 0.5), (b"a", b"n", 0.25)]),
        }
        assert_that(inputs | beam_pack.PackNbrs(), equal_to([want]))
    import tensorflow as tf

    parsed = tf.train.Example.FromString(want).features.feature
    assert parsed["NL_num_nbrs"].int64_list.value == [1]
    assert parsed["NL_nbr_0_weight"].float_list.value == [0.5]
    assert parsed["NL_nbr_0_v"].int64_list.value == [2]
    with pytest.raises(Exception, match="repeat id 'a'"):
        with beam.Pipeline() as pipeline:
            inputs = {
                "labeled": pipeline | "L" >> beam.Create([seed, seed]),
                "edges": pipeline | "E" >> beam.Create([(b"a", b"n", 0.5)]),
            }
            _ = inputs | beam_pack.PackNbrs()


def test_graph_line_errors():
    from graphnsl.beam.pack_nbrs import parse_graph_line

    assert parse_graph_line(b"a\tb\n") == (b"a", b"b", 1.0)
    assert parse_graph_line(b"a\tb\t0.5\textra\r\n") == (b"a", b"b", 0.5)
    with pytest.raises(ValueError, match="g.tsv: too few columns"):
        parse_graph_line(b"ab", "g.tsv")
    with pytest.raises(ValueError, match="finite number >= 0"):
        parse_graph_line(b"a\tb\t-1", "g.tsv")
    with pytest.raises(ValueError, match="not a number"):
        parse_graph_line(b"a\tb\tx", "g.tsv")


def test_import_without_beam_says_what_to_install(monkeypatch):
    for name in [m for m in sys.modules if m == "graphnsl.beam" or m.startswith("graphnsl.beam.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(ImportError, match=r"pip install 'graphnsl\[beam\]'"):
        import graphnsl.beam  # noqa: F401


def test_command_line_runner_with_beam_options(tmp_path, capsys):
    from graphnsl import cli

    labeled, unlabeled, graph = _workload(tmp_path)
    graphs = ",".join(str(g) for g in graph)
    argv = ["graphnsl", "pack-nbrs", "--runner=DirectRunner", "--max_nbrs=2", "--num_shards=1"]
    argv += [labeled, unlabeled, graphs, str(tmp_path / "cli"), "--", "--direct_num_workers=1"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Wrote 5 examples" in out
    # a -> ghost is the one seed edge to an id without an example; u3 -> c, u1 -> b and
    # ghost -> c start at ids that are not labeled examples; b is in both example files.
    assert (
        "skipped: 1 seed edges to ids without an example (1 edges of any source), "
        "3 edges from ids that are not labeled examples; 1 ids in both example files"
    ) in out
    pn.pack_nbrs(labeled, unlabeled, graphs, tmp_path / "single.tfr", max_nbrs=2)
    assert _by_id([tmp_path / "cli-00000-of-00001"]) == _by_id([tmp_path / "single.tfr"])


def test_check_balances_names_each_unequal_shuffle():
    from graphnsl.beam import pack_nbrs as beam_pack

    counts = {sent: 7 for _, sent, _ in beam_pack.BALANCES}
    counts.update({received: 7 for _, _, received in beam_pack.BALANCES})
    assert beam_pack.check_balances(counts) == []
    counts["candidates_received"] = 4
    counts["records_in_output"] = 6
    assert beam_pack.check_balances(counts) == [
        "candidates (JoinSeeds): 7 sent, 4 received",
        "records written (Write): 7 sent, 6 received",
    ]
    del counts["records_in_output"]  # a pipeline of its own: no shards counted, not a loss
    assert beam_pack.check_balances(counts) == ["candidates (JoinSeeds): 7 sent, 4 received"]


def test_run_fails_and_removes_output_when_the_runner_loses_candidates(tmp_path, monkeypatch):
    """A runner that drops elements in a shuffle (as Beam 2.77's multi-process FnApiRunner did
    on 100k nodes) must not leave a silently wrong output: one candidate of seed 'a' is lost
    between JoinSeeds' two sides here, and run() must see it in the counters."""
    from graphnsl.beam import pack_nbrs as beam_pack

    labeled, unlabeled, graph = _workload(tmp_path)
    original = beam_pack._pack

    def lossy_shuffle(item, max_nbrs):
        source, groups = item
        if source == b"a":
            groups = {"seed": groups["seed"], "candidates": list(groups["candidates"])[1:]}
        yield from original((source, groups), max_nbrs)

    monkeypatch.setattr(beam_pack, "_pack", lossy_shuffle)
    with pytest.raises(RuntimeError, match=r"lost data: candidates \(JoinSeeds\)") as caught:
        beam_pack.run(
            labeled,
            unlabeled,
            graph,
            tmp_path / "beam",
            add_undirected_edges=True,
            num_shards=2,
            pipeline_args=["--runner=DirectRunner"],
        )
    # 21 directed (source, target) pairs after both ways and dedup; a self-edge counts once.
    assert "candidates (JoinSeeds): 21 sent, 20 received." in str(caught.value)
    assert not list(tmp_path.glob("beam-*"))  # the wrong shards were removed
