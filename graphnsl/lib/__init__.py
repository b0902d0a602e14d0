"""TensorFlow functions without Keras state: distances, label masking (and the step mixin
that applies the masking in `fit`/`evaluate`)."""

from graphnsl.lib.distances import compute_weighted_loss, pairwise_distance_wrapper
from graphnsl.lib.labels import mask_unlabeled

__all__ = ["compute_weighted_loss", "mask_unlabeled", "pairwise_distance_wrapper"]
