"""Retrieval metrics of an embedding: kNN accuracy, recall@k, mAP@R, triplet recall vs margin.

All use cosine similarity by default (`metric='cosine'`; distance = 1 - cosine).

- kNN accuracy@k: each test embedding takes the majority label of its k nearest training
  embeddings (ties go to the class whose nearest member ranks first; k=1 is the nearest).
- recall@k: the share of test queries with at least one training embedding of their class
  among their k nearest (the metric-learning literature's Recall@K).
- mAP@R (Musgrave, Belongie & Lim 2020): leave-one-out within the test set; for a query with
  R other test items of its class, `(1/R) sum_{i<=R} P@i * [item i relevant]` over its R
  nearest; averaged over queries.
- Triplets `(anchor, positive, negative)` drawn from the test set with a seed: triplet
  accuracy is the share with `d(a, n) > d(a, p)`, and recall at margin m the share with
  `d(a, n) - d(a, p) >= m` (Graph-RISE's "recall vs margin" curve).
"""

from __future__ import annotations

import numpy as np

from graphnsl.embedding.index import EmbeddingIndex

__all__ = [
    "DEFAULT_MARGINS",
    "knn_predict",
    "knn_accuracy",
    "recall_at_k",
    "map_at_r",
    "sample_triplets",
    "triplet_margins",
    "recall_vs_margin",
    "evaluate",
]

DEFAULT_MARGINS = tuple(np.round(np.arange(0.0, 0.51, 0.02), 2).tolist())


def knn_predict(neighbor_labels: np.ndarray, k: int) -> np.ndarray:
    """Majority label among the first k columns of `neighbor_labels` `[Q, >=k]` (ranked).

    Ties go to the tied class whose first member ranks highest. Returns int64 `[Q]`.
    """
    top = np.asarray(neighbor_labels)[:, :k].astype(np.int64)
    classes = int(top.max()) + 1
    counts = np.zeros((len(top), classes), np.int64)
    first = np.full((len(top), classes), k, np.int64)
    rows = np.arange(len(top))
    for rank in range(k - 1, -1, -1):
        np.add.at(counts, (rows, top[:, rank]), 1)
        first[rows, top[:, rank]] = rank
    return np.argmax(counts * (k + 1) - first, axis=1)


def knn_accuracy(neighbor_labels: np.ndarray, query_labels: np.ndarray, k: int) -> float:
    """Share of queries whose kNN majority label (see `knn_predict`) is their own."""
    return float(np.mean(knn_predict(neighbor_labels, k) == np.asarray(query_labels)))


def recall_at_k(neighbor_labels: np.ndarray, query_labels: np.ndarray, k: int) -> float:
    """Share of queries with a same-label item among their k nearest."""
    hits = np.asarray(neighbor_labels)[:, :k] == np.asarray(query_labels)[:, None]
    return float(np.mean(hits.any(axis=1)))


def map_at_r(neighbor_labels: np.ndarray, query_labels: np.ndarray, r: np.ndarray) -> float:
    """mAP@R from ranked neighbour labels `[Q, >= max R]` and each query's R `[Q]`."""
    query_labels = np.asarray(query_labels)
    r = np.asarray(r, np.int64)
    width = int(r.max())
    relevant = np.asarray(neighbor_labels)[:, :width] == query_labels[:, None]
    ranks = np.arange(1, width + 1)
    relevant &= ranks[None, :] <= r[:, None]
    precision = np.cumsum(relevant, axis=1) / ranks[None, :]
    scores = np.sum(precision * relevant, axis=1) / np.maximum(r, 1)
    return float(np.mean(scores[r > 0]))


