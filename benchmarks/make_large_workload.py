"""Writes a large NSL-format packing workload fast, in bounded memory: examples and a graph.

Each `tf.train.Example` has `id` (bytes, the node number as 8 zero-padded digits), `x` (float32 list of
`--dim` normal values) and, for the labeled ones (a `--labeled_fraction` of the nodes, drawn
at random), `label` (int64, node % 7): the layout of the peers' `make_pack_workload.py`, with
fixed-width ids. The graph has nodes * degree / 2 random edges (self-edges dropped) with
weights uniform in [0, 1) printed with 4 decimals. Records are built with NumPy on the wire
format (every record of a kind has the same layout), a million at a time, so 10M nodes take
minutes and little memory.

Usage:
  python benchmarks/make_large_workload.py --out_dir=/tmp/big --nodes=10000000 \\
      [--labeled_fraction=0.2 --degree=10 --dim=64 --seed=0 --shards=1]

Writes OUT_DIR/labeled.tfr, OUT_DIR/unlabeled.tfr (or `-SSSSS-of-NNNNN` shards with
`--shards=N`) and OUT_DIR/graph.tsv; prints the counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from graphnsl.data.examples import crc32c, crc32c_many, encode_varint  # noqa: E402

_ID_WIDTH = 8  # digits
_CHUNK = 1 << 20


def _entry(key: bytes, feature: bytes) -> bytes:
    inner = b"\x0a" + encode_varint(len(key)) + key + b"\x12" + encode_varint(len(feature))
    inner += feature
    return b"\x0a" + encode_varint(len(inner)) + inner


def _template(dim: int, labeled: bool) -> tuple[bytes, int, int, int]:
    """A record with placeholder values; returns it and the offsets of id, x and label."""
    bytes_list = b"\x0a" + encode_varint(_ID_WIDTH) + b"I" * _ID_WIDTH
    id_feature = b"\x0a" + encode_varint(len(bytes_list)) + bytes_list
    floats = b"\x0a" + encode_varint(4 * dim) + b"X" * (4 * dim)
    x_feature = b"\x12" + encode_varint(len(floats)) + floats
    entries = _entry(b"id", id_feature) + _entry(b"x", x_feature)
    if labeled:
        entries += _entry(b"label", b"\x1a\x03\x0a\x01" + b"L")
    record = b"\x0a" + encode_varint(len(entries)) + entries
    label_at = record.rindex(b"L") if labeled else -1
    return record, record.index(b"I" * _ID_WIDTH), record.index(b"X" * (4 * dim)), label_at


def _masked(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _id_matrix(nodes: np.ndarray) -> np.ndarray:
    """uint8 [len(nodes), 8]: b"00000123" for node 123."""
    digits = np.zeros((len(nodes), _ID_WIDTH), dtype=np.uint8)
    value = nodes.copy()
    for c in range(_ID_WIDTH - 1, -1, -1):
        digits[:, c] = ord("0") + value % 10
        value //= 10
    return digits


def _framed(record: bytes, payloads: np.ndarray) -> bytes:
    """TFRecord frames of equal-length payloads (uint8 [n, length])."""
    n, length = payloads.shape
    head = struct.pack("<Q", length)
    head += struct.pack("<I", _masked(crc32c(head)))
    rows = [payloads[i].tobytes() for i in range(n)]
    crcs = np.array([_masked(c) for c in crc32c_many(rows)], dtype="<u4")
    frames = np.empty((n, 12 + length + 4), dtype=np.uint8)
    frames[:, :12] = np.frombuffer(head, dtype=np.uint8)
    frames[:, 12 : 12 + length] = payloads
    frames[:, 12 + length :] = crcs.view(np.uint8).reshape(n, 4)
    return frames.tobytes()


def _examples(out_paths, nodes: int, dim: int, fraction: float, seed: int) -> tuple[int, int]:
    """Writes the labeled and unlabeled examples; returns their counts."""
    kinds = {True: _template(dim, True), False: _template(dim, False)}
    counts = {True: 0, False: 0}
    files = {kind: [open(p + ".part", "wb") for p in out_paths[kind]] for kind in (True, False)}
    shards = len(out_paths[True])
    bounds = np.linspace(0, nodes, shards + 1).round().astype(np.int64)
    try:
        for lo in range(0, nodes, _CHUNK):
            hi = min(lo + _CHUNK, nodes)
            rng = np.random.default_rng([seed, lo])
            x = rng.normal(size=(hi - lo, dim)).astype("<f4")
            labeled = rng.random(hi - lo) < fraction
            node = np.arange(lo, hi)
            shard = np.searchsorted(bounds, node, "right") - 1
            for kind in (True, False):
                template, id_at, x_at, label_at = kinds[kind]
                rows = np.flatnonzero(labeled == kind)
                payloads = np.tile(np.frombuffer(template, dtype=np.uint8), (len(rows), 1))
                payloads[:, id_at : id_at + _ID_WIDTH] = _id_matrix(node[rows])
                payloads[:, x_at : x_at + 4 * dim] = x[rows].view(np.uint8)
                if kind:
                    payloads[:, label_at] = node[rows] % 7
                for s in np.unique(shard[rows]).tolist():
                    files[kind][s].write(_framed(template, payloads[shard[rows] == s]))
                counts[kind] += len(rows)
    finally:
        for handles in files.values():
            for handle in handles:
                handle.close()
    for kind in (True, False):
        for path in out_paths[kind]:
            os.replace(path + ".part", path)
    return counts[True], counts[False]


def _graph(path: str, nodes: int, degree: int, seed: int) -> int:
    """Writes nodes * degree // 2 random edges minus self-edges; returns the lines written."""
    total = nodes * degree // 2
    written = 0
    with open(path + ".part", "wb") as file:
        for lo in range(0, total, _CHUNK):
            hi = min(lo + _CHUNK, total)
            rng = np.random.default_rng([seed, 1, lo])
            src = rng.integers(0, nodes, hi - lo)
            dst = rng.integers(0, nodes, hi - lo)
            weight = rng.integers(0, 10000, hi - lo)  # weight / 10**4, 4 decimals
            keep = src != dst
            src, dst, weight = src[keep], dst[keep], weight[keep]
            line = np.zeros((len(src), 2 * _ID_WIDTH + 9), dtype=np.uint8)
            line[:, :_ID_WIDTH] = _id_matrix(src)
            line[:, _ID_WIDTH] = ord("\t")
            line[:, _ID_WIDTH + 1 : 2 * _ID_WIDTH + 1] = _id_matrix(dst)
            at = 2 * _ID_WIDTH + 1
            line[:, at] = ord("\t")
            line[:, at + 1] = ord("0")
            line[:, at + 2] = ord(".")
            for c in range(4):
                line[:, at + 6 - c] = ord("0") + weight % 10
                weight = weight // 10
            line[:, at + 7] = ord("\n")
            file.write(line.tobytes())
            written += len(src)
    os.replace(path + ".part", path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--labeled_fraction", type=float, default=0.2)
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=1, help="files per example set")
    args = parser.parse_args()
    if not 0 < args.nodes <= 10**8:
        parser.error("--nodes must be in 1 .. 100,000,000 (ids have 8 digits)")
    os.makedirs(args.out_dir, exist_ok=True)
    start = time.perf_counter()

    def names(stem: str) -> list[str]:
        if args.shards <= 1:
            return [os.path.join(args.out_dir, f"{stem}.tfr")]
        return [
            os.path.join(args.out_dir, f"{stem}.tfr-{i:05d}-of-{args.shards:05d}")
            for i in range(args.shards)
        ]

    labeled, unlabeled = _examples(
        {True: names("labeled"), False: names("unlabeled")},
        args.nodes,
        args.dim,
        args.labeled_fraction,
        args.seed,
    )
    edges = _graph(os.path.join(args.out_dir, "graph.tsv"), args.nodes, args.degree, args.seed)
    print(
        json.dumps(
            {
                "out_dir": args.out_dir,
                "nodes": args.nodes,
                "labeled": labeled,
                "unlabeled": unlabeled,
                "edges": edges,
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
