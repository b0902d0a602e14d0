"""Reads and writes `tf.train.Example` TFRecord files and NSL's TSV graphs.

The TFRecord framing, its CRC32C checksums and the few protobuf wire-format reads that the
graph tools need are done here in plain Python and NumPy, so `pack_nbrs` and `build_graph`
never import TensorFlow (whose import alone costs about 650 MB of memory and several
seconds). Only `make_example`, `write_examples` given dicts, and `read_examples` import it.

TFRecord framing of one record (little-endian):
`uint64 length, uint32 masked_crc32c(length), bytes data[length], uint32 masked_crc32c(data)`.

NSL's graph TSV: one edge a line, `source<TAB>target[<TAB>weight]`; the weight defaults to
1.0 and, when an edge appears more than once, the largest weight is kept.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphnsl.data.atomic import AtomicOutput, check_output_path

__all__ = [
    "make_example",
    "write_examples",
    "read_examples",
    "write_records",
    "read_records",
    "write_graph_tsv",
    "read_graph_tsv",
    "read_graph_edges",
    "read_graph_arrays",
    "RecordFile",
    "index_features",
    "crc32c",
    "feature_entries",
    "find_feature",
    "bytes_list_values",
    "float_list_values",
    "int64_list_values",
    "feature_kind",
    "crc32c_many",
    "spans_to_array",
    "spans_equal",
    "find_single_bytes_feature",
    "FeatureIndex",
    "WireFormatError",
    "encode_varint",
    "decode_varints",
    "AtomicOutput",
    "check_output_path",
]

# ---------------------------------------------------------------------------------------
# CRC32C (Castagnoli), as TFRecord framing uses it.
# ---------------------------------------------------------------------------------------

_CRC32C_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
        table[byte] = crc
    return table


_CRC_TABLE = _make_crc_table()

try:  # The C implementation is ~1000x faster; the NumPy one below is the fallback.
    import google_crc32c as _google_crc32c

    if getattr(_google_crc32c, "implementation", "c") != "c":
        _google_crc32c = None
except ImportError:  # pragma: no cover - depends on the environment
    _google_crc32c = None


def _crc32c_numpy(messages: Sequence[bytes]) -> list[int]:
    """CRC32C of each message, vectorized across messages (one NumPy step per byte column)."""
    if not messages:
        return []
    lengths = np.fromiter((len(m) for m in messages), dtype=np.int64, count=len(messages))
    order = np.argsort(lengths, kind="stable")
    result = np.empty(len(messages), dtype=np.uint32)
    chunk = 4096
    for start in range(0, len(messages), chunk):
        rows = order[start : start + chunk]
        row_lengths = lengths[rows]
        width = int(row_lengths[-1])
        matrix = np.zeros((len(rows), max(width, 1)), dtype=np.uint8)
        for r, index in enumerate(rows.tolist()):
            message = messages[index]
            if message:
                matrix[r, : len(message)] = np.frombuffer(message, dtype=np.uint8)
        crc = np.full(len(rows), 0xFFFFFFFF, dtype=np.uint32)
        # Rows are sorted by length, so the rows still running at column k form a suffix.
        first_active = np.searchsorted(row_lengths, np.arange(width), side="right")
        for k in range(width):
            a = first_active[k]
            c = crc[a:]
            crc[a:] = _CRC_TABLE[(c ^ matrix[a:, k]) & 0xFF] ^ (c >> 8)
        result[rows] = ~crc
    return result.tolist()


def crc32c_many(messages: Sequence[bytes]) -> list[int]:
    """Returns the CRC32C checksum of each message.

    Args:
      messages: byte strings.

    Returns:
      A list of `len(messages)` unsigned 32-bit ints.
    """
    if _google_crc32c is not None:
        value = _google_crc32c.value
        return [value(m) for m in messages]
    return _crc32c_numpy(messages)


def crc32c(data: bytes) -> int:
    """Returns the CRC32C (Castagnoli) checksum of `data` as an unsigned 32-bit int."""
    return crc32c_many([bytes(data)])[0]


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# TFRecord files.
# ---------------------------------------------------------------------------------------


def _check_exists(path: str | os.PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Expected a TFRecord file but {path!r} is a folder")
    return path


def _locate_frames(buffer, path: str, verify: bool) -> tuple[np.ndarray, np.ndarray]:
    """Returns the payload offsets and lengths (int64 [n]) of a TFRecord file's records."""
    size = len(buffer)
    unpack_length = struct.Struct("<Q").unpack_from
    offsets = []
    append = offsets.append
    pos = 0
    try:
        while pos < size:
            append(pos)
            pos += 16 + unpack_length(buffer, pos)[0]
    except struct.error:
        pass  # a header cut short: reported below
    if pos != size:
        start = offsets[-1]
        number = len(offsets)
        if verify and start + 12 <= size:
            (want,) = struct.unpack_from("<I", buffer, start + 8)
            if _mask(crc32c(buffer[start : start + 8])) != want:
                raise ValueError(
                    f"{path}: record {number} (byte offset {start}) is corrupted: length "
                    "checksum mismatch"
                )
        raise ValueError(
            f"{path}: record {number} (byte offset {start}) is truncated: the file ends "
            "inside it (corrupted or partly written TFRecord file)"
        )
    starts = np.array(offsets, dtype=np.int64)
    if len(starts):
        lengths = np.diff(np.append(starts, size)) - 16
    else:
        lengths = np.zeros(0, dtype=np.int64)
    return starts + 12, lengths


