"""Retrieval metrics of binary codes by Hamming ranking over the whole database.

Ranking: each query sorts the whole database by Hamming distance; ties keep database order
(a stable sort), so results are reproducible and do not depend on the sort algorithm.
Relevant = same label. All metrics come from one pass over blocks of queries
(`evaluate_codes`), the per-metric functions are thin wrappers.

- mAP: mean over queries of average precision, `AP = (1/R) sum_k P@k * rel_k` over the whole
  ranking (R = the query's relevant count; queries with none are skipped and counted).
- Precision at recall r: precision at the first rank where recall reaches r; F1 from both.
- Precision within Hamming radius 2: relevant / retrieved among codes at distance <= 2
  (0 for a query that retrieves nothing, the usual convention).
"""

from __future__ import annotations

import time

import numpy as np

from graphnsl.hashing.codes import hamming_distances, pack_codes

__all__ = [
    "DEFAULT_RECALL_LEVELS",
    "evaluate_codes",
    "mean_average_precision",
    "precision_at_recall",
    "precision_within_radius",
]

DEFAULT_RECALL_LEVELS = tuple(np.round(np.arange(0.1, 0.81, 0.1), 2).tolist())


def _as_packed(codes, name: str) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.dtype == np.uint64:
        return codes
    if codes.ndim != 2:
        raise ValueError(f"{name} must be [N, B] 0/1 codes or packed uint64, got {codes.shape}")
    return pack_codes(codes)


def evaluate_codes(
    query_codes,
    database_codes,
    query_labels,
    database_labels,
    recall_levels=DEFAULT_RECALL_LEVELS,
    radius: int = 2,
    block: int = 64,
) -> dict:
    """mAP, precision at recall levels (with F1) and precision within a Hamming radius.

    Args:
      query_codes: `[Q, B]` 0/1 codes, or packed uint64 `[Q, W]`.
      database_codes: `[N, B]` 0/1, or packed uint64 `[N, W]`.
      query_labels: int `[Q]`.
      database_labels: int `[N]`.
      recall_levels: recall values in (0, 1].
      radius: the Hamming radius of `precision_within_radius`.
      block: queries per block (memory about `block * N * 17` bytes).

    Returns:
      dict: `map`, `precision_at_recall` (list, one per level), `f1_at_recall`,
      `recall_levels`, `precision_within_radius`, `recall_within_radius`, `queries`,
      `queries_without_relevant`, `seconds`.
    """
    started = time.perf_counter()
    queries = _as_packed(query_codes, "query_codes")
    database = _as_packed(database_codes, "database_codes")
    query_labels = np.asarray(query_labels).ravel()
    database_labels = np.asarray(database_labels).ravel()
    if len(query_labels) != len(queries) or len(database_labels) != len(database):
        raise ValueError(
            f"labels ({len(query_labels)} queries, {len(database_labels)} database) must match "
            f"the codes ({len(queries)}, {len(database)})"
        )
    levels = np.asarray(recall_levels, dtype=np.float64)
    if levels.size and (levels.min() <= 0 or levels.max() > 1):
        raise ValueError(f"recall_levels must lie in (0, 1], got {levels.tolist()}")
    n = len(database)
    ranks = np.arange(1, n + 1, dtype=np.float64)
    ap, pr_precision, radius_precision, radius_recall = [], [], [], []
    for lo in range(0, len(queries), block):
        distance = hamming_distances(queries[lo : lo + block], database)
        labels = query_labels[lo : lo + block, None]
        relevant_mask = database_labels[None, :] == labels
        num_relevant = relevant_mask.sum(axis=1)
        within = distance <= radius
        retrieved = within.sum(axis=1)
        hits = (within & relevant_mask).sum(axis=1)
        radius_precision.append(np.where(retrieved > 0, hits / np.maximum(retrieved, 1), 0.0))
        radius_recall.append(hits / np.maximum(num_relevant, 1))
        order = np.argsort(distance, axis=1, kind="stable")
        relevant = np.take_along_axis(relevant_mask, order, axis=1)
        cumulative = np.cumsum(relevant, axis=1, dtype=np.int32)
        ap.append((cumulative / ranks * relevant).sum(axis=1) / np.maximum(num_relevant, 1))
        if levels.size:
            needed = np.ceil(levels[None, :] * num_relevant[:, None] - 1e-9).astype(np.int64)
            needed = np.maximum(needed, 1)
            # First rank with `needed` hits: the number of ranks with fewer hits, plus one.
            position = np.stack(
                [(cumulative < needed[:, j, None]).sum(axis=1) + 1 for j in range(len(levels))],
                axis=1,
            )
            pr_precision.append(needed / position)
        else:
            pr_precision.append(np.zeros((len(labels), 0)))
    has_relevant = np.isin(query_labels, database_labels)
    ap = np.concatenate(ap)[has_relevant]
    precision = np.concatenate(pr_precision)[has_relevant]
    mean_precision = precision.mean(axis=0) if len(precision) else np.zeros(len(levels))
    f1 = np.where(
        mean_precision + levels > 0,
        2 * mean_precision * levels / np.maximum(mean_precision + levels, 1e-12),
        0.0,
    )
    return {
        "map": float(ap.mean()) if len(ap) else 0.0,
        "recall_levels": levels.tolist(),
        "precision_at_recall": mean_precision.tolist(),
        "f1_at_recall": f1.tolist(),
        "precision_within_radius": float(np.concatenate(radius_precision)[has_relevant].mean()),
        "recall_within_radius": float(np.concatenate(radius_recall)[has_relevant].mean()),
        "radius": int(radius),
        "queries": int(has_relevant.sum()),
        "queries_without_relevant": int((~has_relevant).sum()),
        "seconds": time.perf_counter() - started,
    }


def mean_average_precision(query_codes, database_codes, query_labels, database_labels) -> float:
    """mAP of Hamming ranking over the whole database (see `evaluate_codes`)."""
    return evaluate_codes(
        query_codes, database_codes, query_labels, database_labels, recall_levels=()
    )["map"]


def precision_at_recall(
    query_codes, database_codes, query_labels, database_labels, levels=DEFAULT_RECALL_LEVELS
) -> np.ndarray:
    """Mean precision at each recall level (see `evaluate_codes`)."""
    result = evaluate_codes(
        query_codes, database_codes, query_labels, database_labels, recall_levels=levels
    )
    return np.asarray(result["precision_at_recall"])


def precision_within_radius(
    query_codes, database_codes, query_labels, database_labels, radius: int = 2
) -> float:
    """Mean precision of the codes within Hamming `radius` (see `evaluate_codes`)."""
    result = evaluate_codes(
        query_codes, database_codes, query_labels, database_labels, recall_levels=(), radius=radius
    )
    return result["precision_within_radius"]
