"""`NeighborFeatures`: splits a batch of packed features into samples, neighbours and weights."""

from __future__ import annotations

import keras
import tensorflow as tf

from graphnsl.configs import GraphNeighborConfig

NUM_NEIGHBORS_KEY = "NL_num_nbrs"  # written by pack_nbrs; not a model feature


def _neighbor_config_to_dict(config: GraphNeighborConfig) -> dict:
    return {
        "prefix": config.prefix,
        "weight_suffix": config.weight_suffix,
        "max_neighbors": config.max_neighbors,
    }


def is_neighbor_key(key: str, neighbor_config: GraphNeighborConfig) -> bool:
    """Whether `key` names a neighbour feature, a neighbour weight or the neighbour count."""
    return key.startswith(neighbor_config.prefix) or key == NUM_NEIGHBORS_KEY


def sample_features_only(inputs, neighbor_config: GraphNeighborConfig):
    """`inputs` without its neighbour keys (a dict), or `inputs` itself when not a dict."""
    if not isinstance(inputs, dict):
        return inputs
    return {k: v for k, v in inputs.items() if not is_neighbor_key(k, neighbor_config)}


@keras.saving.register_keras_serializable(package="graphnsl")
class NeighborFeatures(keras.layers.Layer):
    """Splits packed features into sample features, neighbour features and neighbour weights.

    A packed batch (from `graphnsl.data.make_dataset` with a `GraphNeighborConfig`, or NSL's
    `pack_nbrs`) holds, for each sample feature `F` of shape `[B, d1, ..., dn]`, the neighbour
    features `NL_nbr_<i>_F` of the same shape and weights `NL_nbr_<i>_weight` of shape `[B, 1]`
    for `i < max_neighbors`. The layer returns the neighbours interleaved by sample, as NSL's
    `unpack_neighbor_features` does: row `b * K + i` is neighbour `i` of sample `b`.

    Args:
      neighbor_config: a `GraphNeighborConfig`; None means the default (0 neighbours).
      feature_names: the sample features that have neighbours; None means every key that
        is not a neighbour key (`NL_nbr_...`, `NL_num_nbrs`).
      **kwargs: `keras.layers.Layer` arguments (`name`, ...).

    Call arguments:
      inputs: dict of name -> `Tensor` `[B, ...]`.

    Returns:
      `(sample_features, neighbor_features, neighbor_weights)`: a dict of the sample features
      (shapes unchanged), a dict with the same keys of `[B * K, d1, ..., dn]` tensors, and
      float32 weights `[B * K, 1]`. With `max_neighbors=0`: `({...}, {}, None)`.

    Raises:
      KeyError: a neighbour feature or weight is missing; the message names the key.
      ValueError: a neighbour feature's shape differs from its sample feature's, or a
        weight is not `[B, 1]` (or `[B]`); the message names the key.

    Example:
      >>> layer = NeighborFeatures(GraphNeighborConfig(max_neighbors=2))
      >>> samples, neighbors, weights = layer(packed_batch)
    """

    def __init__(
        self,
        neighbor_config: GraphNeighborConfig | None = None,
        feature_names: list[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if neighbor_config is None:
            neighbor_config = GraphNeighborConfig()
        if isinstance(neighbor_config, dict):
            neighbor_config = GraphNeighborConfig(**neighbor_config)
        if not isinstance(neighbor_config, GraphNeighborConfig):
            raise ValueError(
                f"neighbor_config must be a GraphNeighborConfig, got {neighbor_config!r}."
            )
        self.neighbor_config = neighbor_config
        self.feature_names = None if feature_names is None else list(feature_names)

    def _sample_names(self, inputs: dict) -> list[str]:
        if self.feature_names is not None:
            missing = [name for name in self.feature_names if name not in inputs]
            if missing:
                raise KeyError(
                    f"sample feature {missing[0]!r} is missing from the inputs; "
                    f"keys present: {sorted(inputs)}."
                )
            return list(self.feature_names)
        return [k for k in inputs if not is_neighbor_key(k, self.neighbor_config)]

    def _get(self, inputs: dict, key: str) -> tf.Tensor:
        if key not in inputs:
            raise KeyError(
                f"neighbour key {key!r} is missing from the inputs (max_neighbors="
                f"{self.neighbor_config.max_neighbors}); pack neighbours with "
                f"graphnsl.data.pack_nbrs and read them with make_dataset(..., "
                f"neighbor_config=...). Keys present: {sorted(inputs)}."
            )
        value = inputs[key]
        if isinstance(value, (tf.SparseTensor, tf.RaggedTensor)):
            raise ValueError(f"feature {key!r} must be a dense tensor, got {type(value).__name__}.")
        return tf.convert_to_tensor(value)

    def _weight(self, inputs: dict, index: int) -> tf.Tensor:
        key = self.neighbor_config.weight_key(index)
        weight = tf.cast(self._get(inputs, key), tf.float32)
        if weight.shape.rank == 1:
            weight = tf.expand_dims(weight, -1)
        if weight.shape.rank != 2 or weight.shape[-1] not in (1, None):
            raise ValueError(f"neighbour weight {key!r} has shape {weight.shape}; expected [B, 1].")
        return weight

    def call(self, inputs):
        if not isinstance(inputs, dict):
            raise ValueError(
                f"NeighborFeatures needs a dict of features, got {type(inputs).__name__}."
            )
        num_neighbors = self.neighbor_config.max_neighbors
        sample_features = {}
        neighbor_features = {}
        for name in self._sample_names(inputs):
            sample = self._get(inputs, name)
            sample_features[name] = sample
            if num_neighbors == 0:
                continue
            neighbors = []
            for i in range(num_neighbors):
                key = self.neighbor_config.feature_key(i, name)
                neighbor = self._get(inputs, key)
                if not neighbor.shape.is_compatible_with(sample.shape):
                    raise ValueError(
                        f"neighbour feature {key!r} has shape {neighbor.shape}, but sample "
                        f"feature {name!r} has shape {sample.shape}; they must match."
                    )
                neighbors.append(tf.cast(neighbor, sample.dtype))
            # [B, K, ...] -> [B * K, ...]: row b * K + i is neighbour i of sample b.
            stacked = tf.stack(neighbors, axis=1)
            merged_shape = tf.concat([[-1], tf.shape(sample)[1:]], axis=0)
            merged = tf.reshape(stacked, merged_shape)
            static = sample.shape[1:]
            if static.is_fully_defined():
                merged = tf.ensure_shape(merged, [None] + static.as_list())
            neighbor_features[name] = merged
        if num_neighbors == 0:
            return sample_features, {}, None
        weights = tf.stack([self._weight(inputs, i) for i in range(num_neighbors)], axis=1)
        return sample_features, neighbor_features, tf.reshape(weights, [-1, 1])

    def get_config(self) -> dict:
        config = super().get_config()
        config["neighbor_config"] = _neighbor_config_to_dict(self.neighbor_config)
        config["feature_names"] = self.feature_names
        return config
