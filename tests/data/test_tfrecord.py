"""Tests for graphnsl.data.tfrecord: CRC32C, TFRecord framing, reading and writing."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from graphnsl.data import tfrecord as tfr


def _tf_write(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)


def test_crc32c_known_values_both_implementations():
    # RFC 3720 check value for "123456789", and 32 zero bytes (iSCSI test vector).
    messages = [b"123456789", bytes(32), b"", b"a" * 1000]
    want = [0xE3069283, 0x8A9136AA, 0x0]
    assert tfr._crc32c_numpy(messages)[:3] == want
    assert tfr.crc32c_many(messages)[:3] == want
    assert tfr._crc32c_numpy(messages)[3] == tfr.crc32c(b"a" * 1000)
    matrix = np.frombuffer(b"123456789" * 2, dtype=np.uint8).reshape(2, 9)
    assert tfr._crc32c_matrix(matrix).tolist() == [0xE3069283] * 2


def test_write_records_is_read_by_tensorflow_and_back(tmp_path):
    path = tmp_path / "r.tfr"
    records = [b"", b"x", b"hello" * 300, bytes(range(256))]
    assert tfr.write_records(path, records) == 4
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == records
    assert list(tfr.read_records(path)) == records
    file = tfr.RecordFile(path)
    assert [file.record(i) for i in range(len(file))] == records
    assert not [p for p in os.listdir(tmp_path) if p != "r.tfr"]  # no temp file left


def test_read_records_reads_tensorflow_files(tmp_path):
    path = tmp_path / "t.tfr"
    records = [b"abc", b"", b"z" * 5000]
    _tf_write(path, records)
    assert list(tfr.read_records(path)) == records
    empty = tmp_path / "empty.tfr"
    empty.write_bytes(b"")
    assert list(tfr.read_records(empty)) == []
    assert len(tfr.RecordFile(empty)) == 0


def test_corrupted_record_names_file_and_record(tmp_path):
    path = tmp_path / "c.tfr"
    _tf_write(path, [b"first", b"second", b"third"])
    data = bytearray(path.read_bytes())
    second = 16 + 5  # record 2 starts after record 1's frame
    data[second + 12] ^= 0xFF  # flip a payload byte of record 2
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.tfr: record 2 .*data checksum"):
        list(tfr.read_records(path))
    with pytest.raises(ValueError, match=r"c\.tfr: record 2 .*data checksum"):
        tfr.RecordFile(path)
    with pytest.raises(tf.errors.DataLossError):  # TensorFlow agrees it is corrupted
        list(tf.data.TFRecordDataset(str(path)))


def test_truncated_and_bad_length_records(tmp_path):
    path = tmp_path / "t.tfr"
    _tf_write(path, [b"first", b"second"])
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    with pytest.raises(ValueError, match=r"t\.tfr: record 2 .*truncated"):
        tfr.RecordFile(path)
    bad_length = bytearray(data)
    bad_length[16 + 5] = 200  # record 2's length field, its checksum no longer matches
    path.write_bytes(bytes(bad_length))
    with pytest.raises(ValueError, match=r"t\.tfr: record 2 .*length checksum"):
        list(tfr.read_records(path))


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.tfr"

    def records():
        yield b"one"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        tfr.write_records(path, records())
    assert os.listdir(tmp_path) == []


def test_framing_layout_is_tfrecord(tmp_path):
    # length (8 bytes LE), masked crc of length, data, masked crc of data.
    path = tmp_path / "f.tfr"
    tfr.write_records(path, [b"abc"])
    raw = path.read_bytes()
    assert struct.unpack("<Q", raw[:8])[0] == 3
    assert raw[12:15] == b"abc"
    assert struct.unpack("<I", raw[15:19])[0] == tfr._mask(tfr.crc32c(b"abc"))


def test_numpy_crc_fallback_reads_and_writes(tmp_path, monkeypatch):
    # Without google-crc32c the NumPy implementation must frame and verify the same bytes.
    monkeypatch.setattr(tfr, "_google_crc32c", None)
    path = tmp_path / "n.tfr"
    records = [b"", b"abc", bytes(range(256)) * 3]
    tfr.write_records(path, records)
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == records
    assert list(tfr.read_records(path)) == records
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="record 3 .*data checksum"):
        list(tfr.read_records(path))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tfr"):
        list(tfr.read_records(tmp_path / "nope.tfr"))
    with pytest.raises(FileNotFoundError, match="nope.tfr"):
        tfr.RecordFile(tmp_path / "nope.tfr")


def test_count_records_walks_frames_and_rejects_a_truncated_file(tmp_path):
    path = tmp_path / "r.tfr"
    tfr.write_records(path, [str(i).encode() * (i + 1) for i in range(3)])
    assert tfr.count_records(str(path)) == 3
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ValueError, match="truncated TFRecord frame after 2 records"):
        tfr.count_records(str(path))
