"""Labels of packed seeds: -1 marks an unlabeled seed that carries only the graph term."""

from __future__ import annotations

import keras
import tensorflow as tf

from graphnsl.lib.compile_defaults import FastCompileDefaults


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


def _masked(data):
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    y, sample_weight = mask_unlabeled(y, sample_weight)
    return x, y, sample_weight


class MaskUnlabeledSteps(FastCompileDefaults):
    """Mixin for a `keras.Model`: `fit` and `evaluate` apply `mask_unlabeled` to each batch.

    Put it before `keras.Model` in the bases; the steps are Keras' own after the masking.
    `compile()` gets `FastCompileDefaults`' defaults (XLA, 32 steps per execution) for the
    arguments the user leaves out.
    """

    def train_step(self, data):
        return super().train_step(_masked(data))

    def test_step(self, data):
        return super().test_step(_masked(data))
