"""Distances between batches of tensors, with NSL's semantics, on TensorFlow 2 ops.

`pairwise_distance_wrapper` gives the same value as NSL 1.4.0's function of that name for
every distance type, transform, reduction and `sum_over_axis`. The reductions follow
`tf.compat.v1.losses.compute_weighted_loss`: the per-element distance is multiplied by the
weights (broadcast to its shape), then summed and divided by

  - SUM: 1;  SUM_OVER_BATCH_SIZE: the number of elements;
  - MEAN: the sum of the broadcast weights;
  - SUM_BY_NONZERO_WEIGHTS: the number of elements whose broadcast weight is non-zero;
  - NONE: no reduction (the weighted per-element distance is returned).
"""

from __future__ import annotations

import tensorflow as tf

from graphnsl.configs import DistanceConfig, DistanceType, Reduction, TransformType

_EPSILON = 1e-7  # keeps log() finite where a probability is zero, as NSL does


def _broadcast_weights(weights: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
    weights = tf.cast(tf.convert_to_tensor(weights), tf.float32)
    rank, loss_rank = weights.shape.rank, losses.shape.rank
    if rank not in (0, None) and loss_rank is not None and rank != loss_rank:
        raise ValueError(
            f"weights of shape {weights.shape} must be a scalar or have the rank of the "
            f"distance, shape {losses.shape}."
        )
    return tf.broadcast_to(weights, tf.shape(losses))


def compute_weighted_loss(
    losses: tf.Tensor, weights=1.0, reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS
):
    """Weights and reduces `losses` as `tf.compat.v1.losses.compute_weighted_loss` does.

    Args:
      losses: float `Tensor` of any shape `[d1, ..., dN]`.
      weights: scalar or `Tensor` of rank N broadcastable to `losses`.
      reduction: a `Reduction` string.

    Returns:
      A scalar float32 `Tensor`, or with `Reduction.NONE` the weighted losses, shape `[d1, ..., dN]`.
    """
    Reduction.validate(reduction)
    losses = tf.cast(losses, tf.float32)
    weights = _broadcast_weights(weights, losses)
    weighted = losses * weights
    if reduction == Reduction.NONE:
        return weighted
    total = tf.reduce_sum(weighted)
    if reduction == Reduction.SUM:
        return total
    if reduction == Reduction.MEAN:
        return tf.math.divide_no_nan(total, tf.reduce_sum(weights))
    if reduction == Reduction.SUM_OVER_BATCH_SIZE:
        return tf.math.divide_no_nan(total, tf.cast(tf.size(losses), tf.float32))
    present = tf.reduce_sum(tf.cast(tf.not_equal(weights, 0.0), tf.float32))
    return tf.math.divide_no_nan(total, present)


def _check_axis(rank: int | None, axis: int | None) -> None:
    if axis is not None and rank is not None and not -rank <= axis < rank:
        raise ValueError(
            f"sum_over_axis={axis} is not in [{-rank}, {rank}) for a rank-{rank} input."
        )


def _kl_terms(true_dist: tf.Tensor, predicted_dist: tf.Tensor) -> tf.Tensor:
    return true_dist * (tf.math.log(true_dist + _EPSILON) - tf.math.log(predicted_dist + _EPSILON))


def _probability_asserts(tensor: tf.Tensor, axis: int) -> list:
    return [
        tf.debugging.assert_non_negative(tensor, message="distribution has a negative value"),
        tf.debugging.assert_near(
            tf.reduce_sum(tensor, axis=axis),
            tf.constant(1.0),
            message="sources and/or targets are not probability distributions",
        ),
    ]


def _elementwise_distance(sources, targets, distance_type: DistanceType, axis):
    """The per-element (L1, L2) or per-vector (others, keepdims over `axis`) distance."""
    if distance_type == DistanceType.L1:
        return tf.abs(targets - sources)
    if distance_type == DistanceType.L2:
        return tf.square(targets - sources)
    if axis is None:
        raise ValueError(f"distance_type={distance_type.value!r} needs sum_over_axis to be set.")
    if distance_type == DistanceType.COSINE:
        sources = tf.nn.l2_normalize(sources, axis=axis)
        targets = tf.nn.l2_normalize(targets, axis=axis)
        return 1.0 - tf.reduce_sum(sources * targets, axis=axis, keepdims=True)
    with tf.control_dependencies(
        _probability_asserts(sources, axis) + _probability_asserts(targets, axis)
    ):
        if distance_type == DistanceType.KL_DIVERGENCE:
            terms = _kl_terms(sources, targets)
        else:
            means = 0.5 * (sources + targets)
            terms = 0.5 * _kl_terms(sources, means) + 0.5 * _kl_terms(targets, means)
        return tf.reduce_sum(terms, axis=axis, keepdims=True)


def _transform(tensor: tf.Tensor, transform: TransformType, axis: int | None) -> tf.Tensor:
    if transform == TransformType.SOFTMAX:
        return tf.nn.softmax(tensor, axis=-1 if axis is None else axis)
    if transform == TransformType.SIGMOID:
        return tf.sigmoid(tensor)
    return tensor


def pairwise_distance_wrapper(
    sources, targets, weights=1.0, distance_config: DistanceConfig | None = None
):
    """Weighted distance between `sources` and `targets`, reduced per `distance_config`.

    `distance = reduce(weights * distance_type(sources, targets))`. With `sum_over_axis` set,
    L1 and L2 are summed within each vector along that axis (so MEAN-like reductions average
    over vectors, not elements); cosine, KL and Jensen-Shannon always reduce along that axis
    and require it. Example, L2 between [[1, 1], [2, 2], [0, 2], [5, 5]] and
    [[1, 1], [0, 2], [4, 4], [1, 4]]: 10.25 with `sum_over_axis=-1`, 5.125 without.

    Args:
      sources: float `Tensor` `[batch, ..., dim]`.
      targets: float `Tensor`, the same shape.
      weights: scalar or `Tensor` of the same rank, broadcastable to the distance; with
        `sum_over_axis` its size along that axis must be 1.
      distance_config: a `DistanceConfig`; None means the default (L2, SUM_BY_NONZERO_WEIGHTS).

    Returns:
      A scalar float32 `Tensor`, or with reduction NONE the weighted distances.
    """
    config = distance_config if distance_config is not None else DistanceConfig()
    sources = tf.cast(tf.convert_to_tensor(sources), tf.float32)
    targets = tf.cast(tf.convert_to_tensor(targets), tf.float32)
    if not sources.shape.is_compatible_with(targets.shape):
        raise ValueError(
            f"sources shape {sources.shape} does not match targets shape {targets.shape}."
        )
    axis = config.sum_over_axis
    sources = _transform(sources, config.transform_fn, axis)
    targets = _transform(targets, config.transform_fn, axis)
    _check_axis(sources.shape.rank, axis)
    losses = _elementwise_distance(sources, targets, config.distance_type, axis)
    distance = compute_weighted_loss(losses, weights, config.reduction)
    summed_within_vectors = config.distance_type in (DistanceType.L1, DistanceType.L2)
    averaging = config.reduction in (
        Reduction.MEAN,
        Reduction.SUM_BY_NONZERO_WEIGHTS,
        Reduction.SUM_OVER_BATCH_SIZE,
    )
    if axis is not None and summed_within_vectors and averaging:
        # The average ran over every element; scale by the axis length to average vectors.
        weight_shape = tf.convert_to_tensor(weights).shape
        if weight_shape.rank and weight_shape[axis] not in (1, None):
            raise ValueError(
                f"weights of shape {weight_shape} must have size 1 along sum_over_axis={axis}."
            )
        distance = distance * tf.cast(tf.shape(sources)[axis], tf.float32)
    return distance