def _verify_frames(buffer, offsets: np.ndarray, lengths: np.ndarray, path: str, first: int = 0):
    """Checks the length and data CRC32C of records; `first` is the index of offsets[0]."""
    if not len(offsets):
        return
    array = np.frombuffer(buffer, dtype=np.uint8)
    heads = offsets - 12
    length_bytes = array[heads[:, None] + np.arange(8)]
    want_length = array[heads[:, None] + np.arange(8, 12)].copy().view("<u4").ravel()
    got_length = _mask_np(_crc32c_matrix(length_bytes))
    ends = offsets + lengths
    want_data = array[ends[:, None] + np.arange(4)].copy().view("<u4").ravel()
    records = [buffer[o:e] for o, e in zip(offsets.tolist(), ends.tolist(), strict=True)]
    got_data = _mask_np(np.array(crc32c_many(records), dtype=np.uint32))
    for got, want, what in ((got_length, want_length, "length"), (got_data, want_data, "data")):
        bad = np.flatnonzero(got != want)
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"{path}: record {first + i + 1} (byte offset {int(heads[i])}) is corrupted: "
                f"{what} checksum mismatch"
            )


class RecordFile:
    """A whole TFRecord file in memory, its records located and their checksums verified.

    Attributes:
      path: the file.
      data: the file's bytes.
      offsets, lengths: int64 [n], each record's payload position in `data`.
    """

    def __init__(self, path: str | os.PathLike, verify_checksums: bool = True):
        self.path = _check_exists(path)
        with open(self.path, "rb") as file:
            self.data = file.read()
        self.offsets, self.lengths = _locate_frames(self.data, self.path, verify_checksums)
        if verify_checksums:
            chunk = 65536
            for i in range(0, len(self.offsets), chunk):
                _verify_frames(
                    self.data,
                    self.offsets[i : i + chunk],
                    self.lengths[i : i + chunk],
                    self.path,
                    i,
                )

    def __len__(self) -> int:
        return len(self.offsets)

    def record(self, i: int) -> bytes:
        """Returns the payload of record i (0-based)."""
        start = int(self.offsets[i])
        return self.data[start : start + int(self.lengths[i])]


def read_records(path: str | os.PathLike, verify_checksums: bool = True) -> Iterator[bytes]:
    """Yields the serialized records of a TFRecord file, checking each frame's checksums.

    Args:
      path: an uncompressed TFRecord file.
      verify_checksums: check the CRC32C of each length and payload (TensorFlow does).

    The whole file is read into memory first (and every checksum verified) before the first
    record is yielded.

    Yields:
      Each record's payload, as `bytes`, in file order.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a truncated or corrupted record, naming the file and the record number
        (1-based) and its byte offset.
    """
    file = RecordFile(path, verify_checksums)
    data = file.data
    ends = (file.offsets + file.lengths).tolist()
    for start, end in zip(file.offsets.tolist(), ends, strict=True):
        yield data[start:end]


