"""Tests for graphnsl.data.wire_format: protobuf scans of serialized tf.train.Examples."""

import numpy as np
import tensorflow as tf

from graphnsl.data import examples as ex
from graphnsl.data import tfrecord as tfr
from graphnsl.data import wire_format as wf


def test_wire_helpers_match_protobuf():
    example = ex.make_example(
        {"id": "node-7", "x": np.array([1.5, -2.0], np.float32), "n": [5, -1, 300]}
    )
    data = example.SerializeToString()
    entries = dict(wf.feature_entries(data))
    assert set(entries) == {b"id", b"x", b"n"}
    for key, feature in entries.items():
        assert tf.train.Feature.FromString(feature) == example.features.feature[key.decode()]
    assert wf.bytes_list_values(wf.find_feature(data, b"id")) == [b"node-7"]
    assert wf.float_list_values(wf.find_feature(data, b"x")).tolist() == [1.5, -2.0]
    assert wf.int64_list_values(wf.find_feature(data, b"n")).tolist() == [5, -1, 300]
    assert wf.find_feature(data, b"missing") is None
    assert wf.feature_kind(entries[b"n"]) == "int64_list"


def test_wire_helpers_follow_merge_semantics():
    # Two `features` fields merge; a repeated key keeps its last value (protobuf rules).
    first = ex.make_example({"id": "old", "x": [1.0]}).SerializeToString()
    second = ex.make_example({"id": "new"}).SerializeToString()
    merged = first + second
    parsed = tf.train.Example.FromString(merged)
    assert parsed.features.feature["id"].bytes_list.value == [b"new"]
    assert wf.bytes_list_values(wf.find_feature(merged, b"id")) == [b"new"]
    assert (
        dict(wf.feature_entries(merged))[b"id"] == parsed.features.feature["id"].SerializeToString()
    )


def test_index_features_and_ids_vectorized(tmp_path):
    path = tmp_path / "i.tfr"
    examples = [ex.make_example({"id": f"n{i}", "x": np.full(3, i, np.float32)}) for i in range(5)]
    records = [e.SerializeToString() for e in examples]
    records[2] = records[2] + ex.make_example({"id": "late"}).SerializeToString()  # merged
    tfr.write_records(path, records)
    file = tfr.RecordFile(path)
    index = wf.index_features(file)
    assert index.ok.tolist() == [True, True, False, True, True]
    start, end, found = wf.find_single_bytes_feature(file, index, b"id")
    assert found.tolist() == [True, True, False, True, True]
    ids = [file.data[s:e] for s, e in zip(start, end, strict=True)]
    assert [ids[i] for i in (0, 1, 3, 4)] == [b"n0", b"n1", b"n3", b"n4"]
    for r in (0, 4):
        keys = {
            file.data[index.key_start[e] : index.key_end[e]]
            for e in range(index.first[r], index.first[r + 1])
        }
        assert keys == {b"id", b"x"}
