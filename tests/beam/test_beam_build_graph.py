"""The Beam build_graph pipeline (DirectRunner, in-process) against the single-process tool."""

import glob
import re
import sys

import numpy as np
import pytest

from graphnsl.beam import build_graph as beam_bg
from graphnsl.data import build_graph as bg
from graphnsl.data import examples as ex

pytest.importorskip("apache_beam")


def _lines(pattern):
    lines = []
    for path in sorted(glob.glob(str(pattern))):
        with open(path) as f:
            lines += f.read().splitlines()
    return lines


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("beam")
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(4, 8))
    vectors = centers[rng.integers(0, 4, 90)] + 0.4 * rng.normal(size=(90, 8))
    vectors[7] = vectors[8]  # an exact tie for the cap
    for s in range(3):
        ex.write_examples(
            folder / f"e-{s:05d}-of-00003",
            [
                {"id": f"n{i}", "embedding": np.float32(vectors[i])}
                for i in range(s * 30, s * 30 + 30)
            ],
        )
    return folder


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"max_nbrs_per_node": 3},
        {"ann": "lsh", "lsh_splits": 2, "lsh_rounds": 3, "random_seed": 5},
    ],
    ids=["exact", "capped", "lsh"],
)
def test_same_lines_as_single_process(inputs, tmp_path, settings):
    single = bg.build_graph(
        inputs / "e-*-of-00003", tmp_path / "single.tsv", similarity_threshold=0.8, **settings
    )
    result = beam_bg.run(
        [str(inputs / "e-*-of-00003")],
        tmp_path / "beam.tsv",
        similarity_threshold=0.8,
        num_shards=2,
        num_blocks=3,
        pipeline_args=["--runner=DirectRunner"],
        **settings,
    )
    shards = sorted(glob.glob(str(tmp_path / "beam.tsv-*")))
    assert [s.rsplit("/", 1)[1] for s in shards] == [
        "beam.tsv-00000-of-00002",
        "beam.tsv-00001-of-00002",
    ]
    want = _lines(tmp_path / "single.tsv")
    got = _lines(tmp_path / "beam.tsv-*-of-00002")
    assert len(got) == len(set(got))
    assert sorted(got) == sorted(want)  # the same lines, weights and all
    assert len(want) > 100  # not a trivial graph
    assert result["embeddings"] == 90
    assert result["lines_written"] == single["lines_written"] == len(want)
    assert result["lines_capped"] == single["lines_capped"]
    if settings.get("ann") == "lsh":
        assert result["pairs_found_again"] > 0  # 3 rounds find some pairs again
    else:
        assert result["candidate_pairs_checked"] >= result["pairs_kept"] > 0


def test_errors(inputs, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="ann='faiss' .* not offered as a Beam pipeline"):
        beam_bg.run(inputs / "e-00000-of-00003", tmp_path / "g.tsv", ann="faiss")
    with pytest.raises(FileNotFoundError, match="Output folder"):
        beam_bg.run(inputs / "e-00000-of-00003", tmp_path / "absent" / "g.tsv")
    ex.write_examples(tmp_path / "nan.tfr", [{"id": "a", "embedding": [1.0, float("nan")]}])
    with pytest.raises(Exception, match=r"nan\.tfr: record 1: .*non-finite"):
        beam_bg.run(tmp_path / "nan.tfr", tmp_path / "g.tsv")
    ex.write_examples(tmp_path / "dup.tfr", [{"id": "n0", "embedding": [1.0] * 8}])
    with pytest.raises(Exception, match="id 'n0' appears 2 times"):
        beam_bg.run([inputs / "e-00000-of-00003", tmp_path / "dup.tfr"], tmp_path / "g.tsv")
    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(ImportError, match=r"pip install 'graphnsl\[beam\]'"):
        beam_bg.run(inputs / "e-00000-of-00003", tmp_path / "g.tsv")


def test_cli_runner(inputs, tmp_path, capsys):
    from absl import flags

    bg.define_flags()
    argv = [
        "build-graph",
        "--runner=DirectRunner",
        "--num_shards=1",
        "--similarity_threshold=0.8",
        str(inputs / "e-0000[01]-of-00003"),
        str(tmp_path / "g.tsv"),
        "--",
        "--direct_num_workers=1",
    ]
    rest = flags.FLAGS(argv)
    try:
        bg.main(rest)
    finally:
        flags.FLAGS.unparse_flags()
    bg.build_graph(inputs / "e-0000[01]-of-00003", tmp_path / "s.tsv", similarity_threshold=0.8)
    assert sorted(_lines(tmp_path / "g.tsv-00000-of-00001")) == sorted(_lines(tmp_path / "s.tsv"))
    out = capsys.readouterr().out
    lines = len(_lines(tmp_path / "s.tsv"))  # both directions of each pair kept
    assert f"Wrote {lines} lines over 60 embeddings" in out and "with DirectRunner" in out
    # candidates are the pairs the blocked product puts near the threshold, at most 60 * 59 / 2
    found = re.search(r"(\d+) node pairs kept of (\d+) candidate pairs checked; 0 pairs found", out)
    assert found and int(found[1]) == lines // 2 <= int(found[2]) <= 1770


def test_run_fails_and_removes_output_when_the_runner_loses_a_node(inputs, tmp_path, monkeypatch):
    """A shuffle that loses a node (simulated: the grouped block arrives one member short)
    must fail the run, not leave a graph missing that node's edges."""
    stack = beam_bg._stack

    def lossy_stack(members):
        return stack(sorted(members, key=lambda m: m[0])[:-1])

    monkeypatch.setattr(beam_bg, "_stack", lossy_stack)
    with pytest.raises(
        RuntimeError, match=r"lost data: nodes \(GroupBlocks\): 60 sent, 57 received"
    ):
        beam_bg.run(
            [str(inputs / "e-0000[01]-of-00003")],
            tmp_path / "g.tsv",
            similarity_threshold=0.8,
            num_shards=2,
            num_blocks=3,
            pipeline_args=["--runner=DirectRunner"],
        )
    assert not list(tmp_path.glob("g.tsv-*"))  # the wrong shards were removed
