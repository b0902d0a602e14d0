"""Configs keep NSL 1.4.0's names, defaults and accepted values."""

import dataclasses

import pytest

from graphnsl import configs


def test_defaults_match_nsl():
    config = configs.make_graph_reg_config()
    assert config.neighbor_config == configs.GraphNeighborConfig("NL_nbr_", "_weight", 0)
    assert config.multiplier == 0.01
    assert config.distance_config.distance_type is configs.DistanceType.L2
    assert config.distance_config.reduction == "weighted_sum_by_nonzero_weights"
    assert config.distance_config.sum_over_axis is None
    assert config.distance_config.transform_fn is configs.TransformType.NONE


def test_strings_become_enums_and_round_trip():
    config = configs.make_graph_reg_config(
        max_neighbors=3,
        multiplier=0.5,
        distance_type="kl_divergence",
        sum_over_axis=-1,
        transform_fn="softmax",
        reduction="weighted_mean",
    )
    assert config.distance_config.distance_type is configs.DistanceType.KL_DIVERGENCE
    assert config.distance_config.transform_fn is configs.TransformType.SOFTMAX
    assert configs.GraphRegConfig.from_dict(config.to_dict()) == config
    assert [t.value for t in configs.DistanceType.all()] == [
        "l1",
        "l2",
        "cosine",
        "jensen_shannon_divergence",
        "kl_divergence",
    ]
    assert configs.GraphNeighborConfig().weight_key(2) == "NL_nbr_2_weight"
    assert configs.GraphNeighborConfig().feature_key(0, "words") == "NL_nbr_0_words"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"distance_type": "l3"}, "'l1', 'l2', 'cosine'"),
        ({"transform_fn": "tanh"}, "'none', 'softmax', 'sigmoid'"),
        ({"reduction": "sum"}, "'weighted_sum'"),
        ({"multiplier": -1.0}, "multiplier"),
        ({"max_neighbors": -2}, "max_neighbors"),
        ({"sum_over_axis": 1.5}, "sum_over_axis"),
    ],
)
def test_invalid_values_list_valid_ones(kwargs, message):
    with pytest.raises(ValueError, match=message):
        configs.make_graph_reg_config(**kwargs)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        configs.GraphNeighborConfig().max_neighbors = 3
