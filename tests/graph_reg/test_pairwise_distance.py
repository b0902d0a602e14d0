"""Tests of graphnsl/graph_reg/pairwise_distance.py."""

import keras
import numpy as np
import pytest

from graphnsl.configs import DistanceConfig
from graphnsl.graph_reg import PairwiseDistance
from graphnsl.graph_reg.pairwise_distance import replicate_sources


def test_l2_over_interleaved_neighbours_matches_numpy():
    rng = np.random.default_rng(2)
    sources = rng.normal(size=(3, 4)).astype("float32")
    targets = rng.normal(size=(6, 4)).astype("float32")
    weights = np.array([[1.0], [0.0], [0.5], [2.0], [0.0], [1.0]], "float32")
    got = PairwiseDistance()(sources, targets, weights)
    diff = np.repeat(sources, 2, axis=0) - targets
    # SUM_BY_NONZERO_WEIGHTS: divide by the number of elements with non-zero weight
    expected = np.sum(weights * diff**2) / (4 * 4)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_sum_over_axis_and_stacked_targets_match_numpy():
    rng = np.random.default_rng(3)
    sources = rng.normal(size=(2, 3)).astype("float32")
    targets = rng.normal(size=(2, 2, 3)).astype("float32")
    weights = np.array([[[1.0], [0.5]], [[0.0], [2.0]]], "float32")
    layer = PairwiseDistance(DistanceConfig(sum_over_axis=-1, reduction="weighted_mean"))
    got = layer(sources, targets, weights)
    per_pair = np.sum((sources[:, None, :] - targets) ** 2, axis=-1, keepdims=True)
    expected = np.sum(weights * per_pair) / np.sum(weights)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_replicate_sources_rejects_non_multiple():
    with pytest.raises(ValueError, match="multiple"):
        replicate_sources(np.zeros((3, 2), "float32"), np.zeros((4, 2), "float32"))


def test_config_round_trip():
    layer = PairwiseDistance(DistanceConfig("cosine", sum_over_axis=-1, transform_fn="softmax"))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.distance_config == layer.distance_config
