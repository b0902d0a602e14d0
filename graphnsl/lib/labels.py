"""Labels of packed seeds: -1 marks an unlabeled seed that carries only the graph term."""

from __future__ import annotations

import tensorflow as tf


def mask_unlabeled(y, sample_weight):
    """Zero weight for rows with a negative integer label; the rest averaged as if alone.

    A packed example without a label reads as label -1 (`graphnsl.data.make_dataset`). Such a
    row keeps its graph term but gets sample weight 0, and the labeled rows' weights are
    scaled by `B / num_labeled`, so a loss averaged over the batch (Keras'
    `sum_over_batch_size`) is the average over the labeled rows only.

    Args:
      y: labels `[B]` or `[B, ...]`; anything but an integer tensor is returned unchanged.
      sample_weight: None or `[B]` (or `[B, ...]`) weights.

    Returns:
      `(y, sample_weight)` with negative labels replaced by 0 and the weights above.
    """
    if not isinstance(y, tf.Tensor) or not y.dtype.is_integer:
        return y, sample_weight
    labeled = tf.greater_equal(y, 0)
    if y.shape.rank is not None and y.shape.rank > 1:
        labeled = tf.reduce_all(labeled, axis=list(range(1, y.shape.rank)))
    y = tf.where(tf.greater_equal(y, 0), y, tf.zeros_like(y))
    labeled = tf.cast(labeled, tf.float32)
    rows = tf.cast(tf.shape(labeled)[0], tf.float32)
    weight = labeled * tf.math.divide_no_nan(rows, tf.reduce_sum(labeled))
    if sample_weight is not None:
        sample_weight = tf.cast(sample_weight, tf.float32)
        extra = sample_weight.shape.rank - 1 if sample_weight.shape.rank else 0
        weight = tf.reshape(weight, [-1] + [1] * extra) * sample_weight
    return y, weight