def sample_triplets(labels: np.ndarray, num_triplets: int, seed: int = 0) -> np.ndarray:
    """Seeded `(anchor, positive, negative)` row triplets, int64 `[num_triplets, 3]`.

    The anchor is uniform over rows whose class has another member; the positive uniform
    over the other rows of its class, the negative uniform over rows of other classes.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise ValueError("triplets need at least two classes.")
    by_class = [np.flatnonzero(inverse == c) for c in range(len(classes))]
    eligible = np.flatnonzero(counts[inverse] >= 2)
    anchors = rng.choice(eligible, num_triplets)
    anchor_class = inverse[anchors]
    positives = np.empty(num_triplets, np.int64)
    negatives = np.empty(num_triplets, np.int64)
    for c, members in enumerate(by_class):
        where = np.flatnonzero(anchor_class == c)
        if not len(where):
            continue
        # Draw among the other members: a draw at or after the anchor's place shifts by one.
        position = np.searchsorted(members, anchors[where])
        draw = rng.integers(0, len(members) - 1, len(where))
        positives[where] = members[draw + (draw >= position)]
        others = np.flatnonzero(inverse != c)
        negatives[where] = others[rng.integers(0, len(others), len(where))]
    return np.stack([anchors, positives, negatives], axis=1)


def _distance(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return 1.0 - np.einsum("ij,ij->i", a, b)
    return np.einsum("ij,ij->i", a - b, a - b)


def triplet_margins(embeddings: np.ndarray, triplets: np.ndarray, metric: str = "cosine"):
    """`d(a, n) - d(a, p)` per triplet, float `[T]` (positive = ranked correctly)."""
    embeddings = np.asarray(embeddings, np.float32)
    a, p, n = (embeddings[triplets[:, i]] for i in range(3))
    return _distance(a, n, metric) - _distance(a, p, metric)


def recall_vs_margin(margins: np.ndarray, thresholds=DEFAULT_MARGINS) -> np.ndarray:
    """Share of triplets with margin >= each threshold, float `[len(thresholds)]`."""
    margins = np.asarray(margins)
    return np.array([np.mean(margins >= t) for t in thresholds])


def evaluate(
    train_embeddings: np.ndarray,
    train_labels: np.ndarray,
    test_embeddings: np.ndarray,
    test_labels: np.ndarray,
    knn_ks=(1, 10),
    recall_ks=(1, 5, 10),
    num_triplets: int = 20000,
    triplet_seed: int = 0,
    margins=DEFAULT_MARGINS,
    metric: str = "cosine",
    backend: str = "auto",
    index: EmbeddingIndex | None = None,
) -> dict:
    """All retrieval metrics of one embedding, as a dict of floats.

    Args:
      train_embeddings, train_labels: the indexed (reference) set, `[N, D]` and `[N]`.
      test_embeddings, test_labels: the queries, `[Q, D]` and `[Q]`.
      knn_ks: k of the kNN accuracies.
      recall_ks: k of recall@k.
      num_triplets, triplet_seed: the test triplets (see `sample_triplets`).
      margins: the recall-vs-margin thresholds.
      metric: 'cosine' or 'l2' (squared distances).
      backend: the `EmbeddingIndex` backend ('auto', 'numpy', 'faiss').
      index: an existing index of the training embeddings to search instead of a new one.

    Returns:
      `{'knn@1', 'knn@10', 'recall@1', 'recall@5', 'recall@10', 'map@r',
      'triplet_accuracy', 'recall@margin=0.1', 'margins', 'recall_vs_margin'}` (the last two
      lists); accuracies are fractions in [0, 1].
    """
    train_labels = np.asarray(train_labels)
    test_labels = np.asarray(test_labels)
    if index is None:
        index = EmbeddingIndex(train_embeddings, train_labels, metric=metric, backend=backend)
    k_max = max(max(knn_ks), max(recall_ks))
    _, rows = index.search(test_embeddings, k_max)
    neighbor_labels = train_labels[rows]
    results = {}
    for k in knn_ks:
        results[f"knn@{k}"] = knn_accuracy(neighbor_labels, test_labels, k)
    for k in recall_ks:
        results[f"recall@{k}"] = recall_at_k(neighbor_labels, test_labels, k)
    # mAP@R: leave-one-out over the test set.
    test_index = EmbeddingIndex(test_embeddings, metric=metric, backend=backend)
    counts = np.unique(test_labels, return_inverse=True, return_counts=True)
    r = counts[2][counts[1]] - 1
    _, test_rows = test_index.search(test_embeddings, int(r.max()), exclude=np.arange(len(r)))
    results["map@r"] = map_at_r(test_labels[test_rows], test_labels, r)
    triplets = sample_triplets(test_labels, num_triplets, triplet_seed)
    triplet_gaps = triplet_margins(test_embeddings, triplets, metric)
    results["triplet_accuracy"] = float(np.mean(triplet_gaps > 0))
    results["recall@margin=0.1"] = float(np.mean(triplet_gaps >= 0.1))
    results["margins"] = [float(m) for m in margins]
    results["recall_vs_margin"] = recall_vs_margin(triplet_gaps, margins).tolist()
    return results
