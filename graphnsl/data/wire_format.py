"""The protobuf wire format of `tf.train.Example`, read without TensorFlow.

Two kinds of reader: vectorized NumPy scans over all the records of a `RecordFile` at once
(`index_features` locates every record's feature-map entries; `find_single_bytes_feature`
finds one bytes feature, such as the node id, in each), and plain-Python readers of one
serialized Example (`feature_entries`, `find_feature`, the `*_list_values` decoders), plus
`encode_varint` for writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from graphnsl.data.tfrecord import RecordFile

__all__ = [
    "WireFormatError",
    "decode_varints",
    "encode_varint",
    "FeatureIndex",
    "index_features",
    "spans_equal",
    "find_single_bytes_feature",
    "feature_entries",
    "find_feature",
    "feature_kind",
    "bytes_list_values",
    "float_list_values",
    "int64_list_values",
]


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
