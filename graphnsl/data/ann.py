"""Candidate pairs for `build_graph`'s approximate modes: faiss (HNSW or IVF) and NSL's LSH.

Both modes only propose pairs of nodes; `build_graph` then recomputes every proposed
pair's weight exactly as the exact mode does (NSL's float32 `np.dot` of the normalized
rows) and keeps those at or above the threshold. So an approximate graph holds no edge the
exact graph lacks, with the same weights; it can only miss edges (its recall is < 1, its
precision is 1).

- `faiss`: every node queries an index of all nodes for its `k` nearest neighbours by
  inner product (= cosine similarity of the normalized rows). A node whose k-th candidate
  is still at or above the threshold may have more neighbours than were searched; such
  nodes are counted (`saturated_nodes`) so a too small `k` never passes unnoticed.
- `lsh`: NSL's bucketing. Each of `lsh_rounds` rounds draws `lsh_splits` random
  hyperplanes (entries uniform in [-1, 1], drawn from `numpy.random.RandomState(seed)` in
  NSL's order, so the same seed gives NSL's hyperplanes), gives each node the bucket whose
  bit `b` is set when its dot product with hyperplane `b` is positive, and proposes every
  pair within a bucket. Pairs found in several rounds count once (the union of rounds).
  The buckets are NSL's up to the rounding of a product within ~1e-16 of zero (NSL takes
  them with a matrix-vector product, graphnsl with a fixed-order sum, the same in Beam).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
from absl import logging

__all__ = [
    "FaissOptions",
    "import_faiss",
    "faiss_candidates",
    "lsh_planes",
    "lsh_bucket_ids",
    "lsh_buckets",
]

_INSTALL_FAISS = "faiss is not installed: pip install 'graphnsl[faiss]' (faiss-cpu)"


def import_faiss():
    """Imports faiss, or raises ImportError saying what to install."""
    try:
        import faiss
    except ImportError as error:
        raise ImportError(f"{_INSTALL_FAISS} ({error})") from None
    return faiss


@dataclasses.dataclass
class FaissOptions:
    """Settings of the faiss candidate search.

    Attributes:
      index: "ivf" (`IndexIVFFlat`, k-means lists trained on the nodes themselves; the
        default: about 1.4x faster than HNSW at the same recall on the 100k x 64 benchmark)
        or "hnsw" (`IndexHNSWFlat`, graph search; no training).
      k: candidates per node (its k nearest neighbours, itself excluded). Raised to the
        per-node cap when that is larger.
      hnsw_m: HNSW links per node (`M`).
      hnsw_ef_construction: HNSW's `efConstruction` (search width while adding).
      hnsw_ef_search: HNSW's `efSearch` (search width while querying; at least k is used).
      ivf_nlist: IVF lists; 0 picks `4 * sqrt(n)` (at most n / 39, at least 1).
      ivf_nprobe: IVF lists scanned per query.
      ivf_train_per_list: k-means training sample per list (faiss samples at most
        `nlist * ivf_train_per_list` nodes).
      seed: seed of IVF's k-means (HNSW's levels use faiss' fixed seed).
      query_batch: queries per faiss search call (bounds the [batch, k] result memory).
      threads: OpenMP threads for faiss; 0 keeps faiss' default (all cores).
    """

    index: str = "ivf"
    k: int = 64
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 128
    ivf_nlist: int = 0
    ivf_nprobe: int = 16
    ivf_train_per_list: int = 64
    seed: int = 1234
    query_batch: int = 16384
    threads: int = 0

    def validate(self) -> FaissOptions:
        """Returns self, or raises ValueError naming the bad setting."""
        if self.index not in ("hnsw", "ivf"):
            raise ValueError(f"faiss index must be 'hnsw' or 'ivf', got {self.index!r}")
        names = ("k", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "ivf_nprobe")
        for name in names + ("ivf_train_per_list",):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"faiss option {name} must be >= 1, got {getattr(self, name)}")
        for name in ("ivf_nlist", "threads"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"faiss option {name} must be >= 0, got {getattr(self, name)}")
        if int(self.query_batch) < 1:
            raise ValueError(f"faiss option query_batch must be >= 1, got {self.query_batch}")
        return self


def _make_index(faiss, normalized: np.ndarray, options: FaissOptions):
    n, dim = normalized.shape
    if options.index == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(options.hnsw_m), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(options.hnsw_ef_construction)
        index.hnsw.efSearch = max(int(options.hnsw_ef_search), int(options.k) + 1)
        quantizer = None
    else:
        nlist = int(options.ivf_nlist) or int(4 * np.sqrt(n))
        nlist = max(1, min(nlist, n // 39 if n >= 39 else 1))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = int(options.seed)
        index.cp.max_points_per_centroid = int(options.ivf_train_per_list)
        index.train(normalized)
        index.nprobe = min(int(options.ivf_nprobe), nlist)
    index.add(normalized)
    return index, quantizer


def faiss_candidates(
    normalized: np.ndarray, options: FaissOptions, floor: float
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Yields candidate pairs from a faiss k-nearest-neighbour search of every node.

    Args:
      normalized: float32 [n, dim], unit rows (zero rows allowed).
      options: `FaissOptions`.
      floor: drop candidates whose faiss similarity is below this (the threshold less a
        margin for faiss' own float32 rounding).

    Yields:
      Per batch of queries: `(queries, neighbours, saturated)`: int64 [m] node numbers of
      each candidate pair (`queries != neighbours`), and how many of the batch's nodes had
      all k candidates at or above `floor` (their neighbour lists may be cut short).
    """
    faiss = import_faiss()
    options.validate()
    if options.threads:
        faiss.omp_set_num_threads(int(options.threads))
    normalized = np.ascontiguousarray(normalized, dtype=np.float32)
    n = len(normalized)
    if n < 2:
        return
    index, quantizer = _make_index(faiss, normalized, options)  # the index needs quantizer
    k = min(int(options.k) + 1, n)  # + 1: a node usually finds itself first
    for lo in range(0, n, int(options.query_batch)):
        hi = min(lo + int(options.query_batch), n)
        similarity, found = index.search(normalized[lo:hi], k)
        queries = np.broadcast_to(np.arange(lo, hi)[:, None], found.shape)
        keep = (similarity >= floor) & (found >= 0) & (found != queries)
        # k + 1 were asked for; a row with k or more others above the floor is saturated.
        saturated = int(np.count_nonzero(keep.sum(axis=1) >= k - 1)) if k == options.k + 1 else 0
        yield queries[keep].astype(np.int64), found[keep].astype(np.int64), saturated
    logging.info("faiss %s search: %d nodes, k=%d.", options.index, n, k - 1)
    del quantizer


