"""Tests for graphnsl.data.examples: TFRecord framing, Examples, wire format, graph TSVs."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from graphnsl.data import examples as ex


def _tf_write(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)


# ----------------------------------------------------------------------------- CRC32C


def test_crc32c_known_values_both_implementations():
    # RFC 3720 check value for "123456789", and 32 zero bytes (iSCSI test vector).
    messages = [b"123456789", bytes(32), b"", b"a" * 1000]
    want = [0xE3069283, 0x8A9136AA, 0x0]
    assert ex._crc32c_numpy(messages)[:3] == want
    assert ex.crc32c_many(messages)[:3] == want
    assert ex._crc32c_numpy(messages)[3] == ex.crc32c(b"a" * 1000)
    matrix = np.frombuffer(b"123456789" * 2, dtype=np.uint8).reshape(2, 9)
    assert ex._crc32c_matrix(matrix).tolist() == [0xE3069283] * 2


# ----------------------------------------------------------------------------- TFRecord


def test_write_records_is_read_by_tensorflow_and_back(tmp_path):
    path = tmp_path / "r.tfr"
    records = [b"", b"x", b"hello" * 300, bytes(range(256))]
    assert ex.write_records(path, records) == 4
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == records
    assert list(ex.read_records(path)) == records
    file = ex.RecordFile(path)
    assert [file.record(i) for i in range(len(file))] == records
    assert not [p for p in os.listdir(tmp_path) if p != "r.tfr"]  # no temp file left


def test_read_records_reads_tensorflow_files(tmp_path):
    path = tmp_path / "t.tfr"
    records = [b"abc", b"", b"z" * 5000]
    _tf_write(path, records)
    assert list(ex.read_records(path)) == records
    empty = tmp_path / "empty.tfr"
    empty.write_bytes(b"")
    assert list(ex.read_records(empty)) == []
    assert len(ex.RecordFile(empty)) == 0


def test_corrupted_record_names_file_and_record(tmp_path):
    path = tmp_path / "c.tfr"
    _tf_write(path, [b"first", b"second", b"third"])
    data = bytearray(path.read_bytes())
    second = 16 + 5  # record 2 starts after record 1's frame
    data[second + 12] ^= 0xFF  # flip a payload byte of record 2
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.tfr: record 2 .*data checksum"):
        list(ex.read_records(path))
    with pytest.raises(ValueError, match=r"c\.tfr: record 2 .*data checksum"):
        ex.RecordFile(path)
    with pytest.raises(tf.errors.DataLossError):  # TensorFlow agrees it is corrupted
        list(tf.data.TFRecordDataset(str(path)))


def test_truncated_and_bad_length_records(tmp_path):
    path = tmp_path / "t.tfr"
    _tf_write(path, [b"first", b"second"])
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    with pytest.raises(ValueError, match=r"t\.tfr: record 2 .*truncated"):
        ex.RecordFile(path)
    bad_length = bytearray(data)
    bad_length[16 + 5] = 200  # record 2's length field, its checksum no longer matches
    path.write_bytes(bytes(bad_length))
    with pytest.raises(ValueError, match=r"t\.tfr: record 2 .*length checksum"):
        list(ex.read_records(path))


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.tfr"
    with pytest.raises(FileNotFoundError, match="nope.tfr"):
        list(ex.read_records(missing))
    with pytest.raises(FileNotFoundError, match="nope.tfr"):
        list(ex.read_examples(missing))
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        ex.read_graph_tsv(tmp_path / "nope.tsv")


# ----------------------------------------------------------------------------- Examples


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


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.tfr"

    def records():
        yield b"one"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ex.write_records(path, records())
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- wire format


def test_wire_helpers_match_protobuf():
    example = ex.make_example(
        {"id": "node-7", "x": np.array([1.5, -2.0], np.float32), "n": [5, -1, 300]}
    )
    data = example.SerializeToString()
    entries = dict(ex.feature_entries(data))
    assert set(entries) == {b"id", b"x", b"n"}
    for key, feature in entries.items():
        assert tf.train.Feature.FromString(feature) == example.features.feature[key.decode()]
    assert ex.bytes_list_values(ex.find_feature(data, b"id")) == [b"node-7"]
    assert ex.float_list_values(ex.find_feature(data, b"x")).tolist() == [1.5, -2.0]
    assert ex.int64_list_values(ex.find_feature(data, b"n")).tolist() == [5, -1, 300]
    assert ex.find_feature(data, b"missing") is None
    assert ex.feature_kind(entries[b"n"]) == "int64_list"


def test_wire_helpers_follow_merge_semantics():
    # Two `features` fields merge; a repeated key keeps its last value (protobuf rules).
    first = ex.make_example({"id": "old", "x": [1.0]}).SerializeToString()
    second = ex.make_example({"id": "new"}).SerializeToString()
    merged = first + second
    parsed = tf.train.Example.FromString(merged)
    assert parsed.features.feature["id"].bytes_list.value == [b"new"]
    assert ex.bytes_list_values(ex.find_feature(merged, b"id")) == [b"new"]
    assert (
        dict(ex.feature_entries(merged))[b"id"] == parsed.features.feature["id"].SerializeToString()
    )


def test_index_features_and_ids_vectorized(tmp_path):
    path = tmp_path / "i.tfr"
    examples = [ex.make_example({"id": f"n{i}", "x": np.full(3, i, np.float32)}) for i in range(5)]
    records = [e.SerializeToString() for e in examples]
    records[2] = records[2] + ex.make_example({"id": "late"}).SerializeToString()  # merged
    ex.write_records(path, records)
    file = ex.RecordFile(path)
    index = ex.index_features(file)
    assert index.ok.tolist() == [True, True, False, True, True]
    start, end, found = ex.find_single_bytes_feature(file, index, b"id")
    assert found.tolist() == [True, True, False, True, True]
    ids = [file.data[s:e] for s, e in zip(start, end, strict=True)]
    assert [ids[i] for i in (0, 1, 3, 4)] == [b"n0", b"n1", b"n3", b"n4"]
    for r in (0, 4):
        keys = {
            file.data[index.key_start[e] : index.key_end[e]]
            for e in range(index.first[r], index.first[r + 1])
        }
        assert keys == {b"id", b"x"}


# ----------------------------------------------------------------------------- graph TSV


def test_read_graph_tsv_nsl_semantics(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("a\tb\t0.5\na\tb\t0.25\nb\tc\nc\ta\t2\textra\nb\ta\t0.75\r\n")
    graph = ex.read_graph_tsv(path)
    assert graph == {"a": {"b": 0.5}, "b": {"c": 1.0, "a": 0.75}, "c": {"a": 2.0}}
    undirected = ex.read_graph_tsv(path, add_undirected_edges=True)
    assert undirected == {
        "a": {"b": 0.75, "c": 2.0},
        "b": {"c": 1.0, "a": 0.75},
        "c": {"a": 2.0, "b": 1.0},
    }
    sources, targets, weights = ex.read_graph_edges(path)
    assert sources == [b"a", b"a", b"b", b"c", b"b"]
    assert targets == [b"b", b"b", b"c", b"a", b"a"]
    assert weights.tolist() == [0.5, 0.25, 1.0, 2.0, 0.75]


def test_read_graph_long_and_odd_ids(tmp_path):
    path = tmp_path / "g.tsv"
    long_id = "x" * 50
    path.write_bytes(f"{long_id}\tb\t1\nn\x00\tb\n".encode())
    sources, targets, weights = ex.read_graph_edges(path)
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
        ex.read_graph_tsv(path)


def test_write_graph_tsv_round_trip(tmp_path):
    path = tmp_path / "w.tsv"
    count = ex.write_graph_tsv(path, [("a", "b", 0.5), (b"b", 3, 1)])
    assert count == 2
    assert path.read_text() == "a\tb\t0.500000\nb\t3\t1.000000\n"
    assert ex.read_graph_tsv(path) == {"a": {"b": 0.5}, "b": {"3": 1.0}}
    with pytest.raises(ValueError, match="edge 1 .*tab or newline"):
        ex.write_graph_tsv(tmp_path / "x.tsv", [("a\tb", "c", 1.0)])
    assert not (tmp_path / "x.tsv").exists()


def test_framing_layout_is_tfrecord(tmp_path):
    # length (8 bytes LE), masked crc of length, data, masked crc of data.
    path = tmp_path / "f.tfr"
    ex.write_records(path, [b"abc"])
    raw = path.read_bytes()
    assert struct.unpack("<Q", raw[:8])[0] == 3
    assert raw[12:15] == b"abc"
    assert struct.unpack("<I", raw[15:19])[0] == ex._mask(ex.crc32c(b"abc"))


def test_numpy_crc_fallback_reads_and_writes(tmp_path, monkeypatch):
    # Without google-crc32c the NumPy implementation must frame and verify the same bytes.
    monkeypatch.setattr(ex, "_google_crc32c", None)
    path = tmp_path / "n.tfr"
    records = [b"", b"abc", bytes(range(256)) * 3]
    ex.write_records(path, records)
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == records
    assert list(ex.read_records(path)) == records
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="record 3 .*data checksum"):
        list(ex.read_records(path))
