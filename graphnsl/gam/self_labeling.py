"""Self-labeling: pick the unlabeled nodes the classifier is most confident about."""

from __future__ import annotations

import numpy as np


def label_proportions(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Returns each class's share among `labels` (int `[n]`) as float `[num_classes]`."""
    counts = np.bincount(np.asarray(labels, np.int64), minlength=num_classes)[:num_classes]
    return counts / max(int(counts.sum()), 1)


def predicted_proportions(probabilities: np.ndarray, num_classes: int) -> np.ndarray:
    """Returns each class's share among the argmax predictions, float `[num_classes]`.

    Args:
      probabilities: float `[n, num_classes]` class probabilities (or logits).
      num_classes: number of classes.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != num_classes:
        raise ValueError(
            f"probabilities has shape {probabilities.shape}; expected [n, {num_classes}]."
        )
    return label_proportions(probabilities.argmax(axis=-1), num_classes)


def self_labels_to_keep(
    probabilities: np.ndarray, labels: np.ndarray, min_confidence: float = 0.0
) -> np.ndarray:
    """Says which self-labels the classifier still stands by.

    A self-label is kept when the current prediction's argmax equals it and the top
    probability is strictly above `min_confidence` (the rule that selected it).

    Args:
      probabilities: float `[n, num_classes]` current predictions for the self-labeled nodes.
      labels: int `[n]` their self-labels.
      min_confidence: confidence threshold.

    Returns:
      bool `[n]`, True where the label is kept.
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels, np.int64)
    if probabilities.shape[0] != labels.shape[0]:
        raise ValueError(
            f"probabilities has {probabilities.shape[0]} rows but labels has {labels.shape[0]}."
        )
    if probabilities.shape[0] == 0:
        return np.zeros((0,), bool)
    agree = probabilities.argmax(axis=-1) == labels
    return agree & (probabilities.max(axis=-1) > min_confidence)


def combine_with_neighbor_votes(
    probabilities: np.ndarray,
    candidates: np.ndarray,
    pairs: np.ndarray,
    agreement: np.ndarray,
    labels: np.ndarray,
    clip: float = 0.01,
) -> np.ndarray:
    """Multiplies each candidate's class probabilities by its labeled neighbours' votes.

    Each pair (labeled node l, candidate u) with agreement a (the agreement model's
    probability that l and u share a label) is evidence about u's class: likelihood a for
    l's label, (1 - a) / (K - 1) for each other class, K the number of classes. The
    candidate's probabilities are multiplied by the likelihoods of all its pairs (neighbours
    treated as independent) and renormalized; candidates without pairs are unchanged.

    Args:
      probabilities: float `[num_candidates, K]` the classifier's probabilities.
      candidates: int `[num_candidates]` node ids (distinct).
      pairs: int `[num_pairs, 2]` (labeled node, other node) pairs; pairs whose second node
        is not a candidate are ignored.
      agreement: float `[num_pairs]` agreement probabilities, clipped to [clip, 1 - clip].
      labels: int `[num_nodes]` labels of all nodes (read at the pairs' labeled ends).
      clip: keeps a vote from ruling a class out entirely.

    Returns:
      float `[num_candidates, K]` combined probabilities (rows sum to 1).
    """
    probabilities = np.asarray(probabilities, np.float64)
    candidates = np.asarray(candidates, np.int64)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    agreement = np.asarray(agreement, np.float64).reshape(-1)
    if probabilities.shape[0] != candidates.shape[0]:
        raise ValueError(
            f"probabilities has {probabilities.shape[0]} rows but candidates has "
            f"{candidates.shape[0]} ids."
        )
    if agreement.shape[0] != pairs.shape[0]:
        raise ValueError(f"agreement has {agreement.shape[0]} values for {pairs.shape[0]} pairs.")
    num_classes = probabilities.shape[1]
    row_of = {int(node): row for row, node in enumerate(candidates)}
    log_q = np.log(np.maximum(probabilities, 1e-12))
    agreement = np.clip(agreement, clip, 1.0 - clip)
    for (labeled, node), a in zip(pairs, agreement, strict=True):
        row = row_of.get(int(node))
        if row is None:
            continue
        likelihood = np.full(num_classes, (1.0 - a) / max(num_classes - 1, 1))
        likelihood[int(labels[labeled])] = a
        log_q[row] += np.log(likelihood)
    log_q -= log_q.max(axis=1, keepdims=True)
    q = np.exp(log_q)
    return q / q.sum(axis=1, keepdims=True)


def select_samples_to_label(
    probabilities: np.ndarray,
    candidates: np.ndarray,
    num_samples: int,
    min_confidence: float = 0.0,
    proportions: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Chooses nodes to self-label and their labels, most confident first.

    Confidence is a node's largest class probability; only nodes with confidence strictly
    above `min_confidence` qualify. Without `proportions`, the `num_samples` most confident
    qualifying nodes are taken. With `proportions` (the original label shares), class c gets
    the `int(proportions[c] * num_samples)` most confident nodes predicted as c (fewer if
    fewer qualify), so the labeled set keeps its class balance. Ties keep candidate order.

    Args:
      probabilities: float `[num_candidates, num_classes]` predictions for the candidates.
      candidates: int `[num_candidates]` node ids.
      num_samples: how many nodes to label at most.
      min_confidence: confidence threshold.
      proportions: float `[num_classes]` class shares, or None.

    Returns:
      `(nodes, labels)`: int64 `[k]` node ids and their predicted labels, k <= num_samples.
    """
    probabilities = np.asarray(probabilities)
    candidates = np.asarray(candidates, np.int64)
    if probabilities.shape[0] != candidates.shape[0]:
        raise ValueError(
            f"probabilities has {probabilities.shape[0]} rows but candidates has "
            f"{candidates.shape[0]} ids."
        )
    empty = np.zeros((0,), np.int64)
    if candidates.size == 0 or num_samples <= 0:
        return empty, empty
    predicted = probabilities.argmax(axis=-1).astype(np.int64)
    confidence = probabilities.max(axis=-1)
    order = np.argsort(-confidence, kind="stable")
    order = order[confidence[order] > min_confidence]
    if proportions is None:
        chosen = order[:num_samples]
        return candidates[chosen], predicted[chosen]
    nodes, labels = [], []
    for label, share in enumerate(np.asarray(proportions, np.float64)):
        quota = int(share * num_samples)
        if quota <= 0:
            continue
        of_class = order[predicted[order] == label][:quota]
        nodes.append(candidates[of_class])
        labels.append(predicted[of_class])
    if not nodes:
        return empty, empty
    return np.concatenate(nodes), np.concatenate(labels)