def lsh_planes(random_seed: int | None, lsh_splits: int, lsh_rounds: int, dim: int):
    """NSL's hyperplanes: per round a [lsh_splits, dim] float64 matrix uniform in [-1, 1].

    Drawn from `numpy.random.RandomState(random_seed)` round after round, as NSL draws them
    after `np.random.seed(random_seed)`.
    """
    rng = np.random.RandomState(random_seed)
    return [rng.rand(lsh_splits, dim) * 2 - 1 for _ in range(lsh_rounds)]


def lsh_bucket_ids(normalized: np.ndarray, planes: list[np.ndarray]) -> np.ndarray:
    """Each row's bucket per round: bit b set when the row's product with plane b is > 0.

    The products are float64 sums over the embedding axis computed row by row in one fixed
    order (not a matrix product, whose summation order depends on the batch), so a row gets
    the same buckets alone (the Beam pipeline) as within all rows (the single-process tool).

    Args:
      normalized: float32 [n, dim].
      planes: `lsh_planes(...)`, one [splits, dim] matrix per round.

    Returns:
      int64 [n, rounds].
    """
    n = len(normalized)
    out = np.zeros((n, len(planes)), dtype=np.int64)
    if not planes:
        return out
    weights = 1 << np.arange(len(planes[0]), dtype=np.int64)
    for lo in range(0, n, 2048):
        rows = normalized[lo : lo + 2048].astype(np.float64)
        for r, p in enumerate(planes):
            products = (rows[:, None, :] * p[None, :, :]).sum(axis=-1)
            out[lo : lo + 2048, r] = (products > 0.0).astype(np.int64) @ weights
    return out


def lsh_buckets(
    normalized: np.ndarray, lsh_splits: int, lsh_rounds: int, random_seed: int | None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yields, round by round, the nodes of each LSH bucket with 2 or more members.

    Args:
      normalized: float32 [n, dim] unit rows.
      lsh_splits: hyperplanes per round (> 0).
      lsh_rounds: rounds (> 0).
      random_seed: seed of `numpy.random.RandomState` (None: fresh randomness).

    Yields:
      `(round, members)`: members int64 [m >= 2], node numbers in increasing order.
    """
    planes = lsh_planes(random_seed, lsh_splits, lsh_rounds, normalized.shape[1])
    buckets = lsh_bucket_ids(normalized, planes)
    for r in range(lsh_rounds):
        order = np.argsort(buckets[:, r], kind="stable")
        sorted_buckets = buckets[order, r]
        starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
        ends = np.r_[starts[1:], len(order)]
        logging.info("LSH round %d: %d bucket(s).", r, len(starts))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            if e - s >= 2:
                yield r, order[s:e]
