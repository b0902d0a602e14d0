"""`PairwiseDistance`: a Keras layer over `graphnsl.lib.distances.pairwise_distance_wrapper`."""

from __future__ import annotations

import keras
import tensorflow as tf

from graphnsl.configs import DistanceConfig
from graphnsl.lib.distances import pairwise_distance_wrapper


def distance_config_to_dict(config: DistanceConfig) -> dict:
    """Plain values of a `DistanceConfig` (enums as strings), for `get_config()`."""
    return {
        "distance_type": config.distance_type.value,
        "reduction": config.reduction,
        "sum_over_axis": config.sum_over_axis,
        "transform_fn": config.transform_fn.value,
    }


def replicate_sources(sources: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Repeats each source row to line up with its neighbours in `targets`.

    Args:
      sources: `[B, d1, ..., dn]`.
      targets: `[B * K, d1, ..., dn]` (neighbour `i` of sample `b` at row `b * K + i`), or
        `[B, K, d1, ..., dn]` (one more axis, at -2 for vectors).

    Returns:
      `sources` with the shape of `targets`.
    """
    sources = tf.convert_to_tensor(sources)
    targets = tf.convert_to_tensor(targets)
    if sources.shape.rank is not None and targets.shape.rank == sources.shape.rank + 1:
        return tf.broadcast_to(tf.expand_dims(sources, axis=-2), tf.shape(targets))
    rows, target_rows = sources.shape[0], targets.shape[0]
    if rows is not None and target_rows is not None:
        if rows == 0 or target_rows % rows:
            raise ValueError(
                f"targets have {target_rows} rows, not a multiple of the {rows} source rows."
            )
        times = target_rows // rows
    else:
        times = tf.shape(targets)[0] // tf.shape(sources)[0]
    return tf.repeat(sources, times, axis=0)


@keras.saving.register_keras_serializable(package="graphnsl")
class PairwiseDistance(keras.layers.Layer):
    """The weighted distance between each sample's output and its neighbours' outputs.

    `distance = reduce(weights * d(transform(s_b), transform(t_{b,i})))` over samples `b` and
    neighbours `i`, with `d`, the transform and the reduction from a `DistanceConfig`
    (NSL's semantics; see `graphnsl.lib.distances.pairwise_distance_wrapper`).

    Args:
      distance_config: a `DistanceConfig`; None means the default (L2, weighted sum by
        non-zero weights).
      **kwargs: `keras.layers.Layer` arguments (`name`, ...).

    Call arguments:
      sources: float `[B, d1, ..., dn]`, the samples' outputs.
      targets: float `[B * K, d1, ..., dn]` (interleaved, as `NeighborFeatures` gives) or
        `[B, K, d1, ..., dn]`, the neighbours' outputs.
      weights: None (all 1), a scalar, or float `[B * K, 1]` (or `[B, K, 1]`).

    Returns:
      A scalar float32 distance (or the weighted distances with reduction NONE).

    Example:
      >>> layer = PairwiseDistance(DistanceConfig(distance_type='l2', sum_over_axis=-1))
      >>> loss = layer(sample_logits, neighbor_logits, neighbor_weights)
    """

    def __init__(self, distance_config: DistanceConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        if distance_config is None:
            distance_config = DistanceConfig()
        if isinstance(distance_config, dict):
            distance_config = DistanceConfig(**distance_config)
        if not isinstance(distance_config, DistanceConfig):
            raise ValueError(f"distance_config must be a DistanceConfig, got {distance_config!r}.")
        self.distance_config = distance_config

    def call(self, sources, targets, weights=None):
        sources = tf.convert_to_tensor(sources)
        targets = tf.convert_to_tensor(targets)
        if weights is None:
            weights = 1.0
        return pairwise_distance_wrapper(
            replicate_sources(sources, targets), targets, weights, self.distance_config
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config["distance_config"] = distance_config_to_dict(self.distance_config)
        return config
