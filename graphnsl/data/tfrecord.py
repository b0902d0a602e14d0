"""TFRecord files in plain Python and NumPy: framing, CRC32C checksums, reading and writing.

Framing of one record (little-endian):
`uint64 length, uint32 masked_crc32c(length), bytes data[length], uint32 masked_crc32c(data)`.
No TensorFlow import: the graph tools read and write TFRecords without it (its import alone
costs about 650 MB of memory and several seconds). CRC32C comes from `google-crc32c` when its
C implementation is installed, else from a NumPy implementation vectorized across records.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from graphnsl.data.atomic import AtomicOutput

__all__ = [
    "crc32c",
    "crc32c_many",
    "RecordFile",
    "count_records",
    "read_records",
    "write_records",
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


def count_records(path: str | os.PathLike) -> int:
    """The records in a TFRecord file, by walking its frame headers (length, its CRC).

    Seeks from header to header, so memory stays constant whatever the file's size (unlike
    `RecordFile`, which reads the file whole); checksums are not verified.

    Raises:
      ValueError: the file ends inside a frame, naming the file and the records before it.
    """
    count = 0
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        while True:
            head = file.read(12)
            if not head:
                return count
            if len(head) < 12:
                raise ValueError(f"{path}: truncated TFRecord frame after {count} records")
            (length,) = struct.unpack("<Q", head[:8])
            end = file.tell() + length + 4
            if end > size:
                raise ValueError(f"{path}: truncated TFRecord frame after {count} records")
            file.seek(end)
            count += 1


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