def _crc32c_matrix(matrix: np.ndarray) -> np.ndarray:
    """CRC32C of each row of a uint8 matrix [n, width] (all rows the same length)."""
    crc = np.full(matrix.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    for k in range(matrix.shape[1]):
        crc = _CRC_TABLE[(crc ^ matrix[:, k]) & 0xFF] ^ (crc >> 8)
    return ~crc


def _mask_np(crc: np.ndarray) -> np.ndarray:
    crc = crc.astype(np.uint32)
    return ((crc >> 15) | (crc << 17)) + np.uint32(_MASK_DELTA)


# ---------------------------------------------------------------------------------------
# Vectorized scan of many serialized Examples at once (NumPy over a RecordFile's bytes).
# ---------------------------------------------------------------------------------------


def decode_varints(array: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decodes varints of at most 4 bytes at positions `pos`; returns (value, next, ok)."""
    last = len(array) - 1
    byte = array[np.minimum(pos, last)].astype(np.int64)
    value = byte & 0x7F
    more = byte >= 0x80
    size = np.ones(len(pos), dtype=np.int64)
    for k in range(1, 4):
        if not more.any():
            break
        byte = array[np.minimum(pos + k, last)].astype(np.int64)
        value |= np.where(more, (byte & 0x7F) << (7 * k), 0)
        size += more
        more &= byte >= 0x80
    return value, pos + size, ~more


class FeatureIndex(NamedTuple):
    """Where each map entry of each record of a RecordFile lies (vectorized scan).

    Records the scan could not follow (an unusual but valid layout, or invalid wire
    format) have `ok` False and no entries; callers use the per-record parsers for them.

    Attributes:
      ok: bool [n_records].
      record: int64 [n_entries], the record of each entry, entries in record order.
      key_start, key_end, value_start, entry_end: int64 [n_entries] byte positions in the
        file data (an entry's value, the serialized Feature, is [value_start, entry_end)).
      first: int64 [n_records + 1]: record r's entries are first[r]:first[r + 1].
    """

    ok: np.ndarray
    record: np.ndarray
    key_start: np.ndarray
    key_end: np.ndarray
    value_start: np.ndarray
    entry_end: np.ndarray
    first: np.ndarray


def index_features(file: RecordFile) -> FeatureIndex:
    """Locates the `(key, Feature)` map entries of every record of `file` in one pass.

    Follows the layout serializers write (`features` once, each entry `key` then `value`).

    Args:
      file: a `RecordFile` of serialized `tf.train.Example`s.

    Returns:
      A `FeatureIndex`.
    """
    array = np.frombuffer(file.data, dtype=np.uint8)
    last = max(len(array) - 1, 0)
    offsets, lengths = file.offsets, file.lengths
    ends = offsets + lengths
    n = len(offsets)
    ok = lengths >= 2
    if len(array):
        ok &= array[np.minimum(offsets, last)] == 0x0A
    size, pos, good = decode_varints(array, offsets + 1)
    ok &= good & (pos + size == ends)
    active = ok & (pos < ends)
    parts = []
    while active.any():
        rows = np.flatnonzero(active)
        at = pos[rows]
        end = ends[rows]
        good = array[np.minimum(at, last)] == 0x0A
        size, entry, g = decode_varints(array, at + 1)
        entry_end = entry + size
        good &= g & (entry_end <= end) & (entry < entry_end)
        good &= array[np.minimum(entry, last)] == 0x0A
        size, key_start, g = decode_varints(array, entry + 1)
        key_end = key_start + size
        good &= g & (key_end < entry_end)
        good &= array[np.minimum(key_end, last)] == 0x12
        size, value_start, g = decode_varints(array, key_end + 1)
        good &= g & (value_start + size == entry_end)
        ok[rows[~good]] = False
        active[rows[~good]] = False
        rows, key_start, key_end = rows[good], key_start[good], key_end[good]
        value_start, entry_end = value_start[good], entry_end[good]
        parts.append((rows, key_start, key_end, value_start, entry_end))
        pos[rows] = entry_end
        active[rows] = entry_end < ends[rows]
    if parts:
        columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
    else:
        columns = [np.zeros(0, dtype=np.int64) for _ in range(5)]
    # Drop the entries of records that failed at a later entry.
    keep = ok[columns[0]]
    columns = [c[keep] for c in columns]
    order = np.argsort(columns[0], kind="stable")
    columns = [c[order] for c in columns]
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(columns[0], minlength=n), out=first[1:])
    return FeatureIndex(ok, *columns, first)


def spans_equal(array: np.ndarray, starts: np.ndarray, ends: np.ndarray, key: bytes) -> np.ndarray:
    """Returns bool [m]: whether array[starts[i]:ends[i]] == key, for uint8 `array`."""
    same = (ends - starts) == len(key)
    last = len(array) - 1
    for j, byte in enumerate(key):
        same &= array[np.minimum(starts + j, last)] == byte
    return same


def find_single_bytes_feature(file: RecordFile, index: FeatureIndex, name: bytes):
    """Locates, per record, the one value of a singleton bytes_list feature (e.g. the id).

    Args:
      file: the `RecordFile`.
      index: its `FeatureIndex`.
      name: the feature name, UTF-8 encoded.

    Returns:
      `(start, end, found)`: int64 [n], int64 [n], bool [n]; where found is False the
      record needs the per-record parser (absent feature, other kind, several values, or
      a layout the scan did not follow).
    """
    array = np.frombuffer(file.data, dtype=np.uint8)
    n = len(file.offsets)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    found = np.zeros(n, dtype=bool)
    match = np.flatnonzero(spans_equal(array, index.key_start, index.key_end, name))
    if not len(match):
        return start, end, found
    # A repeated key: the last entry wins, as in protobuf parsing; entries are in order.
    records = index.record[match]
    last_of_record = np.ones(len(match), dtype=bool)
    last_of_record[:-1] = records[1:] != records[:-1]
    match, records = match[last_of_record], records[last_of_record]
    # Feature = 0x0a len BytesList; BytesList = 0x0a len value (exactly one value).
    value_start, entry_end = index.value_start[match], index.entry_end[match]
    lastpos = len(array) - 1
    good = array[np.minimum(value_start, lastpos)] == 0x0A
    size, list_start, g = decode_varints(array, value_start + 1)
    good &= g & (list_start + size == entry_end)
    good &= array[np.minimum(list_start, lastpos)] == 0x0A
    size, id_start, g = decode_varints(array, list_start + 1)
    good &= g & (id_start + size == entry_end)
    start[records] = id_start
    end[records] = entry_end
    found[records] = good
    return start, end, found


def _frames(records: list[bytes]) -> bytes:
    lengths = [struct.pack("<Q", len(r)) for r in records]
    length_crcs = crc32c_many(lengths)
    data_crcs = crc32c_many(records)
    pack_i = struct.Struct("<I").pack
    parts = []
    for length, length_crc, record, data_crc in zip(
        lengths, length_crcs, records, data_crcs, strict=True
    ):
        parts += (length, pack_i(_mask(length_crc)), record, pack_i(_mask(data_crc)))
    return b"".join(parts)


def write_records(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Writes serialized records as an uncompressed TFRecord file, atomically.

    The records go to a temporary file in the same folder, renamed to `path` once complete,
    so a reader never sees a partial file.

    Args:
      path: the output file.
      records: byte strings (e.g. `example.SerializeToString()`).

    Returns:
      The number of records written.
    """
    count = 0
    with AtomicOutput(path) as file:
        batch: list[bytes] = []
        for record in records:
            if not isinstance(record, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"write_records({os.fspath(path)!r}): record {count + len(batch) + 1} is "
                    f"{type(record).__name__}, expected bytes"
                )
            batch.append(bytes(record))
            if len(batch) >= 4096:
                file.write(_frames(batch))
                count += len(batch)
                batch = []
        if batch:
            file.write(_frames(batch))
            count += len(batch)
    return count


# ---------------------------------------------------------------------------------------
# tf.train.Example
# ---------------------------------------------------------------------------------------


def _feature(tf, name: str, value: Any):
    """Builds one `tf.train.Feature` from a Python or NumPy value."""
    if isinstance(value, tf.train.Feature):
        return value
    if isinstance(value, (str, bytes, np.bytes_, np.str_)):
        value = [value]
    elif isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
        value = [value]
    array = None
    if isinstance(value, np.ndarray):
        array = value.reshape(-1)
    else:
        try:
            items = list(value)
        except TypeError:
            raise TypeError(
                f"make_example: feature {name!r} has unsupported type {type(value).__name__}; "
                "use bytes/str, int, float, a list of one of them, or a NumPy array"
            ) from None
        if not items:
            raise ValueError(
                f"make_example: feature {name!r} is an empty list, whose type cannot be "
                "inferred; pass an empty NumPy array with a dtype instead"
            )
        if all(isinstance(v, (str, bytes, np.bytes_, np.str_)) for v in items):
            array = np.array([v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in items])
        elif all(isinstance(v, (bool, int, np.integer, np.bool_)) for v in items):
            array = np.array(items, dtype=np.int64)
        elif all(
            isinstance(v, (bool, int, float, np.integer, np.floating, np.bool_)) for v in items
        ):
            array = np.array(items, dtype=np.float32)
        else:
            raise TypeError(
                f"make_example: feature {name!r} mixes value types "
                f"({sorted({type(v).__name__ for v in items})}); use one type per feature"
            )
    kind = array.dtype.kind
    if kind in "biu":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=array.astype(np.int64)))
    if kind == "f":
        return tf.train.Feature(float_list=tf.train.FloatList(value=array.astype(np.float32)))
    if kind in "SUO":
        values = []
        for v in array.tolist():
            if isinstance(v, str):
                v = v.encode("utf-8")
            if not isinstance(v, bytes):
                raise TypeError(
                    f"make_example: feature {name!r} holds a {type(v).__name__}; an object "
                    "array must hold only bytes or str"
                )
            values.append(v)
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    raise TypeError(f"make_example: feature {name!r} has unsupported dtype {array.dtype}")


def make_example(features: dict[str, Any]):
    """Builds a `tf.train.Example` from a dict of feature values.

    bytes/str values become a `bytes_list` (str is UTF-8 encoded), ints and bools an
    `int64_list`, floats a `float_list`; a list takes its items' type (ints mixed with floats
    become floats); NumPy arrays go by dtype (integer/bool -> int64, floating -> float32,
    bytes/str -> bytes) and are flattened. A `tf.train.Feature` is kept as is.

    Args:
      features: feature name -> value.

    Returns:
      A `tf.train.Example`.
    """
    import tensorflow as tf

    if not isinstance(features, dict):
        raise TypeError(f"make_example expects a dict, got {type(features).__name__}")
    feature_map = {}
    for name, value in features.items():
        if not isinstance(name, str):
            raise TypeError(f"make_example: feature names must be str, got {name!r}")
        feature_map[name] = _feature(tf, name, value)
    return tf.train.Example(features=tf.train.Features(feature=feature_map))


def write_examples(path: str | os.PathLike, examples: Iterable[Any]) -> int:
    """Writes `tf.train.Example`s (or dicts for `make_example`) to a TFRecord file, atomically.

    Args:
      path: the output file; written under a temporary name, renamed when complete.
      examples: `tf.train.Example`s, dicts of feature values, or serialized bytes.

    Returns:
      The number of examples written.
    """

    def serialized() -> Iterator[bytes]:
        for example in examples:
            if isinstance(example, (bytes, bytearray)):
                yield bytes(example)
            elif isinstance(example, dict):
                yield make_example(example).SerializeToString()
            elif hasattr(example, "SerializeToString"):
                yield example.SerializeToString()
            else:
                raise TypeError(
                    f"write_examples({os.fspath(path)!r}): got {type(example).__name__}; "
                    "expected a tf.train.Example, a dict or bytes"
                )

    return write_records(path, serialized())


def read_examples(path: str | os.PathLike):
    """Yields the `tf.train.Example`s of a TFRecord file.

    Args:
      path: an uncompressed TFRecord file of serialized `tf.train.Example`s.

    Yields:
      `tf.train.Example` protos in file order.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a corrupted record or one that is not a `tf.train.Example`, naming the
        file and the record number (1-based).
    """
    path = _check_exists(path)
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    for number, record in enumerate(read_records(path), start=1):
        try:
            yield tf.train.Example.FromString(record)
        except DecodeError as error:
            raise ValueError(
                f"{path}: record {number} is not a valid serialized tf.train.Example ({error})"
            ) from None


# ---------------------------------------------------------------------------------------
# Protobuf wire format of tf.train.Example, for tools that must not import TensorFlow.
#   Example  { Features features = 1; }
#   Features { map<string, Feature> feature = 1; }  -> entries { string key = 1; Feature value = 2; }
#   Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
#                           Int64List int64_list = 3; } }
#   BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
#   Int64List { repeated int64 value = 1 [packed]; }
# ---------------------------------------------------------------------------------------


class WireFormatError(ValueError):
    """A serialized message that is not valid protobuf wire format."""


def _varint(buf, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result = byte & 0x7F
    shift = 7
    while True:
        pos += 1
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 63:
            raise WireFormatError("varint longer than 10 bytes")


def encode_varint(value: int) -> bytes:
    """Returns the protobuf base-128 varint encoding of a non-negative int (< 2**64)."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _skip(buf, pos: int, wire_type: int, end: int) -> int:
    if wire_type == 0:
        _, pos = _varint(buf, pos)
    elif wire_type == 1:
        pos += 8
    elif wire_type == 2:
        length, pos = _varint(buf, pos)
        pos += length
    elif wire_type == 5:
        pos += 4
    else:
        raise WireFormatError(f"unsupported wire type {wire_type}")
    if pos > end:
        raise WireFormatError("field runs past the end of its message")
    return pos


def _fields(buf, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yields (field_number, wire_type, value_start, value_end) of a message's fields."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        field, wire_type = tag >> 3, tag & 7
        if field == 0:
            raise WireFormatError("field number 0")
        if wire_type == 2:
            length, value_start = _varint(buf, pos)
            pos = value_start + length
            if pos > end:
                raise WireFormatError("length-delimited field runs past the end of its message")
            yield field, 2, value_start, pos
        else:
            value_start = pos
            pos = _skip(buf, pos, wire_type, end)
            yield field, wire_type, value_start, pos


def feature_entries(serialized: bytes) -> list[tuple[bytes, bytes]]:
    """Returns the (name, serialized `tf.train.Feature`) map entries of a serialized Example.

    Entries come in wire order; a name may repeat, and then (as protobuf parsing does) the
    last entry wins.

    Args:
      serialized: a serialized `tf.train.Example`.

    Returns:
      A list of `(key, feature_bytes)` pairs.

    Raises:
      WireFormatError: `serialized` is not valid wire format.
    """
    out = []
    try:
        for field, wire_type, start, end in _fields(serialized, 0, len(serialized)):
            if field != 1 or wire_type != 2:
                continue
            for efield, ewire, estart, eend in _fields(serialized, start, end):
                if efield != 1 or ewire != 2:
                    continue
                out.append(_entry(serialized, estart, eend))
    except IndexError:
        raise WireFormatError("message ends inside a field") from None
    return out


def find_feature(serialized: bytes, name: bytes) -> bytes | None:
    """Returns the serialized `tf.train.Feature` named `name` in a serialized Example.

    Args:
      serialized: a serialized `tf.train.Example`.
      name: the feature's name, UTF-8 encoded.

    Returns:
      The Feature's bytes (the last entry with that name), or None when absent.

    Raises:
      WireFormatError: `serialized` is not valid wire format.
    """
    key_field = b"\x0a" + encode_varint(len(name)) + name
    found = None
    size = len(serialized)
    try:
        pos = 0
        while pos < size:
            tag = serialized[pos]
            if tag != 0x0A:  # not Example.features: skip any other field
                tag, pos = _varint(serialized, pos)
                pos = _skip(serialized, pos, tag & 7, size)
                continue
            length, pos = _varint(serialized, pos + 1)
            end = pos + length
            if end > size:
                raise WireFormatError("features field runs past the end of the record")
            while pos < end:
                if serialized[pos] != 0x0A:  # not a map entry
                    tag, pos = _varint(serialized, pos)
                    pos = _skip(serialized, pos, tag & 7, end)
                    continue
                length, entry = _varint(serialized, pos + 1)
                pos = entry + length
                if pos > end:
                    raise WireFormatError("map entry runs past the end of the features")
                if serialized.startswith(key_field, entry):
                    value_tag = entry + len(key_field)
                    if value_tag < pos and serialized[value_tag] == 0x12:
                        length, value = _varint(serialized, value_tag + 1)
                        if value + length == pos:  # the usual `key, value` entry
                            found = serialized[value:pos]
                            continue
                    # Standard serializers write the key first; parse the whole entry anyway,
                    # since a repeated key field renames it and repeated values merge.
                    key, value = _entry(serialized, entry, pos)
                    if key == name:
                        found = value
    except IndexError:
        raise WireFormatError("message ends inside a field") from None
    return found


def _entry(buf, start: int, end: int) -> tuple[bytes, bytes]:
    """Returns (key, value bytes) of a map entry; repeated value fields merge by concatenation."""
    key = b""
    values = []
    for field, wire_type, s, e in _fields(buf, start, end):
        if wire_type == 2:
            if field == 1:
                key = buf[s:e]
            elif field == 2:
                values.append(buf[s:e])
    return key, b"".join(values)


def feature_kind(feature: bytes) -> str | None:
    """Returns 'bytes_list', 'float_list', 'int64_list' or None for a serialized Feature."""
    kind = None
    for field, wire_type, _, _ in _fields(feature, 0, len(feature)):
        if wire_type == 2 and field in (1, 2, 3):
            kind = field
    return {None: None, 1: "bytes_list", 2: "float_list", 3: "int64_list"}[kind]


def _list_ranges(feature: bytes, kind: int) -> Iterator[tuple[int, int]]:
    """Yields the (start, end) ranges of the kind's list messages (they merge if repeated)."""
    last_kind = None
    ranges = []
    for field, wire_type, start, end in _fields(feature, 0, len(feature)):
        if wire_type == 2 and field in (1, 2, 3):
            if field != last_kind:
                ranges = []  # a different oneof member replaces the earlier one
            last_kind = field
            ranges.append((start, end))
    if last_kind == kind:
        yield from ranges


def bytes_list_values(feature: bytes) -> list[bytes]:
    """Returns the values of a serialized Feature's `bytes_list` ([] if another kind)."""
    out = []
    for start, end in _list_ranges(feature, 1):
        for field, wire_type, s, e in _fields(feature, start, end):
            if field == 1 and wire_type == 2:
                out.append(feature[s:e])
    return out


def float_list_values(feature: bytes) -> np.ndarray:
    """Returns the values of a serialized Feature's `float_list` as float32 [n]."""
    parts = []
    for start, end in _list_ranges(feature, 2):
        for field, wire_type, s, e in _fields(feature, start, end):
            if field != 1:
                continue
            if wire_type == 2:  # packed
                if (e - s) % 4:
                    raise WireFormatError("packed float list length is not a multiple of 4")
                parts.append(np.frombuffer(feature, dtype="<f4", count=(e - s) // 4, offset=s))
            elif wire_type == 5:
                parts.append(np.frombuffer(feature, dtype="<f4", count=1, offset=s))
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(parts).astype(np.float32)


def int64_list_values(feature: bytes) -> np.ndarray:
    """Returns the values of a serialized Feature's `int64_list` as int64 [n]."""
    out = []
    for start, end in _list_ranges(feature, 3):
        for field, wire_type, s, e in _fields(feature, start, end):
            if field != 1:
                continue
            if wire_type == 2:
                pos = s
                while pos < e:
                    value, pos = _varint(feature, pos)
                    out.append(value)
            elif wire_type == 0:
                out.append(_varint(feature, s)[0])
    values = np.array(out, dtype=np.uint64)
    return values.view(np.int64)


# ---------------------------------------------------------------------------------------
# Graph TSV files.
# ---------------------------------------------------------------------------------------


def write_graph_tsv(
    path: str | os.PathLike,
    edges: Iterable[tuple[Any, Any, float]],
    float_format: str = "%f",
) -> int:
    """Writes edges as NSL's graph TSV (`source<TAB>target<TAB>weight`), atomically.

    Args:
      path: the output file; written under a temporary name, renamed when complete.
      edges: `(source, target, weight)` triples; ids are str, bytes or ints.
      float_format: %-format of the weight; NSL writes `%f` (6 decimals).

    Returns:
      The number of edges written.
    """
    path = os.fspath(path)
    count = 0
    with AtomicOutput(path, "w") as file:
        lines = []
        for edge in edges:
            count += 1
            try:
                source, target, weight = edge
            except (TypeError, ValueError):
                raise ValueError(
                    f"write_graph_tsv({path!r}): edge {count} is {edge!r}; expected "
                    "(source, target, weight)"
                ) from None
            source = source.decode("utf-8") if isinstance(source, bytes) else str(source)
            target = target.decode("utf-8") if isinstance(target, bytes) else str(target)
            for node in (source, target):
                if "\t" in node or "\n" in node or "\r" in node:
                    raise ValueError(
                        f"write_graph_tsv({path!r}): edge {count} has node id {node!r} "
                        "containing a tab or newline, which TSV cannot hold"
                    )
            lines.append(f"{source}\t{target}\t{float_format % weight}\n")
            if len(lines) >= 65536:
                file.write("".join(lines))
                lines = []
        file.write("".join(lines))
    return count


def _bad_line(path: str, number: int, line: bytes, why: str) -> ValueError:
    text = line.decode("utf-8", "replace")
    if len(text) > 80:
        text = text[:77] + "..."
    return ValueError(f"{path}:{number}: {why}: {text!r} (expected source<TAB>target[<TAB>weight])")


def spans_to_array(array: np.ndarray, starts: np.ndarray, ends: np.ndarray, data: bytes):
    """Returns the byte strings data[starts[i]:ends[i]] as one NumPy array.

    Args:
      array: `data` as uint8 [len(data)].
      starts, ends: int [n] span bounds.
      data: the bytes.

    Returns:
      An 'S' array [n] when every span is at most 32 bytes and holds no NUL byte (an 'S'
      array drops trailing NULs), else an object array of bytes [n].
    """
    n = len(starts)
    widths = ends - starts
    width = int(widths.max()) if n else 1
    if width > 32:
        return np.array(
            [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)], dtype=object
        )
    width = max(width, 1)
    matrix = np.zeros((n, width), dtype=np.uint8)
    last = max(len(array) - 1, 0)
    for c in range(width):  # one column at a time: few passes over short 1-D arrays
        column = array[np.minimum(starts + c, last)]
        inside = widths > c
        if np.count_nonzero(column[inside] == 0):  # a NUL byte inside a span
            return np.array(
                [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)],
                dtype=object,
            )
        column[~inside] = 0
        matrix[:, c] = column
    return matrix.view(f"S{width}").ravel()


def read_graph_arrays(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads an NSL graph TSV into parallel NumPy arrays, in file order, duplicates kept.

    Lines are `source<TAB>target[<TAB>weight]`; the weight defaults to 1.0 and columns after
    the third are ignored (as NSL does). Line ends may be `\\n`, `\\r\\n` or `\\r`.

    Args:
      path: the TSV file.

    Returns:
      `(sources, targets, weights)`: ids as UTF-8 bytes in NumPy 'S' arrays [E] (object
      arrays of bytes when an id is longer than 32 bytes or the file holds NUL bytes), and
      weights float64 [E].

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a line with fewer than 2 columns, or a weight that is not a number, is
        NaN, infinite or negative, naming the file and the line number.
    """
    path = _check_exists(path)
    with open(path, "rb") as file:
        data = file.read()
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data.endswith(b"\n"):
        data = data[:-1]
    elif not data:
        empty = np.zeros(0, dtype="S1")
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == 10)
    line_starts = np.concatenate([[0], newlines + 1])
    line_ends = np.append(newlines, len(array))
    tabs = np.flatnonzero(array == 9)
    lines = len(line_starts)
    # The usual file has the same number of tabs (2 or 1) on every line: check that without
    # a search (tabs are sorted, so c tabs a line means the c*i-th to c*i+c-1-th lie in line i).
    uniform = None
    for per_line in (2, 1):
        if len(tabs) == per_line * lines:
            firsts, lasts = tabs[0::per_line], tabs[per_line - 1 :: per_line]
            if (firsts >= line_starts).all() and (lasts < line_ends).all():
                uniform = per_line
            break
    if uniform is not None:
        first_tab = np.arange(0, len(tabs), uniform)
        count = np.full(lines, uniform)
    else:
        first_tab = np.searchsorted(tabs, line_starts)
        count = np.searchsorted(tabs, line_ends) - first_tab
    bad = np.flatnonzero(count < 1)
    if len(bad):
        line = int(bad[0])
        raise _bad_line(
            path, line + 1, data[line_starts[line] : line_ends[line]], "too few columns"
        )
    padded = np.append(tabs, len(array))
    tab1 = tabs[first_tab]
    tab2 = np.where(count >= 2, padded[np.minimum(first_tab + 1, len(tabs))], line_ends)
    has_weight = count >= 2
    tab3 = np.where(count >= 3, padded[np.minimum(first_tab + 2, len(tabs))], line_ends)
    sources = spans_to_array(array, line_starts, tab1, data)
    targets = spans_to_array(array, tab1 + 1, tab2, data)
    weights = np.ones(len(line_starts), dtype=np.float64)
    rows = np.flatnonzero(has_weight)
    if len(rows):
        text = spans_to_array(array, tab2[rows] + 1, tab3[rows], data)
        try:
            weights[rows] = text.astype(np.float64)
        except (ValueError, TypeError):
            for row, value in zip(rows.tolist(), text.tolist(), strict=True):
                try:
                    float(value)
                except ValueError:
                    raise _bad_line(
                        path,
                        row + 1,
                        data[line_starts[row] : line_ends[row]],
                        "weight is not a number",
                    ) from None
            raise  # pragma: no cover - NumPy and float() disagree
        bad = np.flatnonzero(~(weights >= 0) | np.isinf(weights))
        if len(bad):
            row = int(bad[0])
            raise _bad_line(
                path,
                row + 1,
                data[line_starts[row] : line_ends[row]],
                "weight must be a finite number >= 0",
            )
    return sources, targets, weights


def read_graph_edges(path: str | os.PathLike) -> tuple[list[bytes], list[bytes], np.ndarray]:
    """Reads an NSL graph TSV into parallel edge lists, in file order, duplicates kept.

    Args:
      path: the TSV file (see `read_graph_arrays`).

    Returns:
      `(sources, targets, weights)`: two lists of UTF-8 id bytes and a float64 array [E].

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a malformed line, naming the file and the line number.
    """
    sources, targets, weights = read_graph_arrays(path)
    return sources.tolist(), targets.tolist(), weights


def read_graph_tsv(
    path: str | os.PathLike, add_undirected_edges: bool = False
) -> dict[str, dict[str, float]]:
    """Reads an NSL graph TSV as `source -> {target -> weight}`, with NSL's semantics.

    Each line is `source<TAB>target[<TAB>weight]` (weight 1.0 when absent). An edge given
    more than once keeps its largest weight. With `add_undirected_edges`, every edge also
    gets its reverse, and the pair keeps the larger of the two weights.

    Args:
      path: the TSV file.
      add_undirected_edges: make every edge bi-directional.

    Returns:
      A dict: source id -> (target id -> weight), ids as str.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a malformed line, naming the file and the line number.
    """
    path = os.fspath(path)
    sources, targets, weights = read_graph_edges(path)
    try:
        sources = [s.decode("utf-8") for s in sources]
        targets = [t.decode("utf-8") for t in targets]
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: node ids are not valid UTF-8 ({error})") from None
    graph: dict[str, dict[str, float]] = {}
    _add_edges(graph, sources, targets, weights.tolist())
    if add_undirected_edges:
        pairs = [(s, t, w) for s, out in graph.items() for t, w in out.items()]
        if pairs:
            s, t, w = zip(*pairs, strict=True)
            _add_edges(graph, t, s, w)
    return graph


def _add_edges(graph, sources, targets, weights) -> None:
    setdefault = graph.setdefault
    for source, target, weight in zip(sources, targets, weights, strict=True):
        out = setdefault(source, {})
        old = out.get(target)
        if old is None or weight > old:
            out[target] = weight
