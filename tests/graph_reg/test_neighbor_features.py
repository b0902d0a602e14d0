"""Tests of graphnsl/graph_reg/neighbor_features.py."""

import keras
import numpy as np
import pytest

from graphnsl.configs import GraphNeighborConfig
from graphnsl.graph_reg import NeighborFeatures


def _packed(batch=3, dim=2, k=2):
    rng = np.random.default_rng(1)
    features = {
        "x": rng.normal(size=(batch, dim)).astype("float32"),
        "NL_num_nbrs": np.ones((batch,)),
    }
    for i in range(k):
        features[f"NL_nbr_{i}_x"] = rng.normal(size=(batch, dim)).astype("float32")
        features[f"NL_nbr_{i}_weight"] = rng.random((batch, 1)).astype("float32")
    return features


def test_interleaves_neighbours_by_sample():
    features = _packed()
    samples, neighbors, weights = NeighborFeatures(GraphNeighborConfig(max_neighbors=2))(features)
    assert list(samples) == ["x"]
    np.testing.assert_array_equal(samples["x"], features["x"])
    expected = np.stack([features["NL_nbr_0_x"], features["NL_nbr_1_x"]], axis=1).reshape(6, 2)
    np.testing.assert_array_equal(neighbors["x"], expected)
    # row b * K + i is neighbour i of sample b
    np.testing.assert_array_equal(neighbors["x"][3], features["NL_nbr_1_x"][1])
    expected_w = np.stack([features["NL_nbr_0_weight"], features["NL_nbr_1_weight"]], 1)
    np.testing.assert_array_equal(weights, expected_w.reshape(6, 1))


def test_zero_neighbours_returns_samples_only():
    samples, neighbors, weights = NeighborFeatures(GraphNeighborConfig(max_neighbors=0))(
        {"x": np.ones((2, 3), "float32")}
    )
    assert list(samples) == ["x"] and neighbors == {} and weights is None


def test_rank_one_weights_are_accepted():
    features = _packed(k=1)
    features["NL_nbr_0_weight"] = features["NL_nbr_0_weight"][:, 0]
    _, _, weights = NeighborFeatures(GraphNeighborConfig(max_neighbors=1))(features)
    assert tuple(weights.shape) == (3, 1)


def test_missing_neighbour_key_names_the_key():
    features = _packed(k=2)
    del features["NL_nbr_1_x"]
    with pytest.raises(KeyError, match="NL_nbr_1_x"):
        NeighborFeatures(GraphNeighborConfig(max_neighbors=2))(features)
    features = _packed(k=2)
    del features["NL_nbr_0_weight"]
    with pytest.raises(KeyError, match="NL_nbr_0_weight"):
        NeighborFeatures(GraphNeighborConfig(max_neighbors=2))(features)


def test_wrong_shapes_name_the_key():
    features = _packed(k=2)
    features["NL_nbr_1_x"] = np.zeros((3, 5), "float32")
    with pytest.raises(ValueError, match="NL_nbr_1_x"):
        NeighborFeatures(GraphNeighborConfig(max_neighbors=2))(features)
    features = _packed(k=2)
    features["NL_nbr_0_weight"] = np.zeros((3, 2), "float32")
    with pytest.raises(ValueError, match="NL_nbr_0_weight"):
        NeighborFeatures(GraphNeighborConfig(max_neighbors=2))(features)


def test_feature_names_restricts_the_sample_features():
    features = _packed(k=1)
    features["id"] = np.array([b"a", b"b", b"c"])
    layer = NeighborFeatures(GraphNeighborConfig(max_neighbors=1), feature_names=["x"])
    samples, neighbors, _ = layer(features)
    assert list(samples) == ["x"] and list(neighbors) == ["x"]
    with pytest.raises(KeyError, match="NL_nbr_0_id"):
        NeighborFeatures(GraphNeighborConfig(max_neighbors=1))(features)


def test_config_round_trip():
    layer = NeighborFeatures(GraphNeighborConfig(prefix="N_", max_neighbors=4), ["x"], name="nf")
    clone = NeighborFeatures.from_config(layer.get_config())
    assert clone.neighbor_config == layer.neighbor_config
    assert clone.feature_names == ["x"] and clone.name == "nf"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, NeighborFeatures)
    assert restored.neighbor_config.prefix == "N_"
