"""Metric-learning losses as Keras 3 losses: triplet (semi-hard, batch-hard) and contrastive.

The definitions are those TF Addons documented (`tfa.losses.TripletSemiHardLoss`,
`TripletHardLoss`, `ContrastiveLoss`), written anew in TensorFlow ops that compile under XLA
(`jit_compile=True`): no Python control flow on tensor values, fixed-shape masks.

Each loss takes integer class labels `y_true` `[B]` (or `[B, 1]`) and embeddings `y_pred`
`[B, D]`, and measures distances with `distance_metric`:

- `'L2'`: Euclidean distance `||a - b||`;
- `'squared-L2'`: `||a - b||^2`;
- `'angular'`: cosine distance `1 - a.b / (||a|| ||b||)`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = [
    "DISTANCE_METRICS",
    "pairwise_distances",
    "contrastive_loss",
    "TripletSemiHardLoss",
    "TripletHardLoss",
    "ContrastiveLoss",
]

DISTANCE_METRICS = ("L2", "squared-L2", "angular")


def _check_metric(distance_metric: str) -> str:
    if distance_metric not in DISTANCE_METRICS:
        raise ValueError(
            f"distance_metric={distance_metric!r} is not supported; valid: "
            f"{', '.join(map(repr, DISTANCE_METRICS))}."
        )
    return distance_metric


def pairwise_distances(embeddings: tf.Tensor, distance_metric: str = "L2") -> tf.Tensor:
    """All pairwise distances within a batch, with a zero diagonal.

    Args:
      embeddings: float `[B, D]`.
      distance_metric: 'L2', 'squared-L2' or 'angular' (see the module docstring).

    Returns:
      float32 `[B, B]`, symmetric, zero on the diagonal, never negative. The square root of
      'L2' has a finite gradient at zero distance (the zero entries are not differentiated).
    """
    _check_metric(distance_metric)
    x = tf.cast(embeddings, tf.float32)
    size = tf.shape(x)[0]
    off_diagonal = 1.0 - tf.eye(size, dtype=tf.float32)
    if distance_metric == "angular":
        x = tf.math.l2_normalize(x, axis=1)
        return tf.maximum(1.0 - tf.matmul(x, x, transpose_b=True), 0.0) * off_diagonal
    squared_norms = tf.reduce_sum(tf.square(x), axis=1)
    squared = (
        squared_norms[:, None] + squared_norms[None, :] - 2.0 * tf.matmul(x, x, transpose_b=True)
    )
    squared = tf.maximum(squared, 0.0) * off_diagonal
    if distance_metric == "squared-L2":
        return squared
    zero = tf.equal(squared, 0.0)
    # sqrt(0) has an infinite gradient: take the root of 1 there and zero it afterwards.
    return tf.sqrt(tf.where(zero, tf.ones_like(squared), squared)) * tf.cast(
        tf.logical_not(zero), tf.float32
    )


def _labels(y_true: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.cast(y_true, tf.int64), [-1])


def _masked_max(data: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Row-wise max of `data` where `mask` is 1; the row's min where the mask is empty."""
    row_min = tf.reduce_min(data, axis=1, keepdims=True)
    return tf.reduce_max((data - row_min) * mask, axis=1, keepdims=True) + row_min


