"""Tests for graphnsl.data.examples: building, writing and reading tf.train.Examples."""

import numpy as np
import pytest
import tensorflow as tf

from graphnsl.data import atomic, graph_tsv, tfrecord, wire_format
from graphnsl.data import examples as ex


def test_make_example_types():
    example = ex.make_example(
        {
            "id": "n1",
            "raw": b"\x00\xff",
            "count": 3,
            "flag": True,
            "score": 0.25,
            "ints": [1, -2],
            "mixed": [1, 2.5],
            "words": np.array([[0, 1], [1, 0]], dtype=np.int32),
            "vec": np.array([0.5, 1.5], dtype=np.float64),
            "names": np.array(["a", "b"]),
        }
    )
    f = example.features.feature
    assert f["id"].bytes_list.value == [b"n1"]
    assert f["raw"].bytes_list.value == [b"\x00\xff"]
    assert f["count"].int64_list.value == [3]
    assert f["flag"].int64_list.value == [1]
    assert f["score"].float_list.value == [0.25]
    assert f["ints"].int64_list.value == [1, -2]
    assert f["mixed"].float_list.value == [1.0, 2.5]
    assert f["words"].int64_list.value == [0, 1, 1, 0]
    assert f["vec"].float_list.value == [0.5, 1.5]
    assert f["names"].bytes_list.value == [b"a", b"b"]


def test_make_example_rejects_bad_values():
    with pytest.raises(ValueError, match="'e'.*empty"):
        ex.make_example({"e": []})
    with pytest.raises(TypeError, match="'m'.*mixes"):
        ex.make_example({"m": [1, "a"]})
    with pytest.raises(TypeError, match="'o'.*unsupported"):
        ex.make_example({"o": object()})


def test_write_and_read_examples_round_trip(tmp_path):
    path = tmp_path / "e.tfr"
    proto = ex.make_example({"id": "a", "x": [1.0, 2.0]})
    count = ex.write_examples(path, [proto, {"id": "b", "label": 4}])
    assert count == 2
    back = list(ex.read_examples(path))
    assert back[0] == proto
    assert back[1].features.feature["label"].int64_list.value == [4]
    parsed = tf.io.parse_example(
        [r.numpy() for r in tf.data.TFRecordDataset(str(path))],
        {"id": tf.io.FixedLenFeature([], tf.string)},
    )
    assert parsed["id"].numpy().tolist() == [b"a", b"b"]


def test_read_examples_unparsable_record_names_file_and_record(tmp_path):
    path = tmp_path / "bad.tfr"
    good = ex.make_example({"id": "a"}).SerializeToString()
    ex.write_records(path, [good, good, b"\x0a\x05ab"])  # field 1 claims 5 bytes, has 2
    with pytest.raises(ValueError, match=r"bad\.tfr: record 3 is not a valid"):
        list(ex.read_examples(path))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tfr"):
        list(ex.read_examples(tmp_path / "nope.tfr"))


def test_names_of_the_former_single_module_are_re_exported():
    # Code written against the one-module layout imports these from graphnsl.data.examples.
    modules = {"tfrecord": tfrecord, "wire_format": wire_format, "graph_tsv": graph_tsv}
    modules["atomic"] = atomic
    owners = {name: m for m in modules.values() for name in m.__all__}
    for name in ex.__all__:
        if name in owners:
            assert getattr(ex, name) is getattr(owners[name], name), name
        else:
            assert getattr(ex, name).__module__ == ex.__name__, name
    assert set(owners) <= set(ex.__all__)
    assert ex._check_exists is tfrecord._check_exists
