"""Pure TensorFlow functions (no Keras state): distances and graph utilities."""

from graphnsl.lib.distances import compute_weighted_loss, pairwise_distance_wrapper

__all__ = ["compute_weighted_loss", "pairwise_distance_wrapper"]
