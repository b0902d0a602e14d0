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