def _masked_min(data: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Row-wise min of `data` where `mask` is 1; the row's max where the mask is empty."""
    row_max = tf.reduce_max(data, axis=1, keepdims=True)
    return tf.reduce_min((data - row_max) * mask, axis=1, keepdims=True) + row_max


class _EmbeddingLoss(keras.losses.Loss):
    """Shared config of the losses: margin and distance metric."""

    def __init__(self, margin: float = 1.0, distance_metric: str = "L2", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)
        self.distance_metric = _check_metric(distance_metric)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(margin=self.margin, distance_metric=self.distance_metric)
        return config

    def _batch_pairs(self, y_true, y_pred):
        """`(distances [B, B], same [B, B] bool: labels agree, B)` of one batch."""
        labels = _labels(y_true)
        distances = pairwise_distances(y_pred, self.distance_metric)
        same = tf.equal(labels[:, None], labels[None, :])
        return distances, same, tf.shape(distances)[0]


@keras.saving.register_keras_serializable(package="graphnsl")
class TripletSemiHardLoss(_EmbeddingLoss):
    """Triplet loss with semi-hard negative mining (FaceNet; TF Addons' definition).

    For every anchor `a` and positive `p` (same label, `p != a`) in the batch, the negative is
    the closest `n` (other label) that is still farther than the positive, `d(a,n) > d(a,p)`;
    when no negative is farther, the farthest negative of `a` is used. The loss is

      `sum_{a,p} max(d(a,p) - d(a,n) + margin, 0) / #(a,p)`,

    and 0 for a batch without any positive pair.

    Args:
      margin: the margin, default 1.0.
      distance_metric: 'L2' (default), 'squared-L2' or 'angular'.
      name, reduction, dtype: `keras.losses.Loss` arguments (the loss is already a scalar).

    Call: `y_true` int `[B]` or `[B, 1]` labels, `y_pred` float `[B, D]` embeddings -> scalar.

    Example:
      >>> model.compile('adam', loss=TripletSemiHardLoss(margin=0.2, distance_metric='angular'))
    """

    def __init__(
        self, margin: float = 1.0, distance_metric: str = "L2", name="triplet_semihard_loss", **kw
    ):
        super().__init__(margin, distance_metric, name=name, **kw)

    def call(self, y_true, y_pred):
        distances, same, size = self._batch_pairs(y_true, y_pred)
        positives = tf.cast(same, tf.float32) - tf.eye(size, dtype=tf.float32)
        negatives = tf.cast(tf.logical_not(same), tf.float32)
        # Row a * B + p of the tiled matrices belongs to the pair (anchor a, positive p):
        # candidates[a*B+p, n] = d(a, n), and the semi-hard mask keeps d(a, n) > d(a, p).
        candidates = tf.repeat(distances, size, axis=0)
        positive_distance = tf.reshape(distances, [-1, 1])
        semi_hard = tf.repeat(negatives, size, axis=0) * tf.cast(
            candidates > positive_distance, tf.float32
        )
        has_semi_hard = tf.reduce_sum(semi_hard, axis=1, keepdims=True) > 0.0
        closest_farther = _masked_min(candidates, semi_hard)
        farthest = tf.repeat(_masked_max(distances, negatives), size, axis=0)
        negative_distance = tf.where(has_semi_hard, closest_farther, farthest)
        losses = tf.maximum(positive_distance - negative_distance + self.margin, 0.0)
        losses = losses * tf.reshape(positives, [-1, 1])
        return tf.math.divide_no_nan(tf.reduce_sum(losses), tf.reduce_sum(positives))


@keras.saving.register_keras_serializable(package="graphnsl")
class TripletHardLoss(_EmbeddingLoss):
    """Batch-hard triplet loss (Hermans et al. 2017; TF Addons' definition).

    For every anchor `a` in the batch, the hardest positive is the farthest `p != a` with its
    label and the hardest negative the closest `n` with another label. Per anchor

      `max(d(a,p) - d(a,n) + margin, 0)`, or with `soft=True` `log(1 + exp(d(a,p) - d(a,n)))`,

    averaged over all anchors. As in TF Addons, an anchor without a positive counts with a
    positive distance of 0.

    Args:
      margin: the margin, default 1.0 (unused with `soft=True`).
      soft: the soft-margin variant.
      distance_metric: 'L2' (default), 'squared-L2' or 'angular'.
      name, reduction, dtype: `keras.losses.Loss` arguments.

    Call: `y_true` int `[B]` labels, `y_pred` float `[B, D]` embeddings -> scalar.
    """

    def __init__(
        self,
        margin: float = 1.0,
        soft: bool = False,
        distance_metric: str = "L2",
        name="triplet_hard_loss",
        **kw,
    ):
        super().__init__(margin, distance_metric, name=name, **kw)
        self.soft = bool(soft)

    def call(self, y_true, y_pred):
        distances, same, size = self._batch_pairs(y_true, y_pred)
        positives = tf.cast(same, tf.float32) - tf.eye(size, dtype=tf.float32)
        negatives = tf.cast(tf.logical_not(same), tf.float32)
        hardest_positive = _masked_max(distances, positives)
        hardest_negative = _masked_min(distances, negatives)
        gap = hardest_positive - hardest_negative
        losses = tf.math.log1p(tf.exp(gap)) if self.soft else tf.maximum(gap + self.margin, 0.0)
        return tf.reduce_mean(losses)

    def get_config(self) -> dict:
        config = super().get_config()
        config["soft"] = self.soft
        return config


def contrastive_loss(similar: tf.Tensor, distances: tf.Tensor, margin: float = 1.0) -> tf.Tensor:
    """TF Addons' per-pair contrastive loss (Hadsell, Chopra & LeCun 2006).

    Args:
      similar: `[N]` 1 for a similar pair, 0 for a dissimilar one.
      distances: float `[N]` distances between the pairs' two embeddings.
      margin: dissimilar pairs closer than this are penalized.

    Returns:
      float32 `[N]`: `similar * d^2 + (1 - similar) * max(margin - d, 0)^2`.
    """
    similar = tf.cast(similar, tf.float32)
    distances = tf.cast(distances, tf.float32)
    return similar * tf.square(distances) + (1.0 - similar) * tf.square(
        tf.maximum(margin - distances, 0.0)
    )


@keras.saving.register_keras_serializable(package="graphnsl")
class ContrastiveLoss(_EmbeddingLoss):
    """Contrastive (siamese) loss over every pair in the batch, per TF Addons' definition.

    Every unordered pair `i < j` is a pair: similar when the labels agree. The loss is the mean
    of `contrastive_loss(similar_ij, d(i, j), margin)` over the `B (B - 1) / 2` pairs.

    Args:
      margin: dissimilar pairs closer than this are pushed apart; default 1.0.
      distance_metric: 'L2' (default), 'squared-L2' or 'angular'.
      name, reduction, dtype: `keras.losses.Loss` arguments.

    Call: `y_true` int `[B]` labels, `y_pred` float `[B, D]` embeddings -> scalar.
    """

    def __init__(
        self, margin: float = 1.0, distance_metric: str = "L2", name="contrastive_loss", **kw
    ):
        super().__init__(margin, distance_metric, name=name, **kw)

    def call(self, y_true, y_pred):
        distances, same, size = self._batch_pairs(y_true, y_pred)
        similar = tf.cast(same, tf.float32)
        upper = tf.linalg.band_part(tf.ones([size, size]), 0, -1) - tf.eye(size)
        losses = contrastive_loss(similar, distances, self.margin) * upper
        return tf.math.divide_no_nan(tf.reduce_sum(losses), tf.reduce_sum(upper))
