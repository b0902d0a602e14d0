"""Bit-packed binary codes and Hamming distances by vectorized popcount.

A code of B bits is stored as `ceil(B / 64)` uint64 words: bit b of a code is bit
`7 - b % 8` of byte `b // 8` (NumPy's `packbits` order), the bytes zero-padded to a multiple
of 8 and read as little-endian words. Distances are `popcount(x XOR y)` summed over words
(`np.bitwise_count`, NumPy >= 2; a byte lookup table otherwise).
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack_codes", "unpack_codes", "hamming_distances"]

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def pack_codes(bits) -> np.ndarray:
    """Packs 0/1 (or boolean) codes into uint64 words.

    Args:
      bits: `[N, B]` of 0/1 or bool.

    Returns:
      uint64 `[N, ceil(B / 64)]`.

    Raises:
      ValueError: not 2-D, or a value other than 0 and 1.
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"codes must be [N, B], got shape {bits.shape}")
    if bits.dtype != bool:
        bad = (bits != 0) & (bits != 1)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"codes must be 0/1; codes[{row}, {col}] = {bits[row, col].item()!r}")
    n, b = bits.shape
    words = max(1, -(-b // 64))
    packed = np.zeros((n, words * 8), dtype=np.uint8)
    packed[:, : -(-b // 8)] = np.packbits(bits.astype(bool), axis=1)
    return packed.view("<u8").astype(np.uint64, copy=False)


def unpack_codes(packed: np.ndarray, num_bits: int) -> np.ndarray:
    """The inverse of `pack_codes`: uint64 `[N, W]` -> uint8 0/1 `[N, num_bits]`."""
    packed = np.ascontiguousarray(packed, dtype="<u8")
    if packed.ndim != 2 or packed.shape[1] * 64 < num_bits:
        raise ValueError(f"packed codes of shape {packed.shape} cannot hold {num_bits} bits")
    as_bytes = packed.view(np.uint8)
    return np.unpackbits(as_bytes, axis=1)[:, :num_bits]


def _popcount(words: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    return _POPCOUNT8[words.view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1)


def hamming_distances(queries: np.ndarray, database: np.ndarray) -> np.ndarray:
    """Hamming distances between every query code and every database code.

    Args:
      queries: packed uint64 `[Q, W]` (see `pack_codes`).
      database: packed uint64 `[N, W]`.

    Returns:
      uint16 `[Q, N]`.
    """
    queries = np.asarray(queries, dtype=np.uint64)
    database = np.asarray(database, dtype=np.uint64)
    if queries.ndim != 2 or database.ndim != 2 or queries.shape[1] != database.shape[1]:
        raise ValueError(
            f"queries {queries.shape} and database {database.shape} must be packed codes "
            "with the same number of words"
        )
    distance = np.zeros((len(queries), len(database)), dtype=np.uint16)
    for w in range(queries.shape[1]):
        distance += _popcount(queries[:, w, None] ^ database[None, :, w]).astype(np.uint16)
    return distance
